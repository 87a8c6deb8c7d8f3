using System;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Runchat.Relay.Signatures;

/// <summary>
/// Slack: <c>X-Slack-Signature: v0=&lt;hex&gt;</c> over <c>v0:&lt;X-Slack-Request-Timestamp&gt;:body</c>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>The Events API posts JSON: its <c>event_id</c> (signed) tells deliveries apart; the event name is <c>event.type</c>.
/// <c>url_verification</c> is answered with its challenge, never stored.</item>
/// <item>Slash commands and interactivity post a form, verified over its raw bytes and stored as one JSON object
/// (an interaction's <c>payload</c> field parsed); the event name is the <c>command</c> or the interaction's <c>type</c>.
/// They are answered 200 within Slack's 3 seconds, with the route's <c>Reply</c> text when it has one.
/// <c>ssl_check</c> is answered 200, never stored.</item>
/// </list>
/// </remarks>
internal sealed class SlackSignature : WebhookSignature
{
    private readonly byte[] _key;

    public SlackSignature(string secret) => _key = RequireSecret(secret, "slack");

    public override string Name => "slack";

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId)
    {
        var timestamp = now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mac = HmacSha256(_key, Encoding.UTF8.GetBytes($"v0:{timestamp}:"), body);
        return new[] { Header("X-Slack-Request-Timestamp", timestamp), Header("X-Slack-Signature", "v0=" + Convert.ToHexString(mac).ToLowerInvariant()) };
    }

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var signature = request.Header("X-Slack-Signature");
        if (signature is null || !signature.StartsWith("v0=", StringComparison.Ordinal))
        {
            return WebhookVerification.Invalid("the X-Slack-Signature header is missing or not v0=<hex>");
        }

        var timestamp = request.Header("X-Slack-Request-Timestamp");
        if (CheckTimestamp(timestamp, request.Now, request.Tolerance, "X-Slack-Request-Timestamp header") is { } timestampError)
        {
            return WebhookVerification.Invalid(timestampError);
        }

        return HexEquals(HmacSha256(_key, Encoding.UTF8.GetBytes($"v0:{timestamp}:"), request.Body.Span), signature.AsSpan(3))
            ? WebhookVerification.Valid()
            : WebhookVerification.Invalid("X-Slack-Signature does not match the body");
    }

    /// <summary>A form (a slash command, an interaction, ssl_check) as one JSON object; JSON as it came.</summary>
    public override ReadOnlyMemory<byte> ReadPayload(WebhookRequest request)
    {
        if (!request.IsForm)
        {
            return request.Body;
        }

        var json = new JsonObject();
        foreach (var (name, values) in QueryHelpers.ParseQuery(Encoding.UTF8.GetString(request.Body.Span)))
        {
            var value = values.Count == 1 ? values[0] : string.Join(",", values.ToArray());
            json[name] = name == "payload" && ParseObject(value) is { } payload ? payload : JsonValue.Create(value);
        }

        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload)
    {
        if (StringProperty(payload, "ssl_check") == "1")
        {
            return WebhookEvent.HandshakeWith(new WebhookAnswer(200));
        }

        if (StringProperty(payload, "type") == "url_verification")
        {
            return WebhookEvent.HandshakeWith(new WebhookAnswer(200, new JsonObject { ["challenge"] = StringProperty(payload, "challenge") ?? string.Empty }));
        }

        return WebhookEvent.Named(EventName(payload), signedId: StringProperty(payload, "event_id"));
    }

    /// <summary>The Events API's <c>event.type</c>, a slash command's <c>command</c>, an interaction's <c>payload.type</c>, else <c>type</c>.</summary>
    private static string? EventName(JsonElement payload)
    {
        if (payload.TryGetProperty("event", out var inner) && inner.ValueKind == JsonValueKind.Object)
        {
            return StringProperty(inner, "type");
        }

        if (StringProperty(payload, "command") is { } command)
        {
            return command;
        }

        if (payload.TryGetProperty("payload", out var interaction))
        {
            if (interaction.ValueKind == JsonValueKind.Object)
            {
                return StringProperty(interaction, "type");
            }

            // An interaction stored by an earlier relay, or sent by another tool: its JSON still in a string.
            if (ParseObject(interaction.ValueKind == JsonValueKind.String ? interaction.GetString() : null) is { } parsed)
            {
                return parsed["type"] is JsonValue type && type.TryGetValue<string>(out var name) ? name : null;
            }
        }

        return StringProperty(payload, "type");
    }

    /// <summary>A slash command or an interaction is answered 200 at once (with the route's Reply text); the Events API gets the relay's 202.</summary>
    public override WebhookAnswer? Acknowledge(WebhookRequest request, string? routeReply) =>
        request.IsForm ? new WebhookAnswer(200, routeReply is { Length: > 0 } ? new JsonObject { ["text"] = routeReply } : null) : null;

    private static JsonObject? ParseObject(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
