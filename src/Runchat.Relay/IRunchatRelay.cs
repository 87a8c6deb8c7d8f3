using System;
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

    /// <summary>
    /// Replays every delivery the query selects (a bulk replay after an outage), page by page, each as
    /// <see cref="ReplayAsync(string, CancellationToken)"/> replays one: only as it was read, and not twice within seconds.
    /// The runs then go out at the relay's own pace (<c>MaxConcurrentRuns</c>, <c>MaxRunsPerMinute</c>).
    /// </summary>
    /// <param name="query">Which deliveries: <see cref="RelayDeliveryQuery.State"/> must be <c>failed</c> or <c>unknown</c>; route, event and since narrow it. Its limit is the page size.</param>
    /// <param name="cancellationToken">Stops between deliveries: those already replayed stay replayed.</param>
    /// <returns>Each delivery as it was read, and whether it was replayed, in list order (newest first).</returns>
    /// <exception cref="System.ArgumentException">The query's state is not <c>failed</c> or <c>unknown</c>, or its cursor or limit is not one.</exception>
    IAsyncEnumerable<RelayReplayResult> ReplayManyAsync(RelayDeliveryQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Pauses a route (it keeps acknowledging and storing its deliveries, which wait as <c>pending</c>) or a schedule (its
    /// ticks are stored as <c>ignored</c>), for every relay sharing the store. Runs already under way go on.
    /// </summary>
    /// <param name="target">A configured route or schedule.</param>
    /// <param name="cancellationToken">Cancels the change.</param>
    /// <returns>False when it was already paused.</returns>
    /// <exception cref="System.ArgumentException">No route or schedule of that path or name is configured.</exception>
    Task<bool> PauseAsync(RelayPauseTarget target, CancellationToken cancellationToken = default);

    /// <summary>Resumes a paused route (what waited is sent, oldest first, within the limits) or schedule (its next tick runs).</summary>
    /// <param name="target">A configured route or schedule.</param>
    /// <param name="cancellationToken">Cancels the change.</param>
    /// <returns>False when it was not paused.</returns>
    /// <exception cref="System.ArgumentException">No route or schedule of that path or name is configured.</exception>
    Task<bool> ResumeAsync(RelayPauseTarget target, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs a schedule once, now, outside its cron (to try it): a tick whose dedupe key is
    /// <c>schedule:&lt;Name&gt;:manual:&lt;delivery id&gt;</c>, sent as any tick is. It runs even while the schedule is paused.
    /// </summary>
    /// <param name="name">A configured schedule's name.</param>
    /// <param name="cancellationToken">Cancels the store's write.</param>
    /// <returns>The tick, stored <c>pending</c>.</returns>
    /// <exception cref="System.ArgumentException">No schedule of that name is configured.</exception>
    Task<RelayDelivery> RunScheduleNowAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The paused routes and schedules.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<IReadOnlyList<RelayPause>> ListPausedAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes finished deliveries older than <paramref name="olderThan"/> (arrived and last changed before it), in small
    /// batches, as retention does; with <paramref name="dryRun"/>, only counts them. Never <c>pending</c> or <c>sending</c>.
    /// </summary>
    /// <param name="olderThan">How old, at least one second.</param>
    /// <param name="state">Only this state (<c>succeeded</c>, <c>failed</c>, <c>unknown</c> or <c>ignored</c>); null for all four.</param>
    /// <param name="dryRun">Count, delete nothing.</param>
    /// <param name="cancellationToken">Stops between batches: what was deleted stays deleted.</param>
    /// <exception cref="System.ArgumentException">The state is <c>pending</c> or <c>sending</c>, or the age is under a minute.</exception>
    Task<RelayPurgeResult> PurgeAsync(TimeSpan olderThan, RelayDeliveryState? state = null, bool dryRun = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every delivery of one sender id (an erasure request), whatever its state, body included, except a send
    /// in flight, which is kept until its run ends (call again then).
    /// </summary>
    /// <param name="senderId">The sender's id, as <see cref="RelayDelivery.SenderId"/> shows it.</param>
    /// <param name="cancellationToken">Cancels the deletion.</param>
    /// <returns>How many were deleted, and how many were kept because their run is under way.</returns>
    Task<(int Deleted, int InFlight)> ForgetSenderAsync(string senderId, CancellationToken cancellationToken = default);

    /// <summary>The relay instances that recorded a heartbeat on the store, the latest first.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<IReadOnlyList<RelayInstance>> ListInstancesAsync(CancellationToken cancellationToken = default);
}
