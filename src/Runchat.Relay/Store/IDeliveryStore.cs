using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// Where deliveries live. Every state change is one atomic statement or transaction of the
/// implementation; SQL dialect details stay inside it (SqliteDeliveryStore.cs).
/// </summary>
internal interface IDeliveryStore
{
    /// <summary>Stores a new delivery, or finds the one with the same (route, dedupe key). Durable when it returns.</summary>
    Task<(string Id, bool Duplicate)> AddAsync(NewDelivery delivery, CancellationToken cancellationToken);

    /// <summary>Deliveries left in <c>sending</c> by a relay that died become <c>unknown</c>; returns how many.</summary>
    Task<int> RecoverInterruptedAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Claims the next due <c>pending</c> delivery if the limits allow another run, and commits it as
    /// <c>sending</c> (attempts + 1) before returning it. Null when nothing is due or a limit is reached.
    /// </summary>
    Task<ClaimedDelivery?> ClaimNextAsync(ClaimRequest request, CancellationToken cancellationToken);

    /// <summary>Records how a send ended: <c>succeeded</c>, <c>failed</c> or <c>unknown</c>, with what is known of the run.</summary>
    Task CompleteAsync(string id, RelayDeliveryState state, RunResult result, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>A send that provably did not happen: back to <c>pending</c>, due at <paramref name="nextAttemptAt"/>.</summary>
    Task RescheduleAsync(string id, DateTimeOffset nextAttemptAt, string error, DateTimeOffset now, CancellationToken cancellationToken);

    Task<RelayDelivery?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>How many deliveries are in each state (every state, zeros included); synchronous, for an observable gauge.</summary>
    IReadOnlyList<(RelayDeliveryState State, long Count)> CountByState();

    Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state, CancellationToken cancellationToken);

    /// <summary>A finished delivery becomes <c>pending</c> again. Null when not found.</summary>
    /// <exception cref="InvalidOperationException">It is <c>pending</c> or <c>sending</c>.</exception>
    Task<RelayDelivery?> ReplayAsync(string id, DateTimeOffset now, CancellationToken cancellationToken);
}

// TraceParent: the receive span's W3C context; SenderTraceParent: the sender's traceparent header.
// A later dispatch, after a restart too, links to both.
internal sealed record NewDelivery(string Id, string Route, string JobId, string DedupeKey, byte[] Body, DateTimeOffset ReceivedAt, string? TraceParent = null, string? SenderTraceParent = null);

internal sealed record ClaimedDelivery(string Id, string Route, string JobId, byte[] Body, int Attempts, string? TraceParent = null, string? SenderTraceParent = null);

/// <param name="Owner">Who claims (one id per relay process).</param>
/// <param name="Now">The claim time.</param>
/// <param name="LeaseUntil">When the claim expires if its holder stops renewing it.</param>
/// <param name="MaxConcurrentRuns">No claim while this many deliveries are <c>sending</c>.</param>
/// <param name="MaxRunsPerMinute">No claim while this many sends started in the last 60 seconds.</param>
internal sealed record ClaimRequest(string Owner, DateTimeOffset Now, DateTimeOffset LeaseUntil, int MaxConcurrentRuns, int MaxRunsPerMinute);

/// <summary>What is known of a run once its send has ended.</summary>
internal sealed record RunResult(string? Status, string? FinalReply, string? Error);

/// <summary>The <c>Store</c> setting: <c>sqlite:&lt;path&gt;</c>.</summary>
internal sealed record DeliveryStoreLocation(string Kind, string Target)
{
    public static bool TryParse(string? setting, out DeliveryStoreLocation? location, out string? error)
    {
        location = null;
        error = null;
        var text = string.IsNullOrWhiteSpace(setting) ? RunchatRelayOptions.DefaultStore : setting!.Trim();
        var colon = text.IndexOf(':');
        var kind = colon < 0 ? string.Empty : text.Substring(0, colon).ToLowerInvariant();
        var target = colon < 0 ? string.Empty : text.Substring(colon + 1);
        if (kind == "sqlite" && target.Length > 0)
        {
            location = new DeliveryStoreLocation(kind, target);
            return true;
        }

        error = "use sqlite:<path>, such as sqlite:runchat-relay.db.";
        return false;
    }

    public IDeliveryStore Open() => Kind switch
    {
        "sqlite" => new SqliteDeliveryStore(Target),
        _ => throw new InvalidOperationException($"No store of kind '{Kind}'."),
    };
}
