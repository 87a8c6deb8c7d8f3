using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>What an operator can ask of the relay's store. Registered by <c>AddRunchatRelay</c>.</summary>
public interface IRunchatRelay
{
    /// <summary>One delivery, or null when there is none with this id.</summary>
    /// <param name="deliveryId">The id the relay answered the sender with.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<RelayDelivery?> GetAsync(string deliveryId, CancellationToken cancellationToken = default);

    /// <summary>Every delivery, newest first, optionally only those in one state.</summary>
    /// <param name="state">Only deliveries in this state; null for all.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <remarks>Reads every delivery the store holds: for a store of any size, page with <see cref="ListAsync(RelayDeliveryQuery, CancellationToken)"/>.</remarks>
    Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of deliveries, newest first, filtered by state, route and event, after the previous page's cursor.
    /// A page costs the same whether the store holds a hundred deliveries or millions (a keyset on its indexes).
    /// </summary>
    /// <param name="query">The filters, the cursor and the page size.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="System.ArgumentException">The limit is not 1 to 1000, or the cursor is not one a page gave.</exception>
    Task<RelayDeliveryPage> ListAsync(RelayDeliveryQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends a finished delivery again, on an operator's word: it becomes <c>pending</c> and the
    /// dispatcher triggers the job once more. This can run the agent a second time; that is the point.
    /// </summary>
    /// <param name="deliveryId">The delivery to send again.</param>
    /// <param name="cancellationToken">Cancels the change.</param>
    /// <returns>The delivery, now pending; null when there is none with this id.</returns>
    /// <exception cref="System.InvalidOperationException">The delivery is still <c>pending</c> or <c>sending</c>.</exception>
    Task<RelayDelivery?> ReplayAsync(string deliveryId, CancellationToken cancellationToken = default);
}
