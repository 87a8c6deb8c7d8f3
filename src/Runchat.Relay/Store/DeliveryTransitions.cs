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
///                                                     sending ─reschedule→ pending   (provably not run: 429, no connection)
///                                                     sending ─recover→ unknown      (its relay died: lease expired)
/// succeeded | failed | unknown ─replay→ pending       (an operator, as seen, once per window)
/// unknown ─complete→ succeeded | failed | unknown     (a late known outcome beats the recovery's guess)
/// (stored) → failed                                  (a schedule's tick skipped while the previous run goes on: never run)
/// </code>
/// </remarks>
internal static class DeliveryTransitions
{
    private static readonly RelayDeliveryState[] None = Array.Empty<RelayDeliveryState>();

    /// <summary>Leases due pending rows to <c>@owner</c>: unclaimed ones, and those whose holder's lease expired.</summary>
    public static readonly DeliveryTransition Claim = new("ClaimAsync",
        from: [RelayDeliveryState.Pending], to: None,
        guard: "next_attempt_at <= @now AND (claimed_by IS NULL OR lease_until < @now)",
        set: "claimed_by = @owner, lease_until = @lease");

    /// <summary>Starts the send of a row <c>@owner</c> holds (the store adds the limits, counted under its lock).</summary>
    public static readonly DeliveryTransition Start = new("StartSendAsync",
        from: [RelayDeliveryState.Pending], to: [RelayDeliveryState.Sending],
        guard: "id = @id AND claimed_by = @owner",
        set: "state = 'sending', attempts = attempts + 1, lease_until = @lease, last_sent_at = @now, updated_at = @now");

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
        set: "state = @state, run_status = @status, final_reply = @reply, last_error = @error, claimed_by = NULL, lease_until = NULL, updated_at = @now");

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

    /// <summary>An operator runs a finished delivery again: only as they saw it, and once per replay window.</summary>
    public static readonly DeliveryTransition Replay = new("ReplayAsync",
        from: [RelayDeliveryState.Succeeded, RelayDeliveryState.Failed, RelayDeliveryState.Unknown], to: [RelayDeliveryState.Pending],
        guard: "id = @id AND state = @seenState AND attempts = @seenAttempts AND updated_at = @seenUpdated AND (replayed_at IS NULL OR replayed_at <= @now - @window)",
        set: "state = 'pending', next_attempt_at = @now, updated_at = @now, claimed_by = NULL, lease_until = NULL, replayed_at = @now, " +
             "last_error = 'Replayed by an operator after: ' || COALESCE(last_error, state)");

    /// <summary>Every transition, for the tests that check the machine.</summary>
    public static IReadOnlyList<DeliveryTransition> All { get; } = new[] { Claim, Start, Renew, Release, ReleaseAll, Complete, Reschedule, Recover, RecoverAll, Replay };
}
