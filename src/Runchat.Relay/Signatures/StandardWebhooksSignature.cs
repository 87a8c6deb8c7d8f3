using System;
using System.Collections.Generic;
using System.Text;

namespace Runchat.Relay.Signatures;

/// <summary>
/// Standard Webhooks: <c>webhook-signature: v1,&lt;base64&gt; v1,&lt;base64&gt;</c> over <c>id.timestamp.body</c>.
/// <c>webhook-id</c> is signed, so it tells deliveries apart; the event name is the body's <c>type</c>.
/// </summary>
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

        // The prefix is optional: a bare base64 key, as some senders show it, is the same key.
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

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId)
    {
        var timestamp = now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mac = HmacSha256(_key, Encoding.UTF8.GetBytes($"{deliveryId}.{timestamp}."), body);
        return new[] { Header("webhook-id", deliveryId), Header("webhook-timestamp", timestamp), Header("webhook-signature", "v1," + Convert.ToBase64String(mac)) };
    }

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var id = request.Header("webhook-id");
        var signatures = request.Header("webhook-signature");
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(signatures))
        {
            return WebhookVerification.Invalid("the webhook-id or webhook-signature header is missing");
        }

        var timestamp = request.Header("webhook-timestamp");
        if (CheckTimestamp(timestamp, request.Now, request.Tolerance, "webhook-timestamp header") is { } timestampError)
        {
            return WebhookVerification.Invalid(timestampError);
        }

        var expected = HmacSha256(_key, Encoding.UTF8.GetBytes($"{id}.{timestamp}."), request.Body.Span);
        foreach (var entry in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            // Constant time per candidate; which candidate matched is not secret.
            if (entry.StartsWith("v1,", StringComparison.Ordinal) && Base64Equals(expected, entry.AsSpan(3)))
            {
                return WebhookVerification.Valid(id);
            }
        }

        return WebhookVerification.Invalid("no v1 signature in webhook-signature matches the body");
    }
}
