using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// Group commit for new deliveries, shared by both stores: one writer takes every delivery waiting at
/// that moment (up to <c>maxBatch</c>) and commits them together, so one transaction (one fsync) serves
/// many senders. Each caller's task completes only once its row is durable; if the commit fails,
/// nothing of it was committed, and each delivery of the batch is committed alone, so that only a
/// delivery the store itself refuses gets the error (the others are stored as if nothing happened).
/// </summary>
internal sealed class GroupCommit
{
    private readonly Func<IReadOnlyList<NewDelivery>, Task<AddResult[]>> _commit;
    private readonly int _maxBatch;
    private readonly string _owner;
    private readonly Channel<PendingAdd> _adds = Channel.CreateUnbounded<PendingAdd>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lazy<Task> _writer;

    /// <param name="commit">Commits a batch in one transaction; the results in the batch's order.</param>
    /// <param name="maxBatch">How many deliveries one commit may carry.</param>
    /// <param name="owner">The store's name, for the error after <see cref="Complete"/>.</param>
    public GroupCommit(Func<IReadOnlyList<NewDelivery>, Task<AddResult[]>> commit, int maxBatch, string owner)
    {
        _commit = commit;
        _maxBatch = maxBatch;
        _owner = owner;
        _writer = new Lazy<Task>(() => Task.Run(WriteAsync), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public Task<AddResult> AddAsync(NewDelivery delivery, CancellationToken cancellationToken)
    {
        var pending = new PendingAdd(delivery, new TaskCompletionSource<AddResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        _ = _writer.Value;
        if (!_adds.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(_owner, "The relay store is shutting down.");
        }

        return pending.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>No more deliveries: those queued are still committed.</summary>
    public void Complete() => _adds.Writer.TryComplete();

    private async Task WriteAsync()
    {
        var batch = new List<PendingAdd>(_maxBatch);
        var deliveries = new List<NewDelivery>(_maxBatch);
        while (await _adds.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            deliveries.Clear();
            while (batch.Count < _maxBatch && _adds.Reader.TryRead(out var next))
            {
                batch.Add(next);
                deliveries.Add(next.Delivery);
            }

            try
            {
                var results = await _commit(deliveries).ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(results[i]);
                }
            }
            catch (Exception) when (batch.Count > 1)
            {
                // One bad row must not sink the good ones committed with it: each is tried alone, so
                // only the one the store refuses gets the error (its sender gets a 503 or a 400).
                foreach (var pending in batch)
                {
                    try
                    {
                        pending.Completion.TrySetResult((await _commit(new[] { pending.Delivery }).ConfigureAwait(false))[0]);
                    }
                    catch (Exception alone)
                    {
                        pending.Completion.TrySetException(alone);
                    }
                }
            }
            catch (Exception exception)
            {
                batch[0].Completion.TrySetException(exception);
            }
        }
    }

    private sealed record PendingAdd(NewDelivery Delivery, TaskCompletionSource<AddResult> Completion);
}
