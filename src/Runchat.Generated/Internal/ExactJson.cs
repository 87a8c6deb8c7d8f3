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
            return document.RootElement.ValueKind == JsonValueKind.Object ? (JObject)ToToken(document.RootElement, redact: null) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The JSON value of a body <see cref="Validate"/> has accepted, with exact numbers and every string
    /// and name passed through <paramref name="redact"/>. Strictness is Validate's: this only builds.
    /// </summary>
    public static JToken ParseExact(ReadOnlyMemory<byte> utf8, Func<string, string> redact)
    {
        using var document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = MaxDepth });
        return ToToken(document.RootElement, redact);
    }

    /// <summary>
    /// Checks that <paramref name="utf8"/> is exactly one strict JSON value with no key twice in any
    /// object, in one forward pass that allocates nothing for ordinary documents.
    /// </summary>
    /// <returns>
    /// True when Newtonsoft, reading floats as decimals, says back every number of the document as
    /// written (no exponent, no negative zero, at most 27 digits); false when one needs
    /// <see cref="ParseExact"/>'s exact numbers.
    /// </returns>
    /// <exception cref="FormatException">The body is not one strict JSON value; the message says why, without quoting it.</exception>
    public static bool Validate(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
        var numbersExact = true;
        // The names seen in each open object, as ranges of the buffer: objects are small, so a
        // linear look is cheaper than a set; an object past 32 names gets a set of its own.
        var names = new System.Collections.Generic.List<(int Start, int Length, bool Escaped)>();
        var objectStarts = new System.Collections.Generic.Stack<(int NamesStart, System.Collections.Generic.HashSet<string>? Large)>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        objectStarts.Push((names.Count, null));
                        break;
                    case JsonTokenType.EndObject:
                        var (namesStart, _) = objectStarts.Pop();
                        names.RemoveRange(namesStart, names.Count - namesStart);
                        break;
                    case JsonTokenType.PropertyName:
                        CheckName(ref reader, utf8, names, objectStarts);
                        break;
                    case JsonTokenType.Number when numbersExact:
                        numbersExact = IsPlainNumber(reader.ValueSpan);
                        break;
                }
            }
        }
        catch (JsonException exception)
        {
            throw new FormatException(exception.Message, exception);
        }

        return numbersExact;
    }

    private static void CheckName(
        ref Utf8JsonReader reader,
        ReadOnlySpan<byte> utf8,
        System.Collections.Generic.List<(int Start, int Length, bool Escaped)> names,
        System.Collections.Generic.Stack<(int NamesStart, System.Collections.Generic.HashSet<string>? Large)> objectStarts)
    {
        var (namesStart, large) = objectStarts.Peek();
        var name = (Start: (int)reader.TokenStartIndex + 1, Length: reader.ValueSpan.Length, Escaped: reader.ValueIsEscaped);
        if (large is not null)
        {
            if (!large.Add(reader.GetString()!))
            {
                throw Repeated(reader.GetString()!);
            }

            return;
        }

        for (var i = namesStart; i < names.Count; i++)
        {
            var seen = names[i];
            if (!seen.Escaped && !name.Escaped)
            {
                if (utf8.Slice(seen.Start, seen.Length).SequenceEqual(reader.ValueSpan))
                {
                    throw Repeated(reader.GetString()!);
                }
            }
            else if (Unescape(utf8.Slice(seen.Start, seen.Length), seen.Escaped) == reader.GetString())
            {
                throw Repeated(reader.GetString()!);
            }
        }

        names.Add(name);
        if (names.Count - namesStart > 32)
        {
            var set = new System.Collections.Generic.HashSet<string>(StringComparer.Ordinal);
            for (var i = namesStart; i < names.Count; i++)
            {
                set.Add(Unescape(utf8.Slice(names[i].Start, names[i].Length), names[i].Escaped));
            }

            objectStarts.Pop();
            objectStarts.Push((namesStart, set));
        }
    }

    private static string Unescape(ReadOnlySpan<byte> raw, bool escaped)
    {
        if (!escaped)
        {
            return Encoding.UTF8.GetString(raw.ToArray());
        }

        // Quoted again, so the reader unescapes it as it would in the document.
        var quoted = new byte[raw.Length + 2];
        quoted[0] = (byte)'"';
        raw.CopyTo(quoted.AsSpan(1));
        quoted[quoted.Length - 1] = (byte)'"';
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return Encoding.UTF8.GetString(quoted);
        }
    }

    private static FormatException Repeated(string name) =>
        new($"the key \"{name}\" appears twice in one object, so which value it has is ambiguous");

    /// <summary>A number Newtonsoft says back as written when it reads floats as decimals.</summary>
    private static bool IsPlainNumber(ReadOnlySpan<byte> number)
    {
        if (number.Length > 27 && number.IndexOf((byte)'.') >= 0)
        {
            return false;
        }

        if (number.IndexOfAny((byte)'e', (byte)'E') >= 0)
        {
            return false;
        }

        // -0, -0.0, -0.00: a decimal or a long drops the sign.
        if (number.Length >= 2 && number[0] == (byte)'-' && number[1] == (byte)'0')
        {
            foreach (var b in number.Slice(2))
            {
                if (b is not ((byte)'0' or (byte)'.'))
                {
                    return true;
                }
            }

            return false;
        }

        return true;
    }

    /// <summary>The body as UTF-8, decoded from the charset its Content-Type names.</summary>
    /// <exception cref="FormatException">The charset is unknown, or the body is not valid in it.</exception>
    public static bool IsBlank(ReadOnlyMemory<byte> utf8)
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

    // A repeated key keeps its last value here: where that matters (an answer), Validate refused it first.
    private static JToken ToToken(JsonElement element, Func<string, string>? redact)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JObject();
                foreach (var property in element.EnumerateObject())
                {
                    obj[redact is null ? property.Name : redact(property.Name)] = ToToken(property.Value, redact);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(ToToken(item, redact));
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
