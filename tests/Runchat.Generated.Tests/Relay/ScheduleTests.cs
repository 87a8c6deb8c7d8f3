using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;

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

    /// <summary>A scheduler on a fake clock and a real SQLite store.</summary>
    private static async Task<(IReadOnlyList<RelayDelivery> Deliveries, RelayDeliveryState? State)> RunSchedulerAsync(
        RelayScheduleOptions schedule, DateTimeOffset start, Func<IDeliveryStore, Task> before, TimeSpan advance)
    {
        await using var testStore = TestStore.Create(TestStore.Sqlite);
        var store = testStore.Open();
        try
        {
            await before(store);
            var clock = new FakeTimeProvider(start);
            var options = Options.Create(new RunchatRelayOptions { Schedules = { schedule } });
            using var scheduler = new RelayScheduler(new RelayRouteTable(options), store, clock, new DispatchSignal(), NullLogger<RelayScheduler>.Instance);
            await scheduler.StartAsync(default);
            await Task.Delay(300);
            for (var step = TimeSpan.Zero; step < advance; step += TimeSpan.FromMinutes(1))
            {
                clock.Advance(TimeSpan.FromMinutes(1));
                await Task.Delay(20);
            }

            await Task.Delay(300);
            await scheduler.StopAsync(default);
            var all = (await store.ListAsync(null, default)).Where(d => d.Route == "schedule:" + schedule.Name).OrderBy(d => d.DedupeKey, StringComparer.Ordinal).ToList();
            return (all, all.LastOrDefault()?.State);
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
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
            await store.CompleteAsync("dlv_earlier", "test", state, new RunResult("success", "ok", null), now, default);
        }
    };

    [TestCase("run-once", new[] { "schedule:hourly:2026-06-01T11:00:00Z" })]
    [TestCase("skip", new string[0])]
    public async Task AfterThreeHoursDownOnlyTheLatestMissedTickRunsOrNone(string misfire, string[] enqueued)
    {
        // The last tick ran at 08:00; the relays were down until 11:20: 09:00, 10:00 and 11:00 were missed.
        var (deliveries, _) = await RunSchedulerAsync(
            new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent", Misfire = misfire },
            new DateTimeOffset(2026, 6, 1, 11, 20, 0, TimeSpan.Zero),
            LastTickAt(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero), RelayDeliveryState.Succeeded),
            TimeSpan.Zero);

        Assert.That(deliveries.Select(d => d.DedupeKey).Where(k => !k.EndsWith("08:00:00Z", StringComparison.Ordinal)), Is.EqualTo(enqueued), "never a burst");
    }

    [TestCase("skip", RelayDeliveryState.Failed, "Skipped (Overlap: skip)")]
    [TestCase("allow", RelayDeliveryState.Pending, null)]
    public async Task ATickWhileThePreviousRunGoesOnIsRecordedSkippedOrRun(string overlap, RelayDeliveryState expected, string? reason)
    {
        // The 10:00 tick is still pending (a slow run) when 11:00 comes.
        var (deliveries, _) = await RunSchedulerAsync(
            new RelayScheduleOptions { Name = "hourly", Cron = "0 * * * *", JobId = "digest-agent", Overlap = overlap },
            new DateTimeOffset(2026, 6, 1, 10, 30, 0, TimeSpan.Zero),
            LastTickAt(new DateTimeOffset(2026, 6, 1, 10, 0, 0, TimeSpan.Zero)),
            TimeSpan.FromMinutes(31));

        var eleven = deliveries.Single(d => d.DedupeKey == "schedule:hourly:2026-06-01T11:00:00Z");
        Assert.That(eleven.State, Is.EqualTo(expected));
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
        await Task.Delay(TimeSpan.FromSeconds(10));
        first.Kill();
        var killed = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(10));
        var stopped = DateTimeOffset.UtcNow;
        second.Dispose();
        first.Dispose();
        await Task.Delay(500);

        var store = testStore.Open();
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
    [Platform(Exclude = "Win", Reason = "POSIX signals")]
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

        using (var before = await RelayProcess.StartAsync(config))
        {
            await Task.Delay(TimeSpan.FromSeconds(7));
            before.Kill();
        }

        using (var after = await RelayProcess.StartAsync(config))
        {
            await Task.Delay(TimeSpan.FromSeconds(7));
        }

        await Task.Delay(500);
        var store = new SqliteDeliveryStore(Path.Combine(directory, "relay.db"));
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
