using System;
using System.Collections.Generic;
using System.Text.Json;

namespace Runchat.Relay.Signatures;

/// <summary>
/// PagerDuty (webhooks v3): <c>X-PagerDuty-Signature: v1=&lt;hex&gt;[,v1=&lt;hex&gt;…]</c>, each the HMAC-SHA256 of the body
/// with one of the subscription's secrets (several while a secret rotates); one match is enough.
/// </summary>
/// <remarks>
/// The payload is <c>{"event": {"id", "event_type", "resource_type", "occurred_at", "data"}}</c>: <c>event.id</c>, inside the
/// signed body, tells deliveries apart; <c>event.event_type</c> (<c>incident.triggered</c>) is the event name.
/// <c>X-Webhook-Id</c> is a label.
/// </remarks>
internal sealed class PagerDutySignature : WebhookSignature
{
    private readonly byte[] _key;

    public PagerDutySignature(string secret) => _key = RequireSecret(secret, "pagerduty");

    public override string Name => "pagerduty";

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) => new[]
    {
        Header("X-PagerDuty-Signature", "v1=" + Convert.ToHexString(HmacSha256(_key, default, body)).ToLowerInvariant()),
        Header("X-Webhook-Id", deliveryId),
    };

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var header = request.Header("X-PagerDuty-Signature");
        if (string.IsNullOrEmpty(header))
        {
            return WebhookVerification.Invalid("the X-PagerDuty-Signature header is missing");
        }

        var expected = HmacSha256(_key, default, request.Body.Span);
        var versioned = false;
        foreach (var part in header.Split(','))
        {
            var signature = part.AsSpan().Trim();
            if (signature.StartsWith("v1=", StringComparison.Ordinal))
            {
                versioned = true;
                if (HexEquals(expected, signature[3..]))
                {
                    return WebhookVerification.Valid(signedId: null, label: request.Header("X-Webhook-Id"));
                }
            }
        }

        return WebhookVerification.Invalid(versioned
            ? "no v1 signature in X-PagerDuty-Signature matches the body"
            : "X-PagerDuty-Signature has no v1=<hex> signature");
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload)
    {
        // StringProperty reads only objects: an "event" that is not one names nothing.
        var inner = payload.TryGetProperty("event", out var member) ? member : default;
        return WebhookEvent.Named(StringProperty(inner, "event_type"), signedId: StringProperty(inner, "id"));
    }
}
