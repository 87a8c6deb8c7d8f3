using System;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Runchat.Relay.Signatures;

/// <summary>
/// What a verified Slack request is, beyond the Events API's JSON: the handshakes Slack expects an
/// answer to (<c>url_verification</c>, <c>ssl_check</c>), and the form-encoded slash commands and
/// interactions, turned into one JSON object for the store and the agent.
/// </summary>
internal static class SlackRequests
{
    /// <summary>A handshake to answer (with its challenge, if any), a form turned into JSON, or null for an ordinary JSON event.</summary>
    public static SlackRequest? Read(string? contentType, byte[] body)
    {
        if (contentType is not null && contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return FromForm(body);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "url_verification")
            {
                var challenge = document.RootElement.TryGetProperty("challenge", out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                return new SlackRequest(new SlackHandshake(challenge ?? string.Empty), null);
            }
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException)
        {
            // Not JSON: the ingest's body check answers it.
        }

        return null;
    }

    private static SlackRequest FromForm(byte[] body)
    {
        var fields = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
        if (fields.TryGetValue("ssl_check", out var sslCheck) && sslCheck == "1")
        {
            return new SlackRequest(new SlackHandshake(null), null);
        }

        var json = new JsonObject();
        foreach (var (name, values) in fields)
        {
            var value = values.Count == 1 ? values[0] : string.Join(",", values.ToArray());
            if (name == "payload" && TryParseObject(value, out var payload))
            {
                json[name] = payload;
            }
            else
            {
                json[name] = value;
            }
        }

        return new SlackRequest(null, Encoding.UTF8.GetBytes(json.ToJsonString()));
    }

    private static bool TryParseObject(string? text, out JsonNode? node)
    {
        node = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        try
        {
            node = JsonNode.Parse(text!);
            return node is JsonObject;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>A handshake: answered 200, with <c>{"challenge": …}</c> for url_verification.</summary>
internal sealed record SlackHandshake(string? Challenge);

/// <summary>Either a handshake to answer, or the form turned into a JSON object's UTF-8 bytes.</summary>
internal sealed record SlackRequest(SlackHandshake? Handshake, byte[]? Converted);
