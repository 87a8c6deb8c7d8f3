using System;
using System.Collections.Generic;
using System.Linq;

namespace Runchat.Relay;

/// <summary>
/// One change a store makes to a delivery row: the states it may start from, the state it ends in
/// (none when only the lease changes), the guard that must also hold, and what else it sets.
/// </summary>
/// <remarks>
/// Written with <c>@name</c> parameters; <see cref="Where"/> and <see cref="Update"/> give the
/// store's dialect its SQL, and the store adds only what its dialect needs (row selection with
/// <c>LIMIT</c> or <c>SKIP LOCKED</c>, the limits' locking, how a list of ids is passed).
/// </remarks>
internal sealed class DeliveryTransition
{
    public DeliveryTransition(string name, RelayDeliveryState[] from, RelayDeliveryState[] to, string guard, string set)
    {
        Name = name;
        From = from;
        To = to;
        Guard = guard;
        Set = set;
    }

    /// <summary>What the transition is called in the store's interface (IDeliveryStore).</summary>
    public string Name { get; }

    /// <summary>The states a row may be in for the transition to apply.</summary>
    public IReadOnlyList<RelayDeliveryState> From { get; }

    /// <summary>The states it can end in: one, several when the caller names it (<c>@state</c>), or none when only the lease changes.</summary>
    public IReadOnlyList<RelayDeliveryState> To { get; }

    /// <summary>The condition besides the state, such as "the caller holds the lease".</summary>
    public string Guard { get; }

    /// <summary>The assignments, the state's included.</summary>
    public string Set { get; }

    /// <summary>The state condition and the guard, for a <c>WHERE</c> clause.</summary>
    /// <param name="parameterPrefix">The driver's parameter prefix: <c>@</c> (Npgsql) or <c>$</c> (SQLite).</param>
    public string Where(char parameterPrefix = '@')
    {
        var states = From.Count == 1 ? $"state = '{DeliveryStates.Name(From[0])}'" : $"state IN ({string.Join(", ", From.Select(s => $"'{DeliveryStates.Name(s)}'"))})";
        return Dialect(Guard.Length == 0 ? states : $"{states} AND {Guard}", parameterPrefix);
    }

    /// <summary><c>UPDATE table SET … WHERE …</c>, with <paramref name="and"/> added to the condition.</summary>
    public string Update(string table, char parameterPrefix = '@', string? and = null) =>
        $"UPDATE {table} SET {Dialect(Set, parameterPrefix)} WHERE {Where(parameterPrefix)}{(and is null ? string.Empty : " AND " + and)}";

    private static string Dialect(string sql, char parameterPrefix) => parameterPrefix == '@' ? sql : sql.Replace('@', parameterPrefix);
}

/// <summary>
/// The relay's state machine, written once: every change any store makes to a delivery, in C#.
/// Hangfire's <c>TryChangeState</c> with expected states is the anchor: a transition applies only
/// from its states and under its guard, so two relays (or a relay and an operator) racing on one
/// row cannot both win.
/// </summary>
/// <remarks>
/// <code>
/// (stored) → pending ─claim→ pending (leased) ─start→ sending ─complete→ succeeded | failed | unknown
///                              pending (leased) ─reject→ failed   (its Message does not render: never sent)
///                                                     sending ─reschedule→ pending   (provably not run: 429, no connection)
///                                                     sending ─recover→ unknown      (its relay died: lease expired)
/// succeeded | failed | unknown | ignored ─replay→ pending   (an operator, as seen, once per window)
/// unknown ─complete→ succeeded | failed | unknown     (a late known outcome beats the recovery's guess)
/// (stored) → ignored                                 (the route's Events or When did not select it: never run)
/// (stored) → failed                                  (When could not be evaluated, or a schedule's tick skipped while the previous run goes on: never run)
/// </code>
/// </remarks>
internal static class DeliveryTransitions
{
    private static readonly RelayDeliveryState[] None = Array.Empty<RelayDeliveryState>();

    /// <summary>Leases due pending rows to <c>@owner</c>: unclaimed ones, and those whose holder's lease expired; none of a paused route.</summary>
    public static readonly DeliveryTransition Claim = new("ClaimAsync",
        from: [RelayDeliveryState.Pending], to: None,
        guard: "next_attempt_at <= @now AND (claimed_by IS NULL OR lease_until < @now) AND route NOT IN (SELECT name FROM runchat_relay_paused WHERE kind = 'route')",
        set: "claimed_by = @owner, lease_until = @lease");

