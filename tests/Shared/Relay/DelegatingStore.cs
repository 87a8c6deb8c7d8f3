using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Relay;

namespace Runchat.TestSupport;

/// <summary>A store that forwards every call to another: tests override the calls they count, record or break.</summary>
internal abstract class DelegatingStore : IDeliveryStore, IDisposable, IAsyncDisposable
{
    protected DelegatingStore(IDeliveryStore inner) => Inner = inner;

    protected IDeliveryStore Inner { get; }

    public virtual Task<AddResult> AddAsync(NewDelivery delivery, CancellationToken cancellationToken) => Inner.AddAsync(delivery, cancellationToken);

    public virtual Task<int> RecoverInterruptedAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken) => Inner.RecoverInterruptedAsync(now, atStart, cancellationToken);

    public virtual Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken) => Inner.ClaimAsync(request, cancellationToken);

    public virtual Task<SendStart> StartSendAsync(StartRequest request, CancellationToken cancellationToken) => Inner.StartSendAsync(request, cancellationToken);

    public virtual Task RenewAsync(string owner, IReadOnlyCollection<string> ids, DateTimeOffset leaseUntil, CancellationToken cancellationToken) => Inner.RenewAsync(owner, ids, leaseUntil, cancellationToken);

    public virtual Task<int> ReleaseAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken) => Inner.ReleaseAsync(owner, now, cancellationToken);

    public virtual Task CompleteAsync(string id, string owner, RelayDeliveryState state, RunResult result, ReplyPlan reply, DateTimeOffset now, CancellationToken cancellationToken) =>
        Inner.CompleteAsync(id, owner, state, result, reply, now, cancellationToken);

    public virtual Task RejectAsync(string id, string owner, string error, DateTimeOffset now, CancellationToken cancellationToken) => Inner.RejectAsync(id, owner, error, now, cancellationToken);

    public virtual Task RescheduleAsync(string id, string owner, DateTimeOffset nextAttemptAt, string error, DateTimeOffset now, CancellationToken cancellationToken) =>
        Inner.RescheduleAsync(id, owner, nextAttemptAt, error, now, cancellationToken);

    public virtual Task<RelayDelivery?> GetAsync(string id, CancellationToken cancellationToken) => Inner.GetAsync(id, cancellationToken);

    public virtual IReadOnlyList<(RelayDeliveryState State, long Count)> CountByState() => Inner.CountByState();

    public virtual Task<IReadOnlyList<(RelayDeliveryState State, long Count)>> CountByStateAsync(CancellationToken cancellationToken) => Inner.CountByStateAsync(cancellationToken);

    public virtual Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state, CancellationToken cancellationToken) => Inner.ListAsync(state, cancellationToken);

    public virtual Task<IReadOnlyList<RelayDelivery>> ListPageAsync(DeliveryPageQuery query, CancellationToken cancellationToken) => Inner.ListPageAsync(query, cancellationToken);

    public virtual Task<IReadOnlyList<ClaimedReply>> ClaimRepliesAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int max, CancellationToken cancellationToken) =>
        Inner.ClaimRepliesAsync(owner, now, leaseUntil, max, cancellationToken);

    public virtual Task<bool> FinishReplyAsync(string id, string owner, RelayReplyState state, string? url, string? error, DateTimeOffset? next, CancellationToken cancellationToken) =>
        Inner.FinishReplyAsync(id, owner, state, url, error, next, cancellationToken);

    public virtual Task<int> RecoverRepliesAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken) =>
        Inner.RecoverRepliesAsync(now, atStart, cancellationToken);

    public virtual Task<byte[]?> GetBodyAsync(string id, CancellationToken cancellationToken) => Inner.GetBodyAsync(id, cancellationToken);

    public virtual Task<DeliveryOverview> OverviewAsync(DateTimeOffset now, CancellationToken cancellationToken) => Inner.OverviewAsync(now, cancellationToken);

    public virtual Task<RelayDelivery?> ReplayAsync(RelayDelivery seen, DateTimeOffset now, CancellationToken cancellationToken) => Inner.ReplayAsync(seen, now, cancellationToken);

    public virtual Task<int> PurgeBatchAsync(RelayDeliveryState state, DateTimeOffset cutoff, int max, CancellationToken cancellationToken) => Inner.PurgeBatchAsync(state, cutoff, max, cancellationToken);

    public virtual Task<long> CountPurgeableAsync(RelayDeliveryState state, DateTimeOffset cutoff, CancellationToken cancellationToken) => Inner.CountPurgeableAsync(state, cutoff, cancellationToken);

    public virtual Task<(int Deleted, int InFlight)> ForgetSenderAsync(string senderId, CancellationToken cancellationToken) => Inner.ForgetSenderAsync(senderId, cancellationToken);

    public virtual Task<bool> SetPausedAsync(RelayPauseTarget target, bool paused, DateTimeOffset now, CancellationToken cancellationToken) => Inner.SetPausedAsync(target, paused, now, cancellationToken);

    public virtual Task<IReadOnlyList<RelayPause>> ListPausedAsync(CancellationToken cancellationToken) => Inner.ListPausedAsync(cancellationToken);

    public virtual Task<bool> IsPausedAsync(RelayPauseTarget target, CancellationToken cancellationToken) => Inner.IsPausedAsync(target, cancellationToken);

    public virtual Task<IReadOnlyDictionary<string, byte[]>> GetBodiesAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) => Inner.GetBodiesAsync(ids, cancellationToken);

    public virtual Task<string?> FindIdAsync(string route, string dedupeKey, string? senderId, CancellationToken cancellationToken) => Inner.FindIdAsync(route, dedupeKey, senderId, cancellationToken);

    public virtual Task HeartbeatAsync(RelayInstance instance, CancellationToken cancellationToken) => Inner.HeartbeatAsync(instance, cancellationToken);

    public virtual Task<int> RemoveInstancesAsync(string? id, DateTimeOffset seenBefore, CancellationToken cancellationToken) => Inner.RemoveInstancesAsync(id, seenBefore, cancellationToken);

    public virtual Task<IReadOnlyList<RelayInstance>> ListInstancesAsync(CancellationToken cancellationToken) => Inner.ListInstancesAsync(cancellationToken);

    public virtual Task PingAsync(CancellationToken cancellationToken) => Inner.PingAsync(cancellationToken);

    public virtual Task<IReadOnlyList<(long Minute, string Outcome, long Count)>> OutcomesPerMinuteAsync(DateTimeOffset from, CancellationToken cancellationToken) => Inner.OutcomesPerMinuteAsync(from, cancellationToken);

    public virtual Task<IgnoredSummary> IgnoredSummaryAsync(DateTimeOffset from, int sample, CancellationToken cancellationToken) => Inner.IgnoredSummaryAsync(from, sample, cancellationToken);

    public virtual Task<DeliverySearchPage> SearchAsync(DeliverySearch search, CancellationToken cancellationToken) => Inner.SearchAsync(search, cancellationToken);

    public void Dispose() => (Inner as IDisposable)?.Dispose();

    public ValueTask DisposeAsync() => Inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : default;
}
