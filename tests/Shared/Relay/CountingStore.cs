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
internal class CountingStore : DelegatingStore
{
    private long _adds, _claims, _emptyClaims, _claimed, _starts, _started, _lost, _limited, _renewals, _recoveries, _completes, _reschedules, _notified, _completedTotal;
    private long _claimsTotal, _emptyClaimsTotal, _limitedTotal, _notifiedTotal;

    private CountingStore(IDeliveryStore inner)
        : base(inner)
    {
    }

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

    /// <summary>Claims made, since the store was made (never reset).</summary>
    public long ClaimsTotal => Interlocked.Read(ref _claimsTotal);

    /// <summary>Claims that found nothing due, since the store was made (never reset): the dispatcher looked and had nothing to send.</summary>
    public long EmptyClaimsTotal => Interlocked.Read(ref _emptyClaimsTotal);

    /// <summary>Starts held back by a limit, since the store was made (never reset).</summary>
    public long LimitedTotal => Interlocked.Read(ref _limitedTotal);

    /// <summary>Notifications (PostgreSQL's NOTIFY, and the one at each LISTEN's start) since the store was made (never reset).</summary>
    public long NotifiedTotal => Interlocked.Read(ref _notifiedTotal);

    public override Task<AddResult> AddAsync(NewDelivery delivery, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _adds);
        return Inner.AddAsync(delivery, cancellationToken);
    }

    public override Task<int> RecoverInterruptedAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _recoveries);
        return Inner.RecoverInterruptedAsync(now, atStart, cancellationToken);
    }

    public override async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken)
    {
        var claimed = await Inner.ClaimAsync(request, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _claims);
        Interlocked.Increment(ref _claimsTotal);
        Interlocked.Add(ref _claimed, claimed.Count);
        if (claimed.Count == 0)
        {
            Interlocked.Increment(ref _emptyClaims);
            Interlocked.Increment(ref _emptyClaimsTotal);
        }

        return claimed;
    }

    public override async Task<SendStart> StartSendAsync(StartRequest request, CancellationToken cancellationToken)
    {
        var start = await Inner.StartSendAsync(request, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _starts);
        switch (start.Outcome)
        {
            case SendStartOutcome.Started: Interlocked.Increment(ref _started); break;
            case SendStartOutcome.Lost: Interlocked.Increment(ref _lost); break;
            default: Interlocked.Increment(ref _limited); Interlocked.Increment(ref _limitedTotal); break;
        }

        return start;
    }

    public override Task RenewAsync(string owner, IReadOnlyCollection<string> ids, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (ids.Count > 0)
        {
            Interlocked.Increment(ref _renewals);
        }

        return Inner.RenewAsync(owner, ids, leaseUntil, cancellationToken);
    }

    public override async Task CompleteAsync(string id, string owner, RelayDeliveryState state, RunResult result, ReplyPlan reply, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Counted once recorded: the benchmark waits for every delivery's outcome to be in the store.
        await Inner.CompleteAsync(id, owner, state, result, reply, now, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _completes);
        Interlocked.Increment(ref _completedTotal);
    }

    public override Task RescheduleAsync(string id, string owner, DateTimeOffset nextAttemptAt, string error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reschedules);
        return Inner.RescheduleAsync(id, owner, nextAttemptAt, error, now, cancellationToken);
    }

    private sealed class Notifying : CountingStore, IDeliveryNotifications
    {
        private readonly IDeliveryNotifications _notifications;

        public Notifying(IDeliveryStore inner, IDeliveryNotifications notifications)
            : base(inner) => _notifications = notifications;

        public Task ListenAsync(Action onNotified, Action<Exception> onFailure, CancellationToken cancellationToken) =>
            _notifications.ListenAsync(() => { Interlocked.Increment(ref _notified); Interlocked.Increment(ref _notifiedTotal); onNotified(); }, onFailure, cancellationToken);
    }
}
