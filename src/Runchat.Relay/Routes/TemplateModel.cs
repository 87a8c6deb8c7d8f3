using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Tasks;
using Fluid;
using Fluid.Values;

namespace Runchat.Relay;

/// <summary>
/// The payload as a template sees it: a view over the ingest's parsed document, built as the template reads
/// it (nothing is copied or walked up front, so a render costs what it reads, whatever the payload's shape).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Strict: a member a value does not have is an error naming its path (the path is put together only then).
/// Objects have their members and <c>size</c>; arrays <c>size</c>, <c>first</c>, <c>last</c> and indexes; strings <c>size</c>.</item>
/// <item>An object or array written out is compact JSON; a string is its text (not <c>\u</c>-escaped).</item>
/// <item>A number a decimal holds is a Fluid number (so <c>&gt;</c> and <c>plus</c> work); one beyond a decimal's range is
/// written as the payload wrote it, and arithmetic on it fails the render (it is never guessed; comparing it is false).</item>
/// </list>
/// </remarks>
internal sealed class JsonModelValue : FluidValue
{
    private static readonly JsonWriterOptions CompactJson = new() { Encoder = ReadableJsonEncoder.Instance, SkipValidation = true };

    private readonly JsonElement _element;
    private readonly JsonModelValue? _parent;
    private readonly string? _name;
    private readonly int _index;
    private string? _text;

    private JsonModelValue(JsonElement element, JsonModelValue? parent, string? name, int index)
    {
        _element = element;
        _parent = parent;
        _name = name;
        _index = index;
    }

    /// <summary>The model's <c>payload</c>: the document's root.</summary>
    public static FluidValue Root(JsonElement root) => new JsonModelValue(root, null, "payload", -1);

    /// <summary>
    /// A payload value as the template reads it. A number a decimal holds is Fluid's own number, since Fluid's
    /// comparisons (<c>&gt;</c>, <c>&lt;</c>) and arithmetic work on that type only; everything else is a view.
    /// </summary>
    private static FluidValue Of(JsonElement element, JsonModelValue parent, string? name, int index) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetDecimal(out var number)
            ? NumberValue.Create(number)
            : new JsonModelValue(element, parent, name, index);

    public override FluidValues Type => _element.ValueKind switch
    {
        JsonValueKind.Object => FluidValues.Dictionary,
        JsonValueKind.Array => FluidValues.Array,
        JsonValueKind.String => FluidValues.String,
        JsonValueKind.Number => FluidValues.Number,
        JsonValueKind.True or JsonValueKind.False => FluidValues.Boolean,
        _ => FluidValues.Nil,
    };

    /// <summary>Where this value is in the payload, such as <c>payload.issue.labels[0]</c>: only for error messages.</summary>
    public string Path => _parent is null ? _name! : _name is not null ? _parent.Path + "." + _name : $"{_parent.Path}[{_index}]";

    public override bool IsNil() => _element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public override bool ToBooleanValue() => _element.ValueKind is not (JsonValueKind.False or JsonValueKind.Null or JsonValueKind.Undefined);

    public override decimal ToNumberValue() => _element.ValueKind switch
    {
        JsonValueKind.Number => _element.TryGetDecimal(out var number)
            ? number
            : throw new InvalidOperationException($"{Path} is {Text}, a number beyond what a template can compute with (a decimal); it can only be written out as it is"),
        JsonValueKind.String => decimal.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0,
        JsonValueKind.True => 1,
        _ => 0,
    };

    public override string ToStringValue() => Text;

    public override object ToObjectValue() => Text;

    public override ValueTask WriteToAsync(TextWriter writer, TextEncoder encoder, CultureInfo cultureInfo)
    {
        writer.Write(Text);
        return default;
    }

    /// <summary>A string's text, a number or boolean as written, nil as empty, an object or array as compact JSON.</summary>
    private string Text => _text ??= _element.ValueKind switch
    {
        JsonValueKind.String => _element.GetString()!,
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => _element.GetRawText(),
        JsonValueKind.Object or JsonValueKind.Array => Compact(_element),
        _ => string.Empty,
    };

