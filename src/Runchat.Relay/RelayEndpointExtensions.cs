using System;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Runchat.Relay.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Maps webhook routes. Every HTTP answer a route gives is decided in <see cref="HandleAsync"/>:
/// 405, 413, 401, 400, then 202 once the delivery is committed (or found: a duplicate).
/// </summary>
public static class RunchatRelayEndpointExtensions
{
    /// <summary>Maps every route of <c>Relay:Routes</c>.</summary>
    /// <param name="endpoints">The application.</param>
    /// <returns>A builder for all the routes, to add conventions such as <c>RequireHost</c>.</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">A route is invalid; the message names it.</exception>
    public static IEndpointConventionBuilder MapRunchatRelay(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<RunchatRelayOptions>>().Value;
        var group = endpoints.MapGroup(string.Empty);
        var ingest = Ingest.From(endpoints.ServiceProvider);
        foreach (var route in options.Routes)
        {
            // Validated at start-up (ValidateOnStart); CreateRoute cannot fail here.
            Map(group, route.CreateRoute(out _)!, ingest);
            if (WebhookSignature.IsPublishedSample(route.Secret))
            {
                ingest.Logger.LogWarning(
                    "The route {Route} uses a sample secret published in the Runchat README: anyone can sign webhooks for it. Set the sender's real secret (for example Relay__Routes__N__Secret) before it faces the internet.",
                    route.Path);
            }
        }

        return group;
    }

