using System;
using System.Diagnostics;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Runchat.Relay.Internal;
using Runchat.Relay.Signatures;

namespace Runchat.Relay;

/// <summary>
/// Every HTTP answer a webhook route gives, decided in one fixed order of short steps: method (405), read (413),
/// verify (401), parse under the limits (400), describe (a handshake, or 400), identify (400), filter, store
/// (503, 409), answer (202, or 200 ignored, or the scheme's own).
/// </summary>
/// <remarks>
/// The body is read once and parsed once (<see cref="WebhookPayload"/>); the scheme, the filter, the identity and
/// the store all read that. A <c>5xx</c> means only that the store could not be used: anything the relay cannot
/// take from a sender is a <c>4xx</c> that says why.
/// </remarks>
internal sealed partial class RelayIngest
{
    private readonly RunchatRelayOptions _options;
    private readonly ILogger _logger;
    private readonly RelayTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly IDeliveryStore _store;
    private readonly DispatchSignal _signal;

    public RelayIngest(IOptions<RunchatRelayOptions> options, ILoggerFactory loggers, RelayTelemetry telemetry, TimeProvider time, IDeliveryStore store, DispatchSignal signal)
    {
        _options = options.Value;
        _logger = loggers.CreateLogger("Runchat.Relay");
        _telemetry = telemetry;
        _time = time;
        _store = store;
        _signal = signal;
    }

    public static RelayIngest From(IServiceProvider services) => services.GetRequiredService<RelayIngest>();

    public async Task HandleAsync(HttpContext context, RelayRoute route)
    {
        var inboundTraceParent = context.Request.Headers["traceparent"].FirstOrDefault();
        using var activity = RelayTelemetry.StartReceive(route.Path, route.JobId ?? route.FlowId!, inboundTraceParent);
        var answer = await DecideAsync(context, route, activity, inboundTraceParent).ConfigureAwait(false);
        _telemetry.Ingested(route.Path, answer.Outcome, activity, answer.EventName);
        await answer.WriteAsync(context).ConfigureAwait(false);
    }

