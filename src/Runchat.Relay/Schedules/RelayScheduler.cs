using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Runchat.Relay;

/// <summary>
/// Enqueues each schedule's ticks as deliveries. Every relay sharing a store runs one: the tick's
/// dedupe key is the same on all of them, so the store keeps one delivery per tick, with no leader
/// election. The dispatcher sends it as it sends a webhook.
/// </summary>
internal sealed class RelayScheduler : BackgroundService
{
    private readonly IReadOnlyList<RelaySchedule> _schedules;
    private readonly IDeliveryStore _store;
    private readonly TimeProvider _time;
    private readonly DispatchSignal _signal;
    private readonly ILogger<RelayScheduler> _logger;
    private readonly string _instance = $"{Environment.MachineName}:{Environment.ProcessId}";

    public RelayScheduler(RelayRouteTable routes, IDeliveryStore store, TimeProvider time, DispatchSignal signal, ILogger<RelayScheduler> logger)
    {
        _schedules = routes.Schedules;
        _store = store;
        _time = time;
        _signal = signal;
        _logger = logger;
    }

    /// <summary>The longest single wait: a tick months away is waited for in chunks, and the clock is read again after each.</summary>
    internal static readonly TimeSpan MaxWait = TimeSpan.FromHours(1);

    /// <summary>
    /// How late a tick may be and still run as on time. Woken later than this (the process was stopped, the
    /// machine slept), the latest due tick is a misfire and follows the schedule's <c>Misfire</c>.
    /// </summary>
    internal static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_schedules.Count == 0)
        {
            return;
        }

        var next = new Dictionary<RelaySchedule, DateTimeOffset?>();
        var started = _time.GetUtcNow();
        foreach (var schedule in _schedules)
        {
            await CatchUpAsync(schedule, started, stoppingToken).ConfigureAwait(false);
            next[schedule] = schedule.Next(started);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var due = next.Values.Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
            if (due == DateTimeOffset.MaxValue)
            {
                return;
            }

            var wait = due - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    // In chunks: Task.Delay cannot wait 49.7 days or more, and a clock that jumps is read again.
                    await Task.Delay(wait < MaxWait ? wait : MaxWait, _time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            var now = _time.GetUtcNow();
            foreach (var schedule in _schedules)
            {
                if (next[schedule] is { } fire && fire <= now)
                {
                    await FireAsync(schedule, fire, now, stoppingToken).ConfigureAwait(false);
                    // From now, not from the tick: ticks missed while the process was stopped never come as a burst.
                    next[schedule] = schedule.Next(now);
                }
            }
        }
    }

    /// <summary>
    /// One wake-up of a schedule, at most one run: the latest tick due runs if it is on time (within
    /// <see cref="Grace"/>), or, if it is late, only with <c>Misfire: run-once</c>. Earlier ticks due are missed.
    /// </summary>
    private async Task FireAsync(RelaySchedule schedule, DateTimeOffset firstDue, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var latest = firstDue;
        var missed = 0;
        for (var fire = schedule.Next(firstDue); fire is { } at && at <= now && missed < 100_000; fire = schedule.Next(at))
        {
            latest = at;
            missed++;
        }

        var onTime = now - latest <= Grace;
        if (missed > 0 || !onTime)
        {
            _logger.LogWarning(
                "Schedule {Schedule} woke {Late:0} s late (the process was stopped or the machine slept): {Missed} tick(s) missed, the latest ({FireTime:u}) {What}.",
                schedule.Name, (now - firstDue).TotalSeconds, missed + (onTime || schedule.RunOnceOnMisfire ? 0 : 1), latest,
                onTime ? "runs" : schedule.RunOnceOnMisfire ? "runs once (Misfire: run-once)" : "is skipped too (Misfire: skip)");
        }

        if (onTime || schedule.RunOnceOnMisfire)
        {
            await EnqueueAsync(schedule, latest, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ticks missed while no relay ran: none (skip), or the latest one (run-once). Never a burst.</summary>
    /// <summary>How many manual runs, at most, the catch-up reads past to find the schedule's latest tick.</summary>
    internal const int ManualRunsPassedOver = 1000;

    private async Task CatchUpAsync(RelaySchedule schedule, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!schedule.RunOnceOnMisfire)
        {
            return;
        }

        try
        {
            if (await LastFireAsync(schedule, cancellationToken).ConfigureAwait(false) is not { } lastFire)
            {
                return; // never ticked: nothing was missed
            }

            DateTimeOffset? latestMissed = null;
            for (var fire = schedule.Next(lastFire); fire is { } at && at <= now; fire = schedule.Next(at))
            {
                latestMissed = at;
            }

            if (latestMissed is { } missed)
            {
                _logger.LogInformation("Schedule {Schedule} missed ticks while no relay ran; running the latest ({FireTime:u}) once (Misfire: run-once).", schedule.Name, missed);
                await EnqueueAsync(schedule, missed, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception failure) when (failure is not OperationCanceledException)
        {
            // The store is down at start: the missed tick is not caught up by this relay; the schedule goes on.
            _logger.LogError("Schedule {Schedule}: could not read its last tick to catch up: {Error}", schedule.Name, failure.Message);
        }
    }

    private async Task EnqueueAsync(RelaySchedule schedule, DateTimeOffset fire, CancellationToken cancellationToken)
    {
        try
        {
            string? skipped = null;
            var paused = await _store.IsPausedAsync(RelayPauseTarget.Schedule(schedule.Name), cancellationToken).ConfigureAwait(false);
            if (paused)
            {
                // Stored, so the operator sees the tick that did not run, and a resume never catches it up (its key is taken).
                skipped = "Skipped: the schedule is paused (runchat-job relay resume --schedule " + schedule.Name + ").";
            }
            else if (!schedule.AllowOverlap && await RunningTickAsync(schedule, cancellationToken).ConfigureAwait(false) is { } running
                && schedule.FireTimeOf(running.DedupeKey) != fire)
            {
                skipped = $"Skipped (Overlap: skip): the tick of {schedule.FireTimeOf(running.DedupeKey):u} ({running.Id}) was still {DeliveryStates.Name(running.State)}.";
            }

            var route = schedule.Route;
            var added = await _store.AddAsync(
                new NewDelivery(DeliveryIds.New(_time), route.Path, route.JobId ?? string.Empty, schedule.DedupeKey(fire), schedule.Body(fire), _time.GetUtcNow(), SenderId: _instance, Event: "schedule", FlowId: route.FlowId)
                {
                    State = skipped is null ? RelayDeliveryState.Pending : paused ? RelayDeliveryState.Ignored : RelayDeliveryState.Failed,
                    Reason = skipped,
                },
                CancellationToken.None).ConfigureAwait(false);
            if (added.Duplicate)
            {
                _logger.LogDebug("Schedule {Schedule}: the tick of {FireTime:u} was already enqueued by another relay ({DeliveryId}).", schedule.Name, fire, added.Id);
                return;
            }

            if (skipped is not null)
            {
                if (paused)
                {
                    _logger.LogInformation("Schedule {Schedule}: the tick of {FireTime:u} is skipped: the schedule is paused ({DeliveryId}).", schedule.Name, fire, added.Id);
                }
                else
                {
                    _logger.LogWarning("Schedule {Schedule}: {Reason}", schedule.Name, skipped);
                }

                return;
            }

            _logger.LogInformation("Schedule {Schedule}: the tick of {FireTime:u} is delivery {DeliveryId}.", schedule.Name, fire, added.Id);
            _signal.Notify();
        }
        catch (Exception failure) when (failure is not OperationCanceledException)
        {
            // The store is down: this tick is lost for this relay; another relay (or the next tick) goes on.
            _logger.LogError("Schedule {Schedule}: the tick of {FireTime:u} could not be stored: {Error}", schedule.Name, fire, failure.Message);
        }
    }

    /// <summary>A tick of this schedule still pending or sending, if any.</summary>
    private async Task<RelayDelivery?> RunningTickAsync(RelaySchedule schedule, CancellationToken cancellationToken)
    {
        foreach (var state in new[] { RelayDeliveryState.Sending, RelayDeliveryState.Pending })
        {
            var running = await _store.ListPageAsync(new DeliveryPageQuery(state, schedule.Route.Path, null, null, null, 1), cancellationToken).ConfigureAwait(false);
            if (running.Count > 0)
            {
                return running[0];
            }
        }

        return null;
    }

    /// <summary>
    /// The fire time of the schedule's latest tick, or null when it never fired. Manual runs (<c>Run now</c>) name no fire
    /// time and are passed over, newest first, a page at a time, up to <see cref="ManualRunsPassedOver"/> of them.
    /// </summary>
    private async Task<DateTimeOffset?> LastFireAsync(RelaySchedule schedule, CancellationToken cancellationToken)
    {
        const int page = 50;
        DateTimeOffset? beforeAt = null;
        string? beforeId = null;
        for (var read = 0; read < ManualRunsPassedOver; read += page)
        {
            var latest = await _store.ListPageAsync(new DeliveryPageQuery(null, schedule.Route.Path, null, beforeAt, beforeId, page), cancellationToken).ConfigureAwait(false);
            foreach (var delivery in latest)
            {
                if (schedule.FireTimeOf(delivery.DedupeKey) is { } fire)
                {
                    return fire;
                }
            }

            if (latest.Count < page)
            {
                return null;
            }

            (beforeAt, beforeId) = (latest[^1].ReceivedAt, latest[^1].Id);
        }

        _logger.LogWarning("Schedule {Schedule}: its latest {Count} deliveries are all manual runs; no missed tick is caught up.", schedule.Name, ManualRunsPassedOver);
        return null;
    }
}
