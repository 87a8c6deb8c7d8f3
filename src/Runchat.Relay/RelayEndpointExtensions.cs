using System;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
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

    private static IEndpointConventionBuilder Map(IEndpointRouteBuilder endpoints, RelayRoute route, Ingest ingest) =>
        endpoints.Map(route.Path, context => HandleAsync(context, route, ingest)).WithDisplayName($"Runchat webhook {route.Path} -> {route.JobId}");

    /// <summary>What every request of a route needs, resolved once when the routes are mapped rather than per request.</summary>
    private sealed record Ingest(RunchatRelayOptions Options, ILogger Logger, RelayTelemetry Telemetry, TimeProvider Time, IDeliveryStore Store, DispatchSignal Signal)
    {
        public static Ingest From(IServiceProvider services) => new(
            services.GetRequiredService<IOptions<RunchatRelayOptions>>().Value,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Runchat.Relay"),
            services.GetRequiredService<RelayTelemetry>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<IDeliveryStore>(),
            services.GetRequiredService<DispatchSignal>());
    }

    private static async Task HandleAsync(HttpContext context, RelayRoute route, Ingest ingest)
    {
        var (options, logger, telemetry, time, store, signal) = ingest;

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await AnswerAsync(context, StatusCodes.Status405MethodNotAllowed, $"{route.Path} accepts POST only.").ConfigureAwait(false);
            return;
        }

        var inboundTraceParent = context.Request.Headers["traceparent"].FirstOrDefault();
        using var activity = RelayTelemetry.StartReceive(route.Path, route.JobId, inboundTraceParent);
        var body = await ReadBodyAsync(context.Request, options.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            telemetry.Delivery(route.Path, "rejected_body", activity);
            await AnswerAsync(context, StatusCodes.Status413PayloadTooLarge, $"The body is larger than {options.MaxBodyBytes} bytes (Relay:MaxBodyBytes).").ConfigureAwait(false);
            return;
        }

        var check = route.Signature.Verify(context.Request.Headers, body, time.GetUtcNow(), options.SignatureTolerance);
        if (!check.IsValid)
        {
            telemetry.Delivery(route.Path, "rejected_signature", activity);
            logger.LogWarning("Refused a webhook on {Route}: {Reason}", route.Path, check.Error);
            await AnswerAsync(context, StatusCodes.Status401Unauthorized, $"The {route.Signature.Name} signature was refused: {check.Error}.").ConfigureAwait(false);
            return;
        }

        try
        {
            // The same rules the client applies to a payload: one JSON object, UTF-8, nothing after it.
            Runchat.JobPayload.FromBytes(body);
        }
        catch (ArgumentException invalid)
        {
            telemetry.Delivery(route.Path, "rejected_body", activity);
            await AnswerAsync(context, StatusCodes.Status400BadRequest, "The body is not one JSON object in UTF-8: " + Messages.WithoutParameter(invalid)).ConfigureAwait(false);
            return;
        }

        var dedupeKey = check.DeliveryId is { Length: > 0 } id ? "id:" + id
            : context.Request.Headers["Idempotency-Key"].FirstOrDefault() is { Length: > 0 } key ? "idempotency-key:" + key
            : "sha256:" + Convert.ToHexString(SHA256.HashData(body)).ToLowerInvariant();
        string deliveryId;
        bool duplicate;
        try
        {
            (deliveryId, duplicate) = await store.AddAsync(
                new NewDelivery(DeliveryIds.New(time), route.Path, route.JobId, dedupeKey, body, time.GetUtcNow(), RelayTelemetry.TraceParentToStore(activity), RelayTelemetry.SenderTraceParentToStore(inboundTraceParent)),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is System.Data.Common.DbException or ObjectDisposedException)
        {
            // Nothing was stored: the sender may retry, and should, later. 503 + Retry-After says so;
            // a 500 with a stack trace per webhook would say something broke in the relay itself.
            telemetry.Delivery(route.Path, "store_failed", activity);
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "store_failed");
            logger.LogError("Could not store a webhook on {Route}; answered 503 so the sender retries: {Error}", route.Path, failure.Message);
            context.Response.Headers.RetryAfter = "5";
            await AnswerAsync(context, StatusCodes.Status503ServiceUnavailable, "The relay could not store this delivery; nothing was stored. Retry later.").ConfigureAwait(false);
            return;
        }
        telemetry.Delivery(route.Path, duplicate ? "duplicate" : "stored", activity);
        activity?.SetTag("runchat.relay.delivery_id", deliveryId);
        if (!duplicate)
        {
            signal.Notify();
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        await context.Response.WriteAsJsonAsync(new AcceptedAnswer(deliveryId, duplicate), RelayJson.Options, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The whole body, or null when it is larger than <paramref name="limit"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        if (request.ContentLength is { } length)
        {
            // Kestrel enforces the declared length, so the body ends exactly there.
            var exact = new byte[length];
            var filled = 0;
            while (filled < exact.Length)
            {
                var read = await request.Body.ReadAsync(exact.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }

            return filled == exact.Length ? exact : exact.AsSpan(0, filled).ToArray();
        }

        var buffer = new byte[Math.Min(limit + 1, 16 * 1024)];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, limit + 1L));
            }

            var read = await request.Body.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.AsSpan(0, total).ToArray();
            }

            total += read;
            if (total > limit)
            {
                return null;
            }
        }
    }

    private static Task AnswerAsync(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ErrorAnswer(error), RelayJson.Options, context.RequestAborted);
    }
}