    private async Task<IngestAnswer> DecideAsync(HttpContext context, RelayRoute route, Activity? activity, string? inboundTraceParent)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            return IngestAnswer.Error(StatusCodes.Status405MethodNotAllowed, "rejected_method", $"{route.Path} accepts POST only.") with { Allow = "POST" };
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return IngestAnswer.Error(StatusCodes.Status413PayloadTooLarge, "rejected_body", $"The body is larger than {_options.MaxBodyBytes} bytes (Relay:MaxBodyBytes).");
        }

        var request = new WebhookRequest(context.Request.Headers, body, new Uri(context.Request.GetEncodedUrl()), _time.GetUtcNow(), _options.SignatureTolerance);
        var verification = route.Scheme.Verify(request);
        if (!verification.IsValid)
        {
            _logger.LogWarning("Refused a webhook on {Route}: {Reason}", route.Path, verification.Error);
            return IngestAnswer.Error(StatusCodes.Status401Unauthorized, "rejected_signature", $"The {route.Scheme.Name} signature was refused: {verification.Error}.");
        }

        if (ReadPayload(route, request, out var payload) is { } unreadable)
        {
            return IngestAnswer.Error(StatusCodes.Status400BadRequest, "rejected_body", unreadable);
        }

        using (payload)
        {
            var taken = Take(route, request, verification, request.Header("Idempotency-Key"), payload!);
            if (taken.Described.Handshake is { } handshake)
            {
                return new IngestAnswer(handshake.StatusCode, handshake.Body, "handshake");
            }

            if (taken.Refusal is { } refusal)
            {
                return IngestAnswer.Error(StatusCodes.Status400BadRequest, "rejected_body", refusal);
            }

            activity?.SetTag("runchat.relay.event", taken.EventName);
            var verdict = taken.Verdict!.Value;
            var delivery = new NewDelivery(DeliveryIds.New(_time), route.Path, route.JobId ?? string.Empty, taken.DedupeKey!, WholeArray(payload!.Bytes), request.Now,
                RelayTelemetry.TraceParentToStore(activity), RelayTelemetry.SenderTraceParentToStore(inboundTraceParent), DeliveryIdentity.Label(verification.Label), taken.EventName, route.FlowId)
            {
                State = verdict.State,
                Reason = verdict.Reason,
            };

            var answer = await StoreAsync(route, request, delivery, taken.Described, activity).ConfigureAwait(false);
            return answer with { EventName = taken.EventName };
        }
    }

    /// <summary>
    /// Step 4, for every delivery, live or read back from its sender's API: the payload out of the body (a form's field,
    /// for Slack), parsed once under the limits. Returns why it cannot be read, or null and the payload.
    /// </summary>
    private string? ReadPayload(RelayRoute route, WebhookRequest request, out WebhookPayload? payload)
    {
        ReadOnlyMemory<byte> bytes;
        try
        {
            bytes = route.Scheme.ReadPayload(request);
        }
        catch (WebhookRefusedException refused)
        {
            payload = null;
            return $"The delivery cannot be read: {refused.Message}.";
        }

        return WebhookPayload.TryParse(bytes, _options.MaxBodyDepth, out payload, out var refusal) ? null : refusal;
    }

    /// <summary>
    /// Steps 5 to 7, for every delivery, live or read back from its sender's API: the scheme describes it (a handshake,
    /// or a contradiction with its request), the identity names its event and dedupe key, and the route's
    /// <c>Events</c> and <c>When</c> decide whether it runs.
    /// </summary>
    private static TakenDelivery Take(RelayRoute route, WebhookRequest request, WebhookVerification verification, string? idempotencyKey, WebhookPayload payload)
    {
        var described = route.Scheme.Describe(request, payload.Root);
        if (described.Handshake is not null)
        {
            return new TakenDelivery(described, described.Name, null, null, null);
        }

        if (described.Refusal is { } contradiction)
        {
            return new TakenDelivery(described, described.Name, null, null, $"The delivery contradicts its request: {contradiction}.");
        }

        var (eventName, eventError) = DeliveryIdentity.EventName(described.Name);
        var (dedupeKey, identityError) = DeliveryIdentity.KeyOf(route.Scheme, verification, described, idempotencyKey, payload.Bytes.Span);
        if ((eventError ?? identityError) is { } unusable)
        {
            return new TakenDelivery(described, eventName, null, null, $"The delivery cannot be stored: {unusable}.");
        }

        return new TakenDelivery(described, eventName, dedupeKey, route.Filter.Decide(eventName, payload.Root), null);
    }

    /// <summary>What <see cref="Take"/> made of a delivery: its description, event name, key and verdict, or why it cannot be stored (<see cref="Refusal"/>), or a handshake (<c>Described.Handshake</c>).</summary>
    private sealed record TakenDelivery(WebhookEvent Described, string? EventName, string? DedupeKey, RouteVerdict? Verdict, string? Refusal);

    private async Task<IngestAnswer> StoreAsync(RelayRoute route, WebhookRequest request, NewDelivery delivery, WebhookEvent described, Activity? activity)
    {
        AddResult added;
        try
        {
            added = await _store.AddAsync(delivery, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is System.Data.Common.DbException or ObjectDisposedException or System.IO.IOException)
        {
            // Nothing was stored: the sender may retry, and should, later. 503 + Retry-After says so;
            // a 500 with a stack trace per webhook would say something broke in the relay itself.
            activity?.SetStatus(ActivityStatusCode.Error, "store_failed");
            _logger.LogError("Could not store a webhook on {Route}; answered 503 so the sender retries: {Error}", route.Path, failure.Message);
            return IngestAnswer.Error(StatusCodes.Status503ServiceUnavailable, "store_failed", "The relay could not store this delivery; nothing was stored. Retry later.") with { RetryAfter = "5" };
        }

        activity?.SetTag("runchat.relay.delivery_id", added.Id);
        if (added.Conflict)
        {
            // The IETF Idempotency-Key draft's answer: the same key with another body is the client's error.
            _logger.LogWarning("Refused a webhook on {Route}: its id ({DedupeKey}) was already accepted as {DeliveryId} with a different body; nothing stored, nothing run.", route.Path, delivery.DedupeKey, added.Id);
            return IngestAnswer.Error(StatusCodes.Status409Conflict, "conflict",
                $"A delivery with the same id was already accepted ({added.Id}) with a different body. This one was not stored and runs nothing; an id names one body.");
        }

        if (added.Duplicate)
        {
            return Accepted(route, request, described.Answer, added.Id, duplicate: true);
        }

        switch (delivery.State)
        {
            case RelayDeliveryState.Ignored:
                _logger.LogDebug("Ignored a webhook on {Route} ({Event}), stored as {DeliveryId}: {Reason}", route.Path, delivery.Event ?? "no event name", added.Id, delivery.Reason);
                return route.Scheme.AcknowledgeIgnored(request, described) is { } ignored
                    ? new IngestAnswer(ignored.StatusCode, ignored.Body, "ignored")
                    : new IngestAnswer(StatusCodes.Status200OK, new IgnoredAnswer(true, delivery.Reason!, added.Id), "ignored");
            case RelayDeliveryState.Failed:
                _logger.LogWarning("A webhook on {Route} ({Event}) is stored failed as {DeliveryId}, and not run: {Reason}", route.Path, delivery.Event ?? "no event name", added.Id, delivery.Reason);
                return new IngestAnswer(StatusCodes.Status202Accepted, new AcceptedAnswer(added.Id, false), "failed");
            default:
                _signal.Notify();
                return Accepted(route, request, described.Answer, added.Id, duplicate: false);
        }
    }

    /// <summary>The payload's bytes as an array: the body's own when the payload is the body (no copy), else a copy.</summary>
    private static byte[] WholeArray(ReadOnlyMemory<byte> bytes) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToArray();

    private static IngestAnswer Accepted(RelayRoute route, WebhookRequest request, WebhookAnswer? described, string deliveryId, bool duplicate)
    {
        var outcome = duplicate ? "duplicate" : "stored";
        return (described ?? route.Scheme.Acknowledge(request, route.Reply)) is { } acknowledge
            ? new IngestAnswer(acknowledge.StatusCode, acknowledge.Body, outcome)
            : new IngestAnswer(StatusCodes.Status202Accepted, new AcceptedAnswer(deliveryId, duplicate), outcome);
    }

    /// <summary>The whole body, or null when it is larger than the route's limit.</summary>
    /// <remarks>
    /// The buffer grows as bytes arrive, whatever <c>Content-Length</c> declares: memory follows what a
    /// sender has sent, not what it promises, so hundreds of connections that declare a megabyte and
    /// trickle bytes cost what they sent (Kestrel still ends the body at the declared length).
    /// </remarks>
    private async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        var limit = _options.MaxBodyBytes;

        // The route's limit is the server's too: above Kestrel's own 30 MB default, a body would be cut
        // off by Kestrel with a bare 413 and an exception in the log.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limit + 1L;
        }

        var request = context.Request;
        if (request.ContentLength > limit)
        {
            return null;
        }

        var (buffer, length, total) = await BoundedRead.ReadAsync(request.Body, request.ContentLength, trustExpectedLength: false, limit, countPastLimit: false, context.RequestAborted).ConfigureAwait(false);
        return total > limit ? null : length == buffer.Length ? buffer : buffer.AsSpan(0, length).ToArray();
    }
}

/// <summary>One route's HTTP answer, and its outcome for the metrics.</summary>
internal sealed record IngestAnswer(int Status, object? Body, string Outcome)
{
    public string? Allow { get; init; }

    public string? RetryAfter { get; init; }

    public string? EventName { get; init; }

    public static IngestAnswer Error(int status, string outcome, string error) => new(status, new ErrorAnswer(error), outcome);

    public Task WriteAsync(HttpContext context)
    {
        context.Response.StatusCode = Status;
        if (Allow is not null)
        {
            context.Response.Headers.Allow = Allow;
        }

        if (RetryAfter is not null)
        {
            context.Response.Headers.RetryAfter = RetryAfter;
        }

        return Body is null ? Task.CompletedTask : context.Response.WriteAsJsonAsync(Body, Body.GetType(), RelayJson.Options, context.RequestAborted);
    }
}
