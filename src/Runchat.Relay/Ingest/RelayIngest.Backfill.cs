using System;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Runchat.Relay.Signatures;

namespace Runchat.Relay;

/// <summary>What <c>relay backfill</c> did with one delivery it read from a sender's API.</summary>
/// <param name="Stored">Stored now (or, on a dry run, would be).</param>
/// <param name="DeliveryId">The stored delivery, or the one the relay already had.</param>
/// <param name="Event">The event name, as the route names it.</param>
/// <param name="Outcome">What happened, in words: "stored, runs", "stored ignored: …", "skipped: the relay has it (dlv_…)", …</param>
internal sealed record BackfillResult(bool Stored, string? DeliveryId, string? Event, string Outcome);

internal sealed partial class RelayIngest
{
    /// <summary>
    /// A delivery read from its sender's authenticated API (<c>relay backfill</c>), taken as a webhook is once verified: the
    /// scheme reads and describes the payload, the route's <c>Events</c> and <c>When</c> decide, and the store keeps it
    /// once under its key (<c>id:</c> + the id the API vouches for) with <paramref name="source"/> as its mark. A delivery
    /// the relay already has (the same key, or the sender's delivery id as a stored label) is skipped.
    /// </summary>
    /// <param name="route">The route it was sent to.</param>
    /// <param name="headers">The headers the sender sent (or would have): the event header, for GitHub.</param>
    /// <param name="body">The payload, as the API returns it.</param>
    /// <param name="id">The id the API vouches for (GitHub's delivery GUID, Stripe's event id).</param>
    /// <param name="label">The id as a live delivery stored it as its label (GitHub's <c>X-GitHub-Delivery</c>), if the sender has one.</param>
    /// <param name="source">The mark: <c>backfill:github</c>, <c>backfill:stripe</c>.</param>
    /// <param name="dryRun">Decide and say, store nothing.</param>
    /// <param name="cancellationToken">Stops the lookups and the store.</param>
    public async Task<BackfillResult> StoreFromSourceAsync(RelayRoute route, IHeaderDictionary headers, byte[] body, string id, string? label, string source, bool dryRun, CancellationToken cancellationToken)
    {
        var request = new WebhookRequest(headers, body, new Uri("http://relay.backfill" + route.Path), _time.GetUtcNow(), _options.SignatureTolerance);
        if (ReadPayload(route, request, out var parsed) is { } unreadable)
        {
            return new BackfillResult(false, null, null, "skipped: " + unreadable);
        }

        using var payload = parsed!;
        var taken = Take(route, request, WebhookVerification.Valid(signedId: id, label: label), idempotencyKey: null, payload);
        if (taken.Described.Handshake is not null || taken.Refusal is not null)
        {
            return new BackfillResult(false, null, taken.EventName, "skipped: " + (taken.Refusal ?? "a handshake, never stored"));
        }

        var eventName = taken.EventName;
        if (await _store.FindIdAsync(route.Path, taken.DedupeKey!, DeliveryIdentity.Label(label), cancellationToken).ConfigureAwait(false) is { } had)
        {
            return new BackfillResult(false, had, eventName, $"skipped: the relay has it ({had})");
        }

        var verdict = taken.Verdict!.Value;
        var decided = verdict.State == RelayDeliveryState.Pending ? "runs" : DeliveryStates.Name(verdict.State) + ": " + verdict.Reason;
        if (dryRun)
        {
            return new BackfillResult(true, null, eventName, "would be stored, " + decided);
        }

        var delivery = new NewDelivery(DeliveryIds.New(_time), route.Path, route.JobId ?? string.Empty, taken.DedupeKey!, WholeArray(payload.Bytes), request.Now,
            SenderId: DeliveryIdentity.Label(label), Event: eventName, FlowId: route.FlowId)
        {
            State = verdict.State,
            Reason = verdict.Reason,
            Source = source,
        };
        var added = await _store.AddAsync(delivery, cancellationToken).ConfigureAwait(false);
        if (added.Duplicate)
        {
            // Stored meanwhile, by the live webhook or another backfill: the unique index keeps one.
            return new BackfillResult(false, added.Id, eventName, $"skipped: the relay has it ({added.Id})");
        }

        if (delivery.State == RelayDeliveryState.Pending)
        {
            _signal.Notify();
        }

        return new BackfillResult(true, added.Id, eventName, "stored, " + decided);
    }
}
