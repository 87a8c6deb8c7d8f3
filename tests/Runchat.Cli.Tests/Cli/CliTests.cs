using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;
using Runchat.Cli;
using Runchat.Tests.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Cli;

/// <summary>Runs <c>runchat-job</c> in-process against its own sandbox and against WireMock.</summary>
[TestFixture]
[Category("Cli")]
[NonParallelizable] // the tool reads RUNCHAT_* environment variables, which these tests clear
public class CliTests : WireMockTest
{
    private string? _savedKey;
    private string? _savedToken;
    private string? _savedBaseUrl;

    [SetUp]
    public void ClearEnvironment()
    {
        _savedKey = Environment.GetEnvironmentVariable("RUNCHAT_API_KEY");
        _savedToken = Environment.GetEnvironmentVariable("RUNCHAT_TOKEN");
        _savedBaseUrl = Environment.GetEnvironmentVariable("RUNCHAT_BASE_URL");
        Environment.SetEnvironmentVariable("RUNCHAT_API_KEY", null);
        Environment.SetEnvironmentVariable("RUNCHAT_TOKEN", null);
        Environment.SetEnvironmentVariable("RUNCHAT_BASE_URL", null);
    }

    [TearDown]
    public void RestoreEnvironment()
    {
        Environment.SetEnvironmentVariable("RUNCHAT_API_KEY", _savedKey);
        Environment.SetEnvironmentVariable("RUNCHAT_TOKEN", _savedToken);
        Environment.SetEnvironmentVariable("RUNCHAT_BASE_URL", _savedBaseUrl);
    }

    private static Task<(int ExitCode, string Out, string Error)> RunAsync(byte[]? stdin, params string[] args) =>
        RunAsync(stdin, isErrorTerminal: false, args);

    private static Task<(int ExitCode, string Out, string Error)> RunAsync(byte[]? stdin, bool isErrorTerminal, params string[] args) =>
        InProcessCli.RunAsync(stdin, isErrorTerminal, args);

