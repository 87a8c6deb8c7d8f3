using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.TestSupport;
using Runchat.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>Schedules: the cron in its time zone, misfires, overlaps (a fake clock), and ticks across real relay processes.</summary>
[TestFixture]
[Category("Relay")]
[NonParallelizable]
public class ScheduleTests
{
    private static RelaySchedule Schedule(string cron, string zone = "Europe/Berlin", string misfire = "skip", string overlap = "skip")
    {
        var options = new RelayScheduleOptions { Name = "digest", Cron = cron, TimeZone = zone, JobId = "digest-agent", Misfire = misfire, Overlap = overlap };
        return options.Create(out var error) ?? throw new AssertionException(error!);
    }

    [Test]
    public void DaylightSavingGapsAndOverlapsInBerlinFireOnce()
    {
        var schedule = Schedule("30 2 * * *");

        // 29 March 2026: 02:00 jumps to 03:00, so 02:30 does not exist; the tick comes at the gap's end, 03:00 CEST (01:00 UTC).
        Assert.That(schedule.Next(new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero)), Is.EqualTo(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero)));
        // 25 October 2026: 02:30 happens twice (CEST, then CET); it fires once, at the first (00:30 UTC), then next day.
        var first = schedule.Next(new DateTimeOffset(2026, 10, 24, 12, 0, 0, TimeSpan.Zero))!.Value;
        Assert.That(first, Is.EqualTo(new DateTimeOffset(2026, 10, 25, 0, 30, 0, TimeSpan.Zero)));
        Assert.That(schedule.Next(first), Is.EqualTo(new DateTimeOffset(2026, 10, 26, 1, 30, 0, TimeSpan.Zero)));
        Assert.That(schedule.DedupeKey(first), Is.EqualTo("schedule:digest:2026-10-25T00:30:00Z"));
        Assert.That(schedule.FireTimeOf(schedule.DedupeKey(first)), Is.EqualTo(first));
    }

    [TestCase("sometimes", "skip", "Misfire is skip or run-once; got 'sometimes'.")]
    [TestCase("skip", "queue", "Overlap is skip or allow; got 'queue'.")]
    [TestCase("RUN-ONCE", "Allow", null)]
    public void MisfireAndOverlapTakeTheirNamedValuesOnly(string misfire, string overlap, string? error)
    {
        var schedule = new RelayScheduleOptions { Name = "digest", Cron = "0 9 * * *", JobId = "digest-agent", Misfire = misfire, Overlap = overlap };

        var created = schedule.Create(out var problem);

        Assert.That(problem, Is.EqualTo(error));
        Assert.That(created is null, Is.EqualTo(error is not null));
    }

    [TestCase("61 * * * *", null, "Cron '61 * * * *' is not a cron expression")]
    [TestCase("0 9 * * 1-5", "Mars/Olympus", "TimeZone 'Mars/Olympus' is not a time zone")]
    [TestCase("*/2 * * * * *", null, null)]
    public void InvalidSchedulesAreRefusedAtStartUpNamingThem(string cron, string? zone, string? phrase)
    {
        var options = new RunchatRelayOptions { Store = "sqlite:" + Path.Combine(Path.GetTempPath(), "schedules.db") };
        options.Schedules.Add(new RelayScheduleOptions { Name = "weekday-digest", Cron = cron, TimeZone = zone, JobId = "digest-agent" });

        var errors = options.Validate();

        if (phrase is null)
        {
            Assert.That(errors, Is.Empty);
            return;
        }

        Assert.That(errors.Single(), Does.Contain("Relay:Schedules:0 (weekday-digest)").And.Contain(phrase));
    }

    [TestCase("digest!", false)]
    [TestCase("weekly digest", false)]
    [TestCase("", false)]
    [TestCase("  ", false)]
    [TestCase("weekly.digest_2-x", true)]
    public void AScheduleNameIsLettersDigitsAndDashesUnderscoresDots(string name, bool valid)
    {
        var options = new RunchatRelayOptions { Store = "sqlite:" + Path.Combine(Path.GetTempPath(), "schedules.db") };
        options.Schedules.Add(new RelayScheduleOptions { Name = name, Cron = "0 9 * * *", JobId = "digest-agent" });

        var errors = options.Validate();

        Assert.That(errors, valid ? Is.Empty : Has.One.Contains("Name is required: letters, digits, '-', '_' and '.'."));
    }

    [TestCase("digest-agent", "digest-flow", null, "set exactly one of JobId and FlowId")]
    [TestCase(null, null, null, "set exactly one of JobId and FlowId")]
    [TestCase(null, "digest-flow", "Digest {{ schedule.name }}", "Message is for agent jobs")]
    [TestCase(null, "digest-flow", null, null)]
    [TestCase("digest-agent", null, "Digest {{ schedule.name }}", null)]
    public void AScheduleRunsExactlyOneJobOrFlowAndOnlyAJobTakesAMessage(string? jobId, string? flowId, string? message, string? phrase)
    {
        var options = new RunchatRelayOptions { Store = "sqlite:" + Path.Combine(Path.GetTempPath(), "schedules.db") };
        options.Schedules.Add(new RelayScheduleOptions { Name = "digest", Cron = "0 9 * * *", JobId = jobId, FlowId = flowId, Message = message });

        var errors = options.Validate();

        Assert.That(errors, phrase is null ? Is.Empty : Has.One.Contains("Relay:Schedules:0 (digest)").And.One.Contains(phrase));
    }

    [Test]
    public void AScheduleSaysItsCronZoneAndTargetAsWritten()
    {
        var job = new RelayScheduleOptions { Name = "digest", Cron = "0 9 * * 1-5", TimeZone = "Europe/Berlin", JobId = "digest-agent" };
        var flow = new RelayScheduleOptions { Name = "sync", Cron = "*/5 * * * *", FlowId = "sync-flow" };

        Assert.That(job.ToString(), Is.EqualTo("digest: 0 9 * * 1-5 (Europe/Berlin) -> digest-agent"));
        Assert.That(flow.ToString(), Is.EqualTo("sync: */5 * * * * (UTC) -> flow sync-flow"));
        Assert.That(job.Create(out var error)!.CronText, Is.EqualTo("0 9 * * 1-5"), error);
    }

    [Test]
    public async Task ATickIsStoredForItsOwnJobAndWakesTheDispatcherAtOnce()
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 0, 0, 0, 500, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "every-2s", Cron = "*/2 * * * * *", JobId = "digest-agent" });
        Assert.That(harness.Signal.IsPending, Is.False, "nothing is due yet");

        await harness.AdvanceAsync(TimeSpan.FromSeconds(2));
        await Eventually.HoldsAsync(() => harness.Added.Count == 1, TimeSpan.FromSeconds(10), "the 00:00:02 tick");

        var tick = harness.Added.Single();
        Assert.That((tick.Route, tick.JobId, tick.Event, tick.DedupeKey), Is.EqualTo(("schedule:every-2s", "digest-agent", "schedule", "schedule:every-2s:2026-12-06T00:00:02Z")));
        Assert.That(harness.Signal.IsPending, Is.True, "the dispatcher is woken for the tick, not left to its next poll");
    }

    [TestCase(5000, 1)]
    [TestCase(5001, 0)]
    public async Task ATickWokenUpToFiveSecondsLateIsOnTimeAndLaterIsAMisfire(int lateMilliseconds, int runs)
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 9, 59, 0, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent", Misfire = "skip" });

        // Stopped at 09:59, woken at 10:00:05 (exactly the grace) or a millisecond after it, for the 10:00 tick.
        await harness.StallAsync(TimeSpan.FromMinutes(1) + TimeSpan.FromMilliseconds(lateMilliseconds));
        await harness.SettleAsync();

        Assert.That(RelayScheduler.Grace, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(harness.Added.Select(d => d.DedupeKey), Is.EqualTo(Enumerable.Repeat("schedule:hourly:2026-12-06T10:00:00Z", runs)));
    }

    /// <summary>A scheduler on a fake clock and a real SQLite store: it starts, the clock advances by <paramref name="advance"/> a minute at a time, and it stops.</summary>
    private static async Task<(IReadOnlyList<RelayDelivery> Deliveries, bool DispatcherWoken)> RunSchedulerAsync(
        RelayScheduleOptions schedule, DateTimeOffset start, Func<IDeliveryStore, Task> before, TimeSpan advance)
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        var store = testStore.Open();
        try
        {
            await before(store);
            await using var harness = await SchedulerHarness.StartAsync(store, start, schedule);
            for (var step = TimeSpan.Zero; step < advance; step += TimeSpan.FromMinutes(1))
            {
                await harness.AdvanceAsync(TimeSpan.FromMinutes(1));
            }

            await harness.StopAsync();
            var all = (await store.ListAsync(null, default)).Where(d => d.Route == "schedule:" + schedule.Name).OrderBy(d => d.DedupeKey, StringComparer.Ordinal).ToList();
            return (all, harness.Signal.IsPending);
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }

    [Test]
    public async Task ATickMonthsAwayIsWaitedForAndFires()
    {
        // 1 June is 177 days from 6 December: past Task.Delay's 49.7-day limit, which used to end the scheduler.
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 0, 10, 0, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "yearly", Cron = "0 0 1 6 *", JobId = "digest-agent" });

        await harness.AdvanceAsync(TimeSpan.FromDays(100));
        Assert.That(harness.Added, Is.Empty);
        Assert.That(harness.Faulted, Is.Null);
        await harness.AdvanceAsync(TimeSpan.FromDays(80));

        await Eventually.HoldsAsync(() => harness.Added.Count == 1, TimeSpan.FromSeconds(10), "the 1 June tick is enqueued");
        Assert.That(harness.Added.Single().DedupeKey, Is.EqualTo("schedule:yearly:2027-06-01T00:00:00Z"));
    }

    [TestCase("skip", 1)]
    [TestCase("run-once", 1)]
    public async Task AfterAStallTheNextTickComesFromNowNeverABurst(string misfire, int ticks)
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 0, 0, 0, 500, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "every-2s", Cron = "*/2 * * * * *", JobId = "digest-agent", Misfire = misfire });

        // The process is stopped for 30 s: 15 ticks fall due at once when it resumes.
        await harness.StallAsync(TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(() => harness.Added.Count >= ticks, TimeSpan.FromSeconds(10), "the latest tick is enqueued");
        await harness.SettleAsync();

        Assert.That(harness.Added, Has.Count.EqualTo(ticks), "one tick, not 15");
        Assert.That(harness.Added.Single().DedupeKey, Is.EqualTo("schedule:every-2s:2026-12-06T00:00:30Z"), "the latest, on time");

        await harness.AdvanceAsync(TimeSpan.FromSeconds(2));
        await Eventually.HoldsAsync(() => harness.Added.Count == ticks + 1, TimeSpan.FromSeconds(10), "the next tick, two seconds on");
        Assert.That(harness.Added.Last().DedupeKey, Is.EqualTo("schedule:every-2s:2026-12-06T00:00:32Z"));
    }

    [Test]
    public async Task AnHourlyScheduleStoppedForTwentyMinutesSkipsTheLateTickOrRunsItOnce([Values("skip", "run-once")] string misfire)
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 9, 50, 0, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent", Misfire = misfire });

        await harness.StallAsync(TimeSpan.FromMinutes(30)); // stopped at 09:50, woken at 10:20 for the 10:00 tick
        await harness.SettleAsync();

        Assert.That(harness.Added.Select(d => d.DedupeKey), Is.EqualTo(misfire == "skip" ? Array.Empty<string>() : new[] { "schedule:hourly:2026-12-06T10:00:00Z" }));
    }

    // Woken at 00:03:00 + late for the 00:01 tick, of a schedule every minute: 00:02 and 00:03 were due too.
    [TestCase(2, "skip", "woke 122 s late (the process was stopped or the machine slept): 2 tick(s) missed, the latest (2026-12-06 00:03:00Z) runs.")]
    [TestCase(2, "run-once", "woke 122 s late (the process was stopped or the machine slept): 2 tick(s) missed, the latest (2026-12-06 00:03:00Z) runs.")]
    [TestCase(30, "skip", "woke 150 s late (the process was stopped or the machine slept): 3 tick(s) missed, the latest (2026-12-06 00:03:00Z) is skipped too (Misfire: skip).")]
    [TestCase(30, "run-once", "woke 150 s late (the process was stopped or the machine slept): 2 tick(s) missed, the latest (2026-12-06 00:03:00Z) runs once (Misfire: run-once).")]
    public async Task AScheduleWokenLateWarnsHowManyTicksItMissedAndWhatBecameOfTheLatest(int lateSeconds, string misfire, string warning)
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 0, 0, 30, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "minutely", Cron = "* * * * *", JobId = "digest-agent", Misfire = misfire });

        await harness.StallAsync(TimeSpan.FromSeconds(150 + lateSeconds));
        await harness.SettleAsync();

        Assert.That(harness.Warnings, Is.EqualTo(new[] { "Schedule minutely " + warning }));
        var runs = lateSeconds <= 5 || misfire == "run-once" ? new[] { "schedule:minutely:2026-12-06T00:03:00Z" } : Array.Empty<string>();
        Assert.That(harness.Added.Select(d => d.DedupeKey), Is.EqualTo(runs));
    }

    [Test]
    public async Task ATickOnTimeWarnsOfNothing()
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 0, 0, 30, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "minutely", Cron = "* * * * *", JobId = "digest-agent" });

        await harness.StallAsync(TimeSpan.FromSeconds(34)); // 00:01:04: four seconds late, within the grace
        await harness.SettleAsync();

        Assert.That(harness.Added.Select(d => d.DedupeKey), Is.EqualTo(new[] { "schedule:minutely:2026-12-06T00:01:00Z" }));
        Assert.That(harness.Warnings, Is.Empty);
    }

    [Test]
    public async Task OfTwoSchedulesTheEarlierFiresFirstAndEachTickCarriesItsOwnSchedule()
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 8, 59, 0, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "late", Cron = "30 9 * * *", JobId = "late-agent", Message = "late {{ schedule.name }}" },
            new RelayScheduleOptions { Name = "early", Cron = "0 9 * * *", JobId = "early-agent", Message = "early {{ schedule.name }} at {{ schedule.fire_time | date: '%H:%M' }}" });

        await harness.AdvanceAsync(TimeSpan.FromMinutes(2));
        await Eventually.HoldsAsync(() => harness.Added.Count == 1, TimeSpan.FromSeconds(10), "the 09:00 tick");
        Assert.That(harness.Added.Single().Route, Is.EqualTo("schedule:early"), "the earlier schedule fires first, and alone");
        await harness.AdvanceAsync(TimeSpan.FromMinutes(30));
        await Eventually.HoldsAsync(() => harness.Added.Count == 2, TimeSpan.FromSeconds(10), "the 09:30 tick");

        var routes = new RelayRouteTable(Options.Create(harness.Options));
        foreach (var (tick, expected) in harness.Added.Zip(new[] { "early early at 09:00", "late late" }))
        {
            var claimed = new ClaimedDelivery(tick.Id, tick.Route, tick.JobId, tick.Body, 0) { Event = tick.Event, ReceivedAt = tick.ReceivedAt };
            var (message, error) = await RouteRules.RenderAsync(routes.Find(tick.Route), claimed);
            Assert.That(error, Is.Null);
            Assert.That(message, Is.EqualTo(expected), "a tick carries its own schedule's Message and model");
        }
    }

    [Test]
    public async Task AStoreErrorInATickLeavesTheSchedulerRunning()
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var store = (SqlDeliveryStore)testStore.Open();
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 12, 6, 0, 0, 0, 500, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "every-2s", Cron = "*/2 * * * * *", JobId = "digest-agent" });
        harness.FailNextAdd = true;

        await harness.AdvanceAsync(TimeSpan.FromSeconds(2));
        await Eventually.HoldsAsync(() => !harness.FailNextAdd, TimeSpan.FromSeconds(10), "the 00:00:02 tick met the store error");
        await harness.AdvanceAsync(TimeSpan.FromSeconds(2));
        await Eventually.HoldsAsync(() => harness.Added.Count == 1, TimeSpan.FromSeconds(10), "the next tick is enqueued");

        Assert.That(harness.Faulted, Is.Null);
        Assert.That(harness.Added.Single().DedupeKey, Is.EqualTo("schedule:every-2s:2026-12-06T00:00:04Z"));
    }

    [TestCase("0 0 30 2 *", "has no fire time in the next 5 years")]
    [TestCase("0 0 31 4 *", "has no fire time in the next 5 years")]
    public void ACronThatNeverFiresIsRefusedAtStartUp(string cron, string phrase)
    {
        var options = new RunchatRelayOptions { Store = "sqlite:" + Path.Combine(Path.GetTempPath(), "schedules.db") };
        options.Schedules.Add(new RelayScheduleOptions { Name = "never", Cron = cron, JobId = "digest-agent" });

        Assert.That(options.Validate().Single(), Does.Contain("Relay:Schedules:0 (never)").And.Contain(phrase));
    }

    [Test]
    public void TwoSchedulesWhoseNamesDifferOnlyByCaseAreRefused()
    {
        var options = new RunchatRelayOptions { Store = "sqlite:" + Path.Combine(Path.GetTempPath(), "schedules.db") };
        options.Schedules.Add(new RelayScheduleOptions { Name = "Digest", Cron = "0 9 * * *", JobId = "public-agent" });
        options.Schedules.Add(new RelayScheduleOptions { Name = "digest", Cron = "0 9 * * *", JobId = "private-agent", Message = "PRIVATE: internal finance digest" });

        Assert.That(options.Validate().Single(), Does.Contain("the name Digest is used 2 times (Digest, digest; case does not make names different)"));
    }

    private static Func<IDeliveryStore, Task> LastTickAt(DateTimeOffset fire, RelayDeliveryState state = RelayDeliveryState.Pending) => async store =>
    {
        var schedule = new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent" }.Create(out _)!;
        await store.AddAsync(new NewDelivery("dlv_earlier", schedule.Route.Path, "digest-agent", schedule.DedupeKey(fire), schedule.Body(fire), fire, Event: "schedule"), default);
        if (state != RelayDeliveryState.Pending)
        {
            var now = fire.AddSeconds(1);
            await store.ClaimAsync(new ClaimRequest("test", now.AddYears(1), now.AddYears(1).AddMinutes(1), 10), default);
            await store.StartSendAsync(new StartRequest("dlv_earlier", "test", now, now.AddMinutes(1), 10, 1000), default);
            await store.CompleteAsync("dlv_earlier", "test", state, new RunResult("success", "ok", null), ReplyPlan.None, now, default);
        }
    };

    [Test]
    public async Task AStoreThatCannotBeReadAtStartUpSkipsTheCatchUpAndTheScheduleGoesOn()
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        using var inner = (SqlDeliveryStore)testStore.Open();
        await LastTickAt(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero), RelayDeliveryState.Succeeded)(inner);
        var store = new FirstReadFails(inner);
        await using var harness = await SchedulerHarness.StartAsync(store, new DateTimeOffset(2026, 6, 1, 11, 20, 0, TimeSpan.Zero),
            new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent", Misfire = "run-once" });
        Assert.That(store.Failed, Is.True, "the catch-up read the store and met the error");

        await harness.AdvanceAsync(TimeSpan.FromMinutes(40));
        await Eventually.HoldsAsync(() => harness.Added.Count == 1, TimeSpan.FromSeconds(10), "the 12:00 tick");

        Assert.That(harness.Faulted, Is.Null, "the scheduler runs on");
        Assert.That(harness.Added.Single().DedupeKey, Is.EqualTo("schedule:hourly:2026-06-01T12:00:00Z"), "no catch-up of 11:00: its last tick could not be read");
    }

    private sealed class FirstReadFails(IDeliveryStore inner) : DelegatingStore(inner)
    {
        private int _reads;

        public bool Failed => Volatile.Read(ref _reads) > 0;

        public override Task<IReadOnlyList<RelayDelivery>> ListPageAsync(DeliveryPageQuery query, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _reads) == 1
                ? throw new Microsoft.Data.Sqlite.SqliteException("the store is down (a test)", 10)
                : base.ListPageAsync(query, cancellationToken);
    }

    [Test]
    public async Task ARelayStartingExactlyAtAMissedTickCatchesUpThatTickNotTheOneBefore()
    {
        // The last tick ran at 08:00; the relay starts at 11:00:00 sharp: the 11:00 tick is the latest missed.
        var (deliveries, _) = await RunSchedulerAsync(
            new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent", Misfire = "run-once" },
            new DateTimeOffset(2026, 6, 1, 11, 0, 0, TimeSpan.Zero),
            LastTickAt(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero), RelayDeliveryState.Succeeded),
            TimeSpan.Zero);

        Assert.That(deliveries.Select(d => d.DedupeKey), Is.EqualTo(new[] { "schedule:hourly:2026-06-01T08:00:00Z", "schedule:hourly:2026-06-01T11:00:00Z" }));
    }

    [TestCase(1)]
    [TestCase(120)]
    [TestCase(RelayScheduler.ManualRunsPassedOver - 1)]
    [TestCase(RelayScheduler.ManualRunsPassedOver, Description = "the catch-up reads no further: nothing is caught up")]
    public async Task ManualRunsAfterTheLastTickDoNotHideTheTicksMissedSince(int manualRuns)
    {
        // The last tick ran at 08:00; an operator then ran the schedule by hand (Run now), once or 120 times (more than
        // a page); the relays were down until 11:20. The manual runs name no fire time: the 11:00 tick is still caught up.
        var last = new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);
        var (deliveries, woken) = await RunSchedulerAsync(
            new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent", Misfire = "run-once", Overlap = "allow" },
            new DateTimeOffset(2026, 6, 1, 11, 20, 0, TimeSpan.Zero),
            async store =>
            {
                await LastTickAt(last, RelayDeliveryState.Succeeded)(store);
                var schedule = new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent" }.Create(out _)!;
                for (var i = 0; i < manualRuns; i++)
                {
                    var id = $"dlv_manual_{i:D4}";
                    var at = last.AddMinutes(30).AddSeconds(i);
                    await store.AddAsync(new NewDelivery(id, schedule.Route.Path, "digest-agent", schedule.ManualKey(id), schedule.Body(at), at, SenderId: "manual", Event: "schedule"), default);
                }
            },
            TimeSpan.Zero);

        Assert.That(deliveries.Count(d => d.DedupeKey.Contains(":manual:", StringComparison.Ordinal)), Is.EqualTo(manualRuns));
        var caughtUp = manualRuns < RelayScheduler.ManualRunsPassedOver;
        Assert.That(deliveries.Select(d => d.DedupeKey).Where(k => !k.Contains(":manual:", StringComparison.Ordinal)),
            Is.EqualTo(caughtUp ? new[] { "schedule:hourly:2026-06-01T08:00:00Z", "schedule:hourly:2026-06-01T11:00:00Z" } : new[] { "schedule:hourly:2026-06-01T08:00:00Z" }),
            "the latest missed tick, once");
        Assert.That(woken, Is.EqualTo(caughtUp), "the caught-up tick wakes the dispatcher");
    }

    [TestCase("run-once", new[] { "schedule:hourly:2026-06-01T11:00:00Z" })]
    [TestCase("skip", new string[0])]
    public async Task AfterThreeHoursDownOnlyTheLatestMissedTickRunsOrNone(string misfire, string[] enqueued)
    {
        // The last tick ran at 08:00; the relays were down until 11:20: 09:00, 10:00 and 11:00 were missed.
        var (deliveries, woken) = await RunSchedulerAsync(
            new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent", Misfire = misfire },
            new DateTimeOffset(2026, 6, 1, 11, 20, 0, TimeSpan.Zero),
            LastTickAt(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero), RelayDeliveryState.Succeeded),
            TimeSpan.Zero);

        Assert.That(deliveries.Select(d => d.DedupeKey).Where(k => !k.EndsWith("08:00:00Z", StringComparison.Ordinal)), Is.EqualTo(enqueued), "never a burst");
        Assert.That(woken, Is.EqualTo(enqueued.Length > 0), "the caught-up tick wakes the dispatcher");
    }

    [TestCase("skip", RelayDeliveryState.Failed, "Skipped (Overlap: skip)")]
    [TestCase("allow", RelayDeliveryState.Pending, null)]
    public async Task ATickWhileThePreviousRunGoesOnIsRecordedSkippedOrRun(string overlap, RelayDeliveryState expected, string? reason)
    {
        // The 10:00 tick is still pending (a slow run) when 11:00 comes.
        var (deliveries, woken) = await RunSchedulerAsync(
            new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent", Overlap = overlap },
            new DateTimeOffset(2026, 6, 1, 10, 30, 0, TimeSpan.Zero),
            LastTickAt(new DateTimeOffset(2026, 6, 1, 10, 0, 0, TimeSpan.Zero)),
            TimeSpan.FromMinutes(31));

        var eleven = deliveries.Single(d => d.DedupeKey == "schedule:hourly:2026-06-01T11:00:00Z");
        Assert.That(eleven.State, Is.EqualTo(expected));
        Assert.That(woken, Is.EqualTo(expected == RelayDeliveryState.Pending), "the dispatcher is woken for a tick to run, not for one recorded skipped");
        Assert.That(eleven.Event, Is.EqualTo("schedule"));
        if (reason is not null)
        {
            Assert.That(eleven.LastError, Does.Contain(reason).And.Contain("dlv_earlier"));
        }
    }

    /// <summary>Ticks and runs of one schedule in a store: fire time, the instance that enqueued it, runs at the sandbox.</summary>
    private static async Task<List<(DateTimeOffset Fire, string? Instance, int Runs, RelayDeliveryState State)>> TickTableAsync(IDeliveryStore store, SandboxServer sandbox, RelaySchedule schedule)
    {
        var table = new List<(DateTimeOffset, string?, int, RelayDeliveryState)>();
        foreach (var delivery in (await store.ListAsync(null, default)).Where(d => d.Route == schedule.Route.Path).OrderBy(d => d.DedupeKey, StringComparer.Ordinal))
        {
            var fire = schedule.FireTimeOf(delivery.DedupeKey)!.Value;
            var sha = Convert.ToHexString(SHA256.HashData(schedule.Body(fire))).ToLowerInvariant();
            table.Add((fire, delivery.SenderId, sandbox.Requests.Count(r => r.BodySha256 == sha), delivery.State));
        }

        return table;
    }

    [Test]
    [Category("Postgres")]
    [ProcessTest]
    [Platform(Exclude = "Win", Reason = "POSIX signals")]
    public async Task TwoRelaysOnOnePostgreSqlRunEachTickOnceEvenWhenOneIsKilled()
    {
        PostgresServer.Require();
        await using var sandbox = await SandboxServer.StartAsync();
        await using var testStore = TestStore.Create(TestStore.Postgres);
        var directory = Directory.CreateTempSubdirectory("runchat-schedules-").FullName;
        var config = Path.Combine(directory, "relay.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "sandbox-key-0123456789", BaseUrl = sandbox.BaseUrl.ToString() },
            Relay = new
            {
                Store = testStore.Setting,
                MaxRunsPerMinute = 1_000_000,
                Schedules = new[] { new { Name = "every-2s", Cron = "*/2 * * * * *", TimeZone = "Europe/Berlin", JobId = "demo-agent" } },
            },
        }));
        var schedule = new RelayScheduleOptions { Name = "every-2s", Cron = "*/2 * * * * *", TimeZone = "Europe/Berlin", JobId = "demo-agent" }.Create(out _)!;

        var first = await RelayProcess.StartAsync(config);
        var second = await RelayProcess.StartAsync(config);
        var started = DateTimeOffset.UtcNow;
        var store = testStore.Open();
        async Task<int> RunAfterAsync(DateTimeOffset after) =>
            (await TickTableAsync(store, sandbox, schedule)).Count(t => t.Fire > after && t.State == RelayDeliveryState.Succeeded);

        // Both relays enqueue ticks (whichever inserts a tick first holds it) and at least five have run; five more after the kill.
        await Eventually.HoldsAsync(async () => (await TickTableAsync(store, sandbox, schedule)).Select(t => t.Instance).Distinct().Count() == 2 && await RunAfterAsync(started) >= 5,
            TimeSpan.FromSeconds(40), "both relays enqueued ticks, five ran");
        first.Kill();
        var killed = DateTimeOffset.UtcNow;
        await Eventually.HoldsAsync(async () => await RunAfterAsync(killed.AddSeconds(1)) >= 5, TimeSpan.FromSeconds(30), "five ticks after the kill ran");
        var stopped = DateTimeOffset.UtcNow;
        second.Dispose();
        first.Dispose();

        var table = await TickTableAsync(store, sandbox, schedule);
        (store as IDisposable)?.Dispose();
        TestContext.Out.WriteLine($"killed the first relay at {killed:HH:mm:ss.fff}");
        TestContext.Out.WriteLine("| fire time (UTC) | enqueued by | runs | state |");
        foreach (var (fire, instance, runs, state) in table)
        {
            TestContext.Out.WriteLine($"| {fire:HH:mm:ss} | {instance} | {runs} | {DeliveryStates.Name(state)} |");
        }

        // Every tick from the first full second after both started to the last before the stop: present, once, run once.
        var expected = new List<DateTimeOffset>();
        for (var fire = schedule.Next(started.AddSeconds(2))!.Value; fire < stopped.AddSeconds(-2); fire = schedule.Next(fire)!.Value)
        {
            expected.Add(fire);
        }

        Assert.That(expected, Has.Count.GreaterThanOrEqualTo(7));
        Assert.That(table.Select(t => t.Fire), Is.SupersetOf(expected), "no tick lost, across the kill");
        Assert.That(table.Select(t => t.Fire).Distinct().Count(), Is.EqualTo(table.Count), "no tick twice");
        Assert.That(table.Where(t => expected.Contains(t.Fire)).Select(t => t.Runs), Has.All.EqualTo(1), "one run per tick:\n" + string.Join("\n", table));
        Assert.That(table.Select(t => t.Instance).Distinct().Count(), Is.EqualTo(2), "both relays enqueued ticks");
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Test]
    [ProcessTest]
    [Platform(Exclude = "Win", Reason = "POSIX signals")]
    public async Task ARelayStoppedForEightSecondsResumesWithOneTickNotABurst()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        using var temp = new TempDirectory();
        var config = Path.Combine(temp.Path, "relay.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "sandbox-key-0123456789", BaseUrl = sandbox.BaseUrl.ToString() },
            Relay = new { Store = "sqlite:relay.db", MaxRunsPerMinute = 1_000_000, Schedules = new[] { new { Name = "every-2s", Cron = "*/2 * * * * *", JobId = "demo-agent" } } },
        }));

        DateTimeOffset resumed;
        using (var relay = await RelayProcess.StartAsync(config))
        {
            await Eventually.HoldsAsync(() => sandbox.Requests.Count >= 2, TimeSpan.FromSeconds(10), "two ticks ran");
            relay.Signal("STOP");
            // The stall itself (a stopped process cannot be waited on otherwise): 8 s misses four ticks and is
            // beyond the scheduler's 5 s grace, so the relay resumes late, as after a 20-30 s stall.
            await Task.Delay(TimeSpan.FromSeconds(8));
            relay.Signal("CONT");
            resumed = DateTimeOffset.UtcNow;
            await Eventually.HoldsAsync(() => sandbox.Requests.Count(r => r.ReceivedAt > resumed.AddSeconds(2.5)) >= 1, TimeSpan.FromSeconds(15), "the schedule goes on after the stall");

            // A graceful stop waits for the run in flight, so every run the sandbox saw has its outcome stored
            // (a kill here left the last one `sending`, and the count below one short).
            var (exitCode, _) = await relay.StopWithAsync("TERM");
            Assert.That(exitCode, Is.EqualTo(0), relay.Output);
        }

        var store = SqlDeliveryStore.Sqlite(Path.Combine(temp.Path, "relay.db"));
        var ticks = (await store.ListAsync(null, default)).OrderBy(d => d.ReceivedAt).ToList();
        store.Dispose();
        TestContext.Out.WriteLine(string.Join("\n", ticks.Select(t => $"{t.DedupeKey} received {t.ReceivedAt:HH:mm:ss.fff}")));

        var atResume = ticks.Count(t => t.ReceivedAt >= resumed.AddSeconds(-0.5) && t.ReceivedAt < resumed.AddSeconds(1.5));
        Assert.That(atResume, Is.LessThanOrEqualTo(1), "at most one tick as the relay resumes, not the four it missed");
        Assert.That(ticks.Select(t => t.DedupeKey).Distinct().Count(), Is.EqualTo(ticks.Count));
        Assert.That(sandbox.Requests, Has.Count.EqualTo(ticks.Count(t => t.State == RelayDeliveryState.Succeeded)), "one run per tick");
    }

    [Test]
    [Platform(Exclude = "Win", Reason = "POSIX signals")]
    [ProcessTest]
    public async Task OneRelayOnSqliteRunsEachTickOnceAcrossARestart()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        var directory = Directory.CreateTempSubdirectory("runchat-schedules-sqlite-").FullName;
        var config = Path.Combine(directory, "relay.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "sandbox-key-0123456789", BaseUrl = sandbox.BaseUrl.ToString() },
            Relay = new
            {
                Store = "sqlite:relay.db",
                MaxRunsPerMinute = 1_000_000,
                Schedules = new[] { new { Name = "every-2s", Cron = "*/2 * * * * *", JobId = "demo-agent", Misfire = "run-once" } },
            },
        }));
        var schedule = new RelayScheduleOptions { Name = "every-2s", Cron = "*/2 * * * * *", JobId = "demo-agent", Misfire = "run-once" }.Create(out _)!;

        var store = SqlDeliveryStore.Sqlite(Path.Combine(directory, "relay.db"));
        async Task<int> RunAfterAsync(DateTimeOffset after) =>
            (await TickTableAsync(store, sandbox, schedule)).Count(t => t.Fire > after && t.State == RelayDeliveryState.Succeeded);

        var started = DateTimeOffset.UtcNow;
        using (var before = await RelayProcess.StartAsync(config))
        {
            await Eventually.HoldsAsync(async () => await RunAfterAsync(started) >= 3, TimeSpan.FromSeconds(20), "three ticks ran before the kill");
            before.Kill();
        }

        var restarted = DateTimeOffset.UtcNow;
        using (var after = await RelayProcess.StartAsync(config))
        {
            await Eventually.HoldsAsync(async () => await RunAfterAsync(restarted) >= 3, TimeSpan.FromSeconds(20), "three ticks ran after the restart");
        }

        var table = await TickTableAsync(store, sandbox, schedule);
        store.Dispose();
        TestContext.Out.WriteLine(string.Join("\n", table));

        Assert.That(table, Has.Count.GreaterThanOrEqualTo(5));
        Assert.That(table.Select(t => t.Fire).Distinct().Count(), Is.EqualTo(table.Count), "no tick twice");
        Assert.That(table.Where(t => t.State == RelayDeliveryState.Succeeded).Select(t => t.Runs), Has.All.EqualTo(1), "one run per tick");
        Assert.That(table.Count(t => t.State is RelayDeliveryState.Unknown), Is.LessThanOrEqualTo(1), "at most the run the kill cut off is unknown, never re-run");
        Directory.Delete(directory, recursive: true);
    }
}
