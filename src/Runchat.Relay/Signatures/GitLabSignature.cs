using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Runchat.Relay.Signatures;

/// <summary>
/// GitLab: <c>X-Gitlab-Token</c> carries the webhook's secret token itself, compared in constant time (over the
/// SHA-256 of each, so the comparison does not reveal the token's length either).
/// </summary>
/// <remarks>
/// The token proves the request came from someone who knows it, but signs nothing: the body's hash tells deliveries
/// apart, and <c>X-Gitlab-Event-UUID</c> is a label. The event name is the body's <c>object_kind</c> (<c>issue</c>,
/// <c>merge_request</c>, <c>push</c>, <c>note</c>, <c>pipeline</c>), with <c>object_attributes.action</c> after a dot when
/// the body has one (<c>merge_request.merge</c>, <c>issue.open</c>).
/// </remarks>
internal sealed class GitLabSignature : WebhookSignature
{
    private readonly string _token;
    private readonly byte[] _hash;

    public GitLabSignature(string secret)
    {
        RequireSecret(secret, "gitlab");
        _token = secret;
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
    }

    public override string Name => "gitlab";

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) => new[]
    {
        Header("X-Gitlab-Token", _token),
        Header("X-Gitlab-Event-UUID", deliveryId),
    };

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var token = request.Header("X-Gitlab-Token");
        if (string.IsNullOrEmpty(token))
        {
            return WebhookVerification.Invalid("the X-Gitlab-Token header is missing");
        }

        return CryptographicOperations.FixedTimeEquals(_hash, SHA256.HashData(Encoding.UTF8.GetBytes(token)))
            ? WebhookVerification.Valid(signedId: null, label: request.Header("X-Gitlab-Event-UUID"))
            : WebhookVerification.Invalid("X-Gitlab-Token is not the route's secret token");
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload)
    {
        var kind = StringProperty(payload, "object_kind");
        if (kind is null)
        {
            return WebhookEvent.Named(null);
        }

        var action = payload.TryGetProperty("object_attributes", out var attributes) ? StringProperty(attributes, "action") : null;
        return WebhookEvent.Named(action is { Length: > 0 } ? kind + "." + action : kind);
    }
}
