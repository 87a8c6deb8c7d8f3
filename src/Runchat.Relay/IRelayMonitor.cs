using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// Reads the relay's store, for views of your own (the dashboard is built on it): deliveries, their payloads,
/// counts by state and the overview's figures. Every read is bounded: a page, a capped count, or figures from
/// the per-minute counters, so it costs the same in a store of any size. Registered by <c>AddRunchatRelay</c>.
/// </summary>
/// <remarks>It never changes anything; replays go through <see cref="IRunchatRelay.ReplayAsync"/>.</remarks>
public interface IRelayMonitor
{
    /// <summary>One delivery, or null when there is none with this id.</summary>
    /// <param name="deliveryId">The id the relay answered the sender with.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<RelayDelivery?> GetAsync(string deliveryId, CancellationToken cancellationToken = default);

    /// <summary>One page of deliveries, newest first, filtered by state, route and event, after the previous page's cursor.</summary>
    /// <param name="query">The filters, the cursor and the page size.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentException">The limit is not 1 to 1000, or the cursor is not one a page gave.</exception>
    Task<RelayDeliveryPage> ListAsync(RelayDeliveryQuery query, CancellationToken cancellationToken = default);

    /// <summary>The body the sender sent, as stored (for a GitHub form delivery, its JSON payload); null when there is no such delivery.</summary>
    /// <param name="deliveryId">The delivery.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <remarks>Payloads can hold personal data: show them only to those who may see them.</remarks>
    Task<byte[]?> GetPayloadAsync(string deliveryId, CancellationToken cancellationToken = default);

    /// <summary>How many deliveries are in each state, every state listed (zeros too), each counted up to a cap.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<IReadOnlyList<RelayStateCount>> CountByStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Deliveries received by route and runs started over the last day, and the oldest pending delivery.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<RelayOverview> GetOverviewAsync(CancellationToken cancellationToken = default);
}

/// <summary>How many deliveries are in one state.</summary>
public readonly struct RelayStateCount : IEquatable<RelayStateCount>
{
    /// <summary>A count.</summary>
    /// <param name="state">The state.</param>
    /// <param name="count">How many (at least, when <paramref name="atLeast"/>).</param>
    /// <param name="atLeast">The count reached its cap: there are this many or more.</param>
    public RelayStateCount(RelayDeliveryState state, long count, bool atLeast)
    {
        State = state;
        Count = count;
        AtLeast = atLeast;
    }

    /// <summary>The state.</summary>
    public RelayDeliveryState State { get; }

    /// <summary>How many deliveries are in it; at least this many when <see cref="AtLeast"/>.</summary>
    public long Count { get; }

    /// <summary>
    /// The count stopped at its cap (100,000 for <c>pending</c>, <c>sending</c> and <c>unknown</c>; 10,000 for the
    /// finished states), so that counting costs the same in a store of any size.
    /// </summary>
    public bool AtLeast { get; }

    /// <inheritdoc />
    public bool Equals(RelayStateCount other) => State == other.State && Count == other.Count && AtLeast == other.AtLeast;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RelayStateCount other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(State, Count, AtLeast);

    /// <summary>The state and its count, such as <c>pending: 100000+</c>.</summary>
    public override string ToString() => $"{DeliveryStates.Name(State)}: {Count}{(AtLeast ? "+" : string.Empty)}";
}

/// <summary>The overview's figures: from the per-minute counters that every relay sharing the store keeps, never a scan.</summary>
public sealed class RelayOverview
{
    internal RelayOverview(IReadOnlyList<RelayRouteCount> receivedByRoute, long startedLastHour, long startedLastDay, DateTimeOffset? oldestPending)
    {
        ReceivedByRoute = receivedByRoute;
        StartedLastHour = startedLastHour;
        StartedLastDay = startedLastDay;
        OldestPending = oldestPending;
    }

    /// <summary>Deliveries received in the last 24 hours by route, the busiest first (20 routes at most).</summary>
    public IReadOnlyList<RelayRouteCount> ReceivedByRoute { get; }

    /// <summary>Runs started (a request sent to Runchat) in the last hour.</summary>
    public long StartedLastHour { get; }

    /// <summary>Runs started in the last 24 hours.</summary>
    public long StartedLastDay { get; }

    /// <summary>When the oldest <c>pending</c> delivery was received; null when none is pending.</summary>
    public DateTimeOffset? OldestPending { get; }
}

/// <summary>How many deliveries one route received.</summary>
public sealed class RelayRouteCount
{
    internal RelayRouteCount(string route, long count)
    {
        Route = route;
        Count = count;
    }

    /// <summary>The route's path, or <c>schedule:&lt;Name&gt;</c>.</summary>
    public string Route { get; }

    /// <summary>How many deliveries it received.</summary>
    public long Count { get; }
}