    private static string Compact(JsonElement element)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, CompactJson))
        {
            element.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public override bool Equals(FluidValue other)
    {
        if (other is JsonModelValue json && json._element.ValueKind == _element.ValueKind && _element.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
        {
            return Text == json.Text;
        }

        return Primitive().Equals(other);
    }

    public override bool Contains(FluidValue value) => _element.ValueKind switch
    {
        JsonValueKind.Array => Items().Any(item => item.Equals(value)),
        JsonValueKind.Object => _element.TryGetProperty(value.ToStringValue(), out _),
        JsonValueKind.String => Text.Contains(value.ToStringValue(), StringComparison.Ordinal),
        _ => false,
    };

    public override IEnumerable<FluidValue> Enumerate(TemplateContext context) => _element.ValueKind switch
    {
        JsonValueKind.Array => Items(),
        // Liquid's for over a hash: [name, value] pairs.
        JsonValueKind.Object => _element.EnumerateObject().Select(p => (FluidValue)new ArrayValue(new FluidValue[] { StringValue.Create(p.Name), Member(p.Value, p.Name) })),
        _ => Array.Empty<FluidValue>(),
    };

    public override ValueTask<FluidValue> GetValueAsync(string name, TemplateContext context) => new(Get(name));

    public override ValueTask<FluidValue> GetIndexAsync(FluidValue index, TemplateContext context)
    {
        if (_element.ValueKind == JsonValueKind.Array && index.Type == FluidValues.Number)
        {
            var length = _element.GetArrayLength();
            var at = (int)Math.Clamp(index.ToNumberValue(), int.MinValue, int.MaxValue);
            var position = at < 0 ? length + at : at;
            return position >= 0 && position < length
                ? new ValueTask<FluidValue>(Item(position))
                : throw new InvalidOperationException($"{Path} has {length} items; it has no [{at}]");
        }

        return new ValueTask<FluidValue>(Get(index.ToStringValue()));
    }

    private FluidValue Get(string name)
    {
        switch (_element.ValueKind)
        {
            case JsonValueKind.Object when _element.TryGetProperty(name, out var member):
                return Member(member, name);
            case JsonValueKind.Object when name == "size":
                return NumberValue.Create(_element.EnumerateObject().Count());
            case JsonValueKind.Array when name == "size":
                return NumberValue.Create(_element.GetArrayLength());
            case JsonValueKind.Array when name is "first" or "last":
                var length = _element.GetArrayLength();
                return length == 0 ? NilValue.Instance : Item(name == "first" ? 0 : length - 1);
            case JsonValueKind.String when name == "size":
                return NumberValue.Create(Text.Length);
            default:
                throw new InvalidOperationException(Missing(name));
        }
    }

    private string Missing(string name) => _element.ValueKind switch
    {
        JsonValueKind.Object => $"{Path} has no '{name}'" + Members(),
        JsonValueKind.Array => $"{Path} is an array; it has no '{name}' (it has size, first, last and [index])",
        JsonValueKind.String => $"{Path} is a string; it has no '{name}' (it has size)",
        JsonValueKind.Null => $"{Path} is null; it has no '{name}'",
        _ => $"{Path} is {Text}; it has no '{name}'",
    };

    private string Members()
    {
        var names = _element.EnumerateObject().Take(13).Select(p => p.Name).ToList();
        return names.Count == 0 ? " (it is empty)" : $" (it has: {string.Join(", ", names.Take(12).Select(n => n.Length > 40 ? n.Substring(0, 40) + "…" : n))}{(names.Count > 12 ? ", …" : string.Empty)})";
    }

    private FluidValue Member(JsonElement value, string name) => Of(value, this, name, -1);

    private FluidValue Item(int index) => Of(_element[index], this, null, index);

    private IEnumerable<FluidValue> Items()
    {
        var i = 0;
        foreach (var item in _element.EnumerateArray())
        {
            yield return Of(item, this, null, i++);
        }
    }

    /// <summary>A string, number, boolean or nil as Fluid's own value, for its comparisons.</summary>
    private FluidValue Primitive() => _element.ValueKind switch
    {
        JsonValueKind.String => StringValue.Create(Text),
        JsonValueKind.Number => _element.TryGetDecimal(out var number) ? NumberValue.Create(number) : StringValue.Create(Text),
        JsonValueKind.True => BooleanValue.True,
        JsonValueKind.False => BooleanValue.False,
        JsonValueKind.Null => NilValue.Instance,
        _ => StringValue.Create(Text),
    };
}

/// <summary>
/// A strict object of the model besides the payload (<c>event</c>, <c>delivery</c>, <c>route</c>, <c>schedule</c>,
/// <c>run</c>): a name it does not have is an error naming the names it has.
/// </summary>
internal sealed class ModelObject : ObjectValueBase
{
    private readonly string _path;
    private readonly Dictionary<string, FluidValue> _properties;

    public ModelObject(string path, Dictionary<string, FluidValue> properties)
        : base(properties)
    {
        _path = path;
        _properties = properties;
    }

    public static ModelObject Of(string path, params (string Name, string? Value)[] properties)
    {
        var values = new Dictionary<string, FluidValue>(StringComparer.Ordinal);
        foreach (var (name, value) in properties)
        {
            values[name] = value is null ? NilValue.Instance : StringValue.Create(value);
        }

        return new ModelObject(path, values);
    }

    public override ValueTask<FluidValue> GetValueAsync(string name, TemplateContext context) =>
        _properties.TryGetValue(name, out var value)
            ? new ValueTask<FluidValue>(value)
            : name is "size" ? new ValueTask<FluidValue>(NumberValue.Create(_properties.Count))
            : throw new InvalidOperationException($"{_path} has no '{name}' (it has: {string.Join(", ", _properties.Keys)})");

    public override ValueTask<FluidValue> GetIndexAsync(FluidValue index, TemplateContext context) => GetValueAsync(index.ToStringValue(), context);
}
