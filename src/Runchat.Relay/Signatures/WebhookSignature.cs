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

    /// <summary>
    /// GitLab (<c>X-Gitlab-Token</c>): the webhook's secret token, sent as it is and compared in constant time. The
    /// token is not a signature over the body, so the body's hash tells deliveries apart; <c>X-Gitlab-Event-UUID</c> is a
    /// label. The event name is the body's <c>object_kind</c>, with <c>object_attributes.action</c> after a dot when it has one.
    /// </summary>
    /// <param name="secret">The webhook's secret token.</param>
    /// <exception cref="ArgumentException">The token is missing or too short.</exception>
    public static WebhookSignature GitLab(string secret) => new GitLabSignature(secret);

    /// <summary>
    /// Shopify (<c>X-Shopify-Hmac-Sha256</c>): base64 HMAC-SHA256 of the body with the app's client secret. The event
    /// name is <c>X-Shopify-Topic</c> (<c>orders/create</c>), checked against the body; <c>X-Shopify-Webhook-Id</c> is a label.
    /// </summary>
    /// <param name="secret">The app's client secret (or the store's webhook signing secret).</param>
    /// <exception cref="ArgumentException">The secret is missing or too short.</exception>
    public static WebhookSignature Shopify(string secret) => new ShopifySignature(secret);

    /// <summary>
    /// Linear (<c>Linear-Signature</c>): hex HMAC-SHA256 of the body; the body's <c>webhookTimestamp</c> (milliseconds)
    /// must be within the tolerance. The event name is <c>type.action</c> (<c>Issue.create</c>).
    /// </summary>
    /// <param name="secret">The webhook's signing secret.</param>
    /// <exception cref="ArgumentException">The secret is missing or too short.</exception>
    public static WebhookSignature Linear(string secret) => new LinearSignature(secret);

    /// <summary>
    /// Twilio (<c>X-Twilio-Signature</c>): base64 HMAC-SHA1 of the full URL followed by the form's parameters sorted by
    /// name, each name then its value. Form bodies are stored as one JSON object.
    /// </summary>
    /// <param name="authToken">The account's auth token.</param>
    /// <param name="publicUrl">The URL Twilio posts to, when the relay sees another (behind a proxy); the request's query is added to it.</param>
    /// <exception cref="ArgumentException">The token is missing or too short, or the URL is not absolute http(s).</exception>
    public static WebhookSignature Twilio(string authToken, Uri? publicUrl = null) => new TwilioSignature(authToken, publicUrl);

    /// <summary>
    /// PagerDuty (<c>X-PagerDuty-Signature: v1=&lt;hex&gt;[,v1=…]</c>): HMAC-SHA256 of the body; several signatures while a
    /// secret rotates. The event's <c>event.id</c> (in the signed body) tells deliveries apart; <c>event.event_type</c> names it.
    /// </summary>
    /// <param name="secret">The webhook subscription's secret.</param>
    /// <exception cref="ArgumentException">The secret is missing or too short.</exception>
    public static WebhookSignature PagerDuty(string secret) => new PagerDutySignature(secret);

    /// <summary>
    /// Discord interactions (<c>X-Signature-Ed25519</c>, <c>X-Signature-Timestamp</c>): Ed25519 over the timestamp and the body
    /// with the application's public key. <c>PING</c> is answered <c>{"type":1}</c> and not stored; a command, a component or
    /// a modal is answered with a deferred response at once and stored; the interaction's <c>id</c> tells deliveries apart.
    /// </summary>
    /// <param name="publicKey">The application's public key, 64 hex characters (the Developer Portal's "Public Key").</param>
    /// <exception cref="ArgumentException">The key is missing, not 32 bytes of hex, or not a point on the curve.</exception>
    public static WebhookSignature Discord(string publicKey) => new DiscordSignature(publicKey);

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