    /// <summary>Starts the send of a row <c>@owner</c> holds (the store adds the limits, counted under its lock).</summary>
    public static readonly DeliveryTransition Start = new("StartSendAsync",
        from: [RelayDeliveryState.Pending], to: [RelayDeliveryState.Sending],
        guard: "id = @id AND claimed_by = @owner",
        set: "state = 'sending', attempts = attempts + 1, lease_until = @lease, last_sent_at = @now, updated_at = @now, message = @message");

    /// <summary>A claimed row that cannot be sent (its Message does not render): failed, never started, nothing sent.</summary>
    public static readonly DeliveryTransition Reject = new("RejectAsync",
        from: [RelayDeliveryState.Pending], to: [RelayDeliveryState.Failed],
        guard: "id = @id AND claimed_by = @owner",
        set: "state = 'failed', last_error = @error, claimed_by = NULL, lease_until = NULL, updated_at = @now");

    /// <summary>Extends the leases <c>@owner</c> holds (the store adds which ids).</summary>
    public static readonly DeliveryTransition Renew = new("RenewAsync",
        from: [RelayDeliveryState.Pending, RelayDeliveryState.Sending], to: None,
        guard: "claimed_by = @owner",
        set: "lease_until = @lease");

    /// <summary>Gives back the claims <c>@owner</c> never sent.</summary>
    public static readonly DeliveryTransition Release = new("ReleaseAsync",
        from: [RelayDeliveryState.Pending], to: None,
        guard: "claimed_by = @owner",
        set: "claimed_by = NULL, lease_until = NULL");

    /// <summary>At the start of a store only one process may use (SQLite): every claim is a dead process's.</summary>
    public static readonly DeliveryTransition ReleaseAll = new("RecoverInterruptedAsync",
        from: [RelayDeliveryState.Pending], to: None,
        guard: "claimed_by IS NOT NULL",
        set: "claimed_by = NULL, lease_until = NULL");

    /// <summary>Records how <c>@owner</c>'s send ended (<c>@state</c>); also over an unknown the recovery set meanwhile.</summary>
    public static readonly DeliveryTransition Complete = new("CompleteAsync",
        from: [RelayDeliveryState.Sending, RelayDeliveryState.Unknown], to: [RelayDeliveryState.Succeeded, RelayDeliveryState.Failed, RelayDeliveryState.Unknown],
        guard: "id = @id AND claimed_by = @owner",
        set: "state = @state, run_status = @status, final_reply = @reply, last_error = @error, claimed_by = NULL, lease_until = NULL, updated_at = @now, " +
             "run_credits = @credits, runchat_id = @runchatId, " +
             // The reply (ReplyStates.OnCompletion): 'post' makes it pending unless one is pending, posting, posted or unknown
             // (one reply per delivery: a replay's run does not post a second); 'withheld' says why none is posted.
             "reply_state = CASE WHEN @replyPlan = 'post' AND (reply_state IS NULL OR reply_state = 'failed') THEN 'pending' ELSE reply_state END, " +
             "reply_next_at = CASE WHEN @replyPlan = 'post' AND (reply_state IS NULL OR reply_state = 'failed') THEN @now ELSE reply_next_at END, " +
             "reply_attempts = CASE WHEN @replyPlan = 'post' AND (reply_state IS NULL OR reply_state = 'failed') THEN 0 ELSE reply_attempts END, " +
             "reply_error = CASE WHEN @replyPlan = 'post' AND (reply_state IS NULL OR reply_state = 'failed') THEN NULL " +
             "WHEN @replyPlan = 'withheld' AND reply_state IS NULL THEN @replyWithheld ELSE reply_error END");

    /// <summary>A send that provably did not happen goes back to pending, unclaimed, due at <c>@next</c>.</summary>
    public static readonly DeliveryTransition Reschedule = new("RescheduleAsync",
        from: [RelayDeliveryState.Sending], to: [RelayDeliveryState.Pending],
        guard: "id = @id AND claimed_by = @owner",
        set: "state = 'pending', next_attempt_at = @next, last_error = @error, claimed_by = NULL, lease_until = NULL, updated_at = @now");

