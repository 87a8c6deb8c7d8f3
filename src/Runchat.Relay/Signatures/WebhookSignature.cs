using System;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Runchat.Relay.Signatures;

/// <summary>
/// How a route's senders sign their webhooks. Every scheme verifies over the raw request bytes and
/// compares in constant time; schemes that sign a timestamp refuse one outside the tolerance.
/// </summary>
/// <remarks>The secret is never shown: <see cref="ToString"/> names the scheme only.</remarks>
public abstract class WebhookSignature
{
    private protected WebhookSignature()
    {
    }

    /// <summary>No signature: anyone who can reach the route can trigger the job. For trusted networks and tests.</summary>
    public static WebhookSignature None { get; } = new NoSignature();

    /// <summary>The scheme's name as configuration spells it (<c>stripe</c>, <c>standard-webhooks</c>, ...).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Standard Webhooks (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature</c>): HMAC-SHA256 of
    /// <c>id.timestamp.body</c>; several <c>v1,</c> signatures in the header, so keys can rotate. The delivery
    /// id is <c>webhook-id</c>.
    /// </summary>
    /// <param name="secret">The <c>whsec_</c>-prefixed base64 secret (the prefix is optional).</param>
    /// <exception cref="ArgumentException">The secret is missing or not base64.</exception>
    public static WebhookSignature StandardWebhooks(string secret) => new StandardWebhooksSignature(secret);

    /// <summary>Stripe (<c>Stripe-Signature: t=…,v1=…</c>): HMAC-SHA256 of <c>t.body</c>. The delivery id is the event's <c>id</c>.</summary>
    /// <param name="secret">The endpoint's signing secret, <c>whsec_…</c>, used as Stripe uses it (its text).</param>
    /// <exception cref="ArgumentException">The secret is missing.</exception>
    public static WebhookSignature Stripe(string secret) => new StripeSignature(secret);

    /// <summary>GitHub (<c>X-Hub-Signature-256: sha256=…</c>): HMAC-SHA256 of the body. The delivery id is <c>X-GitHub-Delivery</c>.</summary>
    /// <param name="secret">The webhook's secret.</param>
    /// <exception cref="ArgumentException">The secret is missing.</exception>
    public static WebhookSignature GitHub(string secret) => new GitHubSignature(secret);

    /// <summary>Slack (<c>X-Slack-Request-Timestamp</c>, <c>X-Slack-Signature: v0=…</c>): HMAC-SHA256 of <c>v0:timestamp:body</c>.</summary>
    /// <param name="secret">The app's signing secret.</param>
    /// <exception cref="ArgumentException">The secret is missing.</exception>
    public static WebhookSignature Slack(string secret) => new SlackSignature(secret);

    /// <summary>A generic HMAC-SHA256 of the body, hex (optionally prefixed <c>sha256=</c>) in <paramref name="headerName"/>.</summary>
    /// <param name="headerName">The header that carries the signature, such as <c>X-Signature</c>.</param>
    /// <param name="secret">The shared secret.</param>
    /// <exception cref="ArgumentException">The header name or the secret is missing.</exception>
    public static WebhookSignature HmacSha256(string headerName, string secret) => new HmacSha256Signature(headerName, secret);

    /// <inheritdoc />
    public sealed override string ToString() => Name;

    /// <summary>Builds the scheme named in configuration.</summary>
    /// <exception cref="ArgumentException">The scheme is unknown, or its secret or header is missing.</exception>
    internal static WebhookSignature FromConfiguration(string? scheme, string? secret, string? header) => scheme?.Trim().ToLowerInvariant() switch
    {
        "none" => None,
        "standard-webhooks" or "standardwebhooks" => StandardWebhooks(secret!),
        "stripe" => Stripe(secret!),
        "github" => GitHub(secret!),
        "slack" => Slack(secret!),
        "hmac-sha256" or "hmacsha256" => HmacSha256(header!, secret!),
        null or "" => throw new ArgumentException("Signature is required: standard-webhooks, stripe, github, slack, hmac-sha256 or none."),
        _ => throw new ArgumentException($"Signature '{scheme}' is not known: use standard-webhooks, stripe, github, slack, hmac-sha256 or none."),
    };

