using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Runchat.Relay;

/// <summary>
/// Deletes deliveries past <c>Relay:Retention</c>, and instances silent for a day: at start, then every
/// <see cref="Interval"/>. In batches of <see cref="BatchSize"/>, each its own short transaction followed by a pause nine times as long, so ingest is never
/// held up for long; one relay at a time where several share the store (the others skip their turn).
/// </summary>
internal sealed class RelayRetention : BackgroundService
{
    /// <summary>How often retention runs.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    /// <summary>How many rows one statement deletes: small enough that a write waits for it only a few milliseconds.</summary>
    internal const int BatchSize = 250;

    /// <summary>
    /// After each batch, a pause this many times as long as the batch took: the deleting holds the store (SQLite's one
    /// writer; PostgreSQL's disk) a tenth of the time at most, so ingest keeps nine tenths of its pace or more.
    /// </summary>
    internal const int PauseFactor = 9;

    /// <summary>The longest pause between two batches.</summary>
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(2);

    /// <summary>How long an instance may be silent before its heartbeat row goes.</summary>
    internal static readonly TimeSpan InstancesKept = TimeSpan.FromDays(1);

    private readonly IDeliveryStore _store;
    private readonly RelayRetentionOptions _retention;
    private readonly TimeProvider _time;
    private readonly ILogger<RelayRetention> _logger;

    public RelayRetention(IDeliveryStore store, IOptions<RunchatRelayOptions> options, TimeProvider time, ILogger<RelayRetention> logger)
    {
        _store = store;
        _retention = options.Value.Retention;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception failure)
            {
                // The store is down: the next round deletes what this one could not.
                _logger.LogWarning("Retention could not delete old deliveries this round: {Error}", failure.Message);
            }

            try
            {
                await Task.Delay(Interval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round: every state with a period, then the silent instances. What it deleted, per state.</summary>
    internal async Task<IReadOnlyDictionary<RelayDeliveryState, long>> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var deleted = new Dictionary<RelayDeliveryState, long>();
        foreach (var (state, period) in _retention.Periods())
        {
            var (count, complete) = await PurgeAsync(_store, state, now - period, waitForTurn: false, cancellationToken).ConfigureAwait(false);
            deleted[state] = count;
            if (count > 0)
            {
                _logger.LogInformation("Retention deleted {Count} {State} deliveries older than {Period}.", count, DeliveryStates.Name(state), period);
            }

            if (!complete)
            {
                _logger.LogDebug("Retention: another relay is deleting; this one skips its turn.");
                break;
            }
        }

        await _store.RemoveInstancesAsync(null, now - InstancesKept, cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    /// <summary>
    /// Deletes a state's deliveries past <paramref name="cutoff"/>, batch by batch, until none is left; whether it got to
    /// the end (false: another relay holds the turn, and <paramref name="waitForTurn"/> is false).
    /// </summary>
    internal static async Task<(long Deleted, bool Complete)> PurgeAsync(IDeliveryStore store, RelayDeliveryState state, DateTimeOffset cutoff, bool waitForTurn, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var deleted = await store.PurgeBatchAsync(state, cutoff, BatchSize, cancellationToken).ConfigureAwait(false);
            var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            if (deleted < 0)
            {
                if (!waitForTurn)
                {
                    return (total, false);
                }

                // An operator's purge waits for the relay deleting now: its batches are short.
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                continue;
            }

            total += deleted;
            if (deleted == 0)
            {
                // Not "fewer than a batch": another deleter (retention beside an operator's purge) may have taken some.
                return (total, true);
            }

            // Nine times as long as the batch took (at most 2 s): the store's writers (this relay's ingest, and on SQLite
            // other processes, whose turn to write is not queued) get it nine tenths of the time.
            var pause = took * PauseFactor;
            await Task.Delay(pause < MaxPause ? pause : MaxPause, cancellationToken).ConfigureAwait(false);
        }
    }
}
