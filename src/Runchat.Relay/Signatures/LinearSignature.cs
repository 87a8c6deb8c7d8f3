using System;
using System.Collections.Generic;
using System.Text.Json;

namespace Runchat.Relay.Signatures;

/// <summary>
/// Linear: <c>Linear-Signature</c> is the hex HMAC-SHA256 of the body. The timestamp is inside the signed body:
/// <c>webhookTimestamp</c>, in milliseconds, must be within the tolerance of the relay's clock, so a captured request
/// cannot be sent again later.
/// </summary>
/// <remarks>
/// The event name is <c>type.action</c> (<c>Issue.create</c>, <c>Comment.update</c>), as Linear spells them. The body's
/// hash tells deliveries apart; <c>Linear-Delivery</c> is a label.
/// </remarks>
internal sealed class LinearSignature : WebhookSignature
{
    private const string TimestampMember = "webhookTimestamp";

    private readonly byte[] _key;

    public LinearSignature(string secret) => _key = RequireSecret(secret, "linear");

    public override string Name => "linear";

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) => new[]
    {
        Header("Linear-Signature", Convert.ToHexString(HmacSha256(_key, default, body)).ToLowerInvariant()),
        Header("Linear-Delivery", deliveryId),
    };

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var header = request.Header("Linear-Signature");
        if (string.IsNullOrEmpty(header))
        {
            return WebhookVerification.Invalid("the Linear-Signature header is missing");
        }

        if (!HexEquals(HmacSha256(_key, default, request.Body.Span), header))
        {
            return WebhookVerification.Invalid("Linear-Signature does not match the body");
        }

        if (SignedMilliseconds(request.Body.Span) is not { } milliseconds)
        {
            return WebhookVerification.Invalid($"the body's {TimestampMember} is missing or not a number of milliseconds");
        }

        var signed = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(milliseconds, -62135596800000L, 253402300799999L));
        return CheckTimestamp(signed, request.Now, request.Tolerance) is { } stale
            ? WebhookVerification.Invalid(stale)
            : WebhookVerification.Valid(signedId: null, label: request.Header("Linear-Delivery"));
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload)
    {
        var type = StringProperty(payload, "type");
        var action = StringProperty(payload, "action");
        return WebhookEvent.Named(type is null ? null : action is { Length: > 0 } ? type + "." + action : type);
    }

    /// <summary>The body's top-level <c>webhookTimestamp</c>, read from the signed bytes (nested members are skipped, not searched).</summary>
    private static long? SignedMilliseconds(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = RunchatRelayOptions.MaxBodyDepthLimit + 1 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isTimestamp = reader.ValueTextEquals(TimestampMember);
                reader.Read();
                if (isTimestamp)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) ? value : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }
}
