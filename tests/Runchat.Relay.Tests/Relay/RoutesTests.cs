using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Runchat.Tests.Relay;

/// <summary>
/// Routes that choose and shape: every GitHub example payload (octokit/webhooks, in Fixtures/webhooks),
/// signed as GitHub signs and sent with its X-GitHub-Event, through a route with Events and a Message
/// template, and through one with neither.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[NonParallelizable]
public class RoutesTests : PerStoreFixture
{
    private const string Secret = "github-route-test-secret-0123456789";
    private const string Template = "New issue #{{ payload.issue.number }} by {{ payload.sender.login }}: {{ payload.issue.title }}\n\n{{ payload.issue.body | truncate: 4000 }}\n({{ event.name }}, {{ route.job_id }})";

    private WireMockServer _runchat = null!;

    public RoutesTests(string storeKind)
        : base(storeKind)
    {
    }

    [SetUp]
    public void StartRunchat()
    {
        _runchat = WireMockServer.Start();
        _runchat.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));
    }

    [TearDown]
    public void StopRunchat() => _runchat.Stop();

    private static readonly string Corpus = Repository.Path("tests", "Runchat.Relay.Tests", "Fixtures", "webhooks", "github");

    /// <summary>Every example: its folder (the X-GitHub-Event), its file name, its bytes.</summary>
    private static IEnumerable<(string Event, string Name, byte[] Body)> Payloads() =>
        Directory.GetDirectories(Corpus).OrderBy(d => d, StringComparer.Ordinal)
            .SelectMany(folder => Directory.GetFiles(folder, "*.json").OrderBy(f => f, StringComparer.Ordinal)
                .Select(file => (Path.GetFileName(folder), Path.GetFileName(file), File.ReadAllBytes(file))));

    private static (string, string)[] GitHubHeaders(string eventName, byte[] body) =>
    [
        // GitHub's documented recipe, not the relay's own signer.
        ("X-Hub-Signature-256", "sha256=" + Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), body)).ToLowerInvariant()),
        ("X-GitHub-Event", eventName),
        ("X-GitHub-Delivery", Guid.NewGuid().ToString()),
    ];

    private static string? ActionOf(byte[] body) => JObject.Parse(Encoding.UTF8.GetString(body))["action"] is JValue { Type: JTokenType.String } action ? (string?)action : null;

    [Test]
    public async Task OnlyIssuesOpenedRunsAndTheAgentReceivesTheRenderedMessage()
    {
        await using var relay = await StartRelayAsync(new Uri(_runchat.Url! + "/api/v1/"), o =>
        {
            o.MaxRunsPerMinute = 100_000;
            var route = RelayHost.Route("/hooks/github", "triage-agent", "github", Secret);
            route.Events.Add("issues.opened");
            route.Message = Template;
            o.Routes.Add(route);
        });

        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        var ignoredIds = new HashSet<string>(StringComparer.Ordinal);
        var ignored = 0;
        var total = 0;
        foreach (var (eventName, name, body) in Payloads())
        {
            total++;
            var (status, answer) = await relay.PostAsync("/hooks/github", body, GitHubHeaders(eventName, body));
            var runs = eventName == "issues" && name.StartsWith("opened", StringComparison.Ordinal);
            if (runs)
            {
                Assert.That(status, Is.EqualTo(202), $"{eventName}/{name}: {answer}");
                var payload = JObject.Parse(Encoding.UTF8.GetString(body));
                var issueBody = (string?)payload["issue"]!["body"] ?? string.Empty;
                expected[answer.GetProperty("delivery_id").GetString()!] =
                    $"New issue #{payload["issue"]!["number"]} by {payload["sender"]!["login"]}: {payload["issue"]!["title"]}\n\n{(issueBody.Length > 4000 ? issueBody[..3997] + "..." : issueBody)}\n(issues.opened, triage-agent)";
            }
            else if (status == 202)
            {
                // The same bytes as an earlier fixture: a duplicate of that ignored delivery.
                Assert.That(answer.GetProperty("duplicate").GetBoolean(), Is.True, $"{eventName}/{name}: {answer}");
                Assert.That(ignoredIds, Does.Contain(answer.GetProperty("delivery_id").GetString()));
            }
            else
            {
                Assert.That(status, Is.EqualTo(200), $"{eventName}/{name}: {answer}");
                Assert.That(answer.GetProperty("ignored").GetBoolean(), Is.True);
                Assert.That(answer.GetProperty("reason").GetString(), Does.Contain("is not one this route runs (issues.opened)"));
                ignoredIds.Add(answer.GetProperty("delivery_id").GetString()!);
                ignored++;
            }
        }

        Assert.That(expected, Has.Count.EqualTo(4), "issues/opened*.json");
        Assert.That(ignored, Is.GreaterThan(total / 2));
        var settled = await relay.SettledAsync(expected.Count + ignoredIds.Count, TimeSpan.FromSeconds(30));
        var ran = settled.Where(d => d.State != RelayDeliveryState.Ignored).ToList();
        Assert.That(ran.Select(d => d.Id), Is.EquivalentTo(expected.Keys), "nothing else ran");
        Assert.That(ran.Select(d => d.State), Has.All.EqualTo(RelayDeliveryState.Succeeded), relay.Errors);
        Assert.That(ran.Select(d => d.Event), Has.All.EqualTo("issues.opened"));
        Assert.That(ran.Select(d => d.Message), Is.EquivalentTo(expected.Values), "the text sent is kept with each delivery");
        var kept = settled.Where(d => d.State == RelayDeliveryState.Ignored).ToList();
        Assert.That(kept.Select(d => d.Id), Is.EquivalentTo(ignoredIds), "every ignored delivery is kept, once");
        Assert.That(kept.Select(d => d.Attempts), Has.All.EqualTo(0));
        Assert.That(kept.Select(d => d.LastError), Has.All.Contain("is not one this route runs (issues.opened)"));

        var sent = _runchat.LogEntries.Select(e => JObject.Parse(e.RequestMessage!.Body!)).ToList();
        Assert.That(sent, Has.Count.EqualTo(expected.Count), "one run per delivery");
        Assert.That(sent.Select(b => b.Properties().Select(p => p.Name).Single()), Has.All.EqualTo("message"), "the explicit-message mode");
        Assert.That(sent.Select(b => (string)b["message"]!), Is.EquivalentTo(expected.Values));
        var whole = Payloads().Where(p => p.Event == "issues" && p.Name.StartsWith("opened", StringComparison.Ordinal)).Sum(p => p.Body.Length);
        TestContext.Out.WriteLine($"issues/opened*: {whole} bytes whole, {sent.Sum(b => Encoding.UTF8.GetByteCount((string)b["message"]!))} bytes templated");
    }

    [Test]
    public async Task WithoutRulesEveryPayloadIsStoredWithItsEventName()
    {
        await using var relay = await StartRelayAsync(new Uri(_runchat.Url! + "/api/v1/"), o =>
        {
            o.MaxRunsPerMinute = 100_000;
            o.MaxConcurrentRuns = 16;
            o.Routes.Add(RelayHost.Route("/hooks/github", "triage-agent", "github", Secret));
        });

        var expected = new Dictionary<string, string>();
        foreach (var (eventName, name, body) in Payloads())
        {
            var (status, answer) = await relay.PostAsync("/hooks/github", body, GitHubHeaders(eventName, body));
            Assert.That(status, Is.EqualTo(202), $"{eventName}/{name}: {answer}");
            var action = ActionOf(body);
            expected[answer.GetProperty("delivery_id").GetString()!] = action is null ? eventName : eventName + "." + action;
        }

        var settled = await relay.SettledAsync(expected.Count, TimeSpan.FromSeconds(60));
        Assert.That(settled, Has.Count.EqualTo(expected.Count), "identical files are one delivery");
        foreach (var delivery in settled)
        {
            Assert.That(delivery.Event, Is.EqualTo(expected[delivery.Id]), delivery.Id);
        }

        Assert.That(_runchat.LogEntries.Count(), Is.EqualTo(expected.Count));
    }

    [Test]
    public async Task ARenderThatFailsAtDispatchMarksTheDeliveryFailedAndSendsNothing()
    {
        await using var relay = await StartRelayAsync(new Uri(_runchat.Url! + "/api/v1/"), o =>
        {
            var route = RelayHost.Route("/hooks/github", "triage-agent", "github", Secret);
            route.Message = "{{ payload.issue.title }} / {{ payload.pull_request.title }}";
            o.Routes.Add(route);
        });
        var body = File.ReadAllBytes(Path.Combine(Corpus, "issues", "opened.payload.json"));

        var (status, answer) = await relay.PostAsync("/hooks/github", body, GitHubHeaders("issues", body));

        Assert.That(status, Is.EqualTo(202), answer.ToString());
        var delivery = (await relay.SettledAsync(1, TimeSpan.FromSeconds(10))).Single();
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Failed));
        Assert.That(delivery.LastError, Does.Contain("payload has no 'pull_request'").And.Contain("Nothing was sent"));
        Assert.That(delivery.Attempts, Is.EqualTo(0), "never started");
        Assert.That(delivery.Message, Is.Null);
        Assert.That(_runchat.LogEntries, Is.Empty, "no request reached Runchat");
    }

    [Test]
    public async Task AnIgnoredDeliveryIsCountedAndStoredIgnoredWithItsReason()
    {
        using var meter = new System.Diagnostics.Metrics.MeterListener();
        var ignored = new List<string?>();
        meter.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "runchat.relay.deliveries")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meter.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? outcome = null, eventName = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "runchat.relay.outcome") outcome = tag.Value as string;
                if (tag.Key == "runchat.relay.event") eventName = tag.Value as string;
            }

            if (outcome == "ignored")
            {
                lock (ignored) ignored.Add(eventName);
            }
        });
        meter.Start();

        await using var relay = await StartRelayAsync(new Uri(_runchat.Url! + "/api/v1/"), o =>
        {
            var route = RelayHost.Route("/hooks/github", "triage-agent", "github", Secret);
            route.Events.Add("issues.*");
            o.Routes.Add(route);
        });
        var body = File.ReadAllBytes(Path.Combine(Corpus, "star", "created.payload.json"));

        var (status, answer) = await relay.PostAsync("/hooks/github", body, GitHubHeaders("star", body));

        Assert.That(status, Is.EqualTo(200));
        Assert.That(answer.GetProperty("ignored").GetBoolean(), Is.True);
        var kept = (await relay.Relay.ListAsync()).Single();
        Assert.That(kept.Id, Is.EqualTo(answer.GetProperty("delivery_id").GetString()));
        Assert.That(kept.State, Is.EqualTo(RelayDeliveryState.Ignored));
        Assert.That(kept.Event, Is.EqualTo("star.created"));
        Assert.That(kept.LastError, Is.EqualTo(answer.GetProperty("reason").GetString()).And.Contain("'star.created' is not one this route runs (issues.*)"));
        lock (ignored) Assert.That(ignored, Does.Contain("star.created"));
        Assert.That(_runchat.LogEntries, Is.Empty);
    }

    [Test]
    public async Task AFormEncodedGitHubDeliveryIsReadFromItsPayloadFieldAndIsTheSameDeliveryAsItsJson()
    {
        await using var relay = await StartRelayAsync(new Uri(_runchat.Url! + "/api/v1/"), o =>
        {
            var route = RelayHost.Route("/hooks/github", "triage-agent", "github", Secret);
            route.Events.Add("issues.opened");
            o.Routes.Add(route);
        });
        var json = File.ReadAllBytes(Path.Combine(Corpus, "issues", "opened.payload.json"));
        var form = Encoding.UTF8.GetBytes("payload=" + Uri.EscapeDataString(Encoding.UTF8.GetString(json)));

        var (status, answer) = await relay.PostAsync("/hooks/github", form, GitHubHeaders("issues", form).Append(("Content-Type", "application/x-www-form-urlencoded")).ToArray());
        var (again, duplicate) = await relay.PostAsync("/hooks/github", json, GitHubHeaders("issues", json));
        var noPayload = Encoding.UTF8.GetBytes("other=1");
        var (refused, why) = await relay.PostAsync("/hooks/github", noPayload, GitHubHeaders("issues", noPayload).Append(("Content-Type", "application/x-www-form-urlencoded")).ToArray());

        Assert.That(status, Is.EqualTo(202), answer.ToString());
        Assert.That(again, Is.EqualTo(202));
        Assert.That(duplicate.GetProperty("duplicate").GetBoolean(), Is.True, "the same JSON, whichever content type carried it");
        Assert.That(refused, Is.EqualTo(400));
        Assert.That(why.GetProperty("error").GetString(), Does.Contain("set the webhook's content type to application/json"));
        var delivery = (await relay.SettledAsync(1, TimeSpan.FromSeconds(10))).Single();
        Assert.That(delivery.Event, Is.EqualTo("issues.opened"));
        Assert.That(JObject.Parse(Encoding.UTF8.GetString((await relay.Services.GetRequiredService<IDeliveryStore>().GetBodyAsync(delivery.Id, default))!))["issue"]!["number"]!.Value<int>(), Is.EqualTo(1));
    }

    [Test]
    public async Task AFlowRoutePostsTheRawBodyToTheFlowOnce()
    {
        _runchat.ResetMappings();
        _runchat.Given(Request.Create().WithPath("/api/v1/triage-flow").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("{\"metadata\":\"{}\",\"runchat_instance_id\":\"inst_1\",\"data\":[{\"id\":\"s\",\"label\":\"Summary\",\"type\":\"string\",\"description\":\"\",\"data\":[\"triaged\"]}]}"));
        await using var relay = await StartRelayAsync(new Uri(_runchat.Url! + "/api/v1/"), o =>
        {
            var route = RelayHost.Route("/hooks/github", "unused", "github", Secret);
            route.JobId = null;
            route.FlowId = "triage-flow";
            route.Events.Add("issues.opened");
            o.Routes.Add(route);
        });
        var body = File.ReadAllBytes(Path.Combine(Corpus, "issues", "opened.payload.json"));

        var (status, answer) = await relay.PostAsync("/hooks/github", body, GitHubHeaders("issues", body));

        Assert.That(status, Is.EqualTo(202), answer.ToString());
        var delivery = (await relay.SettledAsync(1, TimeSpan.FromSeconds(10))).Single();
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded), relay.Errors);
        Assert.That(delivery.FlowId, Is.EqualTo("triage-flow"));
        Assert.That(delivery.JobId, Is.Null, "a flow route has no job");
        Assert.That(delivery.FinalReply, Is.EqualTo("Summary: triaged"));
        var sent = _runchat.LogEntries.Single().RequestMessage!;
        Assert.That(sent.Path, Is.EqualTo("/api/v1/triage-flow"));
        Assert.That(sent.BodyAsBytes, Is.EqualTo(body), "byte for byte");
    }

    [TestCase(null, null, "exactly one of JobId")]
    [TestCase("a-job", "a-flow", "exactly one of JobId")]
    public void ARouteNamesAJobOrAFlow(string? jobId, string? flowId, string phrase)
    {
        var options = new RunchatRelayOptions { Store = "sqlite:" + Path.Combine(Path.GetTempPath(), "flows.db") };
        options.Routes.Add(new RelayRouteOptions { Path = "/hooks/x", JobId = jobId, FlowId = flowId, Signature = "none" });

        Assert.That(options.Validate().Single(), Does.Contain(phrase));
    }
}
