using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.TestSupport;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// An idle relay waits for work instead of polling hard: NOTIFY from any relay's ingest wakes it on
/// PostgreSQL, and a 5-second safety poll finds what no notification announced.
/// </summary>
[TestFixture]
[Category("Relay")]
[Category("Postgres")]
[NonParallelizable]
public class WakeTests
{
    [Test]
    public async Task ADeliveryStoredByAnotherRelayIsSentAtOnceAndOneWhoseNotificationWasLostWithinThePoll()
    {
        PostgresServer.Require();
        await using var sandbox = await SandboxServer.StartAsync();
        await using var testStore = TestStore.Create(TestStore.Postgres);
        await using var relay = await RelayHost.StartAsync(sandbox.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")), store: testStore, storeKind: TestStore.Postgres);
        var other = testStore.Open(); // another relay's store on the same database
        try
        {
            // The dispatcher is listening (the LISTEN's start wakes it once) and idle.
            await Eventually.HoldsAsync(() => relay.Counting.NotifiedTotal >= 1, TimeSpan.FromSeconds(10), "the relay is listening");
            await relay.IdleAsync();

            // Stored by another relay: announced by NOTIFY at its commit.
            var started = DateTime.UtcNow;
            await other.AddAsync(new NewDelivery("dlv_wake_notified", "/hooks/open", "demo-agent", "sha256:wake1", Encoding.UTF8.GetBytes("{\"n\":1}"), DateTimeOffset.UtcNow), default);
            await WaitForAsync(relay, "dlv_wake_notified", TimeSpan.FromSeconds(5));
            var notified = DateTime.UtcNow - started;

            // The LISTEN connection dies; the next notification is lost; the safety poll still finds the delivery.
            await using (var admin = new NpgsqlConnection(PostgresServer.Require()))
            {
                await admin.OpenAsync();
                // Only this test's database: other relays on the server (a benchmark, another test run) keep theirs.
                await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN runchat_relay_deliveries%' AND datname = @database;", admin);
                kill.Parameters.AddWithValue("database", new NpgsqlConnectionStringBuilder(testStore.Setting["postgres:".Length..]).Database!);
                Assert.That(await kill.ExecuteScalarAsync(), Is.EqualTo(true), "the relay's LISTEN connection was found and cut");
            }

            started = DateTime.UtcNow;
            await other.AddAsync(new NewDelivery("dlv_wake_lost", "/hooks/open", "demo-agent", "sha256:wake2", Encoding.UTF8.GetBytes("{\"n\":2}"), DateTimeOffset.UtcNow), default);
            await WaitForAsync(relay, "dlv_wake_lost", TimeSpan.FromSeconds(5));
            var polled = DateTime.UtcNow - started;

            TestContext.Out.WriteLine($"announced: sent after {notified.TotalMilliseconds:0} ms; notification lost: sent after {polled.TotalMilliseconds:0} ms");
            Assert.That(notified, Is.LessThan(TimeSpan.FromMilliseconds(900)), "woken by NOTIFY, not by the 5-second poll");
            Assert.That(polled, Is.LessThan(TimeSpan.FromSeconds(6.5)), "within the 5-second safety poll (and the reconnect)");
            Assert.That(sandbox.Requests, Has.Count.EqualTo(2), "each run once");
        }
        finally
        {
            (other as IDisposable)?.Dispose();
        }
    }

    [Test]
    public async Task OneNotifyWakesBothIdleInstancesAndTheDeliveryRunsExactlyOnce()
    {
        PostgresServer.Require();
        await using var sandbox = await SandboxServer.StartAsync();
        await using var testStore = TestStore.Create(TestStore.Postgres);
        var stores = new[] { CountingStore.Wrap(testStore.Open()), CountingStore.Wrap(testStore.Open()) };
        await using var a = await RelayHost.StartAsync(sandbox.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")), store: testStore, storeKind: TestStore.Postgres,
            services: s => s.AddSingleton<IDeliveryStore>(_ => stores[0]));
        await using var b = await RelayHost.StartAsync(sandbox.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")), store: testStore, storeKind: TestStore.Postgres,
            services: s => s.AddSingleton<IDeliveryStore>(_ => stores[1]));
        var other = testStore.Open(); // a third relay's store: its ingest commit sends the one NOTIFY
        try
        {
            // Both dispatchers listening and idle.
            await Eventually.HoldsAsync(() => stores.All(s => s.NotifiedTotal >= 1), TimeSpan.FromSeconds(10), "both relays are listening");
            await a.IdleAsync();
            await b.IdleAsync();
            foreach (var store in stores) store.TakeSnapshot();
            var claimsBefore = stores.Select(s => s.ClaimsTotal).ToArray();

            var started = DateTime.UtcNow;
            await other.AddAsync(new NewDelivery("dlv_wake_both", "/hooks/open", "demo-agent", "sha256:both", Encoding.UTF8.GetBytes("{\"n\":1}"), DateTimeOffset.UtcNow), default);
            await WaitForAsync(a, "dlv_wake_both", TimeSpan.FromSeconds(5));
            var sent = DateTime.UtcNow - started;
            await Eventually.HoldsAsync(() => stores[0].ClaimsTotal > claimsBefore[0] && stores[1].ClaimsTotal > claimsBefore[1], TimeSpan.FromSeconds(2), "both instances looked for the work, woken by the NOTIFY (the safety poll is 5 s)");

            var counters = stores.Select(store => Parse(store.TakeSnapshot())).ToArray();
            TestContext.Out.WriteLine($"sent after {sent.TotalMilliseconds:0} ms; instance a: {string.Join(", ", counters[0])}; instance b: {string.Join(", ", counters[1])}");
            Assert.That(counters.Select(c => c["notified"]), Is.All.GreaterThanOrEqualTo(1), "the one NOTIFY reached both instances");
            Assert.That(counters.Select(c => c["claims"]), Is.All.GreaterThanOrEqualTo(1), "both woke and looked for work");
            Assert.That(counters.Sum(c => c["claimed"]), Is.EqualTo(1), "one claim won");
            Assert.That(counters.Sum(c => c["started"]), Is.EqualTo(1));
            Assert.That(sandbox.Requests, Has.Count.EqualTo(1), "exactly one run");
            Assert.That(sent, Is.LessThan(TimeSpan.FromMilliseconds(900)), "woken by NOTIFY, not by the 5-second poll");
        }
        finally
        {
            (other as IDisposable)?.Dispose();
        }

        static System.Collections.Generic.Dictionary<string, long> Parse(string snapshot) =>
            snapshot.Split(' ').Select(pair => pair.Split('=')).ToDictionary(pair => pair[0], pair => long.Parse(pair[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task WaitForAsync(RelayHost relay, string id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while ((await relay.Relay.GetAsync(id))?.State != RelayDeliveryState.Succeeded)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{id} was not sent within {timeout}: {relay.Errors}");
            }

            await Task.Delay(20);
        }
    }
}
