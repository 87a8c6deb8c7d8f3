using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli;
using Runchat.Relay;
using Runchat.Tests.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Cli;

/// <summary>
/// What the tool tells a person: a send that may have reached the server is never called "not reached"; a missing
/// file is one line and exit 2; values go out exactly as written or not at all; the relay verbs validate as serve does.
/// </summary>
[TestFixture]
[Category("Cli")]
[Parallelizable(ParallelScope.All)]
public class CliWordsTests
{
    [Test]
    public async Task ARequestTheServerReadThenDroppedIsReportedAsMaybeRun()
    {
        using var peer = new RawHttpPeer(_ => null);

        var (exitCode, _, error) = await InProcessCli.RunAsync("trigger", "demo-agent", "--message", "hi", "--api-key", "rk_test_words_0123456789", "--base-url", peer.BaseUrl.ToString());

        Assert.That(exitCode, Is.EqualTo(ExitCodes.NetworkOrTimeout));
        Assert.That(error, Does.Contain("the request was sent; the run may have started: check the job's history before running it again"));
        Assert.That(error, Does.Not.Contain("could not reach"));
        Assert.That(peer.Requests, Has.Count.EqualTo(1), "sent once, never again");
    }

    [Test]
    public async Task NoServerAtAllIsReportedAsNothingSent()
    {
        var (exitCode, _, error) = await InProcessCli.RunAsync("trigger", "demo-agent", "--message", "hi", "--api-key", "rk_test_words_0123456789", "--base-url", $"http://127.0.0.1:{Ports.Free()}/api/v1/");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.NetworkOrTimeout));
        Assert.That(error, Does.Contain("could not reach the Runchat API (nothing was sent)"));
    }

    [TestCase("run", "demo-flow", "--input", "Prompt=@/no/such/file", "--sandbox")]
    [TestCase("trigger", "demo-agent", "--payload", "@/no/such/file", "--sandbox")]
    public async Task AMissingFileIsOneLineAndExitTwo(params string[] args)
    {
        var (exitCode, _, error) = await InProcessCli.RunAsync(args);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage), error);
        Assert.That(error, Does.Contain("'/no/such/file' does not exist"));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), "one line, no stack trace");
    }

    [Test]
    public async Task AnInputNestedTooDeeplyIsRefusedNotSentAsText()
    {
        var deep = string.Concat(Enumerable.Repeat("[", 300)) + string.Concat(Enumerable.Repeat("]", 300));

        var (exitCode, _, error) = await InProcessCli.RunAsync("run", "demo-flow", "--input", "Prompt=" + deep, "--sandbox");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("--input Prompt is JSON nested deeper than 256 levels"));
    }

    [Test]
    public async Task AnInputNumberIsSentAsWritten()
    {
        // The sandbox echoes its inputs: 1e400 must not become "Infinity", nor 1.10 become 1.1.
        var (exitCode, output, error) = await InProcessCli.RunAsync("run", "demo-flow", "--input", "Prompt=summarize", "--input", "Count=1e400", "--json", "--sandbox");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("1e400").And.Not.Contain("Infinity"));
    }

    [Test]
    public async Task RelayTestReadsAPayloadNoLargerThanTheRelayTakes()
    {
        using var temp = new TempDirectory();
        var config = Path.Combine(temp.Path, "relay.json");
        File.WriteAllText(config, "{\"Relay\":{\"Store\":\"sqlite:relay.db\",\"MaxBodyBytes\":4096,\"Routes\":[{\"Path\":\"/hooks/open\",\"JobId\":\"a\",\"Signature\":\"none\"}]}}");

        var (exitCode, _, error) = await InProcessCli.RunAsync("relay", "test", "--config", config, "--route", "/hooks/open", "--payload", "@/dev/zero");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("is larger than 4,096 bytes"));
    }

    [TestCase("schedules", "\"Schedules\":[{\"Name\":\"digest\",\"Cron\":\"0 9 * * *\",\"Timezon\":\"Europe/Berlin\",\"JobId\":\"a\"}]", "Timezon")]
    [TestCase("test", "\"Routes\":[{\"Path\":\"/hooks/open\",\"JobId\":\"a\",\"Signature\":\"none\",\"Event\":[\"x\"]}]", "Event")]
    [TestCase("test", "\"Routes\":[{\"Path\":\"/hooks/open\",\"JobId\":\"a\",\"Signature\":\"github\"}]", "github scheme needs a Secret")]
    public async Task EveryRelayVerbRefusesWhatServeRefuses(string verb, string section, string phrase)
    {
        using var temp = new TempDirectory();
        var config = Path.Combine(temp.Path, "relay.json");
        File.WriteAllText(config, "{\"Relay\":{\"Store\":\"sqlite:relay.db\"," + section + "}}");
        var args = verb == "test" ? new[] { "relay", "test", "--config", config, "--route", "/hooks/open", "--payload", "{\"a\":1}" } : new[] { "relay", verb, "--config", config };

        var (exitCode, _, error) = await InProcessCli.RunAsync(args);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage), error);
        Assert.That(error, Does.Contain(phrase));
    }

    [Test]
    public async Task ListAndShowInPlainTextShowTheEventAndTheSenderIdAndPageWithACursor()
    {
        using var temp = new TempDirectory();
        var config = Path.Combine(temp.Path, "relay.json");
        File.WriteAllText(config, "{\"Relay\":{\"Store\":\"sqlite:relay.db\"}}");
        var store = SqlDeliveryStore.Sqlite(Path.Combine(temp.Path, "relay.db"));
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        for (var i = 0; i < 5; i++)
        {
            await store.AddAsync(new NewDelivery($"dlv_page_{i}", "/hooks/github", "triage-agent", $"sha256:{i}", "{\"a\":\"🎉\"}"u8.ToArray(), start.AddSeconds(i),
                SenderId: $"72d3162e-cc78-11e3-81ab-4c9367dc095{i}", Event: "issues.opened"), default);
        }

        store.Dispose();

        var first = await InProcessCli.RunAsync("relay", "list", "--config", config, "--limit", "2");
        var cursor = first.Out.Split('\n').Single(l => l.StartsWith("(more: --before ", StringComparison.Ordinal))["(more: --before ".Length..].TrimEnd(')', '\r');
        var second = await InProcessCli.RunAsync("relay", "list", "--config", config, "--limit", "2", "--before", cursor);
        var lines = await InProcessCli.RunAsync("relay", "list", "--config", config, "--jsonl", "--limit", "0");
        var shown = await InProcessCli.RunAsync("relay", "show", "--config", config, "dlv_page_4");
        var badCursor = await InProcessCli.RunAsync("relay", "list", "--config", config, "--before", "99999999999999999:x");

        Assert.That(first.Out, Does.Contain("dlv_page_4").And.Contain("dlv_page_3").And.Not.Contain("dlv_page_2"));
        Assert.That(first.Out, Does.Contain("issues.opened").And.Contain("72d3162e-cc78-11e3-81ab-4c9367dc0954"));
        Assert.That(second.Out, Does.Contain("dlv_page_2").And.Contain("dlv_page_1").And.Not.Contain("dlv_page_3"));
        var objects = lines.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(objects.Select(o => o.GetProperty("id").GetString()), Is.EqualTo(new[] { "dlv_page_4", "dlv_page_3", "dlv_page_2", "dlv_page_1", "dlv_page_0" }));
        Assert.That(shown.Out, Does.Contain("event:       issues.opened").And.Contain("sender_id:   72d3162e-cc78-11e3-81ab-4c9367dc0954"));
        Assert.That(badCursor.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(badCursor.Error, Does.Contain("is not a list cursor"));
    }
}
