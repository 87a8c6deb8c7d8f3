using System;
using System.Collections.Generic;

namespace Runchat.Relay.Signatures;

/// <summary>A generic HMAC-SHA256 of the body, hex (optionally <c>sha256=</c>-prefixed) in a configured header.</summary>
internal sealed class HmacSha256Signature : WebhookSignature
{
    private readonly string _header;
    private readonly byte[] _key;

    public HmacSha256Signature(string header, string secret)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            throw new ArgumentException("The hmac-sha256 scheme needs a Header: the name of the header that carries the signature, such as X-Signature.");
        }

        _header = header;
        _key = RequireSecret(secret, "hmac-sha256");
    }

    public override string Name => "hmac-sha256";

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) =>
        new[] { Header(_header, "sha256=" + Convert.ToHexString(HmacSha256(_key, default, body)).ToLowerInvariant()) };

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var value = request.Header(_header);
        if (string.IsNullOrEmpty(value))
        {
            return WebhookVerification.Invalid($"the {_header} header is missing");
        }

        var hex = value.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase) ? value.AsSpan(7) : value.AsSpan();
        return HexEquals(HmacSha256(_key, default, request.Body.Span), hex)
            ? WebhookVerification.Valid()
            : WebhookVerification.Invalid($"the {_header} header does not match the body");
    }
}
