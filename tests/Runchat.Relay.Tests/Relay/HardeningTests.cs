using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// The relay's promises against what comes from outside without a crash, on real processes: a
/// configuration that cannot work (exit 2, one line), a store it must not use, two replays at once,
/// a file-size limit, hundreds of connections that trickle bytes under a heap limit.
/// </summary>
[TestFixture]
[Category("Relay")]
[Parallelizable(ParallelScope.Children)]
[ProcessTest]
public class HardeningTests
{
    private const string StandardSecret = "whsec_aGFyZGVuaW5nLXRlc3Qtc2VjcmV0LXZhbHVlLTAx";

    private static string Temp()
    {
        var directory = Path.Combine(Path.GetTempPath(), "relay-hardening-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static string WriteConfig(string directory, string json)
    {
        var path = Path.Combine(directory, "relay.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static async Task<(int ExitCode, string Output)> ServeUntilExitAsync(string config, IDictionary<string, string>? environment = null)
    {
        using var process = ToolProcess.Start(environment, null, "relay", "serve", "--config", config, "--urls", $"http://127.0.0.1:{Ports.Free()}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(30))) != exited)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("relay serve started with a configuration it should have refused: " + await stdout);
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static void AssertOneLineRefusal((int ExitCode, string Output) result, params string[] phrases)
    {
        Assert.That(result.ExitCode, Is.EqualTo(ExitCodes.Usage), result.Output);
        foreach (var phrase in phrases)
        {
            Assert.That(result.Output, Does.Contain(phrase));
        }

        Assert.That(result.Output, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(result.Output.Trim().Split('\n'), Has.Length.EqualTo(1), "one line");
    }

    private static string Routes(string store, string extraRelay = "", string runchat = "\"ApiKey\":\"rk_test_hardening_0123456789\",\"BaseUrl\":\"http://127.0.0.1:9/\"") =>
        $"{{\"Runchat\":{{{runchat}}},\"Relay\":{{\"Store\":\"{store}\"{extraRelay},\"Routes\":[{{\"Path\":\"/hooks/open\",\"JobId\":\"demo-agent\",\"Signature\":\"none\"}}]}}}}";

    [Test]
    public async Task AMisspelledKeyIsRefusedNamingTheNearestKnownOne()
    {
        var directory = Temp();
        var config = WriteConfig(directory, Routes("sqlite:relay.db", ",\"MaxBodyByte\":100", "\"ApiKey\":\"rk_test_hardening_0123456789\",\"BaseUlr\":\"http://127.0.0.1:9/\""));

        var result = await ServeUntilExitAsync(config);

        AssertOneLineRefusal(result, "Relay:MaxBodyByte is not a setting; did you mean MaxBodyBytes?", "Runchat:BaseUlr is not a setting; did you mean BaseUrl?");
        Assert.That(File.Exists(Path.Combine(directory, "relay.db")), Is.False);
    }

    [Test]
    public async Task AMisspelledRouteKeyIsRefused()
    {
        var config = WriteConfig(Temp(), "{\"Runchat\":{\"ApiKey\":\"rk_test_hardening_0123456789\"},\"Relay\":{\"Store\":\"sqlite:relay.db\",\"Routes\":[" +
            "{\"Path\":\"/hooks/forms\",\"JobId\":\"lead-agent\",\"Signature\":\"standard-webhooks\",\"Secert\":\"" + StandardSecret + "\"}]}}");

        AssertOneLineRefusal(await ServeUntilExitAsync(config), "Relay:Routes:0:Secert is not a setting; did you mean Secret?");
    }

    [Test]
    public async Task AMisspelledRelaySectionIsRefusedRatherThanServingNoRoutes()
    {
        var config = WriteConfig(Temp(), "{\"Runchat\":{\"ApiKey\":\"rk_test_hardening_0123456789\"},\"Realy\":{\"Routes\":[{\"Path\":\"/hooks/open\",\"JobId\":\"a\",\"Signature\":\"none\"}]}}");

        AssertOneLineRefusal(await ServeUntilExitAsync(config), "has no routes", "Relay");
    }

    [TestCase(@"$.labels[?(@.name =~ /agent[/)]", "is not a regular expression")]
    [TestCase(@"$.labels[?(@.name == agent)]", "'agent' is not a value")]
    [TestCase(@"$.labels[-1]", "an index cannot be negative")]
    public async Task AWhenThatCannotRunIsRefusedAtStartNamingTheRoute(string when, string phrase)
    {
        var config = WriteConfig(Temp(), "{\"Runchat\":{\"ApiKey\":\"rk_test_hardening_0123456789\"},\"Relay\":{\"Store\":\"sqlite:relay.db\",\"Routes\":[" +
            $"{{\"Path\":\"/hooks/labelled\",\"JobId\":\"a\",\"Signature\":\"none\",\"When\":{JsonSerializer.Serialize(when)}}}]}}}}");

        AssertOneLineRefusal(await ServeUntilExitAsync(config), "Relay:Routes:0 (/hooks/labelled)", phrase);
    }

    [TestCase("\"/hooks/a\"", "\"/hooks/a/\"", "mapped 2 times")]
    [TestCase("\"/hooks/../a\"", "\"/hooks/b\"", "can never be reached")]
    [TestCase("\"/hooks/{x}\"", "\"/hooks/b\"", "route template")]
    public async Task RoutePathsThatCannotWorkAreRefused(string first, string second, string phrase)
    {
        var config = WriteConfig(Temp(), "{\"Runchat\":{\"ApiKey\":\"rk_test_hardening_0123456789\"},\"Relay\":{\"Store\":\"sqlite:relay.db\",\"Routes\":[" +
            $"{{\"Path\":{first},\"JobId\":\"a\",\"Signature\":\"none\"}},{{\"Path\":{second},\"JobId\":\"b\",\"Signature\":\"none\"}}]}}}}");

        AssertOneLineRefusal(await ServeUntilExitAsync(config), phrase);
    }

    [Test]
    public async Task ASqliteStoreInAFolderThatDoesNotExistIsNamed()
    {
        var config = WriteConfig(Temp(), Routes("sqlite:no-such-folder/relay.db"));

        AssertOneLineRefusal(await ServeUntilExitAsync(config), "no-such-folder", "does not exist");
    }

    [Test]
    public async Task ServeWithoutAKeySaysWhereToSetItInOneLine()
    {
        var config = WriteConfig(Temp(), Routes("sqlite:relay.db", runchat: "\"BaseUrl\":\"http://127.0.0.1:9/\""));

        var result = await ServeUntilExitAsync(config, new Dictionary<string, string> { ["RUNCHAT_API_KEY"] = "", ["RUNCHAT_TOKEN"] = "" });

        AssertOneLineRefusal(result, "no Runchat API key", "RUNCHAT_API_KEY", "Runchat__ApiKey", "--sandbox");
    }

    [Test]
    public async Task AStoreWrittenByANewerRelayIsRefusedAtStartNamingTheFile()
    {
        var directory = Temp();
        var file = Path.Combine(directory, "relay.db");
        using (var store = SqlDeliveryStore.Sqlite(file))
        {
            await store.ListAsync(null, default);
        }

        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE runchat_relay_schema SET version = 99;";
            command.ExecuteNonQuery();
        }

        AssertOneLineRefusal(await ServeUntilExitAsync(WriteConfig(directory, Routes("sqlite:relay.db"))), "relay.db", "newer relay");
    }

    [Test]
    public async Task ACorruptSqliteFileIsRefusedAtStartNamingTheFile()
    {
        var directory = Temp();
        await File.WriteAllTextAsync(Path.Combine(directory, "relay.db"), "this is not a database, it is a shopping list: eggs, milk, more eggs, flour, sugar, butter." + new string('x', 4096));

        AssertOneLineRefusal(await ServeUntilExitAsync(WriteConfig(directory, Routes("sqlite:relay.db"))), "relay.db", "not a SQLite database");
    }

    [Test]
    public async Task TheStartLineNamesWhereRunsGo()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        var config = WriteConfig(Temp(), Routes("sqlite:relay.db", runchat: $"\"ApiKey\":\"rk_test_hardening_0123456789\",\"BaseUrl\":\"{sandbox.BaseUrl}\""));

        using var relay = await RelayProcess.StartAsync(config);

        Assert.That(relay.Output, Does.Contain("runs go to " + sandbox.BaseUrl));
        await Eventually.HoldsAsync(() => relay.Output.Contains("POST /hooks/open -> job demo-agent (none)", StringComparison.Ordinal), TimeSpan.FromSeconds(5), "the route's line is printed");
    }

    [Test]
    public async Task AFlowRoutesStartLineNamesTheFlow()
    {
        var config = WriteConfig(Temp(), "{\"Relay\":{\"Store\":\"sqlite:relay.db\",\"Routes\":[{\"Path\":\"/hooks/flow\",\"FlowId\":\"triage-flow\",\"Signature\":\"none\"}]}}");

        using var relay = await RelayProcess.StartAsync(config, "--sandbox");

        await Eventually.HoldsAsync(() => relay.Output.Contains("POST /hooks/flow -> flow triage-flow (none)", StringComparison.Ordinal), TimeSpan.FromSeconds(5), "the flow route's line is printed");
    }

    [Test]
    public async Task ServeLeavesA429ToTheRelaysOwnRescheduleWithOneRequest()
    {
        // One owner of retrying a delivery: the client's in-memory retries would hold the delivery in
        // 'sending' (and a run slot) for Retry-After, then the relay would reschedule it again.
        const string Body = "{\"error\":\"slow down\"}";
        using var runchat = new RawHttpPeer(_ =>
            $"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Type: application/json\r\nContent-Length: {Body.Length}\r\nConnection: close\r\n\r\n{Body}");
        var directory = Temp();
        var config = WriteConfig(directory, Routes("sqlite:relay.db", runchat: $"\"ApiKey\":\"rk_test_hardening_0123456789\",\"BaseUrl\":\"{runchat.BaseUrl}\""));
        using var relay = await RelayProcess.StartAsync(config);
        using var http = new HttpClient { BaseAddress = relay.Url };
        var store = SqlDeliveryStore.Sqlite(Path.Combine(directory, "relay.db"));

        using var posted = await http.PostAsync("/hooks/open", new StringContent("{\"n\":1}"));
        var id = JsonDocument.Parse(await posted.Content.ReadAsStringAsync()).RootElement.GetProperty("delivery_id").GetString()!;
        await WaitForAsync(async () => (await store.GetAsync(id, default))!.LastError?.Contains("429") == true);

        var delivery = (await store.GetAsync(id, default))!;
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Pending));
        Assert.That(delivery.Attempts, Is.EqualTo(1));
        Assert.That(delivery.NextAttemptAt - DateTimeOffset.UtcNow, Is.GreaterThan(TimeSpan.FromSeconds(20)), "Retry-After: 30, read once, by the relay");
        Assert.That(runchat.Requests, Has.Count.EqualTo(1), "the client did not retry it in memory first");
    }

    [Test]
    public async Task TwoReplaysAtOnceRunTheAgentOnce()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        var directory = Temp();
        var config = WriteConfig(directory, Routes("sqlite:relay.db", ",\"MaxRunsPerMinute\":1000", $"\"ApiKey\":\"rk_test_hardening_0123456789\",\"BaseUrl\":\"{sandbox.BaseUrl}\""));
        using var relay = await RelayProcess.StartAsync(config);
        using var http = new HttpClient { BaseAddress = relay.Url };

        const int Trials = 10;
        var store = SqlDeliveryStore.Sqlite(Path.Combine(directory, "relay.db"));
        for (var trial = 0; trial < Trials; trial++)
        {
            using var posted = await http.PostAsync("/hooks/open", new StringContent($"{{\"trial\":{trial}}}"));
            var id = JsonDocument.Parse(await posted.Content.ReadAsStringAsync()).RootElement.GetProperty("delivery_id").GetString()!;
            await WaitForAsync(async () => (await store.GetAsync(id, default))!.State == RelayDeliveryState.Succeeded);
            var before = sandbox.Requests.Count;

            using var first = ToolProcess.Start("relay", "replay", "--config", config, id);
            using var second = ToolProcess.Start("relay", "replay", "--config", config, id);
            await Task.WhenAll(first.WaitForExitAsync(), second.WaitForExitAsync());
            await WaitForAsync(async () => (await store.GetAsync(id, default))!.State == RelayDeliveryState.Succeeded);
            await Task.Delay(200);

            Assert.That(new[] { first.ExitCode, second.ExitCode }.Count(code => code == 0), Is.EqualTo(1), $"trial {trial}: one replay wins");
            Assert.That(sandbox.Requests.Count - before, Is.EqualTo(1), $"trial {trial}: one more run");
            Assert.That((await store.GetAsync(id, default))!.ReplayedAt, Is.Not.Null, "the replay is recorded");
            var loser = first.ExitCode == 0 ? second : first;
            Assert.That(await loser.StandardError.ReadToEndAsync(), Does.Contain("nothing was replayed").Or.Contain("is pending").Or.Contain("is sending"));
        }

        store.Dispose();
    }

    [Test]
    public async Task AFileSizeLimitMakesAFailedWriteA503AndTheRelayStaysUp()
    {
        var directory = Temp();
        var config = WriteConfig(directory, Routes("sqlite:relay.db", ",\"MaxRunsPerMinute\":1"));
        // W^X double-maps code through a file, which the limit would refuse at start-up.
        using var relay = await RelayProcess.StartAsync(config, new Dictionary<string, string> { ["DOTNET_EnableWriteXorExecute"] = "0" }, fileSizeLimitKiB: 256);
        using var http = new HttpClient { BaseAddress = relay.Url };
        var pad = new string('p', 16 * 1024);

        var answers = new List<int>();
        for (var i = 0; i < 40 && !answers.Contains(503); i++)
        {
            using var response = await http.PostAsync("/hooks/open", new StringContent($"{{\"n\":{i},\"pad\":\"{pad}\"}}"));
            answers.Add((int)response.StatusCode);
            if ((int)response.StatusCode == 503)
            {
                Assert.That(response.Headers.RetryAfter, Is.Not.Null);
            }
        }

        TestContext.Out.WriteLine("answers: " + string.Join(" ", answers));
        Assert.That(answers, Does.Contain(202), relay.Output);
        Assert.That(answers, Does.Contain(503), "a write past the limit was refused, not fatal");
        await Task.Delay(500);
        Assert.That(relay.HasExited, Is.False, "the relay is still up: " + relay.Output);
        using var stillUp = await http.GetAsync("/hooks/open");
        Assert.That((int)stillUp.StatusCode, Is.EqualTo(405));
    }

    [Test]
    public async Task HundredsOfTricklingConnectionsUnderAHeapLimitDoNotKillTheRelay()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        var directory = Temp();
        var config = WriteConfig(directory, "{\"Runchat\":{\"ApiKey\":\"rk_test_hardening_0123456789\",\"BaseUrl\":\"" + sandbox.BaseUrl + "\"},\"Relay\":{\"Store\":\"sqlite:relay.db\",\"MaxBodyBytes\":1048576,\"Routes\":[" +
            "{\"Path\":\"/hooks/forms\",\"JobId\":\"lead-agent\",\"Signature\":\"standard-webhooks\",\"Secret\":\"" + StandardSecret + "\"}]}}");
        // 384 MiB of heap: 800 connections that each declared 1 MiB would have reserved 800 MiB.
        using var relay = await RelayProcess.StartAsync(config, new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x18000000" }, null);

        var sockets = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 800; i++)
            {
                var socket = new TcpClient();
                await socket.ConnectAsync(IPAddress.Loopback, relay.Url.Port);
                var head = Encoding.ASCII.GetBytes($"POST /hooks/forms HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{{");
                await socket.GetStream().WriteAsync(head);
                sockets.Add(socket);
            }

            for (var round = 0; round < 3; round++)
            {
                foreach (var socket in sockets.Where(s => s.Connected))
                {
                    try
                    {
                        await socket.GetStream().WriteAsync("\" "u8.ToArray());
                    }
                    catch (IOException)
                    {
                        // Kestrel ends connections slower than its minimum data rate: as it should.
                    }
                }

                await Task.Delay(500);
            }

            var body = Encoding.UTF8.GetBytes("{\"type\":\"form.submitted\",\"during\":\"the trickle\"}");
            using var http = new HttpClient { BaseAddress = relay.Url };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/forms") { Content = new ByteArrayContent(body) };
            foreach (var (name, value) in WebhookSignature.StandardWebhooks(StandardSecret).Sign(body, DateTimeOffset.UtcNow, "msg_trickle"))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await http.SendAsync(request);
            TestContext.Out.WriteLine($"signed delivery during the trickle: {(int)response.StatusCode}; relay alive: {!relay.HasExited}");
            Assert.That((int)response.StatusCode, Is.EqualTo(202), relay.Output);
            Assert.That(relay.HasExited, Is.False, relay.Output);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Test]
    public async Task ABodyLimitAboveKestrelsOwnIsAppliedToKestrelToo()
    {
        // Kestrel refuses bodies over 30,000,000 bytes by default; the route allows 50 MB.
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await RelayHost.StartAsync(sandbox.BaseUrl, o =>
        {
            o.MaxBodyBytes = 50 * 1024 * 1024;
            o.MaxRunsPerMinute = 1;
            o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent"));
        });
        var body = Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', 40 * 1024 * 1024) + "\"}");

        var (status, answer) = await relay.PostAsync("/hooks/open", body);

        Assert.That(status, Is.EqualTo(202), relay.Errors);
        Assert.That((await relay.Relay.GetAsync(answer.GetProperty("delivery_id").GetString()!))!.BodyBytes, Is.EqualTo(body.Length));
    }

    [Test]
    public async Task ARouteThatUsesAPublishedSampleSecretIsWarnedAbout()
    {
        await using var relay = await RelayHost.StartAsync(new Uri("http://127.0.0.1:9/api/v1/"), o =>
            o.Routes.Add(RelayHost.Route("/hooks/forms", "lead-agent", "standard-webhooks", "whsec_c2FuZGJveC1mb3Jtcy1zZWNyZXQtY2hhbmdlLW1l")));

        Assert.That(relay.Errors, Does.Contain("/hooks/forms").And.Contain("sample secret published in the Runchat README"));
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "timed out");
            await Task.Delay(50);
        }
    }
}
