using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
using Fluid;

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
        StrictVariables = true,
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

        return new MessageTemplate(source, template);
    }

    /// <summary>The text for one delivery, or why there is none (a render error, an empty or too long result).</summary>
    public async Task<(string? Text, string? Error)> RenderAsync(MessageModel model)
    {
        var context = new TemplateContext(Options);
        context.SetValue("payload", ToValue(model.Payload));
        context.SetValue("event", new Dictionary<string, object?> { ["name"] = model.EventName, ["id"] = model.EventId });
        context.SetValue("delivery", new Dictionary<string, object?> { ["id"] = model.DeliveryId, ["received_at"] = model.ReceivedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) });
        context.SetValue("route", new Dictionary<string, object?> { ["path"] = model.RoutePath, ["job_id"] = model.JobId });

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

    /// <summary>JSON as the plain values Fluid reads natively: dictionaries, lists, strings, numbers, booleans, null.</summary>
    private static object? ToValue(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => ObjectOf(element),
        JsonValueKind.Array => ArrayOf(element),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetDecimal(out var number) ? number : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static Dictionary<string, object?> ObjectOf(JsonElement element)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            result[property.Name] = ToValue(property.Value);
        }

        return result;
    }

    private static List<object?> ArrayOf(JsonElement element)
    {
        var result = new List<object?>(element.GetArrayLength());
        foreach (var item in element.EnumerateArray())
        {
            result.Add(ToValue(item));
        }

        return result;
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
internal sealed record MessageModel(JsonElement Payload, string? EventName, string? EventId, string DeliveryId, DateTimeOffset ReceivedAt, string RoutePath, string JobId);
