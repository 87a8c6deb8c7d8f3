using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli;
using Runchat.Cli.Sandbox;

namespace Runchat.Tests.Cli;

/// <summary>The flow commands against the sandbox: trigger --flow (a GET), run with inputs by label or a payload, schema; exit codes as for trigger.</summary>
[TestFixture]
[Category("Cli")]
public class FlowCliTests
{
    private static Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args) => InProcessCli.RunAsync(args);

    [Test]
    public async Task SchemaPrintsTheInputsAndOutputsAsATable()
    {
        var (exitCode, output, error) = await RunAsync("schema", "demo-flow", "--sandbox");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output, Does.Contain("inputs:").And.Contain("Prompt  string  prompt_n1").And.Contain("Count   number  count_n1").And.Contain("outputs:").And.Contain("Summary  string  summary_n9"));
    }

    [Test]
    public async Task SchemaJsonIsTheSchema()
    {
        var (exitCode, output, error) = await RunAsync("schema", "demo-flow", "--sandbox", "--json");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
        var inputs = JsonDocument.Parse(output).RootElement.GetProperty("inputs");
        Assert.That(inputs.EnumerateArray().Select(i => i.GetProperty("label").GetString()), Is.EqualTo(new[] { "Prompt", "Count" }));
    }

    [Test]
    public async Task RunResolvesLabelsAndSendsJsonValuesAsJson()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "from a file");
        try
        {
            var (exitCode, output, error) = await RunAsync("run", "demo-flow", "--sandbox", "--input", "Prompt=@" + file, "--input", "Count=3");

            Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
            Assert.That(output.Trim(), Is.EqualTo("Summary: Sandbox flow demo-flow ran with Prompt \"from a file\" and Count 3."));
            Assert.That(error, Does.Contain("continue it with --instance inst_"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task RunWithAPayloadFeedsTheWebhookNode()
    {
        var (exitCode, output, error) = await RunAsync("run", "demo-flow", "--sandbox", "--payload", "{\"event\":\"x\"}");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output.Trim(), Is.EqualTo("Summary: Sandbox flow demo-flow ran its Webhook node with a 13-byte body."));
    }

    [TestCase(new[] { "run", "demo-flow", "--sandbox", "--input", "Topic=x" }, 2, "no input labelled 'Topic'. Its inputs: 'Prompt' (prompt_n1), 'Count' (count_n1)")]
    [TestCase(new[] { "run", "demo-flow", "--sandbox", "--input", "Prompt" }, 2, "--input takes LABEL=VALUE")]
    [TestCase(new[] { "run", "demo-flow", "--sandbox", "--input", "Prompt=x", "--payload", "{\"a\":1}" }, 2, "cannot be used together")]
    [TestCase(new[] { "trigger", "demo-flow-job", "--flow", "--sandbox", "--message", "hi" }, 2, "takes no --message or --payload")]
    [TestCase(new[] { "run", "missing-flow", "--sandbox" }, 1, "Not found (404)")]
    [TestCase(new[] { "trigger", "demo-flow-job", "--sandbox" }, 1, "use GET /job/demo-flow-job")]
    public async Task MistakesExitAsTriggerDoes(string[] args, int expected, string phrase)
    {
        var (exitCode, _, error) = await RunAsync(args);

        Assert.That(exitCode, Is.EqualTo(expected), error);
        Assert.That(error, Does.Contain(phrase));
    }

    [Test]
    public async Task TriggerFlowIsOneGetTheSandboxRecords()
    {
        await using var sandbox = await SandboxServer.StartAsync();

        var (exitCode, output, error) = await RunAsync("trigger", "demo-flow-job", "--flow", "--base-url", sandbox.BaseUrl.ToString(), "--api-key", "sandbox-key-0123456789");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output.Trim(), Is.EqualTo("Summary: Sandbox flow job demo-flow-job ran its scheduled inputs."));
        var recorded = sandbox.Requests.Single();
        Assert.That(recorded.Method, Is.EqualTo("GET"));
        Assert.That(recorded.JobId, Is.EqualTo("demo-flow-job"));

        using var http = new HttpClient();
        var listed = JsonDocument.Parse(await http.GetStringAsync(new Uri(sandbox.BaseUrl, "/_sandbox/requests"))).RootElement.EnumerateArray().Single();
        Assert.That(listed.GetProperty("method").GetString(), Is.EqualTo("GET"));
    }
}
