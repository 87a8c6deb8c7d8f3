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

    /// <summary>The deliveries, newest first, optionally only those in one state.</summary>
    /// <param name="state">Only deliveries in this state; null for all.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state = null, CancellationToken cancellationToken = default);

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
