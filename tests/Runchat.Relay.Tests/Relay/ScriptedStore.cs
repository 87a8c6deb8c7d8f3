using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Relay;
using Runchat.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// A store whose retention, heartbeat and ping statements are scripted (and the first two recorded), for the
/// services and health checks that ask only those. Nothing else is asked of it: any other call finds no inner store
/// and fails the test.
/// </summary>
internal sealed class ScriptedStore : DelegatingStore
{
    private readonly ConcurrentQueue<(RelayDeliveryState State, DateTimeOffset Cutoff, int Max)> _batches = new();
    private readonly ConcurrentQueue<(string? Id, DateTimeOffset SeenBefore)> _removed = new();
    private readonly ConcurrentQueue<RelayInstance> _beats = new();

    public ScriptedStore()
        : base(null!)
    {
    }

    public Func<RelayDeliveryState, DateTimeOffset, int, CancellationToken, Task<int>> Purge { get; set; } = (_, _, _, _) => Task.FromResult(0);

    public Func<string?, DateTimeOffset, Task<int>> Remove { get; set; } = (_, _) => Task.FromResult(0);

    public Func<RelayInstance, CancellationToken, Task> Beat { get; set; } = (_, _) => Task.CompletedTask;

    public Func<Task> Ping { get; set; } = () => Task.CompletedTask;

    public IReadOnlyList<(RelayDeliveryState State, DateTimeOffset Cutoff, int Max)> Batches => _batches.ToArray();

    public IReadOnlyList<(string? Id, DateTimeOffset SeenBefore)> Removed => _removed.ToArray();

    public IReadOnlyList<RelayInstance> Beats => _beats.ToArray();

    public override Task<int> PurgeBatchAsync(RelayDeliveryState state, DateTimeOffset cutoff, int max, CancellationToken cancellationToken)
    {
        _batches.Enqueue((state, cutoff, max));
        return Purge(state, cutoff, max, cancellationToken);
    }

    public override Task<int> RemoveInstancesAsync(string? id, DateTimeOffset seenBefore, CancellationToken cancellationToken)
    {
        _removed.Enqueue((id, seenBefore));
        return Remove(id, seenBefore);
    }

    public override Task PingAsync(CancellationToken cancellationToken) => Ping();

    public override Task HeartbeatAsync(RelayInstance instance, CancellationToken cancellationToken)
    {
        _beats.Enqueue(instance);
        return Beat(instance, cancellationToken);
    }
}
