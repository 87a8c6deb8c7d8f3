using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Telemetry;

/// <summary>
/// A relayed webhook's spans: receive (linked to the sender's traceparent) → stored context →
/// dispatch (linked to receive, also after a restart) → invoke_agent → HTTP; and the relay's metrics.
/// </summary>
[TestFixture]
[Category("Telemetry")]
[NonParallelizable]
public class RelayTelemetryTests
{
    private const string SenderTraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private TelemetryCapture _capture = null!;

    [SetUp]
    public void Listen() => _capture = new TelemetryCapture("Runchat.Relay", "Runchat.Relay", "Runchat.Generated", "System.Net.Http");

    [TearDown]
    public void StopListening() => _capture.Dispose();

    private static string Describe(Activity a) =>
        $"{a.DisplayName} [{a.Kind}] span {a.SpanId} trace {a.TraceId}" +
        (a.ParentSpanId == default ? "" : $" parent {a.ParentSpanId}") +
        string.Concat(a.Links.Select(l => $" link→{l.Context.TraceId}/{l.Context.SpanId}"));

    private async Task<IReadOnlyList<RelayDelivery>> WaitForAsync(RelayHost relay, RelayDeliveryState state)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            var all = await relay.Relay.ListAsync();
            if (all.Count > 0 && all.All(d => d.State == state))
            {
                await Task.Delay(200);
                return all;
            }

