using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>The operator API: reads through the monitor; a replay changes the store and wakes the dispatcher.</summary>
internal sealed class RunchatRelay : IRunchatRelay
{
    private readonly IDeliveryStore _store;
    private readonly IRelayMonitor _monitor;
    private readonly TimeProvider _time;
    private readonly DispatchSignal _signal;

    public RunchatRelay(IDeliveryStore store, IRelayMonitor monitor, TimeProvider time, DispatchSignal signal)
    {
        _store = store;
        _monitor = monitor;
        _time = time;
        _signal = signal;
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
}
