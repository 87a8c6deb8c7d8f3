using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Newtonsoft.Json.Linq;

namespace Runchat.Internal;

/// <summary>
/// The library's traces and metrics, after OpenTelemetry's GenAI semantic conventions: one
/// <c>invoke_agent &lt;jobId&gt;</c> client span per trigger (the parent of the HTTP client spans, so a
/// retried attempt shows as a second child) and the <c>gen_ai.client.*</c> instruments.
/// </summary>
/// <remarks>
/// The source and the meter are process-wide, as every .NET library's are; what belongs to one call
/// lives in a <see cref="TriggerTelemetry"/> the send path holds. When nothing listens, <see cref="Start"/>
/// returns null and a trigger costs one check. Message text is never recorded; the job's metadata
/// only when <see cref="RunchatClientOptions.RecordMetadataInTraces"/> is set.
/// </remarks>
internal static class RunchatTelemetry
{
    public const string Name = "Runchat.Generated";

    public static readonly ActivitySource Source = new(Name, RunchatUserAgent.Version);
    public static readonly Meter Meter = new(Name, RunchatUserAgent.Version);

    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        "gen_ai.client.operation.duration", "s", "Duration of Runchat agent runs, as the client saw them.");

    public static readonly Histogram<long> TokenUsage = Meter.CreateHistogram<long>(
        "gen_ai.client.token.usage", "{token}", "Tokens used by Runchat agent runs (gen_ai.token.type: input or output).");

    public static readonly Counter<double> Credits = Meter.CreateCounter<double>(
        "runchat.client.credits", "{credit}", "Runchat credits spent by agent runs, from the run's metadata.");

    /// <summary>Starts the telemetry of one agent trigger, or returns null when nothing listens.</summary>
    public static TriggerTelemetry? Start(string jobId, string bodyMode, Uri endpoint, bool recordMetadata) =>
        StartOperation("invoke_agent", "gen_ai.agent.id", jobId, bodyMode, endpoint, recordMetadata);

    /// <summary>
    /// Starts the telemetry of one flow call: <c>execute_flow</c> for a run (a flow job's trigger, or
    /// <c>POST /{runchat_id}</c>), <c>get_flow_schema</c> for a schema read. The GenAI semantic
    /// conventions name agent invocations (<c>invoke_agent</c>) but no workflow run, so the operation
    /// names are Runchat's, with the flow in <c>runchat.flow.id</c>.
    /// </summary>
    public static TriggerTelemetry? StartFlow(string operation, string id, string bodyMode, Uri endpoint, bool recordMetadata) =>
        StartOperation(operation, "runchat.flow.id", id, bodyMode, endpoint, recordMetadata);

    private static TriggerTelemetry? StartOperation(string operation, string idTag, string id, string bodyMode, Uri endpoint, bool recordMetadata)
    {
        var activity = Source.HasListeners() ? Source.StartActivity(operation + " " + id, ActivityKind.Client) : null;
        if (activity is null && !Duration.Enabled && !TokenUsage.Enabled && !Credits.Enabled)
        {
            return null;
        }

        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", operation);
            activity.SetTag("gen_ai.provider.name", "runchat");
            activity.SetTag(idTag, id);
            activity.SetTag("server.address", endpoint.Host);
            activity.SetTag("server.port", endpoint.Port);
            activity.SetTag("runchat.body_mode", bodyMode);
        }

        return new TriggerTelemetry(activity, operation, idTag, id, recordMetadata);
    }
}

/// <summary>The telemetry of one trigger: its span, its start time, and what the answer said.</summary>
internal sealed class TriggerTelemetry : IDisposable
{
    private readonly Activity? _activity;
    private readonly string _operation;
    private readonly string _idTag;
    private readonly string _id;
    private readonly bool _recordMetadata;
    private readonly long _started = Stopwatch.GetTimestamp();

    public TriggerTelemetry(Activity? activity, string operation, string idTag, string id, bool recordMetadata)
    {
        _activity = activity;
        _operation = operation;
        _idTag = idTag;
        _id = id;
        _recordMetadata = recordMetadata;
    }

    /// <summary>Records a finished run. Never throws: a finished run must not become an exception (the caller might retry it).</summary>
    public void Succeeded(AgentJobResponse response)
    {
        try
        {
            var errorType = response.Status == AgentJobResponseStatus.Error ? "agent_error" : response.IsSuccess ? null : "unknown_status";
            Record(response.Metadata is null ? null : response.GetMetadata(), response.Metadata, response.RunchatId, errorType, response.Status == AgentJobResponseStatus.Error ? response.Error : null);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // A listener that throws, or metadata this version cannot read: the run's result stands.
        }
    }

