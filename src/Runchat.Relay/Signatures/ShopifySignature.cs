using System;
using System.Collections.Generic;
using System.Text.Json;

namespace Runchat.Relay.Signatures;

/// <summary>
/// Shopify: <c>X-Shopify-Hmac-Sha256</c> is the base64 HMAC-SHA256 of the body, keyed with the app's client secret.
/// </summary>
/// <remarks>
/// Only the body is signed. <c>X-Shopify-Webhook-Id</c> is a label, and the body's hash tells deliveries apart (Shopify
/// retries a delivery with the same body). The event name is <c>X-Shopify-Topic</c> (<c>orders/create</c>); the topic is
/// not signed either, so for the resources in <see cref="Subjects"/> a body that lacks what every payload of its topic
/// has is refused (400), and the same bytes under another topic are a duplicate of their first delivery anyway.
/// </remarks>
internal sealed class ShopifySignature : WebhookSignature
{
    /// <summary>A member every payload of a resource's topics has (its <c>delete</c> topics send only the <c>id</c>).</summary>
    internal static readonly IReadOnlyDictionary<string, string> Subjects = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["orders"] = "line_items",
        ["draft_orders"] = "line_items",
        ["checkouts"] = "line_items",
        ["carts"] = "line_items",
        ["products"] = "variants",
        ["fulfillments"] = "order_id",
        ["refunds"] = "order_id",
        ["app"] = "myshopify_domain",
        ["shop"] = "myshopify_domain",
    };

    private readonly byte[] _key;

    public ShopifySignature(string secret) => _key = RequireSecret(secret, "shopify");

    public override string Name => "shopify";

    public override string? EventHeader => "X-Shopify-Topic";

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) => new[]
    {
        Header("X-Shopify-Hmac-Sha256", Convert.ToBase64String(HmacSha256(_key, default, body))),
        Header("X-Shopify-Webhook-Id", deliveryId),
    };

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var header = request.Header("X-Shopify-Hmac-Sha256");
        if (string.IsNullOrEmpty(header))
        {
            return WebhookVerification.Invalid("the X-Shopify-Hmac-Sha256 header is missing");
        }

        return Base64Equals(HmacSha256(_key, default, request.Body.Span), header)
            ? WebhookVerification.Valid(signedId: null, label: request.Header("X-Shopify-Webhook-Id"))
            : WebhookVerification.Invalid("X-Shopify-Hmac-Sha256 does not match the body");
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload)
    {
        var topic = request.Header(EventHeader!);
        if (string.IsNullOrWhiteSpace(topic))
        {
            return WebhookEvent.Named(null);
        }

        var slash = topic.IndexOf('/', StringComparison.Ordinal);
        var resource = slash < 0 ? topic : topic.Substring(0, slash);
        var member = topic.EndsWith("/delete", StringComparison.Ordinal) ? "id" : Subjects.TryGetValue(resource, out var subject) ? subject : null;
        return member is not null && !payload.TryGetProperty(member, out _)
            ? WebhookEvent.Refused($"X-Shopify-Topic says '{topic}', but the body has no '{member}', which every {topic} payload has")
            : WebhookEvent.Named(topic);
    }
}
