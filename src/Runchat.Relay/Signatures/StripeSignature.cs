using System;
using System.Text;
using System.Text.Json;
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
                return SignatureCheck.Valid(EventId(body));
            }
        }

        return SignatureCheck.Invalid("no v1 signature in Stripe-Signature matches the body");
    }

    /// <summary>The event's top-level <c>id</c> (<c>evt_…</c>): Stripe re-sends an event with the same id.</summary>
    private static string? EventId(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString();
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }
}
