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
/// The model: <c>payload</c> (the body, read lazily from the ingest's parsed document: <see cref="JsonModelValue"/>),
/// <c>event.name</c>, <c>event.id</c>, <c>delivery.id</c>, <c>delivery.received_at</c> (ISO 8601, UTC), <c>route.path</c>,
/// <c>route.job_id</c>. A variable or member the model does not have is an error (strict), as is an unknown
/// filter, so a typo fails the delivery instead of sending a message with a hole in it.
/// Bounded while it grows, not after: the output, every <c>capture</c> and every filter's result stop at
/// <see cref="MaxLength"/> characters; <c>replace</c> and <c>join</c> are refused before they build more.
/// </remarks>
internal sealed class MessageTemplate
{
    /// <summary>The longest message a render may produce, in characters; also the longest value a capture, assign or filter may build.</summary>
    public const int MaxLength = 100_000;

    /// <summary>The most statements a render may run: enough for any message, not for a runaway loop.</summary>
    public const int MaxSteps = 100_000;

    /// <summary>How deep loops and blocks may nest in a render.</summary>
    public const int MaxRecursion = 20;

    private static readonly FluidParser Parser = CreateParser();

    private static readonly TemplateOptions Options = CreateOptions();

    private readonly IFluidTemplate _template;

    private MessageTemplate(IFluidTemplate template, string key)
    {
        _template = template;
        Key = key;
    }

    /// <summary>The configuration key the template came from, as its errors name it: <c>Message</c>, <c>PostReply.Template</c>.</summary>
    public string Key { get; }

    /// <param name="source">The template.</param>
    /// <param name="key">The configuration key it came from, named in every error.</param>
    /// <exception cref="ArgumentException">The template does not parse; the message says where.</exception>
    public static MessageTemplate Parse(string source, string key = "Message")
    {
        if (string.IsNullOrWhiteSpace(source))
        {
            throw new ArgumentException(key == "Message" ? "Message is empty; leave it out to send the payload whole." : $"{key} is empty; leave it out for the default.");
        }

        if (!Parser.TryParse(source, out var template, out var error))
        {
            throw new ArgumentException($"{key} is not a Liquid template Fluid can read: {error}");
        }

        // A range is built whole before its loop's first step: (1..100000000) would allocate and spend
        // seconds before the step limit could stop it. Only literal ranges of a bounded size are allowed.
        new RangeCheck().VisitTemplate(template);
        return new MessageTemplate(template, key);
    }

    /// <summary>The text for one delivery, or why there is none (a render error, an empty or too long result).</summary>
    public async Task<(string? Text, string? Error)> RenderAsync(MessageModel model)
    {
        var context = new TemplateContext(Options);
        context.SetValue("payload", JsonModelValue.Root(model.Payload));
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

        if (model.Run is { } run)
        {
            context.SetValue("run", ModelObject.Of("run", ("status", run.Status), ("final_reply", run.FinalReply), ("error", run.Error), ("credits", run.Credits)));
        }

        using var writer = new LimitedWriter(MaxLength);
        try
        {
            await _template.RenderAsync(writer, context, NullEncoder.Default).ConfigureAwait(false);
        }
        catch (LimitedWriter.TooLongException)
        {
            return (null, $"The {Key} template rendered more than {MaxLength} characters; nothing was sent.");
        }
        catch (InvalidOperationException limit) when (limit.Message.StartsWith("The maximum", StringComparison.Ordinal))
        {
            // Fluid's own words blame a "cyclic include", which a Message cannot have: said in the relay's.
            return (null, $"The {Key} template ran past its limits ({MaxSteps:N0} statements, loops and blocks nested {MaxRecursion} deep); nothing was sent.");
        }
        catch (Exception failure)
        {
            // Whatever a render throws (a strict miss, the step limit, a filter's error) fails this delivery only.
            return (null, $"The {Key} template could not be rendered: {failure.Message}. Nothing was sent.");
        }

        var text = writer.ToString();
        if (string.IsNullOrWhiteSpace(text))
        {
            return (null, $"The {Key} template rendered an empty message; nothing was sent (a blank message is never sent).");
        }

        return text.Contains('\0', StringComparison.Ordinal)
            ? (null, $"The {Key} template rendered a NUL character, which no store keeps and no agent reads as text; nothing was sent.")
            : (text, null);
    }

    /// <summary>
    /// Fluid's parser without functions, without the tags that read files (<c>include</c>, <c>render</c>) or keep
    /// output of their own (<c>ifchanged</c>, <c>tablerow</c>), and with a <c>capture</c> bounded as it writes.
    /// </summary>
    private static FluidParser CreateParser()
    {
        var parser = new FluidParser(new FluidParserOptions { AllowFunctions = false });
        foreach (var tag in new[] { "include", "render", "ifchanged", "tablerow" })
        {
            parser.RegisteredTags.Remove(tag);
        }

        // Fluid's own capture writes its whole body before anything can look at its size: a loop inside it
        // could build gigabytes. This one writes into a writer that stops at MaxLength.
        parser.RegisterIdentifierBlock("capture", static async (name, statements, writer, encoder, context) =>
        {
            using var captured = new LimitedWriter(MaxLength, name);
            foreach (var statement in statements)
            {
                var completion = await statement.WriteToAsync(captured, encoder, context).ConfigureAwait(false);
                if (completion != Fluid.Ast.Completion.Normal)
                {
                    return completion;
                }
            }

            context.SetValue(name, StringValue.Create(captured.ToString()));
            return Fluid.Ast.Completion.Normal;
        });
        return parser;
    }

