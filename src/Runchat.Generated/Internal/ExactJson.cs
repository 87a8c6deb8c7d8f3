using System;
using System.Globalization;
using System.Text.Json;
using Newtonsoft.Json.Linq;

namespace Runchat.Internal;

/// <summary>
/// Reads JSON into Newtonsoft's JToken model keeping every number as written: integers as longs,
/// decimals with their trailing zeros (<c>1.10</c>), and anything a long or a decimal cannot hold
/// exactly (a 30-digit integer, <c>1e29</c>, <c>1.5e300</c>, <c>1e-30</c>) as raw text
/// (<see cref="JRaw"/>: <c>ToString()</c> gives the text, <c>Value&lt;double&gt;()</c> a double)
/// rather than a rounded double or an error.
/// </summary>
/// <remarks>
/// Newtonsoft's reader either rounds floats (FloatParseHandling.Double) or fails the whole document
/// on one that does not fit a decimal; System.Text.Json parses, and the values are built from the
/// exact text. Dates stay strings.
/// </remarks>
internal static class ExactJson
{
    /// <summary>The text as a JSON object, or null when it is not exactly one (never throws).</summary>
    public static JObject? ParseObject(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 128 });
            return document.RootElement.ValueKind == JsonValueKind.Object ? (JObject)ToToken(document.RootElement) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JToken ToToken(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JObject();
                foreach (var property in element.EnumerateObject())
                {
                    obj[property.Name] = ToToken(property.Value);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(ToToken(item));
                }

                return array;
            case JsonValueKind.String:
                return new JValue(element.GetString());
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

    private static JValue Number(string text)
    {
        if (text.IndexOfAny(new[] { '.', 'e', 'E' }) < 0)
        {
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)
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