    /// <summary>Records a finished flow call, with the tokens and credits its metadata names. Never throws.</summary>
    public void Succeeded(string? metadata, string? runchatId)
    {
        try
        {
            Record(string.IsNullOrWhiteSpace(metadata) ? null : ExactJson.ParseObject(metadata!), metadata, runchatId, errorType: null, description: null);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // A listener that throws, or metadata this version cannot read: the run's result stands.
        }
    }

    /// <summary>Records a failure. Never throws: the caller gets the call's own exception.</summary>
    public void Failed(Exception exception)
    {
        try
        {
            End(ErrorType(exception), exception.Message);
        }
        catch (Exception listener) when (listener is not OutOfMemoryException)
        {
        }
    }

    public void Dispose()
    {
        try
        {
            _activity?.Dispose();
        }
        catch (Exception listener) when (listener is not OutOfMemoryException)
        {
        }
    }

    private void Record(JObject? metadata, string? rawMetadata, string? runchatId, string? errorType, string? description)
    {
        var input = Count(metadata, "input_tokens");
        var output = Count(metadata, "output_tokens");
        var credits = Amount(metadata, "credits");

        if (_activity is { IsAllDataRequested: true })
        {
            if (input is { } i) _activity.SetTag("gen_ai.usage.input_tokens", i);
            if (output is { } o) _activity.SetTag("gen_ai.usage.output_tokens", o);
            if (credits is { } c) _activity.SetTag("runchat.credits", c);
            if (runchatId is not null) _activity.SetTag("runchat.runchat_id", runchatId);
            if (_recordMetadata && rawMetadata is { } raw)
            {
                _activity.AddEvent(new ActivityEvent("runchat.metadata", tags: new ActivityTagsCollection { ["runchat.metadata"] = raw }));
            }
        }

        var tags = Tags(errorType);
        if (input is { } inputTokens && RunchatTelemetry.TokenUsage.Enabled)
        {
            var inputTags = tags;
            inputTags.Add("gen_ai.token.type", "input");
            RunchatTelemetry.TokenUsage.Record(inputTokens, inputTags);
        }

        if (output is { } outputTokens && RunchatTelemetry.TokenUsage.Enabled)
        {
            var outputTags = tags;
            outputTags.Add("gen_ai.token.type", "output");
            RunchatTelemetry.TokenUsage.Record(outputTokens, outputTags);
        }

        if (credits is { } spent)
        {
            RunchatTelemetry.Credits.Add(spent, tags);
        }

        End(errorType, description);
    }

    private void End(string? errorType, string? description)
    {
        if (_activity is not null && errorType is not null)
        {
            _activity.SetTag("error.type", errorType);
            _activity.SetStatus(ActivityStatusCode.Error, errorType == "agent_error" ? "the run finished with status: error" : errorType);
        }

        RunchatTelemetry.Duration.Record((Stopwatch.GetTimestamp() - _started) / (double)Stopwatch.Frequency, Tags(errorType));
    }

    // Attributes of every measurement: the job, the outcome and, on errors, error.type.
    private TagList Tags(string? errorType)
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", _operation },
            { "gen_ai.provider.name", "runchat" },
            { _idTag, _id },
            { "runchat.outcome", errorType is null ? "success" : errorType == "agent_error" ? "agent_error" : "error" },
        };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        return tags;
    }

    private static string ErrorType(Exception exception) => exception switch
    {
        RunchatApiException api => api.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
        TimeoutException => "timeout",
        _ => exception.GetType().FullName ?? exception.GetType().Name,
    };

    // A token count is a non-negative integer; anything else (1.5, -3, "12", a 30-digit number) is not recorded.
    private static long? Count(JObject? metadata, string name) =>
        metadata?[name] is JValue { Type: JTokenType.Integer, Value: long count } && count >= 0 ? count : null;

    // Credits feed a monotonic counter: only a finite, non-negative number is added.
    private static double? Amount(JObject? metadata, string name)
    {
        if (metadata?[name] is not JValue { Type: JTokenType.Integer or JTokenType.Float } value || value is JRaw)
        {
            return null;
        }

        var amount = Convert.ToDouble(value.Value, System.Globalization.CultureInfo.InvariantCulture);
        return amount >= 0 && !double.IsInfinity(amount) ? amount : null;
    }
}
