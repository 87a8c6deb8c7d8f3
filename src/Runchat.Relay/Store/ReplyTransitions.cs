using System;

namespace Runchat.Relay;

/// <summary>
/// The reply's state machine, on the delivery's <c>reply_*</c> columns, written once as the runs' is
/// (<see cref="DeliveryTransitions"/>): each change applies only from its states and under its guard.
/// </summary>
/// <remarks>
/// <code>
/// (run completes: succeeded | failed) → pending              (DeliveryTransitions.Complete, in the same statement)
/// pending | unknown (due) ─claim→ posting                      (committed before the post leaves; the lease names the poster)
/// posting ─finish→ posted | failed | unknown (due later, or never: cannot be resolved) | pending (provably not posted)
/// posting ─recover→ unknown                                    (the poster died: its lease expired, or a SQLite relay restarted)
/// </code>
/// A claim takes only rows whose run is still <c>succeeded</c> or <c>failed</c>: a replay in progress is never answered
/// with the previous run's reply.
/// </remarks>
internal static class ReplyTransitions
{
    /// <summary>The rows a claim may take: due pending or unknown replies of finished runs.</summary>
    public const string Due = "reply_state IN ('pending', 'unknown') AND reply_next_at <= @now AND state IN ('succeeded', 'failed')";

    /// <summary>What a claim sets: posting, one more attempt, leased to <c>@owner</c>.</summary>
    public const string Claim = "reply_state = 'posting', reply_attempts = COALESCE(reply_attempts, 0) + 1, reply_claimed_by = @owner, reply_lease_until = @lease";

    /// <summary>What a claim returns (<see cref="DeliveryRows.ReadClaimedReply"/>).</summary>
    public const string ClaimedColumns = "id, route, job_id, flow_id, body, event_name, dedupe_key, sender_id, received_at, state, run_status, final_reply, last_error, run_credits, runchat_id, reply_attempts, updated_at";

    /// <summary>How <c>@owner</c>'s post ended.</summary>
    public const string Finish =
        "UPDATE {0} SET reply_state = @replyState, reply_url = COALESCE(@url, reply_url), reply_error = @error, reply_next_at = @next, reply_claimed_by = NULL, reply_lease_until = NULL " +
        "WHERE id = @id AND reply_state = 'posting' AND reply_claimed_by = @owner";

    /// <summary>A post whose poster died: unknown, due at once (it is looked for before it is posted again).</summary>
    public const string Recover =
        "UPDATE {0} SET reply_state = 'unknown', reply_next_at = @now, reply_claimed_by = NULL, reply_lease_until = NULL, reply_error = @error " +
        "WHERE reply_state = 'posting' AND reply_lease_until < @now";

    /// <summary>At the start of a store only one process may use (SQLite): every post in flight was a dead process's.</summary>
    public const string RecoverAll =
        "UPDATE {0} SET reply_state = 'unknown', reply_next_at = @now, reply_claimed_by = NULL, reply_lease_until = NULL, reply_error = @error " +
        "WHERE reply_state = 'posting'";

    public static string Sql(string template, string table, char parameterPrefix) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, template, table).Replace('@', parameterPrefix);

    /// <summary>The error a recovered post carries.</summary>
    public const string Interrupted = "The relay stopped while posting the reply: it may or may not have arrived; the relay looks for it before posting again.";
}

/// <summary>A reply a relay claimed to post: the delivery's facts, payload and run.</summary>
internal sealed record ClaimedReply(string Id, string Route, string? JobId, string? FlowId, byte[] Body, string? Event, DateTimeOffset ReceivedAt, RelayDeliveryState State, RunResult Run, int Attempts);
