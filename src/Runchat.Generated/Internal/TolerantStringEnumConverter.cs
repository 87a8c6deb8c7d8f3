using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.Serialization;
using Newtonsoft.Json;
using Newtonsoft.Json.Converters;

namespace Runchat.Internal;

/// <summary>
/// Reads string enums exactly as the spec spells them, and maps anything else (a value the spec
/// does not list yet, say a <c>status</c> of <c>"queued"</c>, or a number, or another casing) to
/// <see langword="null"/> on nullable enum properties instead of failing the whole response.
/// </summary>
/// <remarks>
/// Referenced by build/templates/Class.liquid: NJsonSchema's default converter throws on unknown
/// values (NSwag #4460), which would turn a harmless upstream addition into a failed agent run.
/// The reader is left on the value: the generated optional properties ignore nulls, so
/// Newtonsoft then reads the value again into the DTO's AdditionalProperties (or skips it when
/// the DTO has none). The raw unknown value thus stays available, e.g. AdditionalProperties["status"].
/// </remarks>
internal sealed class TolerantStringEnumConverter : StringEnumConverter
{
    // Wire value -> enum value per enum type: filled once per type, read by every response.
    private static readonly ConcurrentDictionary<Type, Dictionary<string, object>> WireValues = new();

    public override object? ReadJson(JsonReader reader, Type objectType, object? existingValue, JsonSerializer serializer)
    {
        var enumType = Nullable.GetUnderlyingType(objectType);
        if (enumType is null)
        {
            return base.ReadJson(reader, objectType, existingValue, serializer);
        }

        // Exactly the spec's strings: no integers ({"status":0}), no case folding ("SUCCESS"), no
        // trimming (" success"). Anything else reads as null, and the raw value stays in AdditionalProperties.
        return reader.TokenType == JsonToken.String && reader.Value is string text && ValuesOf(enumType).TryGetValue(text, out var value)
            ? value
            : null;
    }

    private static Dictionary<string, object> ValuesOf(Type enumType) => WireValues.GetOrAdd(enumType, static type =>
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var wire = field.GetCustomAttribute<EnumMemberAttribute>()?.Value ?? field.Name;
            values[wire] = field.GetValue(null)!;
        }

        return values;
    });
}
