using System;
using System.Security.Cryptography;
using System.Text;
using Runchat.Relay.Signatures;

namespace Runchat.Relay;

/// <summary>
/// The one place that decides what makes two deliveries the same: only signed material, on a
/// signed route. A sender's unsigned header (GitHub's <c>X-GitHub-Delivery</c>, any
/// <c>Idempotency-Key</c>) never creates a second delivery of one signed body.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>standard-webhooks</term><description><c>id:</c> + <c>webhook-id</c> (part of the signed content)</description></item>
/// <item><term>stripe</term><description><c>id:</c> + the event's top-level <c>id</c> (in the signed body)</description></item>
/// <item><term>slack</term><description><c>id:</c> + <c>event_id</c> (in the signed body); without one, the body's hash</description></item>
/// <item><term>github, hmac-sha256</term><description><c>sha256:</c> + the body's hash; <c>X-GitHub-Delivery</c> is kept as a label</description></item>
/// <item><term>none</term><description><c>idempotency-key:</c> + the header when present, else the body's hash: nothing protects such a route</description></item>
/// </list>
/// An id longer than <see cref="MaxIdLength"/> characters is stored as its hash (a unique index entry
/// has a size limit); an id with a NUL or an unpaired surrogate is refused (no store can keep it).
/// </remarks>
internal static class DeliveryIdentity
{
    public const int MaxIdLength = 200;

    /// <summary>The dedupe key of a verified delivery, or why its id cannot be used (a 400).</summary>
    public static (string? Key, string? Error) KeyOf(WebhookSignature scheme, SignatureCheck check, string? idempotencyKey, ReadOnlySpan<byte> body)
    {
        if (check.SignedId is { Length: > 0 } signed)
        {
            return Key("id:", signed, $"signed {scheme.Name} delivery id");
        }

        if (ReferenceEquals(scheme, WebhookSignature.None) && idempotencyKey is { Length: > 0 } key)
        {
            return Key("idempotency-key:", key, "Idempotency-Key header");
        }

        return ("sha256:" + Hex(body), null);
    }

    /// <summary>An unsigned label fit to store and show: control characters dropped, at most <see cref="MaxIdLength"/> characters.</summary>
    public static string? Label(string? label)
    {
        if (string.IsNullOrWhiteSpace(label))
        {
            return null;
        }

        var clean = new StringBuilder(Math.Min(label!.Length, MaxIdLength));
        foreach (var c in label)
        {
            if (!char.IsControl(c) && !char.IsSurrogate(c) && clean.Length < MaxIdLength)
            {
                clean.Append(c);
            }
        }

        return clean.Length == 0 ? null : clean.ToString();
    }

    private static (string? Key, string? Error) Key(string prefix, string value, string what)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                return (null, $"the {what} contains a NUL character");
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return (null, $"the {what} is not valid text (it has an unpaired surrogate)");
            }
        }

        return value.Length <= MaxIdLength ? (prefix + value, null) : (prefix + "sha256:" + Hex(Encoding.UTF8.GetBytes(value)), null);
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
}
