using System;
using Microsoft.AspNetCore.Http;

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

    internal override (string Name, string Value)[] Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) =>
        new[] { (_header, "sha256=" + Convert.ToHexString(Hmac(_key, default, body)).ToLowerInvariant()) };

    internal override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        var value = Header(headers, _header);
        if (string.IsNullOrEmpty(value))
        {
            return SignatureCheck.Invalid($"the {_header} header is missing");
        }

        var hex = value!.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase) ? value.AsSpan(7) : value.AsSpan();
        return HexEquals(Hmac(_key, default, body), hex)
            ? SignatureCheck.Valid()
            : SignatureCheck.Invalid($"the {_header} header does not match the body");
    }
}
