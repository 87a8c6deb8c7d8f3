using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.TestSupport;
using Runchat.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// Operating a relay for months, on both stores: retention and purge (on a fake clock), erasure by sender id, pause and
/// resume of routes and schedules, bulk replay, the instances' heartbeats and the health checks.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class OperatingTests : PerStoreFixture
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    public OperatingTests(string storeKind)
        : base(storeKind)
    {
    }

    private static NewDelivery Delivery(string id, DateTimeOffset receivedAt, RelayDeliveryState state = RelayDeliveryState.Pending, string route = "/hooks/a", string? sender = null) =>
        new(id, route, "demo-agent", "key:" + id, Encoding.UTF8.GetBytes("{\"n\":\"" + id + "\"}"), receivedAt, SenderId: sender, Event: "thing.happened")
        {
            State = state,
            Reason = state == RelayDeliveryState.Pending ? null : "stored " + state,
        };

    /// <summary>Sets a stored delivery's state and last change behind the relay's back (as a finished run would have left it).</summary>
    private static void Finish(TestStore store, string id, string state, DateTimeOffset updatedAt, string? replyState = null) =>
        store.Execute($"UPDATE {Table(store)} SET state = '{state}', updated_at = {updatedAt.ToUnixTimeMilliseconds()}, reply_state = {(replyState is null ? "NULL" : $"'{replyState}'")} WHERE id = '{id}'");

    private static string Table(TestStore store) => store.Kind == TestStore.Sqlite ? "deliveries" : "runchat_relay_deliveries";

    /// <summary>
    /// The operator API over a store, on a clock stopped at <see cref="Now"/>, with the routes and schedules of
    /// <paramref name="options"/> (none by default), waking <paramref name="signal"/> as it would the dispatcher.
    /// </summary>
    private static RunchatRelay OperatorApi(IDeliveryStore store, RunchatRelayOptions? options = null, DispatchSignal? signal = null)
    {
        options ??= new RunchatRelayOptions();
        Assert.That(options.Validate(), Is.Empty);
        return new(store, new RelayMonitor(store, TimeProvider.System), new FakeTimeProvider(Now), signal ?? new DispatchSignal(), new RelayRouteTable(Microsoft.Extensions.Options.Options.Create(options)));
    }

    private static RelayRetention Retention(IDeliveryStore store, TimeProvider clock, Action<RelayRetentionOptions>? configure = null)
    {
        var options = new RunchatRelayOptions();
        configure?.Invoke(options.Retention);
        return new RelayRetention(store, Microsoft.Extensions.Options.Options.Create(options), clock, NullLogger<RelayRetention>.Instance);
    }

    [Test]
    public async Task RetentionDeletesEachFinishedStatePastItsPeriodAndNothingElseAndTheCountsStay()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        var rows = new (string Id, TimeSpan Age, string? State, TimeSpan? ChangedAgo, string? Reply)[]
        {
            ("ignored_old", TimeSpan.FromDays(2), "ignored", null, null),
            ("ignored_new", TimeSpan.FromHours(23), "ignored", null, null),
            ("succeeded_old", TimeSpan.FromDays(8), "succeeded", null, null),
            ("succeeded_new", TimeSpan.FromDays(6), "succeeded", null, null),
            ("succeeded_replying", TimeSpan.FromDays(8), "succeeded", null, "pending"),
            ("succeeded_posting", TimeSpan.FromDays(8), "succeeded", null, "posting"),
            ("succeeded_posted", TimeSpan.FromDays(8), "succeeded", null, "posted"),
            ("failed_old", TimeSpan.FromDays(31), "failed", null, null),
            ("failed_replayed", TimeSpan.FromDays(40), "failed", TimeSpan.FromHours(1), null),
            ("unknown_old", TimeSpan.FromDays(91), "unknown", null, null),
            ("unknown_new", TimeSpan.FromDays(89), "unknown", null, null),
            ("pending_old", TimeSpan.FromDays(400), null, null, null),
            ("sending_old", TimeSpan.FromDays(400), "sending", null, null),
        };
        foreach (var row in rows)
        {
            await store.AddAsync(Delivery(row.Id, Now - row.Age), default);
            if (row.State is { } state)
            {
                Finish(testStore, row.Id, state, Now - (row.ChangedAgo ?? row.Age), row.Reply);
            }
        }

        var counted = testStore.Scalar("SELECT SUM(count) FROM runchat_relay_minutes");
        var deleted = await Retention(store, new FakeTimeProvider(Now)).RunOnceAsync(default);

        var left = (await store.ListAsync(null, default)).Select(d => d.Id).OrderBy(id => id).ToArray();
        Assert.That(left, Is.EqualTo(new[]
        {
            "failed_replayed", "ignored_new", "pending_old", "sending_old", "succeeded_new", "succeeded_posting", "succeeded_replying", "unknown_new",
        }), "each state past its default period (7, 30, 90 and 1 days) goes, unless it changed since, is unfinished, or its reply is still being posted");
        Assert.That(deleted, Is.EqualTo(new Dictionary<RelayDeliveryState, long>
        {
            [RelayDeliveryState.Succeeded] = 2, [RelayDeliveryState.Failed] = 1, [RelayDeliveryState.Unknown] = 1, [RelayDeliveryState.Ignored] = 1,
        }));
        Assert.That(await store.GetBodyAsync("failed_old", default), Is.Null, "the body goes with the row");
        Assert.That(testStore.Scalar("SELECT SUM(count) FROM runchat_relay_minutes"), Is.EqualTo(counted).And.EqualTo(rows.Length), "the per-minute counts survive the deletion");
    }

    [Test]
    public async Task ARetentionPeriodSetToNothingKeepsThatStateForEverAndOneSecondIsAllowed()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        await store.AddAsync(Delivery("ignored_ancient", Now - TimeSpan.FromDays(3000), RelayDeliveryState.Ignored), default);
        await store.AddAsync(Delivery("failed_2s", Now - TimeSpan.FromSeconds(2), RelayDeliveryState.Failed), default);

        await Retention(store, new FakeTimeProvider(Now), r => (r.Ignored, r.Failed) = (null, TimeSpan.FromSeconds(1))).RunOnceAsync(default);

        Assert.That((await store.ListAsync(null, default)).Select(d => d.Id), Is.EqualTo(new[] { "ignored_ancient" }));
    }

    [Test]
    public async Task RetentionDeletesInSmallBatchesUntilNoneIsLeft()
    {
        await using var testStore = NewStore();
        await using var counting = new PurgeCounting(testStore.Open());
        var old = Now - TimeSpan.FromDays(2);
        await Task.WhenAll(Enumerable.Range(0, 1203).Select(i => counting.AddAsync(Delivery($"dlv_{i:D5}", old.AddMilliseconds(i), RelayDeliveryState.Ignored), default)));

        var deleted = await Retention(counting, new FakeTimeProvider(Now)).RunOnceAsync(default);

        Assert.That(deleted[RelayDeliveryState.Ignored], Is.EqualTo(1203));
        Assert.That(RelayRetention.BatchSize, Is.EqualTo(250));
        Assert.That(counting.IgnoredBatches, Is.EqualTo(new[] { 250, 250, 250, 250, 203, 0 }), "short statements, not one long one, until one finds nothing");
        Assert.That(testStore.Scalar($"SELECT COUNT(*) FROM {Table(testStore)}"), Is.Zero);
    }

    [Test]
    public async Task WhileAnotherRelayDeletesThisOneSkipsItsTurnAndAPurgeWaitsForIt()
    {
        if (StoreKind != TestStore.Postgres)
        {
            Assert.Ignore("One process uses a SQLite store: there is no other relay to take turns with.");
        }

        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        await store.AddAsync(Delivery("ignored_old", Now - TimeSpan.FromDays(2), RelayDeliveryState.Ignored), default);
        await store.CountPurgeableAsync(RelayDeliveryState.Ignored, Now, default);

        // Another relay's retention batch, holding the turn in its transaction.
        await using var other = new NpgsqlConnection(testStore.Setting.Substring("postgres:".Length));
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@lock)", other, transaction))
        {
            take.Parameters.AddWithValue("lock", 0x52756e636861_03L);
            await take.ExecuteNonQueryAsync();
        }

        Assert.That(await store.PurgeBatchAsync(RelayDeliveryState.Ignored, Now - TimeSpan.FromDays(1), 500, default), Is.EqualTo(-1), "the batch is skipped, not waited for");
        var round = await Retention(store, new FakeTimeProvider(Now)).RunOnceAsync(default);
        Assert.That(round.Values.Sum(), Is.Zero);

        var relay = OperatorApi(store);
        var purge = relay.PurgeAsync(TimeSpan.FromDays(1), RelayDeliveryState.Ignored);
        await Task.Delay(300);
        Assert.That(purge.IsCompleted, Is.False, "an operator's purge waits for the turn");
        await transaction.CommitAsync();
        Assert.That((await purge).Total, Is.EqualTo(1));
    }

    [Test]
    public async Task PurgeCountsWhatItWouldDeleteThenDeletesExactlyThatAndRefusesUnfinishedStates()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        await store.AddAsync(Delivery("failed_40d", Now - TimeSpan.FromDays(40), RelayDeliveryState.Failed), default);
        await store.AddAsync(Delivery("ignored_40d", Now - TimeSpan.FromDays(40), RelayDeliveryState.Ignored), default);
        await store.AddAsync(Delivery("failed_20d", Now - TimeSpan.FromDays(20), RelayDeliveryState.Failed), default);
        await store.AddAsync(Delivery("pending_40d", Now - TimeSpan.FromDays(40)), default);
        var relay = OperatorApi(store);

        var dry = await relay.PurgeAsync(TimeSpan.FromDays(30), dryRun: true);
        Assert.That((dry.DryRun, dry.Total, dry.Deleted[RelayDeliveryState.Failed], dry.Deleted[RelayDeliveryState.Ignored]), Is.EqualTo((true, 2L, 1L, 1L)));
        Assert.That(await store.ListAsync(null, default), Has.Count.EqualTo(4), "a dry run deletes nothing");

        var onlyFailed = await relay.PurgeAsync(TimeSpan.FromDays(30), RelayDeliveryState.Failed);
        Assert.That((onlyFailed.DryRun, onlyFailed.Total, onlyFailed.Deleted.Keys.Single()), Is.EqualTo((false, 1L, RelayDeliveryState.Failed)));
        Assert.That((await store.ListAsync(null, default)).Select(d => d.Id).OrderBy(i => i), Is.EqualTo(new[] { "failed_20d", "ignored_40d", "pending_40d" }));

        Assert.That(() => relay.PurgeAsync(TimeSpan.FromDays(30), RelayDeliveryState.Pending), Throws.ArgumentException.With.Message.Contains("pending deliveries have not finished"));
        Assert.That(() => relay.PurgeAsync(TimeSpan.FromDays(30), RelayDeliveryState.Sending), Throws.ArgumentException.With.Message.Contains("sending deliveries have not finished"));
        Assert.That(() => relay.PurgeAsync(TimeSpan.FromMilliseconds(999)), Throws.ArgumentException.With.Message.Contains("at least 00:00:01"));
        Assert.That(await store.ListAsync(null, default), Has.Count.EqualTo(3));
    }

    [Test]
    public async Task ForgettingASenderDeletesEveryDeliveryOfItButASendInFlight()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        await store.AddAsync(Delivery("a_pending", Now, sender: "gh-delivery-7"), default);
        await store.AddAsync(Delivery("a_ignored", Now, RelayDeliveryState.Ignored, sender: "gh-delivery-7"), default);
        await store.AddAsync(Delivery("a_sending", Now, sender: "gh-delivery-7"), default);
        Finish(testStore, "a_sending", "sending", Now);
        await store.AddAsync(Delivery("b_pending", Now, sender: "gh-delivery-8"), default);
        await store.AddAsync(Delivery("no_sender", Now), default);

        Assert.That(await store.ForgetSenderAsync("gh-delivery-7", default), Is.EqualTo((2, 1)));
        Assert.That((await store.ListAsync(null, default)).Select(d => d.Id).OrderBy(i => i), Is.EqualTo(new[] { "a_sending", "b_pending", "no_sender" }));
        Assert.That(await store.GetBodyAsync("a_pending", default), Is.Null);

        Finish(testStore, "a_sending", "succeeded", Now);
        Assert.That(await store.ForgetSenderAsync("gh-delivery-7", default), Is.EqualTo((1, 0)), "once its run has ended, it goes too");
        Assert.That(await store.ForgetSenderAsync("gh-delivery-7", default), Is.EqualTo((0, 0)));
    }

    [Test]
    public async Task PausingARouteGivesBackItsClaimsAndNoRelayClaimsItUntilItIsResumed()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        await store.AddAsync(Delivery("a_1", Now - TimeSpan.FromSeconds(2)), default);
        await store.AddAsync(Delivery("b_1", Now - TimeSpan.FromSeconds(1), route: "/hooks/b"), default);
        var claimed = await store.ClaimAsync(new ClaimRequest("relay-1", Now, Now.AddSeconds(30), 10), default);
        Assert.That(claimed.Select(c => c.Id), Is.EquivalentTo(new[] { "a_1", "b_1" }));

        Assert.That(await store.SetPausedAsync(RelayPauseTarget.Route("/hooks/a"), true, Now, default), Is.True);
        Assert.That(await store.SetPausedAsync(RelayPauseTarget.Route("/hooks/a"), true, Now, default), Is.False, "paused already");
        Assert.That((await store.StartSendAsync(new StartRequest("a_1", "relay-1", Now, Now.AddSeconds(30), 10, 100), default)).Outcome, Is.EqualTo(SendStartOutcome.Lost), "a claim taken before the pause is not started");
        Assert.That((await store.StartSendAsync(new StartRequest("b_1", "relay-1", Now, Now.AddSeconds(30), 10, 100), default)).Outcome, Is.EqualTo(SendStartOutcome.Started), "another route goes on");
        await store.AddAsync(Delivery("a_2", Now), default);
        Assert.That(await store.ClaimAsync(new ClaimRequest("relay-2", Now.AddMinutes(5), Now.AddMinutes(6), 10), default), Is.Empty, "nothing of the paused route is claimed, even once leases lapse");
        Assert.That((await store.GetAsync("a_2", default))!.State, Is.EqualTo(RelayDeliveryState.Pending));
        Assert.That((await store.ListPausedAsync(default)).Single(), Is.EqualTo(new RelayPause(RelayPauseTarget.Route("/hooks/a"), DateTimeOffset.FromUnixTimeMilliseconds(Now.ToUnixTimeMilliseconds()))));

        Assert.That(await store.SetPausedAsync(RelayPauseTarget.Route("/hooks/a"), false, Now, default), Is.True);
        Assert.That(await store.SetPausedAsync(RelayPauseTarget.Route("/hooks/a"), false, Now, default), Is.False, "not paused any more");
        Assert.That((await store.ClaimAsync(new ClaimRequest("relay-2", Now, Now.AddSeconds(30), 10), default)).Select(c => c.Id), Is.EqualTo(new[] { "a_1", "a_2" }),
            "at once, oldest first: the claim the pause gave back is not waiting for its lease");
        Assert.That(await store.ListPausedAsync(default), Is.Empty);
    }

    [Test]
    public async Task APausedRouteAcknowledgesAndStoresButSendsNothingUntilResumedThenEachRunsOnce()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o =>
        {
            o.Routes.Add(RelayHost.Route("/hooks/a", "agent-a"));
            o.Routes.Add(RelayHost.Route("/hooks/b", "agent-b"));
        });

        Assert.That(await relay.Relay.PauseAsync(RelayPauseTarget.Route("/HOOKS/A/")), Is.True, "named as a request would reach it: case and a trailing slash do not matter");
        var waiting = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (status, body) = await relay.PostAsync("/hooks/a", $"{{\"n\":{i}}}");
            Assert.That(status, Is.EqualTo(202), "a paused route still acknowledges");
            waiting.Add(body.GetProperty("delivery_id").GetString()!);
        }

        // The dispatcher is running: a delivery of another route, stored after those, is sent and finishes.
        var (_, other) = await relay.PostAsync("/hooks/b", "{\"n\":9}");
        await Eventually.HoldsAsync(async () => (await relay.Relay.GetAsync(other.GetProperty("delivery_id").GetString()!))!.State == RelayDeliveryState.Succeeded, TimeSpan.FromSeconds(15), "route b runs");
        await relay.IdleAsync();
        Assert.That(sandbox.Requests.Select(r => r.JobId), Is.EqualTo(new[] { "agent-b" }), "nothing of the paused route was sent");
        foreach (var id in waiting)
        {
            Assert.That((await relay.Relay.GetAsync(id))!.State, Is.EqualTo(RelayDeliveryState.Pending));
        }

        Assert.That((await relay.Relay.ListPausedAsync()).Select(p => p.Target), Is.EqualTo(new[] { RelayPauseTarget.Route("/hooks/a") }));
        Assert.That(await relay.Relay.ResumeAsync(RelayPauseTarget.Route("/hooks/a")), Is.True);
        await relay.SettledAsync(4, TimeSpan.FromSeconds(15));
        await relay.IdleAsync();
        Assert.That(sandbox.Requests.Count(r => r.JobId == "agent-a"), Is.EqualTo(3), "each waiting delivery ran once");
    }

    [Test]
    public async Task PausingSomethingNotConfiguredIsAClearErrorAndChangesNothing()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o =>
        {
            o.Routes.Add(RelayHost.Route("/hooks/a", "agent-a"));
            o.Schedules.Add(new RelayScheduleOptions { Name = "nightly", Cron = "0 3 * * *", JobId = "digest-agent" });
        });

        Assert.That(() => relay.Relay.PauseAsync(RelayPauseTarget.Route("/hooks/typo")), Throws.ArgumentException.With.Message.Contains("No route is mapped at /hooks/typo"));
        Assert.That(() => relay.Relay.PauseAsync(RelayPauseTarget.Schedule("nighty")), Throws.ArgumentException.With.Message.Contains("No schedule is named nighty"));
        Assert.That(() => RelayPauseTarget.Route(" "), Throws.ArgumentException);
        Assert.That(await relay.Relay.ListPausedAsync(), Is.Empty);

        Assert.That(await relay.Relay.PauseAsync(RelayPauseTarget.Schedule("NIGHTLY")), Is.True);
        Assert.That((await relay.Relay.ListPausedAsync()).Single().Target, Is.EqualTo(RelayPauseTarget.Schedule("nightly")), "stored under the configured name");
    }

    [Test]
    public async Task APausedSchedulesTickIsStoredIgnoredAndNeverCaughtUpAndTheNextAfterResumeRuns()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 0, 0, 0, 500, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "every-2s", Cron = "*/2 * * * * *", JobId = "digest-agent", Misfire = "run-once" });
        await store.SetPausedAsync(RelayPauseTarget.Schedule("every-2s"), true, Now, default);

        await harness.AdvanceAsync(TimeSpan.FromSeconds(2));
        await Eventually.HoldsAsync(() => harness.Added.Count == 1, TimeSpan.FromSeconds(10), "the 00:00:02 tick");
        var skipped = harness.Added.Single();
        Assert.That((skipped.DedupeKey, skipped.State, skipped.Reason), Is.EqualTo(("schedule:every-2s:2026-12-06T00:00:02Z", RelayDeliveryState.Ignored,
            "Skipped: the schedule is paused (runchat-job relay resume --schedule every-2s).")));
        Assert.That(harness.Signal.IsPending, Is.False, "nothing to send: the dispatcher is not woken");

        await store.SetPausedAsync(RelayPauseTarget.Schedule("every-2s"), false, Now, default);
        await harness.AdvanceAsync(TimeSpan.FromSeconds(2));
        await Eventually.HoldsAsync(() => harness.Added.Count == 2, TimeSpan.FromSeconds(10), "the 00:00:04 tick");
        Assert.That((harness.Added[1].DedupeKey, harness.Added[1].State), Is.EqualTo(("schedule:every-2s:2026-12-06T00:00:04Z", RelayDeliveryState.Pending)));
        Assert.That((await store.GetAsync(harness.Added[0].Id, default))!.State, Is.EqualTo(RelayDeliveryState.Ignored));
    }

    [Test]
    public async Task ABulkReplayReplaysTheFilteredFailedDeliveriesOnceEvenWhenTwoOperatorsRunItTogether()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        for (var i = 0; i < 250; i++)
        {
            await store.AddAsync(Delivery($"a_{i:D3}", Now - TimeSpan.FromMinutes(i), RelayDeliveryState.Failed), default);
        }

        await store.AddAsync(Delivery("b_failed", Now, RelayDeliveryState.Failed, route: "/hooks/b"), default);
        await store.AddAsync(Delivery("a_unknown", Now, RelayDeliveryState.Unknown), default);
        await store.AddAsync(Delivery("a_old", Now - TimeSpan.FromDays(2), RelayDeliveryState.Failed), default);
        var relays = Enumerable.Range(0, 2).Select(_ => OperatorApi(store)).ToArray();
        var query = new RelayDeliveryQuery { State = RelayDeliveryState.Failed, Route = "/hooks/a", Since = Now - TimeSpan.FromDays(1), Limit = 40 };

        var both = await Task.WhenAll(relays.Select(async relay =>
        {
            var results = new List<RelayReplayResult>();
            await foreach (var result in relay.ReplayManyAsync(query))
            {
                results.Add(result);
            }

            return results;
        }));

        var replayed = both.SelectMany(r => r).Where(r => r.Replayed).Select(r => r.Delivery.Id).ToList();
        Assert.That(replayed, Is.Unique.And.Count.EqualTo(250), "each selected delivery replayed once between the two");
        Assert.That(replayed, Is.EquivalentTo(Enumerable.Range(0, 250).Select(i => $"a_{i:D3}")));
        Assert.That(both.SelectMany(r => r).Where(r => !r.Replayed).Select(r => r.Reason), Has.All.Not.Null);
        foreach (var id in new[] { "b_failed", "a_unknown", "a_old" })
        {
            Assert.That((await store.GetAsync(id, default))!.State, Is.Not.EqualTo(RelayDeliveryState.Pending), id + " is outside the filter");
        }

        Assert.That((await store.GetAsync("a_000", default))!.State, Is.EqualTo(RelayDeliveryState.Pending));
        Assert.That(() => relays[0].ReplayManyAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Succeeded }), Throws.ArgumentException.With.Message.Contains("failed or unknown"));
        Assert.That(() => relays[0].ReplayManyAsync(new RelayDeliveryQuery()), Throws.ArgumentException.With.Message.Contains("no state"));
        Assert.That(() => relays[0].ReplayManyAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Failed, Before = "nope" }), Throws.ArgumentException.With.Message.Contains("is not a list cursor"));
        Assert.That(() => relays[0].ReplayManyAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Failed, Route = "/hooks\0" }), Throws.ArgumentException.With.Message.EqualTo("'/hooks?' is not a route: a route's path has no control characters. (Parameter 'query')"));
        Assert.That(() => relays[0].ListAsync(new RelayDeliveryQuery { Event = "issues\u007f" }), Throws.ArgumentException.With.Message.StartWith("'issues?' is not an event name"));
    }

    [Test]
    public async Task AReplayOrAResumeWakesTheDispatcherAndAnUnknownOrRefusedOneDoesNot()
    {
        await using var testStore = NewStore();
        var refuse = new RefusingReplays(testStore.Open(), "a_changed");
        using var store = refuse;
        var options = new RunchatRelayOptions();
        options.Routes.Add(RelayHost.Route("/hooks/a", "agent-a"));
        var signal = new DispatchSignal();
        var relay = OperatorApi(store, options, signal);
        await store.AddAsync(Delivery("a_failed", Now - TimeSpan.FromMinutes(1), RelayDeliveryState.Failed), default);
        await store.AddAsync(Delivery("a_changed", Now - TimeSpan.FromMinutes(2), RelayDeliveryState.Failed), default);

        Assert.That(await relay.ReplayAsync("dlv_nothing"), Is.Null, "no such delivery");
        Assert.That(signal.IsPending, Is.False);
        Assert.That(() => relay.ReplayAsync(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("deliveryId"));

        var refused = await Collect(relay.ReplayManyAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Failed, Before = await CursorAfter(relay, "a_failed") }));
        Assert.That(refused.Select(r => (r.Delivery.Id, r.Replayed, r.Reason)), Is.EqualTo(new[] { ("a_changed", false, (string?)"it changed since it was read") }));
        Assert.That(signal.IsPending, Is.False, "nothing was replayed: nothing to send");

        Assert.That((await relay.ReplayAsync("a_failed"))!.State, Is.EqualTo(RelayDeliveryState.Pending));
        Assert.That(signal.IsPending, Is.True, "a replay wakes the dispatcher at once");
        await signal.WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System, default);
        Assert.That(signal.IsPending, Is.False);

        await store.AddAsync(Delivery("a_third", Now - TimeSpan.FromMinutes(3), RelayDeliveryState.Failed), default);
        var bulk = await Collect(relay.ReplayManyAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Failed }));
        Assert.That(bulk.Select(r => (r.Delivery.Id, r.Replayed)), Is.EqualTo(new[] { ("a_changed", false), ("a_third", true) }));
        Assert.That(signal.IsPending, Is.True, "so does a bulk replay that replayed one");
        await signal.WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System, default);

        Assert.That(await relay.PauseAsync(RelayPauseTarget.Route("/hooks/a")), Is.True);
        Assert.That(signal.IsPending, Is.False, "a pause sends nothing");
        Assert.That(await relay.ResumeAsync(RelayPauseTarget.Route("/hooks/a")), Is.True);
        Assert.That(signal.IsPending, Is.True, "a resume wakes the dispatcher for what waited");
        Assert.That(() => relay.PauseAsync(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("target"));
        Assert.That(() => relay.ReplayManyAsync(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("query"));
    }

    [Test]
    public async Task ABulkReplayCancelledBetweenTwoDeliveriesReplaysNoMore()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        for (var i = 0; i < 3; i++)
        {
            await store.AddAsync(Delivery($"a_{i}", Now - TimeSpan.FromMinutes(i), RelayDeliveryState.Failed), default);
        }

        using var cancel = new CancellationTokenSource();
        var seen = new List<string>();
        Assert.That(async () =>
        {
            await foreach (var result in OperatorApi(store).ReplayManyAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Failed }, cancel.Token))
            {
                seen.Add(result.Delivery.Id);
                cancel.Cancel();
            }
        }, Throws.InstanceOf<OperationCanceledException>());

        Assert.That(seen, Is.EqualTo(new[] { "a_0" }));
        Assert.That((await store.ListAsync(RelayDeliveryState.Pending, default)).Select(d => d.Id), Is.EqualTo(new[] { "a_0" }), "the other two stay failed, in the page already read");
    }

    [Test]
    public async Task RunNowStoresOneTickOfTheNamedScheduleAndWakesTheDispatcher()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        var options = new RunchatRelayOptions();
        options.Schedules.Add(new RelayScheduleOptions { Name = "nightly", Cron = "0 3 * * *", JobId = "digest-agent" });
        options.Schedules.Add(new RelayScheduleOptions { Name = "weekly-flow", Cron = "0 4 * * 1", TimeZone = "Europe/Paris", FlowId = "report-flow" });
        var signal = new DispatchSignal();
        var relay = OperatorApi(store, options, signal);

        var tick = await relay.RunScheduleNowAsync("WEEKLY-FLOW");

        Assert.That(signal.IsPending, Is.True);
        var stored = await store.GetAsync(tick.Id, default);
        Assert.That((stored?.Id, stored?.DedupeKey), Is.EqualTo(((string?)tick.Id, (string?)tick.DedupeKey)), "what is returned is what was stored");
        Assert.That((tick.Route, tick.JobId, tick.FlowId, tick.DedupeKey, tick.State, tick.SenderId, tick.Event, tick.ReceivedAt),
            Is.EqualTo(("schedule:weekly-flow", (string?)null, (string?)"report-flow", "schedule:weekly-flow:manual:" + tick.Id, RelayDeliveryState.Pending, (string?)"manual", (string?)"schedule", Now)),
            "the second schedule's, by its configured name, whatever the case asked");
        Assert.That(System.Text.Encoding.UTF8.GetString((await store.GetBodyAsync(tick.Id, default))!), Is.EqualTo("{\"schedule\":\"weekly-flow\",\"fire_time\":\"2026-12-06T13:00:00+01:00\"}"),
            "its body is a tick's, fired now in the schedule's zone");

        var job = await relay.RunScheduleNowAsync("nightly");
        Assert.That((job.Route, job.JobId, job.FlowId), Is.EqualTo(("schedule:nightly", (string?)"digest-agent", (string?)null)));
        Assert.That(job.Id, Is.Not.EqualTo(tick.Id));

        Assert.That(() => relay.RunScheduleNowAsync("hourly"), Throws.ArgumentException.With.Message.StartWith("No schedule is named hourly (Relay:Schedules)."));
        Assert.That(() => relay.RunScheduleNowAsync(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("name"));
        Assert.That(await store.ListAsync(null, default), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task APurgeOfOneSecondIsAllowedAndForgettingNeedsASenderId()
    {
        await using var testStore = NewStore();
        using var store = (SqlDeliveryStore)testStore.Open();
        await store.AddAsync(Delivery("failed_2s", Now - TimeSpan.FromSeconds(2), RelayDeliveryState.Failed), default);
        var relay = OperatorApi(store);

        Assert.That((await relay.PurgeAsync(TimeSpan.FromSeconds(1))).Total, Is.EqualTo(1), "one second is the shortest period, and allowed");
        foreach (var blank in new[] { "", "  " })
        {
            Assert.That(() => relay.ForgetSenderAsync(blank), Throws.ArgumentException.With.Message.StartWith("A sender id is needed.").And.Property("ParamName").EqualTo("senderId"));
        }
    }

    [Test]
    public async Task ARunningRelayRecordsItsHeartbeatAndRemovesItWhenItStops()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        await using var testStore = NewStore();
        var relay = await StartRelayAsync(sandbox.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/a", "agent-a")), store: testStore);
        RelayInstance? mine = null;
        await Eventually.HoldsAsync(async () => (mine = (await relay.Relay.ListInstancesAsync()).SingleOrDefault()) is not null, TimeSpan.FromSeconds(10), "the first heartbeat");
        Assert.That((mine!.Host, mine.ProcessId, mine.RunsInFlight, mine.IsAlive(DateTimeOffset.UtcNow)), Is.EqualTo((Environment.MachineName, Environment.ProcessId, 0, true)));
        Assert.That(mine.Id, Is.EqualTo(relay.Services.GetRequiredService<RelayInstanceStatus>().Id), "the id its claims carry");
        Assert.That(mine.StartedAt, Is.LessThanOrEqualTo(mine.LastSeenAt));
        Assert.That(mine.IsAlive(mine.LastSeenAt + TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(mine.IsAlive(mine.LastSeenAt + TimeSpan.FromSeconds(31)), Is.False, "silent for three heartbeats");

        await relay.StopAsync();
        await relay.DisposeAsyncKeepingDatabase();
        using var store = testStore.Open() as SqlDeliveryStore;
        Assert.That(await store!.ListInstancesAsync(default), Is.Empty, "a clean stop removes its row");
    }

    [Test]
    public async Task ReadinessReportsTheStoreAndTheDispatcherAndLivenessChecksNothing()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        var broken = new BreakableStore();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/a", "agent-a")),
            map: m => m.App.MapRunchatRelayHealthChecks(),
            services: s => s.AddSingleton<IDeliveryStore>(provider =>
            {
                DeliveryStoreLocation.TryParse(provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<RunchatRelayOptions>>().Value.Store, out var location, out _);
                return broken.Wrap(location!.Open());
            }));

        await Eventually.HoldsAsync(async () => (await GetAsync(relay, "/readyz")).Status == 200, TimeSpan.FromSeconds(10), "ready once the dispatcher went round");
        var (status, body) = await GetAsync(relay, "/readyz");
        Assert.That(body.GetProperty("status").GetString(), Is.EqualTo("Healthy"));
        Assert.That(body.GetProperty("checks").GetProperty("runchat-relay-store").GetProperty("status").GetString(), Is.EqualTo("Healthy"));
        Assert.That(body.GetProperty("checks").GetProperty("runchat-relay-dispatcher").GetProperty("description").GetString(), Is.EqualTo("The relay's dispatch loop goes round."));
        Assert.That(body.GetProperty("checks").EnumerateObject().Select(c => c.Value.GetProperty("duration_ms").GetDouble()), Has.Exactly(2).GreaterThanOrEqualTo(0), "how long each check took, in ms");

        broken.Down = true;
        (status, body) = await GetAsync(relay, "/readyz");
        Assert.That(status, Is.EqualTo(503));
        Assert.That(body.GetProperty("checks").GetProperty("runchat-relay-store").GetProperty("description").GetString(), Is.EqualTo("The relay store could not be reached: the test broke the store"));
        var (liveStatus, live) = await GetAsync(relay, "/healthz");
        Assert.That((liveStatus, live.GetProperty("status").GetString(), live.GetProperty("checks").EnumerateObject().Count()), Is.EqualTo((200, "Healthy", 0)), "liveness runs no check: a database outage is no reason to restart the relay");

        // The dispatcher's next pass fails to claim: it is alive, and says it cannot reach the store.
        await relay.PostAsync("/hooks/a", "{}");
        await Eventually.HoldsAsync(async () => (await GetAsync(relay, "/readyz")).Body.GetProperty("checks").GetProperty("runchat-relay-dispatcher").GetProperty("status").GetString() == "Degraded",
            TimeSpan.FromSeconds(15), "the dispatcher reports the outage");

        broken.Down = false;
        await Eventually.HoldsAsync(async () => (await GetAsync(relay, "/readyz")).Status == 200, TimeSpan.FromSeconds(15), "ready again");
        await relay.StopAsync();
        var dispatcher = relay.Services.GetRequiredService<RelayDispatcherHealthCheck>();
        var stopped = await dispatcher.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext
        {
            Registration = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration("d", dispatcher, null, null),
        });
        Assert.That((stopped.Status, stopped.Description), Is.EqualTo((Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, "The relay's dispatch loop has stopped.")));
    }

    [Test]
    public void TheDispatcherCheckIsUnhealthyBeforeItsFirstPassAndWhenItStalls()
    {
        var clock = new FakeTimeProvider(Now);
        var status = new RelayInstanceStatus(clock);
        var check = new RelayDispatcherHealthCheck(status, clock);
        var context = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext
        {
            Registration = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration("d", check, null, null),
        };
        string Read() { var r = check.CheckHealthAsync(context).Result; return r.Status + ": " + r.Description; }

        Assert.That(Read(), Is.EqualTo("Unhealthy: The relay's dispatch loop has not started."));
        status.Pass(Now, null, 2);
        Assert.That(Read(), Is.EqualTo("Healthy: The relay's dispatch loop goes round."));
        clock.Advance(RelayHealthChecks.StallAfter);
        Assert.That(Read(), Is.EqualTo("Healthy: The relay's dispatch loop goes round."), "30 s exactly is not yet a stall");
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(Read(), Is.EqualTo("Unhealthy: The relay's dispatch loop has not gone round for 31 s."));
        status.Pass(clock.GetUtcNow(), Now, 0);
        Assert.That(Read(), Is.EqualTo("Degraded: The relay's dispatch loop cannot reach the store, since 2026-12-06 12:00:00Z; it tries each second."));
        Assert.That(status.Snapshot(clock.GetUtcNow()).RunsInFlight, Is.Zero);
    }

    [Test]
    public async Task TheStoreCheckIsUnhealthyOnAnyFailureButTheProbesOwnCancellation()
    {
        var store = new ScriptedStore { Ping = () => Task.FromException(new TaskCanceledException("the command timed out")) };
        var check = new RelayStoreHealthCheck(store);
        var context = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext
        {
            Registration = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration("s", check, null, null),
        };

        var timedOut = await check.CheckHealthAsync(context);
        Assert.That((timedOut.Status, timedOut.Description, timedOut.Exception), Is.EqualTo((Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, "The relay store could not be reached: the command timed out", (Exception?)null)),
            "a driver's timeout is the store not answering");

        using var probe = new CancellationTokenSource();
        probe.Cancel();
        store.Ping = () => Task.FromException(new OperationCanceledException(probe.Token));
        Assert.That(() => check.CheckHealthAsync(context, probe.Token), Throws.InstanceOf<OperationCanceledException>(), "the probe gave up: no verdict on the store");
        store.Ping = () => Task.FromException(new InvalidOperationException("connection refused"));
        Assert.That((await check.CheckHealthAsync(context, probe.Token)).Description, Is.EqualTo("The relay store could not be reached: connection refused"), "a failure is one, whatever the token");
    }

    [Test]
    public async Task TheDispatcherCheckNamesTheInstanceAndItsRunsInFlight()
    {
        var clock = new FakeTimeProvider(Now);
        var status = new RelayInstanceStatus(clock);
        status.Pass(Now, null, 2);
        var check = new RelayDispatcherHealthCheck(status, clock);

        var result = await check.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext
        {
            Registration = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration("d", check, null, null),
        });

        Assert.That(result.Data.OrderBy(d => d.Key).Select(d => $"{d.Key}={d.Value}"), Is.EqualTo(new[] { "instance=" + status.Id, "runs_in_flight=2" }));
    }

    [Test]
    public void APauseTargetSaysWhatItIs()
    {
        Assert.That(RelayPauseTarget.Route(" /hooks/a ").ToString(), Is.EqualTo("route /hooks/a"));
        Assert.That(RelayPauseTarget.Schedule("nightly").ToString(), Is.EqualTo("schedule nightly"));
    }

    [Test]
    public async Task HealthChecksAreRegisteredOnceHoweverOftenTheRelayIsAdded()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRunchatRelay(o => o.Store = "sqlite:" + System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"runchat-health-{Guid.NewGuid():N}.db"));
        services.AddRunchatRelay(o => { });
        await using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckServiceOptions>>().Value;
        Assert.That(options.Registrations.Select(r => (r.Name, string.Join(",", r.Tags.OrderBy(t => t)))), Is.EqualTo(new[]
        {
            ("runchat-relay-store", "ready,runchat-relay"),
            ("runchat-relay-dispatcher", "ready,runchat-relay"),
        }));
        Assert.That(options.Registrations.First().Timeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public void RetentionIsReadFromConfigurationAnEmptyPeriodKeepsForEverAndABadOneIsRefusedAtStart()
    {
        RunchatRelayOptions Bind(params (string Key, string Value)[] settings)
        {
            var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
                .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>("Relay:" + s.Key, s.Value)).Append(new("Relay:Store", "sqlite:" + System.IO.Path.Combine(System.IO.Path.GetTempPath(), "unused.db"))))
                .Build();
            var services = new ServiceCollection().AddLogging().AddRunchatRelay(configuration.GetSection("Relay"));
            using var provider = services.BuildServiceProvider();
            return provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<RunchatRelayOptions>>().Value;
        }

        var defaults = Bind().Retention;
        Assert.That((defaults.Succeeded, defaults.Failed, defaults.Unknown, defaults.Ignored), Is.EqualTo(((TimeSpan?)TimeSpan.FromDays(7), (TimeSpan?)TimeSpan.FromDays(30), (TimeSpan?)TimeSpan.FromDays(90), (TimeSpan?)TimeSpan.FromDays(1))));
        var set = Bind(("Retention:Succeeded", "2.00:00:00"), ("Retention:Ignored", "")).Retention;
        Assert.That((set.Succeeded, set.Ignored, set.Failed), Is.EqualTo(((TimeSpan?)TimeSpan.FromDays(2), (TimeSpan?)null, (TimeSpan?)TimeSpan.FromDays(30))), "an empty period keeps that state for ever");

        Assert.That(() => Bind(("Retention:Failed", "00:00:00.5")), Throws.TypeOf<Microsoft.Extensions.Options.OptionsValidationException>()
            .With.Message.Contains("Relay:Retention:Failed must be between 00:00:01 and 36500.00:00:00 (or empty to keep them for ever); got 00:00:00.5000000."));
        Assert.That(() => Bind(("Retention:Succeded", "1.00:00:00")), Throws.TypeOf<Microsoft.Extensions.Options.OptionsValidationException>().With.Message.Contains("Succeded"));
    }

    [TestCase("/healthz", "", "the route /healthz is where relay serve answers its health checks: give it another path.")]
    [TestCase("/READYZ/", "", "the route /READYZ/ is where relay serve answers its health checks: give it another path.")]
    [TestCase("/relay/hooks", "--dashboard", "the route /relay/hooks is where relay serve answers its dashboard: give it another path.")]
    public async Task ServeRefusesARouteWhereItAnswersItsHealthChecksOrDashboard(string path, string dashboard, string error)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("runchat-serve-paths-").FullName;
        var config = System.IO.Path.Combine(directory, "relay.json");
        System.IO.File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "rk_test_0123456789abcdef", BaseUrl = "http://127.0.0.1:9/api/v1/" },
            Relay = new { Store = "sqlite:" + System.IO.Path.Combine(directory, "relay.db"), Routes = new[] { new { Path = path, JobId = "a", Signature = "none" } } },
        }));
        var args = new List<string> { "relay", "serve", "--config", config, "--urls", "http://127.0.0.1:0" };
        if (dashboard.Length > 0)
        {
            args.Add(dashboard);
        }

        var (exitCode, _, stderr) = await Runchat.Tests.Cli.InProcessCli.RunAsync(args.ToArray());
        Assert.That((exitCode, stderr.Trim()), Is.EqualTo((2, "error: " + error)));
        System.IO.Directory.Delete(directory, recursive: true);
    }

    private static async Task<(int Status, JsonElement Body)> GetAsync(RelayHost relay, string path)
    {
        using var response = await relay.Http.GetAsync(new Uri(relay.BaseUrl, path));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"), text);
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<List<RelayReplayResult>> Collect(IAsyncEnumerable<RelayReplayResult> results)
    {
        var list = new List<RelayReplayResult>();
        await foreach (var result in results)
        {
            list.Add(result);
        }

        return list;
    }

    /// <summary>The list cursor just after <paramref name="id"/>, newest first.</summary>
    private static async Task<string> CursorAfter(RunchatRelay relay, string id)
    {
        var page = await relay.ListAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Failed, Limit = 1 });
        Assert.That(page.Deliveries.Single().Id, Is.EqualTo(id));
        return page.NextCursor!;
    }

    /// <summary>A store that refuses to replay one delivery, as one changed since it was read is refused.</summary>
    private sealed class RefusingReplays : DelegatingStore
    {
        private readonly string _id;

        public RefusingReplays(IDeliveryStore inner, string id)
            : base(inner) => _id = id;

        public override Task<RelayDelivery?> ReplayAsync(RelayDelivery seen, DateTimeOffset now, CancellationToken cancellationToken) =>
            seen.Id == _id ? Task.FromException<RelayDelivery?>(new InvalidOperationException("it changed since it was read")) : base.ReplayAsync(seen, now, cancellationToken);
    }

    /// <summary>Records the size of each retention batch of ignored deliveries.</summary>
    private sealed class PurgeCounting : DelegatingStore
    {
        public PurgeCounting(IDeliveryStore inner)
            : base(inner)
        {
        }

        public List<int> IgnoredBatches { get; } = new();

        public override async Task<int> PurgeBatchAsync(RelayDeliveryState state, DateTimeOffset cutoff, int max, CancellationToken cancellationToken)
        {
            var deleted = await base.PurgeBatchAsync(state, cutoff, max, cancellationToken);
            if (state == RelayDeliveryState.Ignored)
            {
                IgnoredBatches.Add(deleted);
            }

            return deleted;
        }
    }

    /// <summary>A store whose database "goes down" on the test's word: every ping and claim fails.</summary>
    private sealed class BreakableStore
    {
        public volatile bool Down;

        public IDeliveryStore Wrap(IDeliveryStore inner) => new Wrapped(inner, this);

        private sealed class Wrapped : DelegatingStore
        {
            private readonly BreakableStore _switch;

            public Wrapped(IDeliveryStore inner, BreakableStore breakable)
                : base(inner) => _switch = breakable;

            public override Task PingAsync(CancellationToken cancellationToken) =>
                _switch.Down ? Task.FromException(new InvalidOperationException("the test broke the store")) : base.PingAsync(cancellationToken);

            public override Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken) =>
                _switch.Down ? Task.FromException<IReadOnlyList<ClaimedDelivery>>(new InvalidOperationException("the test broke the store")) : base.ClaimAsync(request, cancellationToken);
        }
    }
}