            await Task.Delay(50);
        }

        Assert.Fail("deliveries did not reach " + state);
        return Array.Empty<RelayDelivery>();
    }

    [Test]
    public async Task AWebhooksSpansLinkTheSenderToTheReceiveToTheDispatchWhichParentsTheAgentSpan()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await RelayHost.StartAsync(sandbox.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/traced", "traced-agent")));

        var (status, _) = await relay.PostAsync("/hooks/traced", "{\"event\":\"deploy.failed\"}", ("traceparent", SenderTraceParent));
        Assert.That(status, Is.EqualTo(202));
        await WaitForAsync(relay, RelayDeliveryState.Succeeded);

        var receive = _capture.Activities.Single(a => a.DisplayName == "runchat.relay.receive");
        var dispatch = _capture.Activities.Single(a => a.DisplayName == "runchat.relay.dispatch");
        var agent = _capture.Activities.Single(a => a.DisplayName == "invoke_agent traced-agent");
        var http = _capture.Activities.Where(a => a.Source.Name == "System.Net.Http" && a.ParentSpanId == agent.SpanId).ToList();
        TestContext.Out.WriteLine("sender  " + SenderTraceParent);
        foreach (var span in new[] { receive, dispatch, agent }.Concat(http))
        {
            TestContext.Out.WriteLine(Describe(span));
        }

        Assert.That(receive.Links.Single().Context.TraceId.ToString(), Is.EqualTo("4bf92f3577b34da6a3ce929d0e0e4736"), "receive links to the sender");
        Assert.That(receive.TagObjects.First(t => t.Key == "runchat.relay.outcome").Value, Is.EqualTo("stored"));
        Assert.That(dispatch.Links.Select(l => l.Context.SpanId.ToString()), Is.EqualTo(new[] { receive.SpanId.ToString(), "00f067aa0ba902b7" }), "dispatch links to receive and to the sender");
        Assert.That(dispatch.Kind, Is.EqualTo(ActivityKind.Consumer));
        Assert.That(agent.ParentSpanId, Is.EqualTo(dispatch.SpanId), "dispatch is the parent of invoke_agent");
        Assert.That(agent.TraceId, Is.EqualTo(dispatch.TraceId));
        Assert.That(http, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task TheLinkSurvivesARestartBecauseTheContextIsStoredWithTheDelivery()
    {
        await using var store = TestStore.Create(TestStore.Sqlite);
        var refused = new Uri($"http://127.0.0.1:{Ports.Free()}/api/v1/");

        string receiveSpan;
        var first = await RelayHost.StartAsync(refused, o => o.Routes.Add(RelayHost.Route("/hooks/restart", "restart-agent")), store: store, client: c => c.MaxRetries = 0);
        try
        {
            await first.PostAsync("/hooks/restart", "{\"event\":\"x\"}", ("traceparent", SenderTraceParent));
            receiveSpan = _capture.Activities.Single(a => a.DisplayName == "runchat.relay.receive").SpanId.ToString();
            await Task.Delay(300);
            await first.StopAsync();
        }
        finally
        {
            await first.DisposeAsyncKeepingDatabase();
        }

        await using var sandbox = await SandboxServer.StartAsync();
        await using var second = await RelayHost.StartAsync(sandbox.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/restart", "restart-agent")), store: store);
        await WaitForAsync(second, RelayDeliveryState.Succeeded);

        var dispatches = _capture.Activities.Where(a => a.DisplayName == "runchat.relay.dispatch").ToList();
        var succeeded = dispatches.Single(d => (string?)d.GetTagItem("runchat.relay.state") == "succeeded");
        Assert.That(succeeded.Links.Select(l => l.Context.SpanId.ToString()), Is.EqualTo(new[] { receiveSpan, "00f067aa0ba902b7" }), "the dispatch after the restart links to the receive span and to the sender");
        Assert.That(dispatches.Count, Is.GreaterThanOrEqualTo(2), "the refused attempt before the restart is a dispatch span too");
    }

    [Test]
    public async Task DeliveriesAreCountedByOutcomeAndThePendingGaugeCountsByState()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await RelayHost.StartAsync(sandbox.BaseUrl, o =>
        {
            o.MaxRunsPerMinute = 1;
            o.Routes.Add(RelayHost.Route("/hooks/counted", "counted-agent", "github", "counted-secret-0123456789"));
        });
        var body = Encoding.UTF8.GetBytes("{\"action\":\"opened\"}");
        var headers = Runchat.Relay.Signatures.WebhookSignature.GitHub("counted-secret-0123456789").Sign(body, DateTimeOffset.UtcNow, "d-1");
        var other = Encoding.UTF8.GetBytes("{\"action\":\"closed\"}");

        await relay.PostAsync("/hooks/counted", body, headers);
        await relay.PostAsync("/hooks/counted", body, headers);
        await relay.PostAsync("/hooks/counted", other, Runchat.Relay.Signatures.WebhookSignature.GitHub("counted-secret-0123456789").Sign(other, DateTimeOffset.UtcNow, "d-2"));
        await relay.PostAsync("/hooks/counted", body, ("X-Hub-Signature-256", "sha256=00"));
        var notJson = Encoding.UTF8.GetBytes("not json");
        await relay.PostAsync("/hooks/counted", notJson, Runchat.Relay.Signatures.WebhookSignature.GitHub("counted-secret-0123456789").Sign(notJson, DateTimeOffset.UtcNow, "d-3"));
        await Eventually.HoldsAsync(async () => (await relay.Relay.ListAsync(RelayDeliveryState.Succeeded)).Count == 1, TimeSpan.FromSeconds(10), "one run (1 a minute)");
        _capture.RecordObservableInstruments();

        var outcomes = _capture.Measurements.Where(m => m.Instrument == "runchat.relay.deliveries").GroupBy(m => (string)m.Tags["runchat.relay.outcome"]!).ToDictionary(g => g.Key, g => g.Sum(m => (long)m.Value));
        Assert.That(outcomes, Is.EquivalentTo(new Dictionary<string, long> { ["stored"] = 2, ["duplicate"] = 1, ["rejected_signature"] = 1, ["rejected_body"] = 1 }));
        var gauge = _capture.Measurements.Where(m => m.Instrument == "runchat.relay.pending").ToDictionary(m => (string)m.Tags["runchat.relay.state"]!, m => (long)m.Value);
        Assert.That(gauge.Keys, Is.EquivalentTo(new[] { "pending", "sending", "unknown" }), "the states to watch; the others only grow");
        Assert.That(gauge["pending"], Is.EqualTo(1), "the other waits");
        Assert.That(gauge["unknown"], Is.EqualTo(0));
    }

    [Test]
    public void TheRelaysSpansAndMetricsCarryThePackagesVersion()
    {
        var informational = typeof(RunchatRelayOptions).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;

        Assert.That(RelayTelemetry.Source.Version, Is.EqualTo(informational.Split('+')[0]));
        Assert.That(RelayTelemetry.Source.Version, Does.Not.Contain("+"), "no commit hash");
    }
}
