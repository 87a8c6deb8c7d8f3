using System;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Runchat.Relay;

/// <summary>The relay's JSON: snake_case names and lower-case states, as the contract spells them, and text that stays readable.</summary>
internal static class RelayJson
{
    public static readonly JsonSerializerOptions Options = Create();

    // Read-only from the start: every request shares these options, and their first use must not
    // race to fill in a resolver.
    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
            // People read these (error answers, relay show/list --json): "relay's clock" and "🎉", not
            // "relay\u0027s clock" and "\uD83C\uDF89". Still valid JSON; the answers are application/json, never HTML.
            Encoder = ReadableJsonEncoder.Instance,
        };
        options.MakeReadOnly();
        return options;
    }
}

/// <summary>
/// Escapes only what JSON requires (a quote, a backslash, control characters, an unpaired surrogate), so text people
/// read stays readable: .NET's relaxed encoder still escapes every character outside the Basic Multilingual Plane,
/// emoji included. For JSON served as JSON or shown in a terminal; never for JSON put into HTML.
/// </summary>
internal sealed class ReadableJsonEncoder : System.Text.Encodings.Web.JavaScriptEncoder
{
    public static readonly ReadableJsonEncoder Instance = new();

    private ReadableJsonEncoder()
    {
    }

    public override int MaxOutputCharactersPerInputCharacter => 6;

    public override bool WillEncode(int unicodeScalar) =>
        unicodeScalar < 0x20 || unicodeScalar is '"' or '\\' || unicodeScalar is >= 0xD800 and <= 0xDFFF || unicodeScalar > 0x10FFFF;

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        for (var i = 0; i < textLength; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < textLength && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (WillEncode(c))
            {
                return i;
            }
        }

        return -1;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        var escaped = unicodeScalar switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\b' => "\\b",
            '\f' => "\\f",
            _ when WillEncode(unicodeScalar) => "\\u" + (unicodeScalar & 0xFFFF).ToString("X4", System.Globalization.CultureInfo.InvariantCulture),
            _ => char.ConvertFromUtf32(unicodeScalar),
        };

        if (escaped.Length > bufferLength)
        {
            numberOfCharactersWritten = 0;
            return false;
        }

        escaped.AsSpan().CopyTo(new Span<char>(buffer, bufferLength));
        numberOfCharactersWritten = escaped.Length;
        return true;
    }
}

internal sealed record AcceptedAnswer(string DeliveryId, bool Duplicate);

internal sealed record ErrorAnswer(string Error);

/// <summary>A verified delivery the route's Events or When does not run, stored ignored: <c>{"ignored": true, "reason": "…", "delivery_id": "…"}</c>.</summary>
internal sealed record IgnoredAnswer(bool Ignored, string Reason, string DeliveryId);

/// <summary>Delivery ids that sort by arrival: <c>dlv_</c>, 12 hex digits of milliseconds, 12 random.</summary>
internal static class DeliveryIds
{
    public static string New(TimeProvider time)
    {
        Span<byte> random = stackalloc byte[6];
        RandomNumberGenerator.Fill(random);
        return $"dlv_{time.GetUtcNow().ToUnixTimeMilliseconds():x12}{Convert.ToHexString(random).ToLowerInvariant()}";
    }
}
