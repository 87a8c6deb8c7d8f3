using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Runchat.Relay;

/// <summary>
/// Sends stored deliveries to Runchat: claims due ones (leases, so relays sharing a store never take the
/// same), starts each as <c>sending</c> (committed before the request leaves, and only when the limits
/// allow), and hands it to <see cref="DeliverySender"/>, which triggers the job with the delivery's exact
/// bytes and records the outcome. <see cref="LeaseKeeper"/> keeps the leases and recovers dead relays' sends.
/// </summary>
/// <remarks>
/// On stop, unsent claims are given back, and runs in flight are awaited until the host's shutdown
/// timeout; those cut off then become <c>unknown</c>, never <c>pending</c>. The limits are enforced by
/// the store when a send starts, so they hold for every relay sharing the store.
/// </remarks>
internal sealed class RelayDispatcher : BackgroundService
{
    // While a limit holds: how often to look for a slot another relay freed.
    private static readonly TimeSpan LimitPoll = TimeSpan.FromMilliseconds(250);

    // Idle: new work wakes the dispatcher (the in-process signal; on PostgreSQL also NOTIFY from any
    // relay's ingest or replay), and a retry this relay scheduled wakes it when it comes due. The poll
    // only bounds what nothing announces: a dead relay's lease running out, a replay from another process
    // on SQLite, a notification lost while the LISTEN connection was down (why 5 s: docs/design.md).
    private static readonly TimeSpan SafetyPoll = TimeSpan.FromSeconds(5);

    private readonly IDeliveryStore _store;
    private readonly RunchatRelayOptions _options;
    private readonly TimeProvider _time;
    private readonly DispatchSignal _signal;
    private readonly ILogger<RelayDispatcher> _logger;
    private readonly string _owner;
    private readonly RelayInstanceStatus _status;
    private readonly LeaseKeeper _leases;
    private readonly DeliverySender _sender;
    private readonly RelayRouteTable _routes;

    // Set when one of this relay's runs ends. While a limit holds, only that (or time, or another
    // relay's run ending, seen at the next poll) can free a slot; a new delivery cannot.
    private readonly DispatchSignal _runEnded = new();

    // What this relay holds: its runs in flight (their tasks) and its claims not yet started (null).
    // The lease keeper reads the ids from its own loop.
    private readonly ConcurrentDictionary<string, Task?> _held = new();

    // Claimed and not yet started, oldest due first. Only the dispatch loop touches it.
    private readonly Queue<ClaimedDelivery> _claimed = new();
    private readonly CancellationTokenSource _stopKeeping = new();
    private Task _keeping = Task.CompletedTask;
    private Task _listening = Task.CompletedTask;