    private static TemplateOptions CreateOptions()
    {
        var options = new TemplateOptions
        {
            MaxSteps = MaxSteps,
            MaxRecursion = MaxRecursion,
            CultureInfo = CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
            // Strictness is the model's own (JsonModelValue, ModelObject): a name the payload does not have is an
            // error, a JSON null is nil. Fluid's StrictVariables cannot tell the two apart.
            Undefined = static name => throw new InvalidOperationException($"'{name}' is not in the model (payload, event, delivery, route)"),
            // The step limit counts statements, not the size of what one statement builds: a value doubled by
            // append in a loop would reach gigabytes in 30 steps. Every assigned value is bounded.
            Assigned = static (name, value, context) => Bounded(name, value),
            StrictFilters = true,
            // No file provider: include and render find nothing (and are not tags here at all).
            FileProvider = new Microsoft.Extensions.FileProviders.NullFileProvider(),
        };
        BoundFilters(options.Filters);
        return options;
    }

    /// <summary>
    /// Every filter's result is bounded as an assigned value is; <c>replace</c> and <c>join</c>, whose results can
    /// be the product of their inputs' sizes, are refused before they are built; <c>json</c> writes the payload's
    /// objects as compact JSON.
    /// </summary>
    private static void BoundFilters(FilterCollection filters)
    {
        foreach (var (name, filter) in filters.ToList())
        {
            filters.AddFilter(name, async (input, arguments, context) => await Bounded(name, await filter(input, arguments, context).ConfigureAwait(false)).ConfigureAwait(false));
        }

        if (filters.TryGetValue("replace", out var replace))
        {
            filters.AddFilter("replace", (input, arguments, context) =>
            {
                var text = input.ToStringValue();
                var (find, with) = (arguments.At(0).ToStringValue(), arguments.At(1).ToStringValue());
                if (find.Length > 0 && with.Length > find.Length)
                {
                    var count = 0L;
                    for (var at = text.IndexOf(find, StringComparison.Ordinal); at >= 0; at = text.IndexOf(find, at + find.Length, StringComparison.Ordinal))
                    {
                        count++;
                    }

                    Refuse("replace", text.Length + (count * (with.Length - find.Length)));
                }

                return replace(input, arguments, context);
            });
        }

        if (filters.TryGetValue("join", out var join))
        {
            filters.AddFilter("join", (input, arguments, context) =>
            {
                var length = 0L;
                var count = 0L;
                foreach (var item in input.Enumerate(context))
                {
                    length += item.ToStringValue().Length;
                    count++;
                    Refuse("join", length);
                }

                // Fluid joins with the first argument as written, nothing without one (not Shopify's space).
                Refuse("join", length + (Math.Max(count - 1, 0) * arguments.At(0).ToStringValue().Length));
                return join(input, arguments, context);
            });
        }

        filters.AddFilter("json", (input, arguments, context) =>
            new ValueTask<FluidValue>(StringValue.Create(input is JsonModelValue json && json.Type is FluidValues.Dictionary or FluidValues.Array
                ? json.ToStringValue()
                : System.Text.Json.JsonSerializer.Serialize(input.ToObjectValue(), new System.Text.Json.JsonSerializerOptions { Encoder = ReadableJsonEncoder.Instance }))));
    }

    private static void Refuse(string filter, long length)
    {
        if (length > MaxLength)
        {
            throw new InvalidOperationException($"the {filter} filter would build more than {MaxLength} characters");
        }
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

    /// <summary>A StringWriter that stops a render once it has written more than a limit.</summary>
    private sealed class LimitedWriter : StringWriter
    {
        private readonly int _limit;
        private readonly string? _capture;

        /// <param name="limit">The most characters it takes.</param>
        /// <param name="capture">The variable a capture writes into, named in the error; null for the message itself.</param>
        public LimitedWriter(int limit, string? capture = null)
            : base(CultureInfo.InvariantCulture)
        {
            _limit = limit;
            _capture = capture;
        }

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
                throw _capture is null ? new TooLongException() : new InvalidOperationException($"'{_capture}' grew past {_limit} characters or items");
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

    /// <summary>For a reply: how the run ended, as <c>run.status</c>, <c>run.final_reply</c>, <c>run.error</c>, <c>run.credits</c>.</summary>
    public RunFacts? Run { get; init; }
}

/// <summary>What a reply's template knows of the run: its status (<c>succeeded</c> or <c>failed</c>), the agent's final reply, the error, and the credits it spent (as Runchat reported them).</summary>
internal sealed record RunFacts(string Status, string? FinalReply, string? Error, string? Credits);
