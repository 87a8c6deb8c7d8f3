using System;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Runchat.Relay.Signatures;

/// <summary>Slack: <c>X-Slack-Signature: v0=&lt;hex&gt;</c> over <c>v0:&lt;X-Slack-Request-Timestamp&gt;:body</c>.</summary>
internal sealed class SlackSignature : WebhookSignature
{
    private readonly byte[] _key;

    public SlackSignature(string secret) => _key = RequireSecret(secret, "slack");

    public override string Name => "slack";

    internal override (string Name, string Value)[] Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId)
    {
        var timestamp = now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mac = Hmac(_key, Encoding.UTF8.GetBytes($"v0:{timestamp}:"), body);
        return new[] { ("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", "v0=" + Convert.ToHexString(mac).ToLowerInvariant()) };
    }

    internal override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        var signature = Header(headers, "X-Slack-Signature");
        if (signature is null || !signature.StartsWith("v0=", StringComparison.Ordinal))
        {
            return SignatureCheck.Invalid("the X-Slack-Signature header is missing or not v0=<hex>");
        }

        var timestamp = Header(headers, "X-Slack-Request-Timestamp");
        if (CheckTimestamp(timestamp, now, tolerance, "X-Slack-Request-Timestamp", out _) is { } timestampError)
        {
            return SignatureCheck.Invalid(timestampError);
        }

        return HexEquals(Hmac(_key, Encoding.UTF8.GetBytes($"v0:{timestamp}:"), body), signature.AsSpan(3))
            ? WithBodyId(body, "event_id"u8, "event_id")
            : SignatureCheck.Invalid("X-Slack-Signature does not match the body");
    }
}
