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
/// </remarks>
internal sealed class TolerantStringEnumConverter : StringEnumConverter
{
    public override object? ReadJson(JsonReader reader, Type objectType, object? existingValue, JsonSerializer serializer)
    {
        if (Nullable.GetUnderlyingType(objectType) is null)
        {
            return base.ReadJson(reader, objectType, existingValue, serializer);
        }

        try
        {
            return base.ReadJson(reader, objectType, existingValue, serializer);
        }
        catch (JsonSerializationException)
        {
            // An object or array in place of the string must be skipped whole, so the reader
            // stays aligned for the properties that follow.
            reader.Skip();
            return null;
        }
    }
}
