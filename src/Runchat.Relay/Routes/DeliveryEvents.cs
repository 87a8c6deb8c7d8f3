using System;
using System.Linq;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Runchat.Relay;

/// <summary>The event name of a delivery, as each sender names its events.</summary>
/// <remarks>
/// | scheme | event name |
/// |---|---|
/// | <c>github</c> | <c>X-GitHub-Event</c>, then <c>.</c> and the body's <c>action</c> when it has one: <c>issues.opened</c>, <c>push</c> |
/// | <c>stripe</c> | the body's <c>type</c>: <c>invoice.paid</c> |
/// | <c>slack</c> | the Events API's <c>event.type</c>, a slash command's <c>command</c>, an interaction's <c>payload.type</c> |
/// | others | the body's top-level <c>type</c>, when it is a string |
/// </remarks>
internal static class DeliveryEvents
{
    /// <summary>The longest event name kept; a sender's longer text is cut.</summary>
    public const int MaxLength = 200;

    /// <param name="scheme">The route's signature scheme (<see cref="Signatures.WebhookSignature.Name"/>).</param>
    /// <param name="headers">The request's headers.</param>
    /// <param name="body">The stored body: one JSON object (a Slack form already converted).</param>
    /// <returns>The event name, or null when the delivery names none.</returns>
    public static string? NameOf(string scheme, IHeaderDictionary headers, byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        return NameOf(scheme, headers, document.RootElement);
    }

    /// <param name="scheme">The route's signature scheme.</param>
    /// <param name="headers">The request's headers.</param>
    /// <param name="root">The stored body, parsed once by the caller.</param>
    public static string? NameOf(string scheme, IHeaderDictionary headers, JsonElement root)
    {
        var name = scheme switch
        {
            "github" => GitHub(headers["X-GitHub-Event"].FirstOrDefault(), root),
            "slack" => Slack(root),
            _ => StringOf(root, "type"),
        };
        return string.IsNullOrWhiteSpace(name) ? null : name!.Length > MaxLength ? name.Substring(0, MaxLength) : name;
    }

    private static string? GitHub(string? header, JsonElement root)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        return StringOf(root, "action") is { Length: > 0 } action ? header + "." + action : header;
    }

    private static string? Slack(JsonElement root)
    {
        if (root.TryGetProperty("event", out var inner) && inner.ValueKind == JsonValueKind.Object)
        {
            return StringOf(inner, "type");
        }

        if (StringOf(root, "command") is { } command)
        {
            return command;
        }

        // An interaction: the form's payload field, stored parsed (or, from another sender, JSON in a string).
        if (root.TryGetProperty("payload", out var parsed) && parsed.ValueKind == JsonValueKind.Object)
        {
            return StringOf(parsed, "type");
        }

        if (StringOf(root, "payload") is { } payload)
        {
            try
            {
                using var interaction = JsonDocument.Parse(payload);
                return interaction.RootElement.ValueKind == JsonValueKind.Object ? StringOf(interaction.RootElement, "type") : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return StringOf(root, "type");
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
