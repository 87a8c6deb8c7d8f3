using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
using System.Linq;
using Fluid;
using Fluid.Values;

namespace Runchat.Relay;

/// <summary>
/// A route's <c>Message</c>: a Liquid template (Fluid) for the text the agent receives instead of the
/// whole payload. Sandboxed: its model is plain JSON values (no .NET object is reachable), there is
/// no file system for <c>include</c> or <c>render</c>, and a render is bounded in steps and in length.
/// </summary>
/// <remarks>
/// The model: <c>payload</c> (the body), <c>event.name</c>, <c>event.id</c>, <c>delivery.id</c>,
/// <c>delivery.received_at</c> (ISO 8601, UTC), <c>route.path</c>, <c>route.job_id</c>. A variable the
/// model does not have is an error (strict variables), as is an unknown filter, so a typo fails the
/// delivery instead of sending a message with a hole in it.
/// </remarks>
internal sealed class MessageTemplate
{
    /// <summary>The longest message a render may produce, in characters.</summary>
    public const int MaxLength = 100_000;

    /// <summary>The most statements a render may run: enough for any message, not for a runaway loop.</summary>
    public const int MaxSteps = 100_000;

    private static readonly FluidParser Parser = new(new FluidParserOptions { AllowFunctions = false });

    private static readonly TemplateOptions Options = new()
    {
        MaxSteps = MaxSteps,
        MaxRecursion = 20,
        CultureInfo = CultureInfo.InvariantCulture,
        TimeZone = TimeZoneInfo.Utc,
        // Strictness is the model's own (ModelObject below): a name the payload does not have is an error,
        // a JSON null is nil. Fluid's StrictVariables cannot tell the two apart.
        Undefined = static name => throw new InvalidOperationException($"'{name}' is not in the model (payload, event, delivery, route)"),
        // The step limit counts statements, not the size of what one statement builds: a value doubled
        // by append in a loop would reach gigabytes in 30 steps. Every assigned or captured value is bounded.
        Assigned = static (name, value, context) => Bounded(name, value),
        Captured = static (name, value, context) => Bounded(name, value),
        StrictFilters = true,
        // No file provider: include and render find nothing.
        FileProvider = new Microsoft.Extensions.FileProviders.NullFileProvider(),
    };

    private readonly IFluidTemplate _template;

    private MessageTemplate(string source, IFluidTemplate template)
    {
        Source = source;
        _template = template;
    }

    /// <summary>The template as configured.</summary>
    public string Source { get; }

    /// <exception cref="ArgumentException">The template does not parse; the message says where.</exception>
    public static MessageTemplate Parse(string source)
    {
        if (string.IsNullOrWhiteSpace(source))
        {
            throw new ArgumentException("Message is empty; leave it out to send the payload whole.");
        }

        if (!Parser.TryParse(source, out var template, out var error))
        {
            throw new ArgumentException($"Message is not a Liquid template Fluid can read: {error}");
        }

        // A range is built whole before its loop's first step: (1..100000000) would allocate and spend
        // seconds before the step limit could stop it. Only literal ranges of a bounded size are allowed.
        new RangeCheck().VisitTemplate(template);
        return new MessageTemplate(source, template);
    }

    /// <summary>The text for one delivery, or why there is none (a render error, an empty or too long result).</summary>
    public async Task<(string? Text, string? Error)> RenderAsync(MessageModel model)
    {
        var context = new TemplateContext(Options);
        context.SetValue("payload", ToValue(model.Payload, "payload"));
        context.SetValue("event", ModelObject.Of("event", ("name", model.EventName), ("id", model.EventId)));
        context.SetValue("delivery", ModelObject.Of("delivery", ("id", model.DeliveryId), ("received_at", model.ReceivedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))));
        context.SetValue("route", ModelObject.Of("route", ("path", model.RoutePath), ("job_id", model.JobId)));
        if (model.Schedule is { } schedule)
        {
            context.SetValue("schedule", new ModelObject("schedule", new Dictionary<string, FluidValue>(StringComparer.Ordinal)
            {
                ["name"] = StringValue.Create(schedule.Name),
                ["fire_time"] = new DateTimeValue(schedule.FireTime),
            }));
        }

        using var writer = new LimitedWriter(MaxLength);
        try
        {
            await _template.RenderAsync(writer, context, NullEncoder.Default).ConfigureAwait(false);
        }
        catch (LimitedWriter.TooLongException)
        {
            return (null, $"The Message template rendered more than {MaxLength} characters; nothing was sent.");
        }
        catch (Exception failure)
        {
            // Whatever a render throws (a strict-variables miss, the step limit, a filter's error) fails this delivery only.
            return (null, $"The Message template could not be rendered: {failure.Message}. Nothing was sent.");
        }

