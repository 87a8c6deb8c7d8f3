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
    /// <param name="scheme">The route's scheme.</param>
    /// <param name="verification">What verification found: a signed id from the headers, if any.</param>
    /// <param name="described">What the scheme found in the payload: a signed id from the body, if any.</param>
    /// <param name="idempotencyKey">The request's Idempotency-Key header: used on a <c>none</c> route only.</param>
    /// <param name="body">The stored payload, hashed when there is no signed id.</param>
    public static (string? Key, string? Error) KeyOf(WebhookScheme scheme, WebhookVerification verification, WebhookEvent described, string? idempotencyKey, ReadOnlySpan<byte> body)
    {
        if ((verification.SignedId ?? described.SignedId) is { Length: > 0 } signed)
        {
            return Key("id:", signed, $"signed {scheme.Name} delivery id");
        }

        if (ReferenceEquals(scheme, WebhookSignature.None) && idempotencyKey is { Length: > 0 } key)
        {
            return Key("idempotency-key:", key, "Idempotency-Key header");
        }

        return ("sha256:" + Hex(body), null);
    }

    /// <summary>
    /// The event name fit to store: at most <see cref="MaxEventLength"/> characters (a sender's longer text is cut),
    /// or why it cannot be stored (a NUL, which no PostgreSQL text keeps; an unpaired surrogate).
    /// </summary>
    public static (string? Name, string? Error) EventName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return (null, null);
        }

        var kept = name.Length > MaxEventLength ? name.Substring(0, char.IsHighSurrogate(name[MaxEventLength - 1]) ? MaxEventLength - 1 : MaxEventLength) : name;
        return TextError(kept, "event name") is { } error ? (null, error) : (kept, null);
    }

    /// <summary>The longest event name kept; a sender's longer text is cut.</summary>
    public const int MaxEventLength = 200;

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

    private static (string? Key, string? Error) Key(string prefix, string value, string what) =>
        TextError(value, what) is { } error ? (null, error)
        : value.Length <= MaxIdLength ? (prefix + value, null)
        : (prefix + "sha256:" + Hex(Encoding.UTF8.GetBytes(value)), null);

    /// <summary>Why <paramref name="value"/> cannot be kept as text in every store, or null.</summary>
    private static string? TextError(string value, string what)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                return $"the {what} contains a NUL character";
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return $"the {what} is not valid text (it has an unpaired surrogate)";
            }
        }

        return null;
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
}
