using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>The public reads (<see cref="IRelayMonitor"/>) over the store's own: cursors checked, counts marked at their cap, the overview at the clock's now.</summary>
internal sealed class RelayMonitor : IRelayMonitor
{
    private readonly IDeliveryReader _store;
    private readonly TimeProvider _time;

    public RelayMonitor(IDeliveryReader store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    public Task<RelayDelivery?> GetAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveryId);
        return _store.GetAsync(deliveryId, cancellationToken);
    }

    public async Task<RelayDeliveryPage> ListAsync(RelayDeliveryQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var rows = await _store.ListPageAsync(DeliveryCursor.ToStoreQuery(query), cancellationToken).ConfigureAwait(false);
        return DeliveryCursor.ToPage(rows, query.Limit);
    }

    public Task<byte[]?> GetPayloadAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveryId);
        return _store.GetBodyAsync(deliveryId, cancellationToken);
    }

    public async Task<IReadOnlyList<RelayStateCount>> CountByStateAsync(CancellationToken cancellationToken = default)
    {
        var counts = await _store.CountByStateAsync(cancellationToken).ConfigureAwait(false);
        return counts.Select(c => new RelayStateCount(c.State, c.Count, c.Count >= SqlDeliveryStore.CapOf(c.State))).ToList();
    }

    public async Task<RelayOverview> GetOverviewAsync(CancellationToken cancellationToken = default)
    {
        var figures = await _store.OverviewAsync(_time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return new RelayOverview(figures.ByRoute.Select(r => new RelayRouteCount(r.Route, r.Count)).ToList(), figures.SentLastHour, figures.SentLastDay, figures.OldestPending);
    }
}
