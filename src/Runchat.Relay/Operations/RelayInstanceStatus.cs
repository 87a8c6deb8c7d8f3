using System;
using System.Threading;

namespace Runchat.Relay;

/// <summary>
/// This relay process: its id (the owner its claims and leases name), and how its dispatch loop is doing, written by
/// the dispatcher alone and read by the heartbeat and the health checks.
/// </summary>
internal sealed class RelayInstanceStatus
{
    private long _lastPass = long.MinValue;
    private long _storeDownSince = long.MinValue;
    private int _runsInFlight;
    private int _ended;

    public RelayInstanceStatus(TimeProvider time)
    {
        Host = Environment.MachineName;
        ProcessId = Environment.ProcessId;
        Id = $"{Host}:{ProcessId}:{Guid.NewGuid():N}";
        StartedAt = time.GetUtcNow();
    }

    public string Id { get; }

    public string Host { get; }

    public int ProcessId { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>When the dispatch loop last went round; null before its first pass.</summary>
    public DateTimeOffset? LastPass => Read(ref _lastPass);

    /// <summary>Since when the loop has not reached the store; null while it does.</summary>
    public DateTimeOffset? StoreDownSince => Read(ref _storeDownSince);

    /// <summary>The agent runs in flight at the last pass.</summary>
    public int RunsInFlight => Volatile.Read(ref _runsInFlight);

    /// <summary>Whether the dispatch loop has ended (the host is stopping, or it failed).</summary>
    public bool Ended => Volatile.Read(ref _ended) != 0;

    /// <summary>The dispatcher went round: <paramref name="storeDownSince"/> is null when the store answered.</summary>
    public void Pass(DateTimeOffset now, DateTimeOffset? storeDownSince, int runsInFlight)
    {
        Interlocked.Exchange(ref _lastPass, now.ToUnixTimeMilliseconds());
        Interlocked.Exchange(ref _storeDownSince, storeDownSince?.ToUnixTimeMilliseconds() ?? long.MinValue);
        Volatile.Write(ref _runsInFlight, runsInFlight);
    }

    public void End() => Volatile.Write(ref _ended, 1);

    /// <summary>This instance as its heartbeat records it, at <paramref name="now"/>.</summary>
    public RelayInstance Snapshot(DateTimeOffset now) => new()
    {
        Id = Id,
        Host = Host,
        ProcessId = ProcessId,
        StartedAt = StartedAt,
        LastSeenAt = now,
        RunsInFlight = RunsInFlight,
    };

    private static DateTimeOffset? Read(ref long field)
    {
        var value = Interlocked.Read(ref field);
        return value == long.MinValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(value);
    }
}