    /// <summary>The headers a sender of this scheme would send with <paramref name="body"/>: for <c>runchat-job relay sign</c> and tests.</summary>
    internal abstract (string Name, string Value)[] Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId);

    /// <summary>Checks one request. Never throws for bad input: a bad signature is a result.</summary>
    internal abstract SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance);

    /// <summary>The shortest secret an HMAC scheme accepts, in bytes: a shorter one can be guessed.</summary>
    internal const int MinimumSecretBytes = 16;

    private protected static byte[] RequireSecret(string? secret, string scheme)
    {
        if (string.IsNullOrWhiteSpace(secret))
        {
            throw new ArgumentException($"The {scheme} scheme needs a Secret (set it from an environment variable or a secret store).");
        }

        var key = Encoding.UTF8.GetBytes(secret);
        if (key.Length < MinimumSecretBytes)
        {
            throw new ArgumentException(
                $"The {scheme} Secret is {key.Length} bytes; at least {MinimumSecretBytes} are needed for a signature to protect anything. " +
                "Use the secret the sender generated, or generate one (openssl rand -hex 32).");
        }

        return key;
    }

    /// <summary>
    /// Secrets published in this project's README and samples: anyone can sign with them. The relay
    /// starts with one (the samples must work offline), and warns, naming the route.
    /// </summary>
    internal static bool IsPublishedSample(string? secret) =>
        secret is "whsec_c2FuZGJveC1mb3Jtcy1zZWNyZXQtY2hhbmdlLW1l" or "sandbox-github-secret-change-me";

    /// <summary>
    /// A top-level string of a JSON object body (Stripe's <c>id</c>, Slack's <c>event_id</c>), or null
    /// when the body has none; a signed check of a body that names an id it cannot read is a 400.
    /// </summary>
    private protected static SignatureCheck WithBodyId(ReadOnlySpan<byte> body, ReadOnlySpan<byte> name, string what)
    {
        var reader = new System.Text.Json.Utf8JsonReader(body, new System.Text.Json.JsonReaderOptions { MaxDepth = 256 });
        try
        {
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject)
            {
                return SignatureCheck.Valid();
            }

            while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals(name);
                reader.Read();
                if (isId && reader.TokenType == System.Text.Json.JsonTokenType.String)
                {
                    try
                    {
                        return SignatureCheck.Valid(reader.GetString());
                    }
                    catch (InvalidOperationException)
                    {
                        return SignatureCheck.BadIdentity($"the {what} is not valid text (it has a broken escape, such as a lone surrogate)");
                    }
                }

                reader.Skip();
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not JSON: the ingest's body check answers it.
        }

        return SignatureCheck.Valid();
    }

    private protected static string? Header(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    /// <summary>Refuses a missing, unparsable or out-of-tolerance unix timestamp.</summary>
    private protected static string? CheckTimestamp(string? text, DateTimeOffset now, TimeSpan tolerance, string header, out long seconds)
    {
        seconds = 0;
        if (text is null)
        {
            return $"the {header} header is missing";
        }

        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out seconds))
        {
            return $"the {header} header is not a unix timestamp";
        }

        var age = now - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, -62135596800L, 253402300799L));
        return age.Duration() > tolerance
            ? $"the signed timestamp is {Math.Abs(age.TotalSeconds):0} s from the relay's clock, more than the {tolerance.TotalSeconds:0} s tolerance"
            : null;
    }

    /// <summary>HMAC-SHA256 of the parts, written one after another.</summary>
    private protected static byte[] Hmac(byte[] key, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(prefix);
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }

    /// <summary>Constant-time comparison of an expected MAC with a hex string from a header.</summary>
    private protected static bool HexEquals(byte[] expected, ReadOnlySpan<char> hex)
    {
        if (hex.Length != expected.Length * 2)
        {
            return false;
        }

        byte[] actual;
        try
        {
            actual = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    private sealed class NoSignature : WebhookSignature
    {
        public override string Name => "none";

        internal override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance) => SignatureCheck.Valid();

        internal override (string Name, string Value)[] Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) => Array.Empty<(string, string)>();
    }
}

/// <summary>
/// The outcome of a signature check: valid or why not; for a valid one, the delivery's identity as
/// far as signed material gives one (<see cref="SignedId"/>), and a label the sender gave without
/// signing it (<see cref="Label"/>: shown, never used to tell deliveries apart).
/// </summary>
/// <param name="IsValid">The signature matched.</param>
/// <param name="Error">Why it did not, in words.</param>
/// <param name="SignedId">An id covered by the signature (Standard Webhooks' webhook-id, Stripe's event id, Slack's event_id), or null: the body's hash is the identity.</param>
/// <param name="Label">The sender's own delivery id where it is not signed (GitHub's X-GitHub-Delivery).</param>
/// <param name="IdentityError">The signed id is present but unusable (not valid text): a 400.</param>
internal readonly record struct SignatureCheck(bool IsValid, string? Error, string? SignedId, string? Label = null, string? IdentityError = null)
{
    public static SignatureCheck Valid(string? signedId = null, string? label = null) => new(true, null, signedId, label);

    public static SignatureCheck Invalid(string error) => new(false, error, null);

    public static SignatureCheck BadIdentity(string error) => new(true, null, null, null, error);
}