    /// <summary>A send whose relay died (its lease expired) becomes unknown: it may have run.</summary>
    public static readonly DeliveryTransition Recover = new("RecoverInterruptedAsync",
        from: [RelayDeliveryState.Sending], to: [RelayDeliveryState.Unknown],
        guard: "lease_until < @now",
        set: "state = 'unknown', lease_until = NULL, updated_at = @now, last_error = @error");

    /// <summary>At the start of a store only one process may use (SQLite): every send is a dead process's.</summary>
    public static readonly DeliveryTransition RecoverAll = new("RecoverInterruptedAsync",
        from: [RelayDeliveryState.Sending], to: [RelayDeliveryState.Unknown],
        guard: string.Empty,
        set: Recover.Set);

    /// <summary>An operator runs a finished (or ignored) delivery again: only as they saw it, and once per replay window.</summary>
    public static readonly DeliveryTransition Replay = new("ReplayAsync",
        from: [RelayDeliveryState.Succeeded, RelayDeliveryState.Failed, RelayDeliveryState.Unknown, RelayDeliveryState.Ignored], to: [RelayDeliveryState.Pending],
        guard: "id = @id AND state = @seenState AND attempts = @seenAttempts AND updated_at = @seenUpdated AND (replayed_at IS NULL OR replayed_at <= @now - @window)",
        set: "state = 'pending', next_attempt_at = @now, updated_at = @now, claimed_by = NULL, lease_until = NULL, replayed_at = @now, " +
             "last_error = 'Replayed by an operator after: ' || COALESCE(last_error, state)");

    /// <summary>Every transition, for the tests that check the machine.</summary>
    public static IReadOnlyList<DeliveryTransition> All { get; } = new[] { Claim, Start, Reject, Renew, Release, ReleaseAll, Complete, Reschedule, Recover, RecoverAll, Replay };
}

/// <summary>
/// <c>MaxRunsPerMinute</c>, counted per whole second: each start adds one to its second's row of a
/// small table, and the limit sums the 61 rows from 60 seconds before the current one to the current
/// one. That window spans 60 to 61 seconds, never less than a minute, so the limit holds in every 60
/// seconds, and a start waits at most a second longer than an exact count would make it wait.
/// It reads at most 61 rows at any rate (why not an exact count: docs/design.md).
/// </summary>
/// <remarks>Written with <c>@name</c> parameters, as the transitions; <c>@second</c> is the start's Unix second.</remarks>
internal static class StartsPerSecond
{
    /// <summary>The Unix second a start at <paramref name="now"/> counts in.</summary>
    public static long Second(DateTimeOffset now) => now.ToUnixTimeSeconds();

    /// <summary>The starts in the window that ends in <c>@second</c>: an expression.</summary>
    public static string InWindow(string table, char parameterPrefix = '@') =>
        $"(SELECT COALESCE(SUM(starts), 0) FROM {table} WHERE second > {parameterPrefix}second - 61)";

    /// <summary>Counts one start in <c>@second</c>; <paramref name="source"/> yields the row (<c>VALUES (@second, 1)</c>, or a <c>SELECT</c> that yields it only when the send started).</summary>
    public static string Count(string table, string source) =>
        $"INSERT INTO {table} (second, starts) {source} ON CONFLICT (second) DO UPDATE SET starts = {table}.starts + 1";

    /// <summary>Deletes the rows no window reads any more (two minutes back: relays' clocks may differ by a little).</summary>
    public static string Prune(string table, char parameterPrefix = '@') =>
        $"DELETE FROM {table} WHERE second < {parameterPrefix}second - 120";

    /// <summary>
    /// At every relay start, under the schema's lock: the last two minutes' sends, as <c>last_sent_at</c>
    /// records them, counted where the table has fewer. A store that relays of an earlier version (which
    /// count <c>last_sent_at</c> only) used a moment ago keeps their sends in the window.
    /// </summary>
    public static string Reconcile(string table, string deliveries, string nowMilliseconds, string greatest) =>
        $"INSERT INTO {table} (second, starts) " +
        $"SELECT last_sent_at / 1000, COUNT(*) FROM {deliveries} WHERE last_sent_at > {nowMilliseconds} - 120000 GROUP BY last_sent_at / 1000 " +
        $"ON CONFLICT (second) DO UPDATE SET starts = {greatest}({table}.starts, excluded.starts)";
}