    /// <summary>Maps one webhook route in code.</summary>
    /// <param name="endpoints">The application.</param>
    /// <param name="path">The path, such as <c>/hooks/stripe</c>.</param>
    /// <param name="jobId">The Runchat job each delivery triggers.</param>
    /// <param name="signature">How senders sign, such as <c>WebhookSignature.Stripe(secret)</c>.</param>
    /// <returns>The endpoint's builder.</returns>
    /// <exception cref="ArgumentException">The path or job id is invalid; the message names the route.</exception>
    public static IEndpointConventionBuilder MapRunchatWebhook(this IEndpointRouteBuilder endpoints, string path, string jobId, WebhookSignature signature)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return Map(endpoints, RelayRoute.Create(path, jobId, signature), Ingest.From(endpoints.ServiceProvider));
    }

    /// <summary>Maps one webhook route in code, with the rules a configured route has: <c>Events</c>, <c>When</c>, <c>Message</c>, <c>Reply</c>.</summary>
    /// <param name="endpoints">The application.</param>
    /// <param name="path">The path, such as <c>/hooks/github</c>.</param>
    /// <param name="jobId">The Runchat job each delivery triggers.</param>
    /// <param name="signature">How senders sign, such as <c>WebhookSignature.GitHub(secret)</c>.</param>
    /// <param name="rules">
    /// Sets <see cref="RelayRouteOptions.Events"/>, <see cref="RelayRouteOptions.When"/>, <see cref="RelayRouteOptions.Message"/>
    /// and <see cref="RelayRouteOptions.Reply"/>; the path, job and signature are the arguments, so those keys must stay unset.
    /// </param>
    /// <returns>The endpoint's builder.</returns>
    /// <exception cref="ArgumentException">The path, job id or a rule is invalid (a template that does not parse, a JSONPath that is not one); the message names the route.</exception>
    public static IEndpointConventionBuilder MapRunchatWebhook(this IEndpointRouteBuilder endpoints, string path, string jobId, WebhookSignature signature, Action<RelayRouteOptions> rules)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(rules);
        var options = new RelayRouteOptions();
        rules(options);
        if (options.Path is not null || options.JobId is not null || options.Signature is not null || options.Secret is not null || options.Header is not null)
        {
            throw new ArgumentException($"The webhook route {path}: set Path, JobId and the signature as MapRunchatWebhook's arguments, not in its rules.", nameof(rules));
        }

        return Map(endpoints, RelayRoute.Create(path, jobId, signature).WithRules(options), Ingest.From(endpoints.ServiceProvider));
    }

    private static IEndpointConventionBuilder Map(IEndpointRouteBuilder endpoints, RelayRoute route, Ingest ingest)
    {
        ingest.Routes.Add(route);
        return endpoints.Map(route.Path, context => HandleAsync(context, route, ingest)).WithDisplayName($"Runchat webhook {route.Path} -> {route.Target}");
    }

    /// <summary>What every request of a route needs, resolved once when the routes are mapped rather than per request.</summary>
    private sealed record Ingest(RunchatRelayOptions Options, ILogger Logger, RelayTelemetry Telemetry, TimeProvider Time, IDeliveryStore Store, DispatchSignal Signal, RelayRouteTable Routes)
    {
        public static Ingest From(IServiceProvider services) => new(
            services.GetRequiredService<IOptions<RunchatRelayOptions>>().Value,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Runchat.Relay"),
            services.GetRequiredService<RelayTelemetry>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<IDeliveryStore>(),
            services.GetRequiredService<DispatchSignal>(),
            services.GetRequiredService<RelayRouteTable>());
    }

    private static async Task HandleAsync(HttpContext context, RelayRoute route, Ingest ingest)
    {
        var (options, logger, telemetry, time, store, signal, _) = ingest;

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await AnswerAsync(context, StatusCodes.Status405MethodNotAllowed, $"{route.Path} accepts POST only.").ConfigureAwait(false);
            return;
        }

        // The route's limit is the server's too: above Kestrel's own 30 MB default, a body would be cut
        // off by Kestrel with a bare 413 and an exception in the log.
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = options.MaxBodyBytes + 1L;
        }

        var inboundTraceParent = context.Request.Headers["traceparent"].FirstOrDefault();
        using var activity = RelayTelemetry.StartReceive(route.Path, route.Target, inboundTraceParent);
        var body = await ReadBodyAsync(context.Request, options.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            telemetry.Ingested(route.Path, "rejected_body", activity);
            await AnswerAsync(context, StatusCodes.Status413PayloadTooLarge, $"The body is larger than {options.MaxBodyBytes} bytes (Relay:MaxBodyBytes).").ConfigureAwait(false);
            return;
        }

        var check = route.Signature.Verify(context.Request.Headers, body, time.GetUtcNow(), options.SignatureTolerance);
        if (!check.IsValid)
        {
            telemetry.Ingested(route.Path, "rejected_signature", activity);
            logger.LogWarning("Refused a webhook on {Route}: {Reason}", route.Path, check.Error);
            await AnswerAsync(context, StatusCodes.Status401Unauthorized, $"The {route.Signature.Name} signature was refused: {check.Error}.").ConfigureAwait(false);
            return;
        }

        if (check.IdentityError is { } badIdentity)
        {
            telemetry.Ingested(route.Path, "rejected_body", activity);
            await AnswerAsync(context, StatusCodes.Status400BadRequest, $"The delivery cannot be told apart from others: {badIdentity}.").ConfigureAwait(false);
            return;
        }

        // Slack's own requests: answered as Slack expects, never stored or run.
        var slack = route.Signature.Name == "slack" ? SlackRequests.Read(context.Request.ContentType, body) : null;
        if (slack is { Handshake: { } handshake })
        {
            telemetry.Ingested(route.Path, "handshake", activity);
            context.Response.StatusCode = StatusCodes.Status200OK;
            if (handshake.Challenge is { } challenge)
            {
                await context.Response.WriteAsJsonAsync(new SlackChallenge(challenge), RelayJson.Options, context.RequestAborted).ConfigureAwait(false);
            }

            return;
        }

        if (slack is { Converted: { } converted })
        {
            // A slash command or an interaction: verified over the raw form bytes, stored as one JSON object.
            body = converted;
        }
        else
        {
            try
            {
                // The same rules the client applies to a payload: one JSON object, UTF-8, nothing after it.
                Runchat.JobPayload.FromBytes(body);
            }
            catch (ArgumentException invalid)
            {
                telemetry.Ingested(route.Path, "rejected_body", activity);
                await AnswerAsync(context, StatusCodes.Status400BadRequest, BodyRefusal(body, invalid)).ConfigureAwait(false);
                return;
            }
        }

        // The event name, and the route's Events and When: a verified delivery the route does not run is ignored, not stored.
        string? eventName;
        string? reason;
        using (var document = System.Text.Json.JsonDocument.Parse(body))
        {
            eventName = DeliveryEvents.NameOf(route.Signature.Name, context.Request.Headers, document.RootElement);
            reason = route.Filter.IsEmpty ? null : route.Filter.WhyIgnored(eventName, document.RootElement, body);
        }

        activity?.SetTag("runchat.relay.event", eventName);
        if (reason is not null)
        {
            telemetry.Ingested(route.Path, "ignored", activity, eventName);
            logger.LogDebug("Ignored a webhook on {Route} ({Event}): {Reason}", route.Path, eventName ?? "no event name", reason);
            context.Response.StatusCode = StatusCodes.Status200OK;
            await context.Response.WriteAsJsonAsync(new IgnoredAnswer(true, reason), RelayJson.Options, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var (dedupeKey, identityError) = DeliveryIdentity.KeyOf(route.Signature, check, context.Request.Headers["Idempotency-Key"].FirstOrDefault(), body);
        if (dedupeKey is null)
        {
            telemetry.Ingested(route.Path, "rejected_body", activity);
            await AnswerAsync(context, StatusCodes.Status400BadRequest, $"The delivery cannot be stored: {identityError}.").ConfigureAwait(false);
            return;
        }

        AddResult added;
        try
        {
            added = await store.AddAsync(
                new NewDelivery(DeliveryIds.New(time), route.Path, route.JobId, dedupeKey, body, time.GetUtcNow(), RelayTelemetry.TraceParentToStore(activity), RelayTelemetry.SenderTraceParentToStore(inboundTraceParent), DeliveryIdentity.Label(check.Label), eventName, route.FlowId),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is System.Data.Common.DbException or ObjectDisposedException or System.IO.IOException)
        {
            // Nothing was stored: the sender may retry, and should, later. 503 + Retry-After says so;
            // a 500 with a stack trace per webhook would say something broke in the relay itself.
            telemetry.Ingested(route.Path, "store_failed", activity);
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "store_failed");
            logger.LogError("Could not store a webhook on {Route}; answered 503 so the sender retries: {Error}", route.Path, failure.Message);
            context.Response.Headers.RetryAfter = "5";
            await AnswerAsync(context, StatusCodes.Status503ServiceUnavailable, "The relay could not store this delivery; nothing was stored. Retry later.").ConfigureAwait(false);
            return;
        }

        var (deliveryId, duplicate) = (added.Id, added.Duplicate);
        if (added.Conflict)
        {
            // The IETF Idempotency-Key draft's answer: the same key with another body is the client's error.
            telemetry.Ingested(route.Path, "conflict", activity);
            logger.LogWarning("Refused a webhook on {Route}: its id ({DedupeKey}) was already accepted as {DeliveryId} with a different body; nothing stored, nothing run.", route.Path, dedupeKey, deliveryId);
            await AnswerAsync(context, StatusCodes.Status409Conflict,
                $"A delivery with the same id was already accepted ({deliveryId}) with a different body. This one was not stored and runs nothing; an id names one body.").ConfigureAwait(false);
            return;
        }

        telemetry.Ingested(route.Path, duplicate ? "duplicate" : "stored", activity, eventName);
        activity?.SetTag("runchat.relay.delivery_id", deliveryId);
        if (!duplicate)
        {
            signal.Notify();
        }

        if (slack is { Converted: not null })
        {
            // Slack wants a 200 within 3 seconds; the text, when the route has one, is shown to the user at once.
            context.Response.StatusCode = StatusCodes.Status200OK;
            if (route.Reply is { Length: > 0 } reply)
            {
                await context.Response.WriteAsJsonAsync(new SlackReply(reply), RelayJson.Options, context.RequestAborted).ConfigureAwait(false);
            }

            return;
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        await context.Response.WriteAsJsonAsync(new AcceptedAnswer(deliveryId, duplicate), RelayJson.Options, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Why a body was refused, in words for a webhook sender (not for a caller of the client library).</summary>
    private static string BodyRefusal(byte[] body, ArgumentException invalid)
    {
        if (body.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return "The body is empty; this route accepts one JSON object.";
        }

        // The client's own words for {} point a C# caller to an overload; a sender needs these.
        var reader = new System.Text.Json.Utf8JsonReader(body);
        try
        {
            if (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.StartObject
                && reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.EndObject && !reader.Read())
            {
                return "The body is an empty JSON object, which would give the agent nothing; this route accepts one JSON object with content.";
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return "The body is not one JSON object in UTF-8: " + Messages.WithoutParameter(invalid);
    }

    /// <summary>The whole body, or null when it is larger than <paramref name="limit"/>.</summary>
    /// <remarks>
    /// The buffer grows as bytes arrive, whatever <c>Content-Length</c> declares: memory follows what a
    /// sender has sent, not what it promises, so hundreds of connections that declare a megabyte and
    /// trickle bytes cost what they sent (Kestrel still ends the body at the declared length).
    /// </remarks>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        var (buffer, length, total) = await BoundedRead.ReadAsync(request.Body, request.ContentLength, trustExpectedLength: false, limit, countPastLimit: false, cancellationToken).ConfigureAwait(false);
        return total > limit ? null : length == buffer.Length ? buffer : buffer.AsSpan(0, length).ToArray();
    }

    private static Task AnswerAsync(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ErrorAnswer(error), RelayJson.Options, context.RequestAborted);
    }
}
