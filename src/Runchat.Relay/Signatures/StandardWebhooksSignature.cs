using System;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Runchat.Relay.Signatures;

/// <summary>Standard Webhooks: <c>webhook-signature: v1,&lt;base64&gt; v1,&lt;base64&gt;</c> over <c>id.timestamp.body</c>.</summary>
internal sealed class StandardWebhooksSignature : WebhookSignature
{
    private const string Prefix = "whsec_";

    /// <summary>The shortest key (decoded) accepted: the Standard Webhooks specification's minimum.</summary>
    internal const int MinimumKeyBytes = 24;
    private readonly byte[] _key;

    public StandardWebhooksSignature(string secret)
    {
        if (string.IsNullOrWhiteSpace(secret))
        {
            throw new ArgumentException("The standard-webhooks scheme needs a Secret, such as whsec_... (set it from an environment variable or a secret store).");
        }

        var base64 = secret.StartsWith(Prefix, StringComparison.Ordinal) ? secret.Substring(Prefix.Length) : secret;
        try
        {
            _key = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new ArgumentException("The standard-webhooks Secret must be whsec_ followed by base64, as the sender shows it.");
        }

        // The specification's secrets are 24 to 64 bytes. "whsec_" alone decodes to no key at all,
        // with which anyone can sign; a 1-byte key falls to 256 signatures in one request.
        if (_key.Length < MinimumKeyBytes)
        {
            throw new ArgumentException(
                $"The standard-webhooks Secret decodes to {_key.Length} bytes; the specification's secrets are {MinimumKeyBytes} to 64, " +
                "and a shorter one can be guessed. Use the whsec_ secret the sender shows.");
        }
    }

    public override string Name => "standard-webhooks";

    internal override (string Name, string Value)[] Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId)
    {
        var timestamp = now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mac = Hmac(_key, Encoding.UTF8.GetBytes($"{deliveryId}.{timestamp}."), body);
        return new[] { ("webhook-id", deliveryId), ("webhook-timestamp", timestamp), ("webhook-signature", "v1," + Convert.ToBase64String(mac)) };
    }

    internal override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        var id = Header(headers, "webhook-id");
        var signatures = Header(headers, "webhook-signature");
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(signatures))
        {
            return SignatureCheck.Invalid("the webhook-id or webhook-signature header is missing");
        }

        var timestampText = Header(headers, "webhook-timestamp");
        if (CheckTimestamp(timestampText, now, tolerance, "webhook-timestamp", out _) is { } timestampError)
        {
            return SignatureCheck.Invalid(timestampError);
        }

        var expected = Hmac(_key, Encoding.UTF8.GetBytes($"{id}.{timestampText}."), body);
        Span<byte> decoded = stackalloc byte[64];
        foreach (var entry in signatures!.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            // Constant time per candidate; which candidate matched is not secret.
            if (entry.StartsWith("v1,", StringComparison.Ordinal)
                && Convert.TryFromBase64String(entry.Substring(3), decoded, out var written)
                && written == expected.Length
                && CryptographicOperations.FixedTimeEquals(expected, decoded[..written]))
            {
                return SignatureCheck.Valid(id);
            }
        }

        return SignatureCheck.Invalid("no v1 signature in webhook-signature matches the body");
    }
}
