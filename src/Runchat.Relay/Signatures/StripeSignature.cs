using System;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Runchat.Relay.Signatures;

/// <summary>Stripe: <c>Stripe-Signature: t=&lt;unix&gt;,v1=&lt;hex&gt;[,v1=…]</c> over <c>t.body</c>; the secret's text is the key.</summary>
internal sealed class StripeSignature : WebhookSignature
{
    private readonly byte[] _key;

    public StripeSignature(string secret) => _key = RequireSecret(secret, "stripe");

    public override string Name => "stripe";

    internal override (string Name, string Value)[] Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId)
    {
        var timestamp = now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mac = Hmac(_key, Encoding.UTF8.GetBytes(timestamp + "."), body);
        return new[] { ("Stripe-Signature", $"t={timestamp},v1={Convert.ToHexString(mac).ToLowerInvariant()}") };
    }

    internal override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        var header = Header(headers, "Stripe-Signature");
        if (string.IsNullOrEmpty(header))
        {
            return SignatureCheck.Invalid("the Stripe-Signature header is missing");
        }

        string? timestamp = null;
        foreach (var part in header!.Split(','))
        {
            if (part.StartsWith("t=", StringComparison.Ordinal))
            {
                timestamp = part.Substring(2);
            }
        }

        if (CheckTimestamp(timestamp, now, tolerance, "Stripe-Signature t=", out _) is { } timestampError)
        {
            return SignatureCheck.Invalid(timestampError);
        }

        var expected = Hmac(_key, Encoding.UTF8.GetBytes(timestamp + "."), body);
        foreach (var part in header.Split(','))
        {
            if (part.StartsWith("v1=", StringComparison.Ordinal) && HexEquals(expected, part.AsSpan(3)))
            {
                return WithBodyId(body, "id"u8, "event id");
            }
        }

        return SignatureCheck.Invalid("no v1 signature in Stripe-Signature matches the body");
    }
}
