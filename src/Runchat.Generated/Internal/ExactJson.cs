using System;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Newtonsoft.Json.Linq;

namespace Runchat.Internal;

/// <summary>
/// Reads JSON into Newtonsoft's JToken model keeping every number as written: integers as longs,
/// decimals with their trailing zeros (<c>1.10</c>), and anything a long or a decimal cannot say
/// exactly (a 30-digit integer, <c>1e29</c>, <c>1e400</c>, <c>1e-30</c>, <c>-0</c>) as raw text
/// (<see cref="JRaw"/>: <c>ToString()</c> gives the text, <c>Value&lt;double&gt;()</c> a double)
/// rather than a rounded double, an infinity or an error.
/// </summary>
/// <remarks>
/// Newtonsoft's reader either rounds floats (FloatParseHandling.Double) or fails the whole document
/// on one that does not fit a decimal, and it accepts comments, single quotes, unquoted names,
/// <c>NaN</c> and content after the value. System.Text.Json parses strict RFC 8259, and the values
/// are built from the exact text. Dates stay strings. An escaped lone surrogate (what JavaScript's
/// JSON.stringify writes for a cut emoji) becomes U+FFFD, as Newtonsoft reads it, not an error.
/// </remarks>
internal static class ExactJson
{
    private const int MaxDepth = 256;

    /// <summary>The text as a JSON object, or null when it is not exactly one (never throws; a repeated key keeps its last value).</summary>
    public static JObject? ParseObject(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = MaxDepth });
            return document.RootElement.ValueKind == JsonValueKind.Object ? (JObject)ToToken(document.RootElement, strict: false, redact: null) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Exactly one JSON value in <paramref name="body"/>, decoded with <paramref name="charset"/>
    /// (UTF-8 when none), every string and name passed through <paramref name="redact"/>.
    /// </summary>
    /// <returns>The value, or null when the body is empty or only whitespace.</returns>
    /// <exception cref="FormatException">The body is not one strict JSON value: the message says why, without quoting it.</exception>
    public static JToken? ParseStrict(ArraySegment<byte> body, string? charset, Func<string, string>? redact)
    {
        var utf8 = ToUtf8(body, charset);
        if (IsBlank(utf8))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = MaxDepth });
            return ToToken(document.RootElement, strict: true, redact);
        }
        catch (JsonException exception)
        {
            throw new FormatException(exception.Message, exception);
        }
    }

    private static ReadOnlyMemory<byte> ToUtf8(ArraySegment<byte> body, string? charset)
    {
        var name = charset?.Trim().Trim('"');
        if (string.IsNullOrEmpty(name) || name!.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || name.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            var bom = body.Count >= 3 && body.Array![body.Offset] == 0xEF && body.Array[body.Offset + 1] == 0xBB && body.Array[body.Offset + 2] == 0xBF ? 3 : 0;
            return new ReadOnlyMemory<byte>(body.Array, body.Offset + bom, body.Count - bom);
        }

        Encoding encoding;
        try
        {
            encoding = Encoding.GetEncoding(name, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
        }
        catch (ArgumentException exception)
        {
            throw new FormatException($"its Content-Type names the charset '{name}', which this client cannot decode", exception);
        }

        string text;
        try
        {
            text = encoding.GetString(body.Array!, body.Offset, body.Count);
        }
        catch (DecoderFallbackException exception)
        {
            throw new FormatException($"it is not valid {encoding.WebName}, the charset its Content-Type names", exception);
        }

        return Encoding.UTF8.GetBytes(text.Length > 0 && text[0] == '\uFEFF' ? text.Substring(1) : text);
    }

    private static bool IsBlank(ReadOnlyMemory<byte> utf8)
    {
        foreach (var b in utf8.Span)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }

    private static JToken ToToken(JsonElement element, bool strict, Func<string, string>? redact)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JObject();
                foreach (var property in element.EnumerateObject())
                {
                    var name = redact is null ? property.Name : redact(property.Name);
                    if (strict && obj.ContainsKey(name))
                    {
                        throw new FormatException($"the key \"{name}\" appears twice in one object, so which value it has is ambiguous");
                    }

                    obj[name] = ToToken(property.Value, strict, redact);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(ToToken(item, strict, redact));
                }

                return array;
            case JsonValueKind.String:
                var text = StringOf(element);
                return new JValue(redact is null ? text : redact(text));
            case JsonValueKind.Number:
                return Number(element.GetRawText());
            case JsonValueKind.True:
                return new JValue(true);
            case JsonValueKind.False:
                return new JValue(false);
            default:
                return JValue.CreateNull();
        }
    }

    private static string StringOf(JsonElement element)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate (\ud83d without its pair): valid JSON, not valid Unicode.
            // System.Text.Json refuses to make a string of it; Newtonsoft reads it as U+FFFD.
            using var reader = new Newtonsoft.Json.JsonTextReader(new System.IO.StringReader(element.GetRawText()));
            return reader.ReadAsString()!;
        }
    }

    private static JValue Number(string text)
    {
        if (text.IndexOfAny(new[] { '.', 'e', 'E' }) < 0)
        {
            // "-0" parses as 0: the text is kept when the long does not say it back.
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)
                   && integer.ToString(CultureInfo.InvariantCulture) == text
                ? new JValue(integer)
                : new JRaw(text);
        }

        // A decimal keeps "1.10" as 1.10; when it cannot say the number exactly, the text is kept.
        return text.IndexOfAny(new[] { 'e', 'E' }) < 0
               && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var exact)
               && exact.ToString(CultureInfo.InvariantCulture) == text
            ? new JValue(exact)
            : new JRaw(text);
    }
}
