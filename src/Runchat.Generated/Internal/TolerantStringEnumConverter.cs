using System;
using Newtonsoft.Json;
using Newtonsoft.Json.Converters;

namespace Runchat.Internal;

/// <summary>
/// Reads string enums like <see cref="StringEnumConverter"/>, but maps a value the spec does not
/// list yet (say a <c>status</c> of <c>"queued"</c>) to <see langword="null"/> on nullable enum
/// properties instead of failing the whole response.
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
    public override object? ReadJson(JsonReader reader, Type objectType, object? existingValue, JsonSerializer serializer)
    {
        if (Nullable.GetUnderlyingType(objectType) is null)
        {
            return base.ReadJson(reader, objectType, existingValue, serializer);
        }

        if (reader.TokenType is JsonToken.StartObject or JsonToken.StartArray)
        {
            return null;
        }

        try
        {
            return base.ReadJson(reader, objectType, existingValue, serializer);
        }
        catch (JsonSerializationException)
        {
            return null;
        }
    }
}
