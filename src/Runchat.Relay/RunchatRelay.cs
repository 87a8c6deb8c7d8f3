using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>The operator API: reads through the monitor; a replay or a resume changes the store and wakes the dispatcher.</summary>
internal sealed class RunchatRelay : IRunchatRelay
{
    private readonly IDeliveryStore _store;
    private readonly IRelayMonitor _monitor;
    private readonly TimeProvider _time;
    private readonly DispatchSignal _signal;
    private readonly RelayRouteTable _routes;

    public RunchatRelay(IDeliveryStore store, IRelayMonitor monitor, TimeProvider time, DispatchSignal signal, RelayRouteTable routes)
    {
        _store = store;
        _monitor = monitor;
        _time = time;
        _signal = signal;
        _routes = routes;
    }

    public Task<RelayDelivery?> GetAsync(string deliveryId, CancellationToken cancellationToken = default) => _monitor.GetAsync(deliveryId, cancellationToken);

    public Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state = null, CancellationToken cancellationToken = default) =>
        _store.ListAsync(state, cancellationToken);

    public Task<RelayDeliveryPage> ListAsync(RelayDeliveryQuery query, CancellationToken cancellationToken = default) => _monitor.ListAsync(query, cancellationToken);

    public async Task<RelayDelivery?> ReplayAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveryId);
        // Replays the delivery as read here: a concurrent replay of the same view finds it changed.
        var seen = await _store.GetAsync(deliveryId, cancellationToken).ConfigureAwait(false);
        if (seen is null)
        {
            return null;
        }

        var delivery = await _store.ReplayAsync(seen, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        _signal.Notify();
        return delivery;
    }

    public IAsyncEnumerable<RelayReplayResult> ReplayManyAsync(RelayDeliveryQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.State is not (RelayDeliveryState.Failed or RelayDeliveryState.Unknown))
        {
            throw new ArgumentException($"A bulk replay takes failed or unknown deliveries; got {(query.State is { } state ? DeliveryStates.Name(state) : "no state")}.", nameof(query));
        }

        // Checked before the first delivery: a bad cursor or limit is an error, not an empty replay.
        DeliveryCursor.ToStoreQuery(query);
        return Replay(query, cancellationToken);
    }

    private async IAsyncEnumerable<RelayReplayResult> Replay(RelayDeliveryQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var page = query;
        while (true)
        {
            // The list is read a page at a time, newest first; a replayed delivery leaves the state, and the cursor
            // (its arrival and id, which a replay does not change) goes on after it.
            var read = await _monitor.ListAsync(page, cancellationToken).ConfigureAwait(false);
            foreach (var seen in read.Deliveries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RelayReplayResult result;
                try
                {
                    await _store.ReplayAsync(seen, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
                    result = new RelayReplayResult(seen, true, null);
                }
                catch (InvalidOperationException refused)
                {
                    result = new RelayReplayResult(seen, false, refused.Message);
                }

                if (result.Replayed)
                {
                    _signal.Notify();
                }

                yield return result;
            }

            if (read.NextCursor is null)
            {
                yield break;
            }

            page = query.From(read.NextCursor);
        }
    }

    public async Task<bool> PauseAsync(RelayPauseTarget target, CancellationToken cancellationToken = default) =>
        await _store.SetPausedAsync(Resolve(target), paused: true, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);

    public async Task<bool> ResumeAsync(RelayPauseTarget target, CancellationToken cancellationToken = default)
    {
        var resumed = await _store.SetPausedAsync(Resolve(target), paused: false, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        _signal.Notify();
        return resumed;
    }

    public async Task<RelayDelivery> RunScheduleNowAsync(string name, CancellationToken cancellationToken = default)
    {
        var target = Resolve(RelayPauseTarget.Schedule(name ?? throw new ArgumentNullException(nameof(name))));
        var schedule = _routes.Schedules.First(s => s.Name == target.Name);
        var now = _time.GetUtcNow();
        var id = DeliveryIds.New(_time);
        var route = schedule.Route;
        await _store.AddAsync(
            new NewDelivery(id, route.Path, route.JobId ?? string.Empty, schedule.ManualKey(id), schedule.Body(now), now, SenderId: "manual", Event: "schedule", FlowId: route.FlowId),
            cancellationToken).ConfigureAwait(false);
        _signal.Notify();
        return (await _store.GetAsync(id, cancellationToken).ConfigureAwait(false))!;
    }

    public Task<IReadOnlyList<RelayPause>> ListPausedAsync(CancellationToken cancellationToken = default) => _store.ListPausedAsync(cancellationToken);

    public async Task<RelayPurgeResult> PurgeAsync(TimeSpan olderThan, RelayDeliveryState? state = null, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        if (olderThan < RelayRetentionOptions.MinPeriod)
        {
            throw new ArgumentException($"A purge deletes deliveries at least {RelayRetentionOptions.MinPeriod} old; got {olderThan}.", nameof(olderThan));
        }

        if (state is { } only && !SqlDeliveryStore.IsPurgeable(only))
        {
            throw new ArgumentException($"{DeliveryStates.Name(only)} deliveries have not finished; they are never purged (succeeded, failed, unknown or ignored).", nameof(state));
        }

        var cutoff = _time.GetUtcNow() - olderThan;
        var counts = new Dictionary<RelayDeliveryState, long>();
        foreach (var each in state is { } s ? new[] { s } : new[] { RelayDeliveryState.Succeeded, RelayDeliveryState.Failed, RelayDeliveryState.Unknown, RelayDeliveryState.Ignored })
        {
            counts[each] = dryRun
                ? await _store.CountPurgeableAsync(each, cutoff, cancellationToken).ConfigureAwait(false)
                : (await RelayRetention.PurgeAsync(_store, each, cutoff, waitForTurn: true, cancellationToken).ConfigureAwait(false)).Deleted;
        }

        return new RelayPurgeResult(counts, dryRun);
    }

    public Task<(int Deleted, int InFlight)> ForgetSenderAsync(string senderId, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(senderId))
        {
            throw new ArgumentException("A sender id is needed.", nameof(senderId));
        }

        return _store.ForgetSenderAsync(senderId, cancellationToken);
    }

    public Task<IReadOnlyList<RelayInstance>> ListInstancesAsync(CancellationToken cancellationToken = default) => _store.ListInstancesAsync(cancellationToken);

    /// <summary>The target as the store names it: a configured route's path as its deliveries carry it, or a schedule's name as configured.</summary>
    private RelayPauseTarget Resolve(RelayPauseTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Kind == RelayPauseKind.Route)
        {
            return _routes.Find(target.Name) is { } route
                ? RelayPauseTarget.Route(route.Path)
                : throw new ArgumentException($"No route is mapped at {target.Name} (Relay:Routes).", nameof(target));
        }

        foreach (var schedule in _routes.Schedules)
        {
            if (string.Equals(schedule.Name, target.Name, StringComparison.OrdinalIgnoreCase))
            {
                return RelayPauseTarget.Schedule(schedule.Name);
            }
        }

        throw new ArgumentException($"No schedule is named {target.Name} (Relay:Schedules).", nameof(target));
    }
}
