using System;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli;
using Runchat.Tests.Cli;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary><c>relay test</c>: the route author's dry run, through the same rules as the relay; nothing stored, nothing sent.</summary>
[TestFixture]
[Category("Relay")]
public class RelayTestCommandTests
{
    private string _directory = null!;
    private string _config = null!;
    private static readonly string Opened = Repository.Path("tests", "Runchat.Relay.Tests", "Fixtures", "webhooks", "github", "issues", "opened.payload.json");
    private static readonly string Starred = Repository.Path("tests", "Runchat.Relay.Tests", "Fixtures", "webhooks", "github", "star", "created.payload.json");

    [SetUp]
    public void WriteConfig()
    {
        _directory = Directory.CreateTempSubdirectory("relay-test-command-").FullName;
        _config = Path.Combine(_directory, "relay.json");
        File.WriteAllText(_config, JsonSerializer.Serialize(new
        {
            Relay = new
            {
                // Never opened: the dry run reads no store.
                Store = "sqlite:" + Path.Combine(_directory, "never-created.db"),
                Routes = new object[]
                {
                    // The secret comes from the serving environment; a dry run does not need it.
                    new { Path = "/hooks/github", JobId = "triage-agent", Signature = "github", Secret = "a-github-secret-0123456789", Events = new[] { "issues.opened" }, Message = "New issue #{{ payload.issue.number }}: {{ payload.issue.title }}" },
                    new { Path = "/hooks/broken", JobId = "triage-agent", Signature = "none", Message = "{{ payload.isue.title }}" },
                    new { Path = "/hooks/whole", JobId = "triage-agent", Signature = "stripe", Secret = "whsec_a-stripe-secret-0123456789" },
                },
            },
        }));
    }

    [TearDown]
    public void Remove() => Directory.Delete(_directory, recursive: true);

    private static Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args) => InProcessCli.RunAsync(args);

    [Test]
    public async Task AMatchingEventPrintsTheExactMessage()
    {
        var (exitCode, output, error) = await RunAsync("relay", "test", "--config", _config, "--route", "/hooks/github", "--event", "issues", "--payload", "@" + Opened);

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.StartWith("would run (/hooks/github -> job triage-agent, event issues.opened)"), "the header's event and the body's action, as serve names them");
        Assert.That(output, Does.Contain("--- the agent receives this message (").And.EndWith("New issue #1: Spelling error in the README file" + Environment.NewLine));
        Assert.That(File.Exists(Path.Combine(_directory, "never-created.db")), Is.False, "nothing stored");
    }

    [Test]
    public async Task AnotherEventIsIgnoredWithTheReason()
    {
        var (exitCode, output, error) = await RunAsync("relay", "test", "--config", _config, "--route", "/hooks/github", "--event", "star", "--payload", "@" + Starred);

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.StartWith("would be ignored: The event 'star.created' is not one this route runs (issues.opened)."));
        Assert.That(output, Does.Not.Contain("the agent receives"));
    }

    [Test]
    public async Task ARenderFailureExitsOneAndSaysWhy()
    {
        var (exitCode, output, _) = await RunAsync("relay", "test", "--config", _config, "--route", "/hooks/broken", "--payload", "@" + Opened);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.RunOrApiError));
        Assert.That(output, Does.StartWith("would fail: The Message template could not be rendered: payload has no 'isue'"));
    }

    [Test]
    public async Task WithoutAMessageThePayloadIsShownWholeWithTheEventFromTheBody()
    {
        var (exitCode, output, error) = await RunAsync("relay", "test", "--config", _config, "--route", "/hooks/whole", "--payload", "{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.StartWith("would run (/hooks/whole -> job triage-agent, event invoice.paid)"));
        Assert.That(output, Does.Contain("the agent receives the payload whole (36 bytes)").And.Contain("{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}"));
    }

    [Test]
    public async Task AnUnknownRouteOrABadTemplateIsAUsageError()
    {
        var (unknown, _, unknownError) = await RunAsync("relay", "test", "--config", _config, "--route", "/hooks/nope", "--payload", "{\"a\":1}");
        Assert.That(unknown, Is.EqualTo(ExitCodes.Usage));
        Assert.That(unknownError, Does.Contain("there is no route /hooks/nope").And.Contain("/hooks/github"));

        File.WriteAllText(_config, "{\"Relay\":{\"Routes\":[{\"Path\":\"/hooks/x\",\"JobId\":\"a\",\"Signature\":\"none\",\"Message\":\"{% if %}\"}]}}");
        var (bad, _, badError) = await RunAsync("relay", "test", "--config", _config, "--route", "/hooks/x", "--payload", "{\"a\":1}");
        Assert.That(bad, Is.EqualTo(ExitCodes.Usage));
        Assert.That(badError, Does.Contain("The webhook route /hooks/x: Message is not a Liquid template"));
    }
}
