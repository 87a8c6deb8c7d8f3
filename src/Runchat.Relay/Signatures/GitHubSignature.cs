using System;
using Microsoft.AspNetCore.Http;

namespace Runchat.Relay.Signatures;

/// <summary>
/// GitHub: <c>X-Hub-Signature-256: sha256=&lt;hex&gt;</c> over the body. <c>X-GitHub-Delivery</c> is not signed, so it
/// is only a label: the body's hash tells deliveries apart (a copy with a fresh header is the same delivery).
/// </summary>
internal sealed class GitHubSignature : WebhookSignature
{
    private readonly byte[] _key;

    public GitHubSignature(string secret) => _key = RequireSecret(secret, "github");

    public override string Name => "github";

    internal override (string Name, string Value)[] Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) =>
        new[] { ("X-Hub-Signature-256", "sha256=" + Convert.ToHexString(Hmac(_key, default, body)).ToLowerInvariant()), ("X-GitHub-Delivery", deliveryId) };

    internal override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        var header = Header(headers, "X-Hub-Signature-256");
        if (header is null || !header.StartsWith("sha256=", StringComparison.Ordinal))
        {
            return SignatureCheck.Invalid("the X-Hub-Signature-256 header is missing or not sha256=<hex>");
        }

        return HexEquals(Hmac(_key, default, body), header.AsSpan("sha256=".Length))
            ? SignatureCheck.Valid(signedId: null, label: Header(headers, "X-GitHub-Delivery"))
            : SignatureCheck.Invalid("X-Hub-Signature-256 does not match the body");
    }
}