    private static Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args) => RunAsync(null, args);

    private static void AssertNoStackTrace(string error) =>
        Assert.That(error, Does.Not.Contain("   at ").And.Not.Contain("Exception:"), "errors are one clear line");

    [Test]
    public async Task MainCommandPrintsTheAgentsReplyFromTheSandbox()
    {
        var (exitCode, output, error) = await RunAsync("trigger", "demo-agent", "--message", "Summarize today's tickets", "--sandbox");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output.Trim(), Is.EqualTo("Sandbox agent received your message (25 characters): Summarize today's tickets"));
        Assert.That(error, Is.Empty, "no progress output when stderr is not a terminal");
    }

    [Test]
    public async Task VerbosePrintsDurationTokensAndCreditsOnStderrOnly()
    {
        var (exitCode, output, error) = await RunAsync("trigger", "demo-agent", "--message", "Summarize today's tickets", "--sandbox", "--verbose");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output.Trim(), Is.EqualTo("Sandbox agent received your message (25 characters): Summarize today's tickets"), "stdout is unchanged");
        Assert.That(error, Does.Match(@"^run sandbox-demo-agent: status success, \d+(\.\d+)? s, input tokens 48, output tokens \d+, credits 1\s*$"));
    }

    [Test]
    public async Task NoMessageOrPayloadRunsTheTemplateAsIs()
    {
        var (exitCode, output, _) = await RunAsync("trigger", "nightly-digest", "--sandbox");

        Assert.That(exitCode, Is.EqualTo(0));
        Assert.That(output.Trim(), Is.EqualTo("Sandbox agent ran the saved template of job nightly-digest."));
    }

    [Test]
    public async Task JsonOutputParsesAndCarriesTheWholeResponse()
    {
        var (exitCode, output, _) = await RunAsync("trigger", "demo-agent", "--message", "hi", "--json", "--sandbox");

        Assert.That(exitCode, Is.EqualTo(0));
        var json = JObject.Parse(output);
        Assert.That((string?)json["status"], Is.EqualTo("success"));
        Assert.That((string?)json["job_id"], Is.EqualTo("demo-agent"));
        Assert.That(((JArray)json["messages"]!).Count, Is.EqualTo(4));
    }

    [Test]
    public async Task PayloadFromFileArrivesByteIdenticalAtTheSandbox()
    {
        var path = Path.Combine(Path.GetTempPath(), "runchat-payload-" + Guid.NewGuid() + ".json");
        var bytes = Encoding.UTF8.GetBytes(TestPayloads.FragileWebhook);
        await File.WriteAllBytesAsync(path, bytes);
        try
        {
            var (exitCode, output, error) = await RunAsync("trigger", "webhook-relay", "--payload", "@" + path, "--json", "--sandbox");

            Assert.That(exitCode, Is.EqualTo(0), error);
            AssertArrivedExactly(output, bytes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task APayloadLargerThanTheSandboxAcceptsIsAUsageErrorNamingTheLimitAndNothingIsSent()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"data\":\"" + new string('a', 31_000_000) + "\"}");

        var (exitCode, output, error) = await RunAsync(bytes, "trigger", "big-agent", "--payload", "@-", "--sandbox");

        TestContext.Out.WriteLine(error);
        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage), error);
        Assert.That(error, Does.Contain("31,000,011 bytes").And.Contain("accepts request bodies up to 30,000,000 bytes"));
        Assert.That(error, Does.Not.Contain("could not reach"));
        Assert.That(output, Is.Empty);
    }

    [Test]
    public async Task ARelativeSqliteStoreIsBesideTheConfigurationFileWhereverTheCommandRuns()
    {
        var directory = Path.Combine(Path.GetTempPath(), "relay-relative-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var config = Path.Combine(directory, "relay.json");
            await File.WriteAllTextAsync(config, "{\"Relay\":{\"Store\":\"sqlite:relative.db\"}}");
            using (var store = Runchat.Relay.SqlDeliveryStore.Sqlite(Path.Combine(directory, "relative.db")))
            {
                await store.AddAsync(new Runchat.Relay.NewDelivery("dlv_beside", "/hooks/open", "demo-agent", "sha256:ab", "{\"a\":1}"u8.ToArray(), DateTimeOffset.UtcNow), default);
            }

            var (exitCode, output, error) = await RunAsync("relay", "list", "--config", config);

            Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
            Assert.That(output, Does.Contain("dlv_beside"), "read from beside relay.json");
            Assert.That(File.Exists(Path.Combine(Environment.CurrentDirectory, "relative.db")), Is.False, "not in the working directory");
        }
        finally
        {
            SqliteFiles.Delete(Path.Combine(directory, "relative.db"));
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task APlainHttpBaseUrlToAnotherHostIsRefusedInTheToolsOwnWords()
    {
        var (exitCode, _, error) = await RunAsync("trigger", "demo-agent", "--api-key", "rk_test_cli_words_0123456789", "--base-url", "http://runchat.example/api/v1/");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage), error);
        Assert.That(error, Does.Contain("--allow-insecure-http").And.Contain("runchat.example").And.Not.Contain("RunchatClientOptions"));
    }

    [Test]
    public async Task WithAllowInsecureHttpAPlainHttpBaseUrlToAnotherHostIsTried()
    {
        // runchat.invalid never resolves: the call is tried (a network failure, exit 4), not refused (exit 2).
        var (exitCode, _, error) = await RunAsync("trigger", "demo-agent", "--api-key", "rk_test_cli_words_0123456789", "--base-url", "http://runchat.invalid/api/v1/", "--allow-insecure-http", "--timeout", "2");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.NetworkOrTimeout), error);
        Assert.That(error, Does.Not.Contain("allow-insecure-http"));
    }

    [Test]
    public async Task ATlsFailureShowsItsCauseInOneLine()
    {
        // A server that answers plain HTTP at once to an https:// URL: the TLS handshake fails.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var serve = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            await socket.GetStream().WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        });
        var url = $"https://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}/api/v1/";

        var (exitCode, _, error) = await RunAsync("trigger", "demo-agent", "--api-key", "rk_test_cli_words_0123456789", "--base-url", url, "--timeout", "20");
        listener.Stop();

        Assert.That(exitCode, Is.EqualTo(ExitCodes.NetworkOrTimeout), error);
        Assert.That(error, Does.Contain("SSL connection could not be established").And.Not.Contain("see inner exception"));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error.Split(": ").Length, Is.GreaterThan(2), "the cause follows: " + error);
    }

    [TestCase("list")]
    [TestCase("show")]
    [TestCase("replay")]
    public async Task AReadCommandOnAMistypedStorePathCreatesNothingAndExits2(string command)
    {
        var directory = Path.Combine(Path.GetTempPath(), "relay-mistyped-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var config = Path.Combine(directory, "relay.json");
            await File.WriteAllTextAsync(config, "{\"Relay\":{\"Store\":\"sqlite:relya.db\"}}");
            var arguments = command == "list" ? new[] { "relay", command, "--config", config } : new[] { "relay", command, "--config", config, "dlv_x" };

            var (exitCode, _, error) = await RunAsync(arguments);

            Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage), error);
            Assert.That(error, Does.Contain("relya.db").And.Contain("does not exist"));
            Assert.That(File.Exists(Path.Combine(directory, "relya.db")), Is.False, "no store was created");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task ARelayStoreThatCannotBeReachedIsExit4InOneLineWithoutTheConnectionString()
    {
        var directory = Path.Combine(Path.GetTempPath(), "relay-unreachable-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var config = Path.Combine(directory, "relay.json");
            await File.WriteAllTextAsync(config, "{\"Relay\":{\"Store\":\"postgres:Host=127.0.0.1;Port=1;Username=relay;Password=pg-Unreachable-5521;Timeout=3\"}}");

            var (exitCode, _, error) = await RunAsync("relay", "list", "--config", config);

            TestContext.Out.WriteLine(error);
            Assert.That(exitCode, Is.EqualTo(ExitCodes.NetworkOrTimeout), error);
            Assert.That(error, Does.StartWith("error: the relay store could not be used: ").And.Contain("127.0.0.1:1"));
            Assert.That(error, Does.Not.Contain("pg-Unreachable-5521").And.Not.Contain("NpgsqlException").And.Not.Contain("   at "));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task PayloadFromStandardInputArrivesByteIdenticalAtTheSandbox()
    {
        var bytes = Encoding.UTF8.GetBytes(TestPayloads.FragileWebhook);

        var (exitCode, output, error) = await RunAsync(bytes, "trigger", "webhook-relay", "--payload", "@-", "--json", "--sandbox");

        Assert.That(exitCode, Is.EqualTo(0), error);
        AssertArrivedExactly(output, bytes);
    }

    private static void AssertArrivedExactly(string jsonOutput, byte[] bytes)
    {
        var response = JObject.Parse(jsonOutput);
        var metadata = JObject.Parse((string)response["metadata"]!);
        Assert.That((string?)metadata["request_sha256"], Is.EqualTo(Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant()));
        Assert.That((int)metadata["request_bytes"]!, Is.EqualTo(bytes.Length));
        Assert.That((string?)response["messages"]![2]!["content"], Is.EqualTo(Encoding.UTF8.GetString(bytes)));
    }

    [Test]
    public async Task InlinePayloadIsForwarded()
    {
        RespondWithSuccess("ok");
        var (exitCode, output, _) = await RunAsync("trigger", "demo", "--payload", "{\"a\": 1.10}", "--api-key", ApiKey, "--base-url", Server.Url!);

        Assert.That(exitCode, Is.EqualTo(0));
        Assert.That(output.Trim(), Is.EqualTo("ok"));
        Assert.That(SingleRequest().BodyAsBytes, Is.EqualTo("{\"a\": 1.10}"u8.ToArray()));
    }

    [Test]
    public async Task EnvironmentSuppliesKeyAndBaseUrl()
    {
        RespondWithSuccess("from env");
        Environment.SetEnvironmentVariable("RUNCHAT_TOKEN", ApiKey);
        Environment.SetEnvironmentVariable("RUNCHAT_BASE_URL", Server.Url);

        var (exitCode, output, _) = await RunAsync("trigger", "demo");

        Assert.That(exitCode, Is.EqualTo(0));
        Assert.That(output.Trim(), Is.EqualTo("from env"));
        Assert.That(Header(SingleRequest(), "Authorization"), Is.EqualTo("Bearer " + ApiKey));
    }

    [Test]
    public async Task RunThatFinishesWithStatusErrorExitsOne()
    {
        var (exitCode, _, error) = await RunAsync("trigger", "fail-nightly", "--sandbox");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.RunOrApiError));
        Assert.That(error, Does.Contain("status 'error'"));
        AssertNoStackTrace(error);
    }

    [TestCase("flow-report", TestName = "FlowJobExitsOne")]
    [TestCase("missing-job", TestName = "UnknownJobExitsOne")]
    public async Task ApiErrorExitsOne(string jobId)
    {
        var (exitCode, _, error) = await RunAsync("trigger", jobId, "--sandbox");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.RunOrApiError));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        AssertNoStackTrace(error);
    }

    [TestCase("--message", "a", "--payload", "{}", TestName = "MessageWithPayloadIsAUsageError")]
    [TestCase("--payload", "[1,2]", TestName = "PayloadThatIsNotAnObjectIsAUsageError")]
    [TestCase("--payload", "@/no/such/file.json", TestName = "MissingPayloadFileIsAUsageError")]
    [TestCase("--message", "  ", TestName = "BlankMessageIsAUsageError")]
    [TestCase("--timeout", "-1", TestName = "NegativeTimeoutIsAUsageError")]
    [TestCase("--timeout", "soon", TestName = "UnparsableTimeoutIsAUsageError")]
    [TestCase("--base-url", "runchat.com", TestName = "RelativeBaseUrlIsAUsageError")]
    [TestCase("--frobnicate", TestName = "UnknownOptionIsAUsageError")]
    public async Task BadUsageExitsTwoWithoutSendingAnything(params string[] extra)
    {
        RespondWithSuccess();
        var (exitCode, _, error) = await RunAsync(["trigger", "demo", "--api-key", ApiKey, .. extra]);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage), error);
        Assert.That(error, Does.StartWith("error: "));
        AssertNoStackTrace(error);
        Assert.That(Requests, Is.Empty);
    }

    [TestCase("--timeout", "soon", "--timeout takes a positive number of seconds (90, 1.5) or a time span (00:05:00)")]
    [TestCase("--timeout", "-3", "--timeout takes a positive number of seconds")]
    [TestCase("--timeout", "9999999999", "at most 24.9 days")]
    [TestCase("--payload", "@/", "is a directory")]
    [TestCase("--payload", "@/proc/self/mem", "cannot be read")]
    [TestCase("--base-url", "ftp://deploy:hunter2secret@runchat.example", "***@runchat.example")]
    [TestCase("--payload", "{\"name\":", "the JSON ends early at byte 8")]
    public async Task BadUsageSaysWhatIsWrongInOurWords(string option, string value, string phrase)
    {
        RespondWithSuccess();
        var (exitCode, _, error) = await RunAsync("trigger", "demo", "--api-key", ApiKey, option, value);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage), error);
        Assert.That(error, Does.Contain(phrase).And.Not.Contain("System.").And.Not.Contain("hunter2secret").And.Not.Contain("(Parameter '"));
        Assert.That(Requests, Is.Empty);
    }

    [TestCase("90", 90.0)]
    [TestCase("1.5", 1.5)]
    [TestCase("00:05:00", 300.0)]
    public void TimeoutTakesSecondsOrATimeSpan(string text, double seconds)
    {
        Assert.That(Runchat.Cli.Api.ApiSettings.ParseTimeout(text), Is.EqualTo(TimeSpan.FromSeconds(seconds)));
    }

    [TestCase("99999")]
    [TestCase("-1")]
    public async Task ASandboxPortOutOfRangeIsAUsageError(string port)
    {
        var (exitCode, _, error) = await RunAsync("sandbox", "--port", port);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage), error);
        Assert.That(error, Does.Contain("between 0 and 65535"));
        AssertNoStackTrace(error);
    }

    [Test]
    public async Task InvalidBaseUrlVariableIsAUsageError()
    {
        Environment.SetEnvironmentVariable("RUNCHAT_BASE_URL", "runchat.com");

        var (exitCode, _, error) = await RunAsync("trigger", "demo", "--api-key", ApiKey);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.StartWith("error: RUNCHAT_BASE_URL"));
    }

    [Test]
    public async Task MissingJobIdIsAUsageError()
    {
        var (exitCode, _, error) = await RunAsync("trigger");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("Required argument missing").And.Contain("runchat-job trigger --help"));
    }

    [Test]
    public async Task NoKeyExitsThree()
    {
        var (exitCode, _, error) = await RunAsync("trigger", "demo", "--base-url", Server.Url!);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Authentication));
        Assert.That(error, Does.Contain("RUNCHAT_API_KEY"));
        Assert.That(Requests, Is.Empty);
    }

    [TestCase(401)]
    [TestCase(403)]
    public async Task RejectedKeyExitsThreeAndNeverShowsTheKey(int status)
    {
        RespondWith(status, "{\"error\":\"nope for " + ApiKey + "\"}");

        var (exitCode, output, error) = await RunAsync("trigger", "demo", "--api-key", ApiKey, "--base-url", Server.Url!);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Authentication));
        Assert.That(output + error, Does.Not.Contain(ApiKey));
        AssertNoStackTrace(error);
    }

    [Test]
    public async Task SandboxWithoutAKeyHeaderIsUnauthorized()
    {
        await using var sandbox = await Runchat.Cli.Sandbox.SandboxServer.StartAsync();
        using var http = new System.Net.Http.HttpClient();

        var response = await http.PostAsync(new Uri(sandbox.BaseUrl, "job/demo"), null);

        Assert.That((int)response.StatusCode, Is.EqualTo(401));
    }

    [Test]
    public async Task TimeoutExitsFour()
    {
        var (exitCode, _, error) = await RunAsync("trigger", "slow-agent", "--sandbox", "--timeout", "0.5");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.NetworkOrTimeout));
        Assert.That(error, Does.Contain("may still be running"));
    }

    [Test]
    public async Task ElapsedTimeIsShownOnStderrWhenItIsATerminal()
    {
        var (exitCode, output, error) = await RunAsync(null, isErrorTerminal: true, "trigger", "slow-agent", "--sandbox", "--timeout", "3.5");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.NetworkOrTimeout));
        Assert.That(error, Does.Contain("Waiting for the agent… 1s").And.Contain("Waiting for the agent… 2s"));
        Assert.That(output, Is.Empty, "progress never goes to stdout");
    }

    [Test]
    public async Task UnreachableServerExitsFour()
    {
        var (exitCode, _, error) = await RunAsync("trigger", "demo", "--api-key", ApiKey, "--base-url", "http://127.0.0.1:9/");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.NetworkOrTimeout));
        AssertNoStackTrace(error);
    }

    [TestCase("--help")]
    [TestCase("trigger", "--help")]
    [TestCase("sandbox", "--help")]
    public async Task HelpWorksForEveryCommand(params string[] args)
    {
        var (exitCode, output, _) = await RunAsync(args);

        Assert.That(exitCode, Is.EqualTo(0));
        Assert.That(output, Does.Contain("Usage:"));
    }
}
