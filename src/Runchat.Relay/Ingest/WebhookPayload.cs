using System;
using System.Text.Json;
using System.Text.Unicode;
using Runchat.Relay.Internal;

namespace Runchat.Relay;

/// <summary>
/// A webhook's payload, parsed once under the relay's one set of limits into the document that the event name,
/// <c>When</c>, the dedupe key and <c>Message</c> all read, at ingest and at dispatch alike.
/// </summary>
/// <remarks>
/// The limits, each a <c>400</c> that says which: one JSON object with content; valid UTF-8; nested at most
/// <see cref="RunchatRelayOptions.MaxBodyDepth"/> levels; no string (or member name) with an escaped lone surrogate,
/// which is valid JSON but not text. The size limit (<c>MaxBodyBytes</c>, a <c>413</c>) is applied while reading.
/// Numbers are kept exactly as written.
/// </remarks>
internal sealed class WebhookPayload : IDisposable
{
    private WebhookPayload(ReadOnlyMemory<byte> bytes, JsonDocument document)
    {
        Bytes = bytes;
        Document = document;
    }

    /// <summary>The payload's bytes: the body, or a form turned into a JSON object.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    public JsonDocument Document { get; }

    public JsonElement Root => Document.RootElement;

    /// <summary>Parses <paramref name="bytes"/>, or says why the relay cannot take it.</summary>
    /// <param name="bytes">The payload's UTF-8 bytes.</param>
    /// <param name="maxDepth">The deepest nesting accepted.</param>
    /// <param name="payload">The parsed payload; dispose it.</param>
    /// <param name="refusal">Why not, in words for the sender's 400.</param>
    public static bool TryParse(ReadOnlyMemory<byte> bytes, int maxDepth, out WebhookPayload? payload, out string? refusal)
    {
        payload = null;
        var span = bytes.Span;

        // Only an escape can make a lone surrogate (raw bytes are checked as UTF-8 below), so a body without
        // one needs no pass over its tokens before the parse: the parse checks the structure and the depth.
        // Any failure goes through the token pass, which says precisely what is wrong.
        refusal = span.IndexOf("\\u"u8) >= 0 || !Utf8.IsValid(span) ? Check(span, maxDepth) : null;
        if (refusal is not null)
        {
            return false;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (JsonException)
        {
            refusal = Check(span, maxDepth) ?? "The body is not valid JSON.";
            return false;
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.EnumerateObject().MoveNext())
        {
            document.Dispose();
            refusal = Check(span, maxDepth) ?? "The body is not one JSON object with content.";
            return false;
        }

        payload = new WebhookPayload(bytes, document);
        return true;
    }

    /// <summary>A stored payload, which passed <see cref="TryParse"/> when it was received.</summary>
    /// <exception cref="JsonException">It does not parse under <paramref name="maxDepth"/> (a store changed behind the relay's back).</exception>
    public static WebhookPayload ParseStored(ReadOnlyMemory<byte> bytes, int maxDepth) =>
        new(bytes, JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = Math.Max(maxDepth, RunchatRelayOptions.MaxBodyDepthLimit) }));

    public void Dispose() => Document.Dispose();

    /// <summary>One pass over the tokens: null when the payload is one JSON object the relay can keep and read.</summary>
    private static string? Check(ReadOnlySpan<byte> bytes, int maxDepth)
    {
        if (bytes.Trim(" \t\r\n"u8).IsEmpty)
        {
            return "The body is empty; this route accepts one JSON object.";
        }

        if (!Utf8.IsValid(bytes))
        {
            return "The body is not valid UTF-8 text; a webhook's JSON is UTF-8.";
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = maxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return $"The body is not a JSON object (it is {JsonTokenNames.Describe(reader.TokenType)}); this route accepts one JSON object.";
            }

            if (reader.Read() && reader.TokenType == JsonTokenType.EndObject)
            {
                // Anything after it is an error of the reader's (caught below); whitespace is not.
                while (reader.Read())
                {
                }

                return "The body is an empty JSON object, which would give the agent nothing; this route accepts one JSON object with content.";
            }

            do
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped && !IsText(ref reader))
                {
                    return $"The body has a string with an escaped lone surrogate (such as \\ud800 without its pair) at byte {reader.TokenStartIndex}: valid JSON, but not text, so no store or agent can read it.";
                }
            }
            while (reader.Read());
        }
        catch (JsonException invalid)
        {
            return reader.CurrentDepth >= maxDepth - 1
                ? $"The body is nested deeper than {maxDepth} levels (Relay:MaxBodyDepth)."
                : "The body is not valid JSON: " + invalid.Message;
        }

        return null;
    }

    /// <summary>Whether an escaped string unescapes to text (.NET refuses a lone surrogate there).</summary>
    private static bool IsText(ref Utf8JsonReader reader)
    {
        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
