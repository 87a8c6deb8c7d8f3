using System;
using System.Collections.Generic;

namespace Runchat.Relay;

/// <summary>
/// How long finished deliveries are kept, per state (<c>Relay:Retention</c>). Older ones are deleted in small batches,
/// by one relay instance at a time; what was counted (the per-minute counters behind the dashboard's chart) stays.
/// </summary>
/// <remarks>
/// A delivery is past its retention when both its arrival and its last change are older than its state's period, so
/// a delivery replayed yesterday is kept as long as one received yesterday. <c>pending</c> and <c>sending</c>
/// deliveries have not finished and are never deleted, nor is a delivery whose reply is still being posted.
/// Set a state's period to an empty string (null) to keep its deliveries for ever.
/// </remarks>
public sealed class RelayRetentionOptions
{
    /// <summary>The shortest period, one second (a purge of what is older than a second is an operator's word).</summary>
    public static readonly TimeSpan MinPeriod = TimeSpan.FromSeconds(1);

    /// <summary><c>succeeded</c> deliveries: 7 days by default.</summary>
    public TimeSpan? Succeeded { get; set; } = TimeSpan.FromDays(7);

    /// <summary><c>failed</c> deliveries: 30 days by default (time to fix the cause and replay them).</summary>
    public TimeSpan? Failed { get; set; } = TimeSpan.FromDays(30);

    /// <summary><c>unknown</c> deliveries: 90 days by default (each needs an operator's look).</summary>
    public TimeSpan? Unknown { get; set; } = TimeSpan.FromDays(90);

    /// <summary><c>ignored</c> deliveries (verified, filtered out): 1 day by default.</summary>
    public TimeSpan? Ignored { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The period of each finished state that has one.</summary>
    internal IEnumerable<(RelayDeliveryState State, TimeSpan Period)> Periods()
    {
        if (Succeeded is { } succeeded) yield return (RelayDeliveryState.Succeeded, succeeded);
        if (Failed is { } failed) yield return (RelayDeliveryState.Failed, failed);
        if (Unknown is { } unknown) yield return (RelayDeliveryState.Unknown, unknown);
        if (Ignored is { } ignored) yield return (RelayDeliveryState.Ignored, ignored);
    }

    internal IEnumerable<string> Validate()
    {
        foreach (var (state, period) in Periods())
        {
            if (period < MinPeriod || period > TimeSpan.FromDays(36_500))
            {
                yield return $"Relay:Retention:{state} must be between {MinPeriod} and 36500.00:00:00 (or empty to keep them for ever); got {period}.";
            }
        }
    }
}

/// <summary>What can be paused: a route (its deliveries are stored and wait) or a schedule (its ticks are skipped).</summary>
public enum RelayPauseKind
{
    /// <summary>A webhook route: it keeps acknowledging and storing; nothing of it is sent until it is resumed.</summary>
    Route,

    /// <summary>A schedule: its ticks are stored as <c>ignored</c> (so they are never caught up) until it is resumed.</summary>
    Schedule,
}

/// <summary>A route or a schedule, by its path or name, to pause or resume.</summary>
public sealed record RelayPauseTarget
{
    private RelayPauseTarget(RelayPauseKind kind, string name)
    {
        Kind = kind;
        Name = name;
    }

    /// <summary>A route or a schedule.</summary>
    public RelayPauseKind Kind { get; }

    /// <summary>The route's path (<c>/hooks/github</c>) or the schedule's name.</summary>
    public string Name { get; }

    /// <summary>The route mapped at <paramref name="path"/>.</summary>
    public static RelayPauseTarget Route(string path) => new(RelayPauseKind.Route, Require(path, nameof(path)));

    /// <summary>The schedule named <paramref name="name"/>.</summary>
    public static RelayPauseTarget Schedule(string name) => new(RelayPauseKind.Schedule, Require(name, nameof(name)));

    /// <inheritdoc />
    public override string ToString() => (Kind == RelayPauseKind.Route ? "route " : "schedule ") + Name;

    private static string Require(string value, string name) =>
        string.IsNullOrWhiteSpace(value) ? throw new ArgumentException("A route's path or a schedule's name is needed.", name) : value.Trim();
}

/// <summary>A route or schedule that is paused, and since when.</summary>
/// <param name="Target">The route or schedule.</param>
/// <param name="PausedAt">When it was paused.</param>
public sealed record RelayPause(RelayPauseTarget Target, DateTimeOffset PausedAt);

/// <summary>A relay instance as its heartbeat last recorded it (<c>relay instances</c>, the dashboard's Instances page).</summary>
public sealed class RelayInstance
{
    /// <summary>How often a serving relay records its heartbeat.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>The instance's id: host, process id and a random part, as its claims and leases name it.</summary>
    public required string Id { get; init; }

    /// <summary>The machine (or container) it runs on.</summary>
    public required string Host { get; init; }

    /// <summary>Its process id on that host.</summary>
    public required int ProcessId { get; init; }

    /// <summary>When it started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Its last heartbeat.</summary>
    public required DateTimeOffset LastSeenAt { get; init; }

    /// <summary>The agent runs it had in flight at its last heartbeat.</summary>
    public required int RunsInFlight { get; init; }

    /// <summary>Whether it beat recently: within three heartbeats of <paramref name="now"/>. One that stopped cleanly removes its row.</summary>
    public bool IsAlive(DateTimeOffset now) => now - LastSeenAt <= HeartbeatInterval * 3;
}

/// <summary>One delivery of a bulk replay (<see cref="IRunchatRelay.ReplayManyAsync"/>): replayed, or why not.</summary>
/// <param name="Delivery">The delivery as it was seen before the replay.</param>
/// <param name="Replayed">Whether it is now pending again.</param>
/// <param name="Reason">Why it was not replayed (it changed since it was read, it was replayed moments ago); null when it was.</param>
public sealed record RelayReplayResult(RelayDelivery Delivery, bool Replayed, string? Reason);

/// <summary>What a purge deleted, or with <c>dryRun</c> would delete, per state.</summary>
public sealed class RelayPurgeResult
{
    internal RelayPurgeResult(IReadOnlyDictionary<RelayDeliveryState, long> deleted, bool dryRun)
    {
        Deleted = deleted;
        DryRun = dryRun;
    }

    /// <summary>How many deliveries of each state were (or would be) deleted.</summary>
    public IReadOnlyDictionary<RelayDeliveryState, long> Deleted { get; }

    /// <summary>Whether nothing was deleted: the counts are what would be.</summary>
    public bool DryRun { get; }

    /// <summary>The total over every state.</summary>
    public long Total
    {
        get
        {
            long total = 0;
            foreach (var count in Deleted.Values)
            {
                total += count;
            }

            return total;
        }
    }
}
