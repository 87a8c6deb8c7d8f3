using System;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;

namespace Runchat.Relay.Signatures;

/// <summary>
/// Stripe: <c>Stripe-Signature: t=&lt;unix&gt;,v1=&lt;hex&gt;[,v1=…]</c> over <c>t.body</c>; the secret's text is the key.
/// The event's top-level <c>id</c> (inside the signed body) tells deliveries apart; its <c>type</c> is the event name.
/// </summary>
internal sealed class StripeSignature : WebhookSignature
{
    private readonly byte[] _key;

    public StripeSignature(string secret) => _key = RequireSecret(secret, "stripe");

    public override string Name => "stripe";

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId)
    {
        var timestamp = now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mac = HmacSha256(_key, Encoding.UTF8.GetBytes(timestamp + "."), body);
        return new[] { Header("Stripe-Signature", $"t={timestamp},v1={Convert.ToHexString(mac).ToLowerInvariant()}") };
    }

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var header = request.Header("Stripe-Signature");
        if (string.IsNullOrEmpty(header))
        {
            return WebhookVerification.Invalid("the Stripe-Signature header is missing");
        }

        string? timestamp = null;
        foreach (var part in header.Split(','))
        {
            if (part.StartsWith("t=", StringComparison.Ordinal))
            {
                timestamp = part.Substring(2);
            }
        }

        if (CheckTimestamp(timestamp, request.Now, request.Tolerance, "Stripe-Signature t= header") is { } timestampError)
        {
            return WebhookVerification.Invalid(timestampError);
        }

        var expected = HmacSha256(_key, Encoding.UTF8.GetBytes(timestamp + "."), request.Body.Span);
        foreach (var part in header.Split(','))
        {
            if (part.StartsWith("v1=", StringComparison.Ordinal) && HexEquals(expected, part.AsSpan(3)))
            {
                return WebhookVerification.Valid();
            }
        }

        return WebhookVerification.Invalid("no v1 signature in Stripe-Signature matches the body");
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload) =>
        WebhookEvent.Named(StringProperty(payload, "type"), signedId: StringProperty(payload, "id"));
}
