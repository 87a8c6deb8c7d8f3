using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Relay;

namespace Runchat.TestSupport;

/// <summary>
/// The relay's own counters, for the cost benchmark (RelayCost) and the wake tests: what the dispatcher asks of
/// its store, per call and per outcome, so that extra work per delivery can be named (claims that find
/// nothing or lose, starts that lose, renewals). Forwards every call unchanged.
/// </summary>
internal class CountingStore : IDeliveryStore, IDisposable, IAsyncDisposable
{
    private readonly IDeliveryStore _inner;
    private long _adds, _claims, _emptyClaims, _claimed, _starts, _started, _lost, _limited, _renewals, _recoveries, _completes, _reschedules, _notified, _completedTotal;

    private CountingStore(IDeliveryStore inner) => _inner = inner;

    /// <summary>Wraps <paramref name="inner"/>, keeping its notifications (PostgreSQL's LISTEN) when it has them.</summary>
    public static CountingStore Wrap(IDeliveryStore inner) =>
        inner is IDeliveryNotifications notifications ? new Notifying(inner, notifications) : new CountingStore(inner);

    /// <summary>The counters since the last call, reset: <c>name=value</c> pairs on one line.</summary>
    public string TakeSnapshot()
    {
        long Take(ref long field) => Interlocked.Exchange(ref field, 0);
        return $"adds={Take(ref _adds)} claims={Take(ref _claims)} empty_claims={Take(ref _emptyClaims)} claimed={Take(ref _claimed)} " +
               $"starts={Take(ref _starts)} started={Take(ref _started)} lost={Take(ref _lost)} limited={Take(ref _limited)} " +
               $"renewals={Take(ref _renewals)} recoveries={Take(ref _recoveries)} completes={Take(ref _completes)} reschedules={Take(ref _reschedules)} notified={Take(ref _notified)}";
    }

    /// <summary>Every send recorded since the store was made (never reset).</summary>
    public long CompletedTotal => Interlocked.Read(ref _completedTotal);

    public Task<AddResult> AddAsync(NewDelivery delivery, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _adds);
        return _inner.AddAsync(delivery, cancellationToken);
    }

    public Task<int> RecoverInterruptedAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _recoveries);
        return _inner.RecoverInterruptedAsync(now, atStart, cancellationToken);
    }

    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken)
    {
        var claimed = await _inner.ClaimAsync(request, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _claims);
        Interlocked.Add(ref _claimed, claimed.Count);
        if (claimed.Count == 0)
        {
            Interlocked.Increment(ref _emptyClaims);
        }

        return claimed;
    }

    public async Task<SendStart> StartSendAsync(StartRequest request, CancellationToken cancellationToken)
    {
        var start = await _inner.StartSendAsync(request, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _starts);
        switch (start.Outcome)
        {
            case SendStartOutcome.Started: Interlocked.Increment(ref _started); break;
            case SendStartOutcome.Lost: Interlocked.Increment(ref _lost); break;
            default: Interlocked.Increment(ref _limited); break;
        }

        return start;
    }

    public Task RenewAsync(string owner, IReadOnlyCollection<string> ids, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (ids.Count > 0)
        {
            Interlocked.Increment(ref _renewals);
        }

        return _inner.RenewAsync(owner, ids, leaseUntil, cancellationToken);
    }

    public Task<int> ReleaseAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken) => _inner.ReleaseAsync(owner, now, cancellationToken);

    public async Task CompleteAsync(string id, string owner, RelayDeliveryState state, RunResult result, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Counted once recorded: the benchmark waits for every delivery's outcome to be in the store.
        await _inner.CompleteAsync(id, owner, state, result, now, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _completes);
        Interlocked.Increment(ref _completedTotal);
    }

    public Task RejectAsync(string id, string owner, string error, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.RejectAsync(id, owner, error, now, cancellationToken);

    public Task RescheduleAsync(string id, string owner, DateTimeOffset nextAttemptAt, string error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reschedules);
        return _inner.RescheduleAsync(id, owner, nextAttemptAt, error, now, cancellationToken);
    }

    public Task<RelayDelivery?> GetAsync(string id, CancellationToken cancellationToken) => _inner.GetAsync(id, cancellationToken);

    public IReadOnlyList<(RelayDeliveryState State, long Count)> CountByState() => _inner.CountByState();

    public Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state, CancellationToken cancellationToken) => _inner.ListAsync(state, cancellationToken);

    public Task<IReadOnlyList<RelayDelivery>> ListPageAsync(DeliveryPageQuery query, CancellationToken cancellationToken) => _inner.ListPageAsync(query, cancellationToken);

    public Task<byte[]?> GetBodyAsync(string id, CancellationToken cancellationToken) => _inner.GetBodyAsync(id, cancellationToken);

    public Task<DeliveryOverview> OverviewAsync(DateTimeOffset now, CancellationToken cancellationToken) => _inner.OverviewAsync(now, cancellationToken);

    public Task<RelayDelivery?> ReplayAsync(RelayDelivery seen, DateTimeOffset now, CancellationToken cancellationToken) => _inner.ReplayAsync(seen, now, cancellationToken);

    public void Dispose() => (_inner as IDisposable)?.Dispose();

    public ValueTask DisposeAsync() => _inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : default;

    private sealed class Notifying : CountingStore, IDeliveryNotifications
    {
        private readonly IDeliveryNotifications _notifications;

        public Notifying(IDeliveryStore inner, IDeliveryNotifications notifications)
            : base(inner) => _notifications = notifications;

        public Task ListenAsync(Action onNotified, Action<Exception> onFailure, CancellationToken cancellationToken) =>
            _notifications.ListenAsync(() => { Interlocked.Increment(ref _notified); onNotified(); }, onFailure, cancellationToken);
    }
}
