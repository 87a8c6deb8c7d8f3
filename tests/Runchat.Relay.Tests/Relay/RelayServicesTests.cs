using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// The background services every relay host starts, on a clock the test moves: retention (a round at start, then
/// every five minutes; a failed round does not stop it), its batches and their pauses, the heartbeat (every ten
/// seconds, one warning per outage, its row removed at a clean stop), and the instance's status they read.
/// What they ask of the store is scripted and recorded; the stores' own statements are tested in OperatingTests.
/// </summary>
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
public class RelayServicesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task RetentionRunsARoundAtStartThenEveryFiveMinutesOnItsClock()
    {
        var store = new ScriptedStore();
        var clock = new WaitingClock(Now);
        var logger = new FakeLogger<RelayRetention>();
        using var retention = Retention(store, clock, logger);

        await StartedAsync(retention, clock, "retention waits after its first round");

        Assert.That(store.Batches, Is.EqualTo(new[]
        {
            (RelayDeliveryState.Succeeded, Now - TimeSpan.FromDays(7), 250),
            (RelayDeliveryState.Failed, Now - TimeSpan.FromDays(30), 250),
            (RelayDeliveryState.Unknown, Now - TimeSpan.FromDays(90), 250),
            (RelayDeliveryState.Ignored, Now - TimeSpan.FromDays(1), 250),
        }), "each state past its default period, in batches of 250");
        Assert.That(store.Removed, Is.EqualTo(new[] { ((string?)null, Now - TimeSpan.FromDays(1)) }), "then every instance silent for a day");
        Assert.That(clock.Due, Is.EqualTo(Now + TimeSpan.FromMinutes(5)));

        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
        Assert.That(store.Removed, Has.Count.EqualTo(1), "not before five minutes");
        await AdvancedAsync(clock, TimeSpan.FromMilliseconds(1), "retention waits after its second round");

        var second = Now + TimeSpan.FromMinutes(5);
        Assert.That(store.Batches.Skip(4).Select(b => (b.State, b.Cutoff)), Is.EqualTo(new[]
        {
            (RelayDeliveryState.Succeeded, second - TimeSpan.FromDays(7)),
            (RelayDeliveryState.Failed, second - TimeSpan.FromDays(30)),
            (RelayDeliveryState.Unknown, second - TimeSpan.FromDays(90)),
            (RelayDeliveryState.Ignored, second - TimeSpan.FromDays(1)),
        }), "the second round's cutoffs are five minutes later");
        Assert.That(store.Removed.Last(), Is.EqualTo(((string?)null, second - TimeSpan.FromDays(1))));
        Assert.That(logger.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Information), Is.Empty, "a round that deletes nothing says nothing");

        await retention.StopAsync(default);
        Assert.That(retention.ExecuteTask!.Status, Is.EqualTo(TaskStatus.RanToCompletion));
    }

    [TestCase("store")]
    [TestCase("timeout")]
    public async Task ARetentionRoundThatFailsIsAWarningAndTheNextRoundRuns(string failure)
    {
        var store = new ScriptedStore();
        var failed = 0;
        store.Purge = (state, _, _, _) => Interlocked.Increment(ref failed) == 1
            ? Task.FromException<int>(failure == "store" ? new InvalidOperationException("database is locked") : new TaskCanceledException("the command timed out"))
            : Task.FromResult(0);
        var clock = new WaitingClock(Now);
        var logger = new FakeLogger<RelayRetention>();
        using var retention = Retention(store, clock, logger);

        await StartedAsync(retention, clock, "retention waits after its failed round");
        Assert.That(Warnings(logger), Is.EqualTo(new[]
        {
            "Retention could not delete old deliveries this round: " + (failure == "store" ? "database is locked" : "the command timed out"),
        }), "a timeout that is not the host stopping is a failed round, not the end of retention");
        Assert.That(store.Removed, Is.Empty, "the round stopped at the failure");

        await AdvancedAsync(clock, TimeSpan.FromMinutes(5), "retention waits after its next round");
        Assert.That(store.Batches.Skip(1).Select(b => b.State), Is.EqualTo(new[] { RelayDeliveryState.Succeeded, RelayDeliveryState.Failed, RelayDeliveryState.Unknown, RelayDeliveryState.Ignored }));
        Assert.That(store.Removed, Has.Count.EqualTo(1));
        Assert.That(Warnings(logger), Has.Count.EqualTo(1));
        await retention.StopAsync(default);
    }

    [Test]
    public async Task StoppingTheHostDuringARetentionBatchEndsRetentionQuietly()
    {
        var store = new ScriptedStore();
        var inBatch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Purge = async (_, _, _, cancellationToken) =>
        {
            inBatch.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        };
        var logger = new FakeLogger<RelayRetention>();
        using var retention = Retention(store, new WaitingClock(Now), logger);

        await retention.StartAsync(default);
        await UntilAsync(inBatch.Task, "retention is in its first batch");
        await retention.StopAsync(default);

        Assert.That(retention.ExecuteTask!.Status, Is.EqualTo(TaskStatus.RanToCompletion));
        Assert.That(logger.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Warning), Is.Empty, "a stop is no failed round");
    }

    [Test]
    public async Task WhenAnotherRelayHoldsTheTurnTheRoundStopsThereAndStillRemovesSilentInstances()
    {
        var store = new ScriptedStore();
        var succeeded = new Queue<int>(new[] { 3, 0 });
        store.Purge = (state, _, _, _) => Task.FromResult(state == RelayDeliveryState.Succeeded ? succeeded.Dequeue() : -1);
        var logger = new FakeLogger<RelayRetention>();
        var retention = Retention(store, new WaitingClock(Now), logger);

        var deleted = await retention.RunOnceAsync(default);

        Assert.That(deleted, Is.EqualTo(new Dictionary<RelayDeliveryState, long> { [RelayDeliveryState.Succeeded] = 3, [RelayDeliveryState.Failed] = 0 }));
        Assert.That(store.Batches.Select(b => b.State), Is.EqualTo(new[] { RelayDeliveryState.Succeeded, RelayDeliveryState.Succeeded, RelayDeliveryState.Failed }),
            "the other relay is deleting: this one skips the rest of its turn");
        Assert.That(store.Removed, Is.EqualTo(new[] { ((string?)null, Now - TimeSpan.FromDays(1)) }));
        Assert.That(logger.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Information).Select(r => r.Message), Is.EqualTo(new[]
        {
            "Retention deleted 3 succeeded deliveries older than 7.00:00:00.",
        }), "what was deleted is said, state by state; nothing for a state with nothing deleted");
    }

    [Test]
    public async Task APurgeDeletesBatchByBatchUntilOneFindsNothing()
    {
        var store = new ScriptedStore();
        var answers = new Queue<int>(new[] { 250, 250, 10, 0 });
        store.Purge = (_, _, _, _) => Task.FromResult(answers.Dequeue());
        var cutoff = Now - TimeSpan.FromDays(3);

        var result = await RelayRetention.PurgeAsync(store, RelayDeliveryState.Failed, cutoff, waitForTurn: false, default);

        Assert.That(result, Is.EqualTo((510L, true)));
        Assert.That(store.Batches, Is.EqualTo(Enumerable.Repeat((RelayDeliveryState.Failed, cutoff, 250), 4)));
    }

    [Test]
    public async Task APurgeThatFindsTheTurnTakenGivesUpOrWaitsForItAsAsked()
    {
        var store = new ScriptedStore();
        var answers = new Queue<int>(new[] { 3, -1 });
        store.Purge = (_, _, _, _) => Task.FromResult(answers.Dequeue());
        Assert.That(await RelayRetention.PurgeAsync(store, RelayDeliveryState.Ignored, Now, waitForTurn: false, default), Is.EqualTo((3L, false)), "retention skips its turn, keeping what it deleted");
        Assert.That(store.Batches, Has.Count.EqualTo(2));

        answers = new Queue<int>(new[] { -1, -1, 5, 0 });
        var started = Stopwatch.GetTimestamp();
        Assert.That(await RelayRetention.PurgeAsync(store, RelayDeliveryState.Ignored, Now, waitForTurn: true, default), Is.EqualTo((5L, true)), "an operator's purge waits for the turn");
        Assert.That(Stopwatch.GetElapsedTime(started), Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190)), "100 ms between two asks");
        Assert.That(store.Batches, Has.Count.EqualTo(6));
    }

    [Test]
    public void ACancelledPurgeAsksTheStoreNothing()
    {
        var store = new ScriptedStore();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.That(() => RelayRetention.PurgeAsync(store, RelayDeliveryState.Failed, Now, waitForTurn: true, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(store.Batches, Is.Empty);
    }

    [Test]
    public async Task AfterEachBatchAPurgePausesNineTimesAsLongAsItTookAndNeverMoreThanTwoSeconds()
    {
        // A batch of 50 ms is followed by a pause of 450 ms (not the cap of 2 s); one of 600 ms by 2 s (not 5.4 s).
        // The bounds leave a second or more between the right pause and a wrong one, for a loaded machine.
        foreach (var (took, least, most) in new[] { (50, 430, 1_500), (600, 1_950, 4_000) })
        {
            var store = new ScriptedStore();
            var answers = new Queue<int>(new[] { 1, 0 });
            var ended = 0L;
            var gap = TimeSpan.Zero;
            store.Purge = async (_, _, _, _) =>
            {
                if (ended != 0)
                {
                    gap = Stopwatch.GetElapsedTime(ended);
                }

                await Task.Delay(took);
                ended = Stopwatch.GetTimestamp();
                return answers.Dequeue();
            };

            Assert.That(await RelayRetention.PurgeAsync(store, RelayDeliveryState.Succeeded, Now, waitForTurn: false, default), Is.EqualTo((1L, true)));
            Assert.That(gap.TotalMilliseconds, Is.InRange(least, most), $"the pause after a batch of {took} ms");
        }
    }

    [Test]
    public async Task TheHeartbeatRecordsThisInstanceAtStartAndEveryTenSecondsAndRemovesItAtAStop()
    {
        var store = new ScriptedStore();
        var clock = new WaitingClock(Now);
        var status = new RelayInstanceStatus(clock);
        status.Pass(Now, null, 2);
        using var heartbeat = new RelayHeartbeat(store, status, clock, new FakeLogger<RelayHeartbeat>());

        await StartedAsync(heartbeat, clock, "the heartbeat waits after its first beat");
        Assert.That(store.Beats.Select(Describe), Is.EqualTo(new[] { Describe(status.Snapshot(Now)) }));
        Assert.That(store.Beats.Single().RunsInFlight, Is.EqualTo(2));
        Assert.That(clock.Due, Is.EqualTo(Now + TimeSpan.FromSeconds(10)));

        clock.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromMilliseconds(1));
        Assert.That(store.Beats, Has.Count.EqualTo(1), "not before ten seconds");
        await AdvancedAsync(clock, TimeSpan.FromMilliseconds(1), "the heartbeat waits after its second beat");
        Assert.That(store.Beats.Last().LastSeenAt, Is.EqualTo(Now + TimeSpan.FromSeconds(10)));
        Assert.That(store.Removed, Is.Empty);

        await heartbeat.StopAsync(default);
        Assert.That(heartbeat.ExecuteTask!.Status, Is.EqualTo(TaskStatus.RanToCompletion));
        Assert.That(store.Removed, Is.EqualTo(new[] { ((string?)status.Id, DateTimeOffset.MinValue) }), "a clean stop removes this instance's row, and only it");
        Assert.That(store.Beats, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task AHeartbeatThatCannotBeRecordedIsOneWarningPerOutageAndTheBeatsGoOn()
    {
        var store = new ScriptedStore();
        // Down for three beats (the third a command timeout), up for one, down again.
        var outcomes = new Queue<Exception?>(new Exception?[]
        {
            new InvalidOperationException("db down"), new InvalidOperationException("db down"), new TaskCanceledException("the command timed out"), null,
            new InvalidOperationException("db down again"), null,
        });
        store.Beat = (_, _) => outcomes.Dequeue() is { } failure ? Task.FromException(failure) : Task.CompletedTask;
        var clock = new WaitingClock(Now);
        var logger = new FakeLogger<RelayHeartbeat>();
        using var heartbeat = new RelayHeartbeat(store, new RelayInstanceStatus(clock), clock, logger);

        await StartedAsync(heartbeat, clock, "the heartbeat waits after its first beat");
        for (var beat = 2; beat <= 6; beat++)
        {
            await AdvancedAsync(clock, RelayInstance.HeartbeatInterval, $"the heartbeat waits after beat {beat}");
        }

        Assert.That(store.Beats, Has.Count.EqualTo(6));
        Assert.That(Warnings(logger), Is.EqualTo(new[]
        {
            "The relay could not record its heartbeat: db down",
            "The relay could not record its heartbeat: db down again",
        }));
        await heartbeat.StopAsync(default);
        Assert.That(heartbeat.ExecuteTask!.Status, Is.EqualTo(TaskStatus.RanToCompletion));
    }

    [Test]
    public async Task AHeartbeatStoppedMidBeatOrUnableToRemoveItsRowStopsQuietly()
    {
        var store = new ScriptedStore();
        var beating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Beat = async (_, cancellationToken) =>
        {
            beating.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        };
        store.Remove = (_, _) => Task.FromException<int>(new InvalidOperationException("db down"));
        var logger = new FakeLogger<RelayHeartbeat>();
        using var heartbeat = new RelayHeartbeat(store, new RelayInstanceStatus(TimeProvider.System), new WaitingClock(Now), logger);

        await heartbeat.StartAsync(default);
        await UntilAsync(beating.Task, "the first beat is under way");
        await heartbeat.StopAsync(default);

        Assert.That(heartbeat.ExecuteTask!.Status, Is.EqualTo(TaskStatus.RanToCompletion));
        Assert.That(store.Removed, Has.Count.EqualTo(1), "it tried to remove its row");
        Assert.That(logger.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Information), Is.Empty, "a stop is no outage; the row left goes a day later");
        Assert.That(logger.Collector.GetSnapshot().Single().Message, Is.EqualTo("The relay could not remove its heartbeat at stop; it is removed a day later: db down"));
    }

    [Test]
    public void TheInstanceStatusIsWhatTheDispatcherLastPassedAndItsSnapshotIsWhatTheHeartbeatRecords()
    {
        var clock = new WaitingClock(Now);
        var status = new RelayInstanceStatus(clock);
        var other = new RelayInstanceStatus(clock);

        Assert.That(status.Id, Does.Match($"^{System.Text.RegularExpressions.Regex.Escape(Environment.MachineName)}:{Environment.ProcessId}:[0-9a-f]{{32}}$"));
        Assert.That(other.Id, Is.Not.EqualTo(status.Id), "two relays in one process are two instances");
        Assert.That((status.Host, status.ProcessId, status.StartedAt), Is.EqualTo((Environment.MachineName, Environment.ProcessId, Now)));
        Assert.That((status.LastPass, status.StoreDownSince, status.RunsInFlight, status.Ended), Is.EqualTo(((DateTimeOffset?)null, (DateTimeOffset?)null, 0, false)), "before the first pass");

        status.Pass(Now.AddSeconds(1), null, 3);
        Assert.That((status.LastPass, status.StoreDownSince, status.RunsInFlight), Is.EqualTo(((DateTimeOffset?)Now.AddSeconds(1), (DateTimeOffset?)null, 3)));
        status.Pass(Now.AddSeconds(2), Now.AddMilliseconds(1_500), 1);
        Assert.That((status.LastPass, status.StoreDownSince, status.RunsInFlight), Is.EqualTo(((DateTimeOffset?)Now.AddSeconds(2), (DateTimeOffset?)Now.AddMilliseconds(1_500), 1)));
        status.Pass(Now.AddSeconds(3), null, 0);
        Assert.That((status.LastPass, status.StoreDownSince), Is.EqualTo(((DateTimeOffset?)Now.AddSeconds(3), (DateTimeOffset?)null)), "the store answers again");

        status.Pass(Now.AddSeconds(4), null, 4);
        Assert.That(Describe(status.Snapshot(Now.AddSeconds(9))), Is.EqualTo(
            $"{status.Id} {Environment.MachineName} {Environment.ProcessId} started {Now:O} seen {Now.AddSeconds(9):O} runs 4"));

        status.End();
        Assert.That((status.Ended, other.Ended), Is.EqualTo((true, false)));
    }

    private static RelayRetention Retention(IDeliveryStore store, TimeProvider clock, ILogger<RelayRetention> logger) =>
        new(store, Microsoft.Extensions.Options.Options.Create(new RunchatRelayOptions()), clock, logger);

    private static string Describe(RelayInstance instance) =>
        $"{instance.Id} {instance.Host} {instance.ProcessId} started {instance.StartedAt:O} seen {instance.LastSeenAt:O} runs {instance.RunsInFlight}";

    private static List<string> Warnings<T>(FakeLogger<T> logger) =>
        logger.Collector.GetSnapshot().Where(r => r.Level == LogLevel.Warning).Select(r => r.Message).ToList();

    /// <summary>Starts <paramref name="service"/> and waits until it asks the clock for a timer: it is waiting.</summary>
    private static async Task StartedAsync(Microsoft.Extensions.Hosting.BackgroundService service, WaitingClock clock, string what)
    {
        var waiting = clock.NextWait();
        await service.StartAsync(default);
        await UntilAsync(waiting, what);
    }

    /// <summary>Moves the clock by <paramref name="by"/> and waits until the service waits again.</summary>
    private static async Task AdvancedAsync(WaitingClock clock, TimeSpan by, string what)
    {
        var waiting = clock.NextWait();
        clock.Advance(by);
        await UntilAsync(waiting, what);
    }

    private static async Task UntilAsync(Task waiting, string what)
    {
        if (await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromSeconds(10))) != waiting)
        {
            Assert.Fail("timed out waiting until " + what);
        }
    }
}