        var text = writer.ToString();
        return string.IsNullOrWhiteSpace(text)
            ? (null, "The Message template rendered an empty message; nothing was sent (a blank message is never sent).")
            : (text, null);
    }

    /// <summary>JSON as Fluid values: objects that refuse a name they do not have, arrays, strings, numbers, booleans, nil.</summary>
    private static FluidValue ToValue(JsonElement element, string path) => element.ValueKind switch
    {
        JsonValueKind.Object => new ModelObject(path, ObjectOf(element, path)),
        JsonValueKind.Array => new ArrayValue(ArrayOf(element, path)),
        JsonValueKind.String => StringValue.Create(element.GetString()!),
        JsonValueKind.Number => NumberValue.Create(element.TryGetDecimal(out var number) ? number : (decimal)element.GetDouble()),
        JsonValueKind.True => BooleanValue.True,
        JsonValueKind.False => BooleanValue.False,
        // A JSON null is a value the payload has: nil, not a missing name.
        _ => NilValue.Instance,
    };

    private static Dictionary<string, FluidValue> ObjectOf(JsonElement element, string path)
    {
        var result = new Dictionary<string, FluidValue>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            result[property.Name] = ToValue(property.Value, path + "." + property.Name);
        }

        return result;
    }

    private static FluidValue[] ArrayOf(JsonElement element, string path)
    {
        var result = new FluidValue[element.GetArrayLength()];
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            result[i] = ToValue(item, $"{path}[{i}]");
            i++;
        }

        return result;
    }

    /// <summary>The most items a range may have, and a literal one only.</summary>
    public const int MaxRange = 10_000;

    private static ValueTask<FluidValue> Bounded(string name, FluidValue value)
    {
        var size = value switch
        {
            StringValue text => text.ToStringValue().Length,
            ArrayValue array => array.Values.Count,
            _ => 0,
        };
        return size > MaxLength
            ? throw new InvalidOperationException($"'{name}' grew past {MaxLength} characters or items")
            : new ValueTask<FluidValue>(value);
    }

    private sealed class RangeCheck : Fluid.Ast.AstVisitor
    {
        protected override Fluid.Ast.Expression VisitRangeExpression(Fluid.Ast.RangeExpression rangeExpression)
        {
            if (rangeExpression.From is not Fluid.Ast.LiteralExpression { Value: NumberValue from }
                || rangeExpression.To is not Fluid.Ast.LiteralExpression { Value: NumberValue to }
                || Math.Abs(to.ToNumberValue() - from.ToNumberValue()) >= MaxRange)
            {
                throw new ArgumentException($"Message has a range that is not two numbers at most {MaxRange} apart, such as (1..10); a range is built whole before a loop starts.");
            }

            return base.VisitRangeExpression(rangeExpression);
        }
    }

    /// <summary>A JSON object of the model: a name it does not have is an error that names the path, never a silent blank.</summary>
    private sealed class ModelObject : ObjectValueBase
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
                : throw new InvalidOperationException($"{_path} has no '{name}'" + (_properties.Count == 0 ? string.Empty : $" (it has: {string.Join(", ", _properties.Keys.Take(12))}{(_properties.Count > 12 ? ", …" : string.Empty)})"));

        public override ValueTask<FluidValue> GetIndexAsync(FluidValue index, TemplateContext context) => GetValueAsync(index.ToStringValue(), context);
    }

    /// <summary>A StringWriter that stops a render once it has written more than a limit.</summary>
    private sealed class LimitedWriter : StringWriter
    {
        private readonly int _limit;

        public LimitedWriter(int limit)
            : base(CultureInfo.InvariantCulture) => _limit = limit;

        public override void Write(char value)
        {
            Check(1);
            base.Write(value);
        }

        public override void Write(string? value)
        {
            Check(value?.Length ?? 0);
            base.Write(value);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            Check(count);
            base.Write(buffer, index, count);
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            Check(buffer.Length);
            base.Write(buffer);
        }

        public override Task WriteAsync(string? value)
        {
            Check(value?.Length ?? 0);
            return base.WriteAsync(value);
        }

        public override Task WriteAsync(char value)
        {
            Check(1);
            return base.WriteAsync(value);
        }

        public override Task WriteAsync(ReadOnlyMemory<char> buffer, System.Threading.CancellationToken cancellationToken = default)
        {
            Check(buffer.Length);
            return base.WriteAsync(buffer, cancellationToken);
        }

        private void Check(int adding)
        {
            if (GetStringBuilder().Length + adding > _limit)
            {
                throw new TooLongException();
            }
        }

        public sealed class TooLongException : Exception
        {
        }
    }
}

/// <summary>What a <see cref="MessageTemplate"/> renders with.</summary>
internal sealed record MessageModel(JsonElement Payload, string? EventName, string? EventId, string DeliveryId, DateTimeOffset ReceivedAt, string RoutePath, string JobId)
{
    /// <summary>For a schedule's tick: its name and fire time (in the schedule's time zone), as <c>schedule.name</c> and <c>schedule.fire_time</c>.</summary>
    public (string Name, DateTimeOffset FireTime)? Schedule { get; init; }
}
