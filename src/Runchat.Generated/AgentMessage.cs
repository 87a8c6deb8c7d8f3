using System;
using System.Text;
using Newtonsoft.Json.Linq;

namespace Runchat;

/// <summary>
/// A typed view of one transcript entry of <see cref="AgentJobResponse.Messages"/>.
/// </summary>
/// <remarks>
/// The spec types messages as free-form objects. This view reads the common shapes: a string
/// <c>content</c>, or a list of content parts of which the <c>{"type":"text","text":"..."}</c>
/// ones are joined. Anything else stays available in <see cref="Raw"/>.
/// </remarks>
public sealed class AgentMessage
{
    /// <summary>Wraps one message object as received.</summary>
    /// <param name="raw">The message object.</param>
    /// <exception cref="ArgumentNullException"><paramref name="raw"/> is null.</exception>
    public AgentMessage(JObject raw)
    {
        Raw = raw ?? throw new ArgumentNullException(nameof(raw));
        Role = raw["role"] is JValue { Type: JTokenType.String } role ? (string?)role : null;
        Text = ExtractText(raw);
    }

    /// <summary>The message's <c>role</c> (<c>system</c>, <c>user</c>, <c>assistant</c>, <c>tool</c>...), or null when absent.</summary>
    public string? Role { get; }

    /// <summary>
    /// The message's text: a string <c>content</c>, or the concatenated <c>text</c> of its text
    /// content parts. Null when it has neither (a tool call, say).
    /// </summary>
    public string? Text { get; }

    /// <summary>The message exactly as received.</summary>
    public JObject Raw { get; }

    /// <summary>Role and the start of the text, for debugging.</summary>
    /// <returns>A short description.</returns>
    public override string ToString()
    {
        var text = Text is null ? "(no text)" : Text.Length > 80 ? Text.Substring(0, 80) + "…" : Text;
        return $"{Role ?? "(no role)"}: {text}";
    }

    /// <summary>
    /// A transcript entry as a JSON object: a <see cref="JObject"/> as deserialized, a System.Text.Json
    /// <c>JsonElement</c>, a dictionary, or any object Newtonsoft.Json serializes to an object
    /// (anonymous types, POCOs), as tests and fakes build them. Null for anything else (skipped).
    /// </summary>
    internal static JObject? AsObject(object? item)
    {
        switch (item)
        {
            case null:
            case string:
            case JToken and not JObject:
                return null;
            case JObject json:
                return json;
            case System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Object } element:
                using (var reader = new Newtonsoft.Json.JsonTextReader(new System.IO.StringReader(element.GetRawText())) { DateParseHandling = Newtonsoft.Json.DateParseHandling.None })
                {
                    return JObject.Load(reader);
                }

            case System.Text.Json.JsonElement:
                return null;
            default:
                try
                {
                    return JToken.FromObject(item) as JObject;
                }
                catch (Newtonsoft.Json.JsonException)
                {
                    return null;
                }
                catch (ArgumentException)
                {
                    return null;
                }
        }
    }

    internal static bool IsAssistant(JObject raw) =>
        raw["role"] is JValue { Type: JTokenType.String } role && (string?)role == "assistant";

    internal static string? ExtractText(JObject raw)
    {
        switch (raw["content"])
        {
            case JValue { Type: JTokenType.String } text:
                return (string?)text;
            case JArray parts:
                StringBuilder? joined = null;
                foreach (var part in parts)
                {
                    var value = part switch
                    {
                        JValue { Type: JTokenType.String } plain => (string?)plain,
                        JObject { } obj when IsTextPart(obj) => (string?)obj["text"],
                        _ => null,
                    };
                    if (value is not null)
                    {
                        (joined ??= new StringBuilder()).Append(value);
                    }
                }

                return joined?.ToString();
            case JObject single when IsTextPart(single):
                return (string?)single["text"];
            default:
                return null;
        }
    }

    private static bool IsTextPart(JObject part) =>
        part["text"] is JValue { Type: JTokenType.String }
        && (part["type"] is null || part["type"] is JValue { Type: JTokenType.String } type && (string?)type == "text");
}
