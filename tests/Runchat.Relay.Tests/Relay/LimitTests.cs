using System;
using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>MaxConcurrentRuns and MaxRunsPerMinute hold, as seen by the server receiving the runs.</summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
public class LimitTests : PerStoreFixture
{
    public LimitTests(string storeKind)
        : base(storeKind)
    {
    }

    [Test]
    public async Task WithMaxConcurrentRunsTwoTheServerNeverSeesMoreThanTwoAtOnce()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o =>
        {
            o.MaxConcurrentRuns = 2;
            o.Routes.Add(RelayHost.Route("/hooks/slow", "delay-700-agent"));
        });

        for (var i = 0; i < 6; i++)
        {
            Assert.That((await relay.PostAsync("/hooks/slow", $"{{\"n\":{i}}}")).Status, Is.EqualTo(202));
        }

        var deliveries = await relay.SettledAsync(6, TimeSpan.FromSeconds(30));

        TestContext.Out.WriteLine($"max in flight at the sandbox: {sandbox.MaxInFlight}");
        Assert.That(deliveries.Count(d => d.State == RelayDeliveryState.Succeeded), Is.EqualTo(6));
        Assert.That(sandbox.Requests, Has.Count.EqualTo(6));
        Assert.That(sandbox.MaxInFlight, Is.EqualTo(2), "never more than 2, and the limit was reached");
    }

    [Test]
    public async Task WithMaxRunsPerMinuteThreeOnlyThreeRunsStartInAMinute()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o =>
        {
            o.MaxRunsPerMinute = 3;
            o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent"));
        });

        for (var i = 0; i < 5; i++)
        {
            await relay.PostAsync("/hooks/open", $"{{\"n\":{i}}}");
        }

        // Three run; the fourth is claimed and held back by the limit (counted), not sent.
        await Eventually.HoldsAsync(async () => (await relay.Relay.ListAsync(RelayDeliveryState.Succeeded)).Count == 3, TimeSpan.FromSeconds(10), "three runs");
        var limited = relay.Counting.LimitedTotal;
        await Eventually.HoldsAsync(() => relay.Counting.LimitedTotal > limited + 1, TimeSpan.FromSeconds(10), "a start after the third held back by the limit, twice");

        var deliveries = await relay.Relay.ListAsync();
        Assert.That(sandbox.Requests, Has.Count.EqualTo(3));
        Assert.That(deliveries.Count(d => d.State == RelayDeliveryState.Succeeded), Is.EqualTo(3));
        Assert.That(deliveries.Count(d => d.State == RelayDeliveryState.Pending), Is.EqualTo(2), "the rest wait, stored");
    }
}