    public RelayDispatcher(IDeliveryStore store, IRunchatClient client, RelayRouteTable routes, IOptions<RunchatRelayOptions> options, TimeProvider time, DispatchSignal signal, RelayInstanceStatus status, ILogger<RelayDispatcher> logger)
    {
        // The instance's id: what its claims, its leases and its heartbeat name.
        _status = status;
        _owner = status.Id;
        _store = store;
        _options = options.Value;
        _time = time;
        _signal = signal;
        _logger = logger;
        _leases = new LeaseKeeper(store, _owner, _options.ClaimLease, time, logger);
        _routes = routes;
        _sender = new DeliverySender(store, client, _owner, _options.RetryBaseDelay, time, logger, WakeAt);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // cancellationToken fires when the host's shutdown timeout runs out: then the runs still in
        // flight are abandoned, and each records itself as unknown.
        using var abandon = cancellationToken.Register(static state => ((DeliverySender)state!).Abandon(), _sender);
        await base.StopAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            // Unsent claims go back at once, rather than after their lease.
            await _store.ReleaseAsync(_owner, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
            foreach (var claim in _claimed)
            {
                _held.TryRemove(claim.Id, out _);
            }
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Could not give back this relay's unsent claims; other relays take them when their lease expires.");
        }

        // The leases are kept until the last run has ended.
        await Task.WhenAll(Runs()).ConfigureAwait(false);
        _stopKeeping.Cancel();
        await _keeping.ConfigureAwait(false);
        await _listening.ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _stopKeeping.Dispose();
        _sender.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await DispatchAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            _status.End();
        }
    }

    private async Task DispatchAsync(CancellationToken stoppingToken)
    {
        var lease = _options.ClaimLease;
        var recoveredAtStart = false;
        DateTimeOffset? storeDownSince = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            // What the health check and the heartbeat read: the loop is alive, and whether the store answers.
            _status.Pass(_time.GetUtcNow(), storeDownSince, RunsInFlight());
            DispatchStep step;
            try
            {
                if (!recoveredAtStart)
                {
                    await _leases.RecoverAtStartAsync().ConfigureAwait(false);
                    recoveredAtStart = true;
                    _keeping = _leases.RunAsync(() => (IReadOnlyCollection<string>)_held.Keys, _stopKeeping.Token);
                    if (_store is IDeliveryNotifications notifications)
                    {
                        _listening = notifications.ListenAsync(_signal.Notify, failure => _logger.LogWarning("The relay lost its LISTEN connection; new deliveries are found by the 5-second poll until it is back: {Error}", failure.Message), _stopKeeping.Token);
                    }
                }

                step = await ClaimAndStartAsync(lease).ConfigureAwait(false);
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

                await _signal.WaitAsync(TimeSpan.FromSeconds(1), _time, stoppingToken, ignoreNotifications: true).ConfigureAwait(false);
                continue;
            }

            switch (step)
            {
                case DispatchStep.LimitReached:
                    await _runEnded.WaitAsync(LimitPoll, _time, stoppingToken).ConfigureAwait(false);
                    break;
                case DispatchStep.NothingDue:
                    await _signal.WaitAsync(SafetyPoll, _time, stoppingToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    /// <summary>What one pass of the dispatch loop came to.</summary>
    private enum DispatchStep
    {
        /// <summary>A send started: there may be more to do at once.</summary>
        Started,

        /// <summary>Nothing started: nothing was due, or every claim was lost.</summary>
        NothingDue,

        /// <summary>A limit holds: only a run ending (or time) can free a slot.</summary>
        LimitReached,
    }

    /// <summary>Tops up the claims to <c>MaxConcurrentRuns</c>, then starts the oldest while the limits allow.</summary>
    private async Task<DispatchStep> ClaimAndStartAsync(TimeSpan lease)
    {
        var want = _options.MaxConcurrentRuns - _claimed.Count;
        if (want > 0)
        {
            var now = _time.GetUtcNow();
            // Not cancellable: a claim committed but never read would be stranded until its lease ran out.
            foreach (var claim in await _store.ClaimAsync(new ClaimRequest(_owner, now, now + lease, want), CancellationToken.None).ConfigureAwait(false))
            {
                _held[claim.Id] = null;
                if (await PrepareAsync(claim).ConfigureAwait(false) is { } prepared)
                {
                    _claimed.Enqueue(prepared);
                }
            }
        }

        var step = DispatchStep.NothingDue;
        while (_claimed.TryPeek(out var next))
        {
            var now = _time.GetUtcNow();
            // Not cancellable: a start committed but never read would turn 'unknown' though it never left.
            var start = await _store.StartSendAsync(
                new StartRequest(next.Id, _owner, now, now + lease, _options.MaxConcurrentRuns, _options.MaxRunsPerMinute, next.Message), CancellationToken.None).ConfigureAwait(false);
            if (start.Outcome == SendStartOutcome.LimitReached)
            {
                return DispatchStep.LimitReached;
            }

            _claimed.Dequeue();
            if (start.Outcome == SendStartOutcome.Lost)
            {
                _held.TryRemove(next.Id, out _);
                _logger.LogDebug("Delivery {DeliveryId}: the claim lapsed and another relay took it.", next.Id);
                continue;
            }

            // Held before it starts, so its end (which lets go of it) cannot come first.
            var delivery = next with { Attempts = start.Attempts };
            var run = new Task<Task>(() => RunAsync(delivery));
            _held[next.Id] = run.Unwrap();
            run.Start(TaskScheduler.Default);
            step = DispatchStep.Started;
        }

        return step;
    }

    /// <summary>
    /// The claim with the text its agent receives, rendered once from its route's Message; or, when that fails,
    /// null: the delivery is recorded <c>failed</c> with the reason, never started and never sent.
    /// </summary>
    private async Task<ClaimedDelivery?> PrepareAsync(ClaimedDelivery claim)
    {
        var route = _routes.Find(claim.Route);
        claim = claim with { PostsReply = route?.PostReply is not null };
        if (claim.FlowId is not null)
        {
            return claim;
        }

        var (message, error) = await RouteRules.RenderAsync(route, claim).ConfigureAwait(false);
        if (error is null)
        {
            return claim with { Message = message };
        }

        try
        {
            // Not cancellable: a reject committed but never read is harmless; one cut off halfway is not.
            await _store.RejectAsync(claim.Id, _owner, error, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            // Let go of it either way: if the store refused the reject, the lease runs out and a claim tries again.
            _held.TryRemove(claim.Id, out _);
        }

        _logger.LogWarning("Delivery {DeliveryId} to {Route}: failed, nothing sent: {Error}", claim.Id, claim.Route, error);
        return null;
    }

    /// <summary>Wakes the dispatch loop when a retry this relay scheduled comes due, rather than at the next safety poll.</summary>
    private void WakeAt(DateTimeOffset due)
    {
        var wait = due - _time.GetUtcNow();
        _ = Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, _time).ContinueWith(static (_, signal) => ((DispatchSignal)signal!).Notify(), _signal, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task RunAsync(ClaimedDelivery delivery)
    {
        try
        {
            await _sender.SendAsync(delivery).ConfigureAwait(false);
        }
        finally
        {
            _held.TryRemove(delivery.Id, out _);
            _runEnded.Notify();
            _signal.Notify();
        }
    }

    private int RunsInFlight()
    {
        var count = 0;
        foreach (var held in _held.Values)
        {
            if (held is { IsCompleted: false })
            {
                count++;
            }
        }

        return count;
    }

    private IEnumerable<Task> Runs()
    {
        foreach (var held in _held.Values)
        {
            if (held is not null)
            {
                yield return held;
            }
        }
    }
}

/// <summary>Wakes the dispatcher when a delivery is stored or a run ends, so it need not poll hard.</summary>
internal sealed class DispatchSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, int.MaxValue);

    /// <summary>Whether a notification waits for the dispatcher to take it.</summary>
    public bool IsPending => _semaphore.CurrentCount > 0;

    public void Notify()
    {
        if (_semaphore.CurrentCount == 0)
        {
            _semaphore.Release();
        }
    }

    /// <summary>
    /// Waits for a notification, at most <paramref name="timeout"/> as <paramref name="time"/> counts it (a test's fake
    /// clock too); with <paramref name="ignoreNotifications"/>, the whole timeout.
    /// </summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken, bool ignoreNotifications = false)
    {
        using var timer = new CancellationTokenSource(timeout, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken);
        try
        {
            if (ignoreNotifications)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, either.Token).ConfigureAwait(false);
            }
            else
            {
                await _semaphore.WaitAsync(either.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
