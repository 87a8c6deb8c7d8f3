using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Runchat.Relay;

/// <summary>
/// Sends stored deliveries to Runchat: claims due ones (leases, so relays sharing a store never take the
/// same), starts each as <c>sending</c> (committed before the request leaves, and only when the limits
/// allow), triggers the job with the delivery's exact bytes, and records the outcome.
/// </summary>
/// <remarks>
/// On start, deliveries a dead relay left in <c>sending</c> become <c>unknown</c> (SQLite: all of them;
/// a shared store: those whose lease expired, checked again every third of a lease by every relay).
/// While runs are in flight their leases are renewed. On stop, unsent claims are given back, and runs in
/// flight are awaited until the host's shutdown timeout; those cut off then become <c>unknown</c>, never
/// <c>pending</c>. The limits are enforced by the store when a send starts, so they hold for every relay
/// sharing the store.
/// </remarks>
internal sealed class RelayDispatcher : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);
    /// <summary>The longest a delivery waits before it is sent again, a 429's Retry-After included.</summary>
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);

    private readonly IDeliveryStore _store;
    private readonly IRunchatClient _client;
    private readonly RunchatRelayOptions _options;
    private readonly TimeProvider _time;
    private readonly DispatchSignal _signal;

    // Set when one of this relay's runs ends. While a limit holds, only that (or time, or another
    // relay's run ending, seen at the next poll) can free a slot; a new delivery cannot.
    private readonly DispatchSignal _runEnded = new();
    private bool _limitReached;
    private readonly ILogger<RelayDispatcher> _logger;
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<string, Task> _inFlight = new();
    private readonly CancellationTokenSource _abandon = new();

    // Claimed and not yet started, oldest due first. Only the dispatch loop touches it.
    private readonly Queue<ClaimedDelivery> _claimed = new();

    public RelayDispatcher(IDeliveryStore store, IRunchatClient client, IOptions<RunchatRelayOptions> options, TimeProvider time, DispatchSignal signal, ILogger<RelayDispatcher> logger)
    {
        _store = store;
        _client = client;
        _options = options.Value;
        _time = time;
        _signal = signal;
        _logger = logger;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // cancellationToken fires when the host's shutdown timeout runs out: then the runs still in
        // flight are abandoned, and each records itself as unknown.
        using var abandon = cancellationToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), _abandon);
        await base.StopAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            // Unsent claims go back at once, rather than after their lease.
            await _store.ReleaseAsync(_owner, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Could not give back this relay's unsent claims; other relays take them when their lease expires.");
        }

        // Leases are renewed until the last run has ended.
        using var renew = new CancellationTokenSource();
        var renewing = RenewWhileAsync(renew.Token);
        await Task.WhenAll(_inFlight.Values).ConfigureAwait(false);
        renew.Cancel();
        await renewing.ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _abandon.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lease = _options.ClaimLease;
        var recoveredAtStart = false;
        DateTimeOffset? storeDownSince = null;
        var housekeeping = _time.GetUtcNow() + lease / 3;
        while (!stoppingToken.IsCancellationRequested)
        {
            bool started;
            try
            {
                // Not cancellable: a claim or a start committed but never read would be stranded
                // (a start would even turn 'unknown' though it never left).
                if (!recoveredAtStart)
                {
                    await RecoverAsync(atStart: true, CancellationToken.None).ConfigureAwait(false);
                    recoveredAtStart = true;
                }

                if (_time.GetUtcNow() >= housekeeping)
                {
                    await _store.RenewAsync(_owner, HeldIds(), _time.GetUtcNow() + lease, CancellationToken.None).ConfigureAwait(false);
                    await RecoverAsync(atStart: false, CancellationToken.None).ConfigureAwait(false);
                    housekeeping = _time.GetUtcNow() + lease / 3;
                }

                started = await ClaimAndStartAsync(lease).ConfigureAwait(false);
                if (storeDownSince is { } since)
                {
                    _logger.LogInformation("The relay's store answers again, after {Seconds:0} s.", (_time.GetUtcNow() - since).TotalSeconds);
                    storeDownSince = null;
                }
            }
            catch (Exception exception)
            {
                // Once with the exception, then quietly each second until it answers again: a database
                // that is down for an hour is one error in the log, not 3,600 stack traces.
                if (storeDownSince is null)
                {
                    storeDownSince = _time.GetUtcNow();
                    _logger.LogError(exception, "The relay could not read its store; trying again every second.");
                }
                else
                {
                    _logger.LogDebug("The relay's store still does not answer: {Error}", exception.Message);
                }

                await DelayAsync(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                continue;
            }

            if (!started)
            {
                await (_limitReached ? _runEnded : _signal).WaitAsync(IdlePoll, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Tops up the claims to <c>MaxConcurrentRuns</c>, then starts the oldest while the limits allow.
    /// True when a send started (there may be more to do at once).
    /// </summary>
    private async Task<bool> ClaimAndStartAsync(TimeSpan lease)
    {
        var want = _options.MaxConcurrentRuns - _claimed.Count;
        if (want > 0)
        {
            var now = _time.GetUtcNow();
            foreach (var claim in await _store.ClaimAsync(new ClaimRequest(_owner, now, now + lease, want), CancellationToken.None).ConfigureAwait(false))
            {
                _claimed.Enqueue(claim);
            }
        }

        var started = false;
        _limitReached = false;
        while (_claimed.TryPeek(out var next))
        {
            var now = _time.GetUtcNow();
            var start = await _store.StartSendAsync(
                new StartRequest(next.Id, _owner, now, now + lease, _options.MaxConcurrentRuns, _options.MaxRunsPerMinute), CancellationToken.None).ConfigureAwait(false);
            if (start.Outcome == SendStartOutcome.LimitReached)
            {
                _limitReached = true;
                break;
            }

            _claimed.Dequeue();
            if (start.Outcome == SendStartOutcome.Lost)
            {
                _logger.LogDebug("Delivery {DeliveryId}: the claim lapsed and another relay took it.", next.Id);
                continue;
            }

            var run = SendAsync(next with { Attempts = start.Attempts });
            _inFlight[next.Id] = run;
            _ = run.ContinueWith((_, state) =>
            {
                var (signal, runEnded) = ((DispatchSignal, DispatchSignal))state!;
                runEnded.Notify();
                signal.Notify();
            }, (_signal, _runEnded), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            started = true;
        }

        return started;
    }

    /// <summary>What this relay holds in memory: its runs in flight and its claims not yet started.</summary>
    private IReadOnlyCollection<string> HeldIds()
    {
        var ids = new List<string>(_inFlight.Count + _claimed.Count);
        ids.AddRange(_inFlight.Keys);
        foreach (var claim in _claimed)
        {
            ids.Add(claim.Id);
        }

        return ids;
    }

    private async Task RecoverAsync(bool atStart, CancellationToken cancellationToken)
    {
        var recovered = await _store.RecoverInterruptedAsync(_time.GetUtcNow(), atStart, cancellationToken).ConfigureAwait(false);
        if (recovered > 0)
        {
            _logger.LogWarning("{Count} deliveries were in flight when their relay stopped; they are now unknown. List them with: runchat-job relay list --state unknown", recovered);
        }
    }

    private async Task RenewWhileAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await DelayAsync(_options.ClaimLease / 3, cancellationToken).ConfigureAwait(false);
            try
            {
                await _store.RenewAsync(_owner, _inFlight.Keys.ToArray(), _time.GetUtcNow() + _options.ClaimLease, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                _logger.LogWarning(exception, "Could not renew this relay's leases while stopping.");
            }
        }
    }

    private async Task SendAsync(ClaimedDelivery delivery)
    {
        await Task.Yield();
        // The parent of the client's invoke_agent span, linked to the receive span stored with the delivery.
        using var activity = RelayTelemetry.StartDispatch(delivery);
        Outcome outcome;
        Exception? failure = null;
        try
        {
            var response = await _client.TriggerAgentJobAsync(delivery.JobId, JobPayload.FromBytes(delivery.Body), _abandon.Token).ConfigureAwait(false);
            outcome = OutcomeClassifier.Classify(response);
        }
        catch (Exception exception)
        {
            failure = exception;
            outcome = OutcomeClassifier.Classify(exception, shuttingDown: _abandon.IsCancellationRequested);
        }

        activity?.SetTag("runchat.relay.state", DeliveryStates.Name(outcome.State));
        if (outcome.State is RelayDeliveryState.Failed or RelayDeliveryState.Unknown)
        {
            activity?.SetStatus(ActivityStatusCode.Error, DeliveryStates.Name(outcome.State));
        }

        try
        {
            var now = _time.GetUtcNow();
            if (outcome.State == RelayDeliveryState.Pending)
            {
                // The client's formula: Retry-After when Runchat sent one, else exponential from the relay's base delay.
                var wait = RunchatRetry.GetDelay(failure!, Math.Max(delivery.Attempts - 1, 0), _options.RetryBaseDelay, MaxRetryDelay);
                await _store.RescheduleAsync(delivery.Id, _owner, now + wait, outcome.Result.Error ?? "retry", now, CancellationToken.None).ConfigureAwait(false);
                _logger.LogInformation("Delivery {DeliveryId} to job {JobId} did not reach the agent (attempt {Attempts}); trying again in {Wait}: {Error}", delivery.Id, delivery.JobId, delivery.Attempts, wait, outcome.Result.Error);
            }
            else
            {
                await _store.CompleteAsync(delivery.Id, _owner, outcome.State, outcome.Result, now, CancellationToken.None).ConfigureAwait(false);
                var level = outcome.State == RelayDeliveryState.Succeeded ? LogLevel.Information : LogLevel.Warning;
                _logger.Log(level, "Delivery {DeliveryId} to job {JobId}: {State}{Error}", delivery.Id, delivery.JobId, DeliveryStates.Name(outcome.State), outcome.Result.Error is null ? string.Empty : " (" + outcome.Result.Error + ")");
            }
        }
        catch (Exception exception)
        {
            // The row stays 'sending' and becomes 'unknown' at the next start: never sent again unasked.
            _logger.LogError(exception, "Could not record the outcome of delivery {DeliveryId}; it will be unknown after the next start.", delivery.Id);
        }
        finally
        {
            _inFlight.TryRemove(delivery.Id, out _);
        }
    }

    private static async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>Wakes the dispatcher when a delivery is stored or a run ends, so it need not poll hard.</summary>
internal sealed class DispatchSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, int.MaxValue);

    public void Notify()
    {
        if (_semaphore.CurrentCount == 0)
        {
            _semaphore.Release();
        }
    }

    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _semaphore.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
