using System;
using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Relay;

namespace Runchat.Tests.Relay;

/// <summary>
/// The claim, start, renew and recover rules of <c>IDeliveryStore</c>, on each store with explicit
/// clocks: what the dispatchers of several relays rely on.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class StoreContractTests : PerStoreFixture
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    private TestStore? _testStore;
    private IDeliveryStore _store = null!;

    public StoreContractTests(string storeKind)
        : base(storeKind)
    {
    }

    [SetUp]
    public void Open()
    {
        _testStore = NewStore();
        _store = _testStore.Open();
    }

    [TearDown]
    public async Task CloseAsync()
    {
        (_store as IDisposable)?.Dispose();
        if (_testStore is not null)
        {
            await _testStore.DisposeAsync();
        }
    }

    private async Task<string> AddAsync(string key) =>
        (await _store.AddAsync(new NewDelivery("dlv_" + key, "/hooks/open", "demo-agent", "id:" + key, "{\"a\":1}"u8.ToArray(), T0), default)).Id;

    private Task<SendStart> StartAsync(string id, string owner, DateTimeOffset now, int maxConcurrent = 10, int maxPerMinute = 1000) =>
        _store.StartSendAsync(new StartRequest(id, owner, now, now + TimeSpan.FromSeconds(3), maxConcurrent, maxPerMinute), default);

    private string DeliveriesTable => _testStore!.Kind == TestStore.Postgres ? "runchat_relay_deliveries" : "deliveries";

    [Test]
    public async Task ARowTheStoreRefusesDoesNotSinkTheRowsCommittedWithIt()
    {
        // Behind the ingest's own checks, as a future bug might: a key with a NUL (PostgreSQL refuses
        // it) and one past the unique index's B-tree limit (about 2.7 KB), among 300 good ones.
        var bad = _testStore!.Kind == TestStore.Postgres
            ? new[] { "id:nul\0inside", "id:" + string.Concat(Enumerable.Range(0, 300).Select(_ => Guid.NewGuid().ToString("N"))) }
            : Array.Empty<string>();
        var keys = Enumerable.Range(0, 300).Select(i => "id:good-" + i).Concat(bad).OrderBy(_ => Guid.NewGuid()).ToList();

        var adds = keys.Select(key => (Key: key, Task: _store.AddAsync(new NewDelivery("dlv_" + Guid.NewGuid().ToString("N"), "/hooks/open", "demo-agent", key, "{\"a\":1}"u8.ToArray(), T0), default))).ToList();
        foreach (var add in adds)
        {
            try
            {
                await add.Task;
            }
            catch (Exception)
            {
            }
        }

        var good = adds.Where(a => a.Key.StartsWith("id:good-", StringComparison.Ordinal)).ToList();
        Assert.That(good.Count(a => a.Task.IsCompletedSuccessfully), Is.EqualTo(300), "every good row committed");
        Assert.That(adds.Where(a => !a.Key.StartsWith("id:good-", StringComparison.Ordinal)).Count(a => a.Task.IsFaulted), Is.EqualTo(bad.Length), "only the bad rows failed");
        Assert.That(await _store.ListAsync(null, default), Has.Count.EqualTo(300));
    }

    [Test]
    public async Task TheSameKeyWithAnotherBodyIsAConflictAndTheSameBodyADuplicate()
    {
        var first = await _store.AddAsync(new NewDelivery("dlv_first", "/hooks/open", "demo-agent", "id:same", "{\"amount\":10}"u8.ToArray(), T0), default);
        var again = await _store.AddAsync(new NewDelivery("dlv_again", "/hooks/open", "demo-agent", "id:same", "{\"amount\":10}"u8.ToArray(), T0), default);
        var other = await _store.AddAsync(new NewDelivery("dlv_other", "/hooks/open", "demo-agent", "id:same", "{\"amount\":99999}"u8.ToArray(), T0), default);

        Assert.That(first, Is.EqualTo(new AddResult("dlv_first", Duplicate: false)));
        Assert.That(again, Is.EqualTo(new AddResult("dlv_first", Duplicate: true)));
        Assert.That(other, Is.EqualTo(new AddResult("dlv_first", Duplicate: true, Conflict: true)));
        Assert.That(await _store.ListAsync(null, default), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AStoreANewerRelayWroteIsRefusedAndTheMessageSaysToUpgrade()
    {
        var id = await AddAsync("a");
        _testStore!.Execute($"INSERT INTO runchat_relay_schema (version) VALUES ({StoreSchema.Version + 1});");
        var older = _testStore.Open();
        try
        {
            var refused = Assert.ThrowsAsync<InvalidOperationException>(() => older.GetAsync(id, default))!;

            Assert.That(refused.Message, Is.EqualTo($"The relay store was written by a newer relay (schema {StoreSchema.Version + 1}; this relay knows {StoreSchema.Version}). Upgrade the relay."));
        }
        finally
        {
            (older as IDisposable)?.Dispose();
        }
    }

    [Test]
    public async Task AClaimIsExclusiveUntilItsLeaseExpiresThenAnotherRelayCanTakeIt()
    {
        var id = await AddAsync("a");

        var byA = await _store.ClaimAsync(new ClaimRequest("relay-a", T0, T0 + TimeSpan.FromSeconds(3), 10), default);
        var byBDuringTheLease = await _store.ClaimAsync(new ClaimRequest("relay-b", T0 + TimeSpan.FromSeconds(2), T0 + TimeSpan.FromSeconds(5), 10), default);
        var byBAfterTheLease = await _store.ClaimAsync(new ClaimRequest("relay-b", T0 + TimeSpan.FromSeconds(4), T0 + TimeSpan.FromSeconds(7), 10), default);

        Assert.That(byA.Select(d => d.Id), Is.EqualTo(new[] { id }));
        Assert.That(byBDuringTheLease, Is.Empty);
        Assert.That(byBAfterTheLease.Select(d => d.Id), Is.EqualTo(new[] { id }));
        Assert.That((await StartAsync(id, "relay-a", T0 + TimeSpan.FromSeconds(4))).Outcome, Is.EqualTo(SendStartOutcome.Lost), "A's lapsed claim is no longer A's");
        var started = await StartAsync(id, "relay-b", T0 + TimeSpan.FromSeconds(4));
        Assert.That(started, Is.EqualTo(new SendStart(SendStartOutcome.Started, 1)));
        Assert.That((await _store.GetAsync(id, default))!.State, Is.EqualTo(RelayDeliveryState.Sending));
    }

    [Test]
    public async Task MaxConcurrentRunsIsCountedOverEveryOwner()
    {
        var first = await AddAsync("first");
        var second = await AddAsync("second");
        await _store.ClaimAsync(new ClaimRequest("relay-a", T0, T0 + TimeSpan.FromSeconds(30), 1), default);
        await _store.ClaimAsync(new ClaimRequest("relay-b", T0, T0 + TimeSpan.FromSeconds(30), 1), default);

        var a = await StartAsync(first, "relay-a", T0, maxConcurrent: 1);
        var b = await StartAsync(second, "relay-b", T0, maxConcurrent: 1);

        Assert.That(a.Outcome, Is.EqualTo(SendStartOutcome.Started));
        Assert.That(b.Outcome, Is.EqualTo(SendStartOutcome.LimitReached), "relay-b holds its claim but may not start: relay-a's run counts");
        await _store.CompleteAsync(first, "relay-a", RelayDeliveryState.Succeeded, new RunResult("success", "ok", null), ReplyPlan.None, T0, default);
        Assert.That((await StartAsync(second, "relay-b", T0, maxConcurrent: 1)).Outcome, Is.EqualTo(SendStartOutcome.Started));
    }

    [Test]
    public async Task MaxRunsPerMinuteCountsWholeSecondsSoAStartWaitsAtMostASecondLongerThanAnExactMinute()
    {
        var ids = new[] { await AddAsync("m1"), await AddAsync("m2"), await AddAsync("m3") };
        await _store.ClaimAsync(new ClaimRequest("relay-a", T0, T0 + TimeSpan.FromMinutes(5), 3), default);
        var first = T0 + TimeSpan.FromMilliseconds(500);

        Assert.That((await StartAsync(ids[0], "relay-a", first, maxPerMinute: 2)).Outcome, Is.EqualTo(SendStartOutcome.Started));
        Assert.That((await StartAsync(ids[1], "relay-a", T0 + TimeSpan.FromSeconds(10), maxPerMinute: 2)).Outcome, Is.EqualTo(SendStartOutcome.Started));
        Assert.That((await StartAsync(ids[2], "relay-a", first + TimeSpan.FromSeconds(59.9), maxPerMinute: 2)).Outcome, Is.EqualTo(SendStartOutcome.LimitReached), "two starts in the last minute");

        // 60.1 s after the first start an exact count would allow it; its second (12:00:00) is still in
        // the 61-second window, so the start waits, never starting early.
        Assert.That((await StartAsync(ids[2], "relay-a", first + TimeSpan.FromSeconds(60.1), maxPerMinute: 2)).Outcome, Is.EqualTo(SendStartOutcome.LimitReached));
        Assert.That((await StartAsync(ids[2], "relay-a", T0 + TimeSpan.FromSeconds(61), maxPerMinute: 2)).Outcome, Is.EqualTo(SendStartOutcome.Started), "at 12:01:01 the second 12:00:00 has left the window");
    }

    [Test]
    public async Task SendsThatAnEarlierRelayRecordedOnlyInLastSentAtStillCountAfterAnUpgrade()
    {
        // The relay's clock is real here: a relay starting on the store counts the last two minutes of the database's clock.
        var now = DateTimeOffset.UtcNow;
        var sent = new[] { await AddAsync("old1"), await AddAsync("old2") };
        var next = await AddAsync("next");
        _testStore!.Execute($"UPDATE {DeliveriesTable} SET state = 'succeeded', attempts = 1, last_sent_at = {now.AddSeconds(-20).ToUnixTimeMilliseconds()} WHERE id IN ('{sent[0]}', '{sent[1]}');");

        // A relay starting now (a store opened in a new process) reconciles its per-second counts with them.
        var upgraded = _testStore.Open();
        try
        {
            await upgraded.ClaimAsync(new ClaimRequest("relay-new", now, now + TimeSpan.FromMinutes(5), 10), default);
            var start = await upgraded.StartSendAsync(new StartRequest(next, "relay-new", now, now + TimeSpan.FromSeconds(30), 10, 2), default);

            Assert.That(start.Outcome, Is.EqualTo(SendStartOutcome.LimitReached), "the two sends 20 s ago fill a limit of two a minute");
            var later = now + TimeSpan.FromSeconds(62);
            Assert.That((await upgraded.StartSendAsync(new StartRequest(next, "relay-new", later, later + TimeSpan.FromSeconds(30), 10, 2), default)).Outcome, Is.EqualTo(SendStartOutcome.Started));
        }
        finally
        {
            (upgraded as IDisposable)?.Dispose();
        }
    }

    [Test]
    public async Task ARunWhoseLeaseIsRenewedStaysSendingAndOneNotHeldBecomesUnknownWhenItsLeaseExpires()
    {
        var held = await AddAsync("held");
        var orphan = await AddAsync("orphan");
        await _store.ClaimAsync(new ClaimRequest("relay-a", T0, T0 + TimeSpan.FromSeconds(3), 10), default);
        await StartAsync(held, "relay-a", T0);
        await StartAsync(orphan, "relay-a", T0);

        // relay-a holds only 'held' in memory (the other's start committed but its answer was lost).
        await _store.RenewAsync("relay-a", new[] { held }, T0 + TimeSpan.FromSeconds(60), default);
        var recovered = await _store.RecoverInterruptedAsync(T0 + TimeSpan.FromSeconds(10), atStart: false, default);

        Assert.That(recovered, Is.EqualTo(1));
        Assert.That((await _store.GetAsync(held, default))!.State, Is.EqualTo(RelayDeliveryState.Sending));
        Assert.That((await _store.GetAsync(orphan, default))!.State, Is.EqualTo(RelayDeliveryState.Unknown));
    }

    [Test]
    public async Task AKnownOutcomeReplacesTheUnknownThatAnotherRelaySetWhenTheLeaseLapsed()
    {
        var id = await AddAsync("late");
        await _store.ClaimAsync(new ClaimRequest("relay-a", T0, T0 + TimeSpan.FromSeconds(3), 10), default);
        await StartAsync(id, "relay-a", T0);
        await _store.RecoverInterruptedAsync(T0 + TimeSpan.FromSeconds(10), atStart: false, default);
        Assert.That((await _store.GetAsync(id, default))!.State, Is.EqualTo(RelayDeliveryState.Unknown));

        await _store.CompleteAsync(id, "relay-a", RelayDeliveryState.Succeeded, new RunResult("success", "Done.", null), ReplyPlan.None, T0 + TimeSpan.FromSeconds(11), default);
        await _store.CompleteAsync(id, "relay-b", RelayDeliveryState.Failed, new RunResult(null, null, "not mine"), ReplyPlan.None, T0 + TimeSpan.FromSeconds(12), default);

        var delivery = (await _store.GetAsync(id, default))!;
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded), "the owner's known outcome wins; another relay's write does not");
        Assert.That(delivery.FinalReply, Is.EqualTo("Done."));
    }

    [Test]
    public async Task ReleasedClaimsCanBeTakenAtOnce()
    {
        var id = await AddAsync("released");
        await _store.ClaimAsync(new ClaimRequest("relay-a", T0, T0 + TimeSpan.FromSeconds(30), 10), default);

        var released = await _store.ReleaseAsync("relay-a", T0, default);
        var byB = await _store.ClaimAsync(new ClaimRequest("relay-b", T0, T0 + TimeSpan.FromSeconds(30), 10), default);

        Assert.That(released, Is.EqualTo(1));
        Assert.That(byB.Select(d => d.Id), Is.EqualTo(new[] { id }));
    }

    [Test]
    public async Task TheMonitorReadsPagesPayloadsCountsAndTheOverview()
    {
        var monitor = new RelayMonitor(_store, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0));
        var body = "{\"monitor\":true}"u8.ToArray();
        await _store.AddAsync(new NewDelivery("dlv_old", "/hooks/monitored", "demo-agent", "id:old", body, T0.AddDays(-3)), default);
        await _store.AddAsync(new NewDelivery("dlv_new", "/hooks/monitored", "demo-agent", "id:new", body, T0.AddMinutes(-5)), default);
        await _store.AddAsync(new NewDelivery("dlv_skip", "/hooks/other", "demo-agent", "id:skip", body, T0.AddMinutes(-1)) { State = RelayDeliveryState.Ignored, Reason = "not selected" }, default);

        var first = await monitor.ListAsync(new RelayDeliveryQuery { Route = "/hooks/monitored", Limit = 1 });
        var second = await monitor.ListAsync(new RelayDeliveryQuery { Route = "/hooks/monitored", Limit = 1, Before = first.NextCursor });
        var counts = await monitor.CountByStateAsync();
        var overview = await monitor.GetOverviewAsync();

        Assert.That(first.Deliveries.Select(d => d.Id), Is.EqualTo(new[] { "dlv_new" }), "newest first");
        Assert.That(second.Deliveries.Select(d => d.Id), Is.EqualTo(new[] { "dlv_old" }));
        Assert.That(second.NextCursor, Is.Null, "two deliveries on that route: no third page");
        Assert.That(await monitor.GetPayloadAsync("dlv_old"), Is.EqualTo(body));
        Assert.That(await monitor.GetPayloadAsync("dlv_none"), Is.Null);
        Assert.That((await monitor.GetAsync("dlv_skip"))!.State, Is.EqualTo(RelayDeliveryState.Ignored));
        Assert.That(counts.Select(c => c.State), Is.EquivalentTo(Enum.GetValues<RelayDeliveryState>()), "every state, zeros too");
        Assert.That(counts.Single(c => c.State == RelayDeliveryState.Pending), Is.EqualTo(new RelayStateCount(RelayDeliveryState.Pending, 2, atLeast: false)));
        Assert.That(counts.Single(c => c.State == RelayDeliveryState.Ignored).Count, Is.EqualTo(1));
        Assert.That(counts.Single(c => c.State == RelayDeliveryState.Sending).Count, Is.Zero);
        Assert.That(overview.OldestPending, Is.EqualTo(T0.AddDays(-3)), "the one received 3 days ago");
        Assert.That(overview.ReceivedByRoute.Select(r => (r.Route, r.Count)), Is.EquivalentTo(new[] { ("/hooks/monitored", 1L), ("/hooks/other", 1L) }), "the last 24 hours only, by the fake clock");
        Assert.That(overview.StartedLastDay, Is.Zero);
        Assert.ThrowsAsync<ArgumentException>(() => monitor.ListAsync(new RelayDeliveryQuery { Before = "not-a-cursor" }));
        Assert.ThrowsAsync<ArgumentException>(() => monitor.ListAsync(new RelayDeliveryQuery { Limit = 1001 }));
    }
}
