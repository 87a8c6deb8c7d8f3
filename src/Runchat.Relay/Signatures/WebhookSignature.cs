using System;
using System.Collections.Generic;
using System.Text.Json;

namespace Runchat.Relay.Signatures;

/// <summary>
/// The built-in webhook schemes. Every one verifies over the raw request bytes and compares in constant
/// time; those that sign a timestamp refuse one outside the tolerance.
/// </summary>
/// <remarks>The secret is never shown: <see cref="WebhookScheme.ToString"/> names the scheme only.</remarks>
public abstract class WebhookSignature : WebhookScheme
{
    private protected WebhookSignature()
    {
    }

    /// <summary>No signature: anyone who can reach the route can trigger the job. For trusted networks and tests.</summary>
    public static WebhookSignature None { get; } = new NoSignature();

    /// <summary>
    /// Standard Webhooks (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature</c>): HMAC-SHA256 of
    /// <c>id.timestamp.body</c>; several <c>v1,</c> signatures in the header, so keys can rotate. The delivery
    /// id is <c>webhook-id</c>.
    /// </summary>
    /// <param name="secret">The <c>whsec_</c>-prefixed base64 secret (the prefix is optional).</param>
    /// <exception cref="ArgumentException">The secret is missing, not base64, or shorter than 24 bytes.</exception>
    public static WebhookSignature StandardWebhooks(string secret) => new StandardWebhooksSignature(secret);

    /// <summary>Stripe (<c>Stripe-Signature: t=…,v1=…</c>): HMAC-SHA256 of <c>t.body</c>. The delivery id is the event's <c>id</c>.</summary>
    /// <param name="secret">The endpoint's signing secret, <c>whsec_…</c>, used as Stripe uses it (its text).</param>
    /// <exception cref="ArgumentException">The secret is missing or too short.</exception>
    public static WebhookSignature Stripe(string secret) => new StripeSignature(secret);

    /// <summary>
    /// GitHub (<c>X-Hub-Signature-256: sha256=…</c>): HMAC-SHA256 of the body. <c>X-GitHub-Delivery</c> is not signed,
    /// so it is a label; the body's hash tells deliveries apart.
    /// </summary>
    /// <param name="secret">The webhook's secret.</param>
    /// <exception cref="ArgumentException">The secret is missing or too short.</exception>
    public static WebhookSignature GitHub(string secret) => new GitHubSignature(secret);

    /// <summary>Slack (<c>X-Slack-Request-Timestamp</c>, <c>X-Slack-Signature: v0=…</c>): HMAC-SHA256 of <c>v0:timestamp:body</c>.</summary>
    /// <param name="secret">The app's signing secret.</param>
    /// <exception cref="ArgumentException">The secret is missing or too short.</exception>
    public static WebhookSignature Slack(string secret) => new SlackSignature(secret);

    /// <summary>A generic HMAC-SHA256 of the body, hex (optionally prefixed <c>sha256=</c>) in <paramref name="headerName"/>.</summary>
    /// <param name="headerName">The header that carries the signature, such as <c>X-Signature</c>.</param>
    /// <param name="secret">The shared secret.</param>
    /// <exception cref="ArgumentException">The header name or the secret is missing, or the secret is too short.</exception>
    public static WebhookSignature HmacSha256(string headerName, string secret) => new HmacSha256Signature(headerName, secret);

    /// <summary>The names of the built-in schemes, as configuration spells them.</summary>
    internal static IReadOnlyList<string> BuiltInNames { get; } = new[] { "standard-webhooks", "stripe", "github", "slack", "hmac-sha256", "none" };

    /// <summary>Builds the built-in scheme named in configuration.</summary>
    /// <exception cref="ArgumentException">The scheme is unknown, or its secret or header is missing.</exception>
    internal static WebhookSignature FromConfiguration(string? scheme, string? secret, string? header) => scheme?.Trim().ToLowerInvariant() switch
    {
        "none" => None,
        "standard-webhooks" or "standardwebhooks" => StandardWebhooks(secret!),
        "stripe" => Stripe(secret!),
        "github" => GitHub(secret!),
        "slack" => Slack(secret!),
        "hmac-sha256" or "hmacsha256" => HmacSha256(header!, secret!),
        null or "" => throw new ArgumentException("Signature is required: " + string.Join(", ", BuiltInNames) + "."),
        _ => throw new ArgumentException($"Signature '{scheme}' is not known: use {string.Join(", ", BuiltInNames)}."),
    };

    /// <summary>
    /// Secrets published in this project's README and samples: anyone can sign with them. The relay
    /// starts with one (the samples must work offline), and warns, naming the route.
    /// </summary>
    internal static bool IsPublishedSample(string? secret) =>
        secret is "whsec_c2FuZGJveC1mb3Jtcy1zZWNyZXQtY2hhbmdlLW1l" or "sandbox-github-secret-change-me";

    /// <summary>One header of a signed request, as <see cref="WebhookScheme.Sign"/> returns them.</summary>
    private protected static KeyValuePair<string, string> Header(string name, string value) => new(name, value);

    private sealed class NoSignature : WebhookSignature
    {
        public override string Name => "none";

        public override WebhookVerification Verify(WebhookRequest request) => WebhookVerification.Valid();

        public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) =>
            Array.Empty<KeyValuePair<string, string>>();
    }
}
