using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Runchat.Internal;

namespace Runchat;

// Handwritten: Azure's *ModelFactory pattern, so a unit test with a hand-written IRunchatClient fake
// gets the same objects, helpers and exceptions the real client produces.

/// <summary>
/// Builds the client's models for tests and fakes: responses whose <see cref="AgentJobResponse.FinalReply"/>,
/// <see cref="AgentJobResponse.Transcript"/>, <see cref="AgentJobResponse.IsSuccess"/> and
/// <see cref="AgentJobResponse.EnsureSuccess"/> behave as for a real answer, and the exceptions the client throws.
/// </summary>
public static class RunchatModelFactory
{
    /// <summary>A response as the API would answer it.</summary>
    /// <param name="status">The run's status; null for a status the client does not know.</param>
    /// <param name="messages">The transcript: <see cref="AgentMessage(string, string)"/> results, <see cref="JObject"/>s, dictionaries or anonymous objects such as <c>new { role = "assistant", content = "Done." }</c>.</param>
    /// <param name="metadata">The run's metadata: a JSON string as sent by the API, or an object to serialize (such as <c>new { credits = 2 }</c>).</param>
    /// <param name="error">The error text of a run that finished with <c>status: error</c>.</param>
    /// <param name="jobId">The job id.</param>
    /// <param name="runchatId">The Runchat id.</param>
    /// <returns>A new response.</returns>
    public static AgentJobResponse AgentJobResponse(
        AgentJobResponseStatus? status = AgentJobResponseStatus.Success,
        IEnumerable<object>? messages = null,
        object? metadata = null,
        string? error = null,
        string? jobId = null,
        string? runchatId = null)
    {
        var transcript = new Collection<object>();
        if (messages is not null)
        {
            foreach (var message in messages)
            {
                transcript.Add(message is AgentMessage view ? view.Raw : message);
            }
        }

        return new AgentJobResponse
        {
            Status = status,
            Messages = transcript,
            Metadata = metadata is null or string ? (string?)metadata : JsonConvert.SerializeObject(metadata),
            Error = error,
            JobId = jobId,
            RunchatId = runchatId,
        };
    }

    /// <summary>One transcript message: <c>{"role": role, "content": text}</c>.</summary>
    /// <param name="role">The role: <c>system</c>, <c>user</c>, <c>assistant</c>, <c>tool</c>.</param>
    /// <param name="text">The text; null for a message without text (a tool call).</param>
    /// <returns>A new message view.</returns>
    public static AgentMessage AgentMessage(string role, string? text) =>
        new(new JObject { ["role"] = role, ["content"] = text is null ? JValue.CreateNull() : new JValue(text) });

    /// <summary>
    /// The exception the client throws for a non-2xx answer, with the same message, <see cref="RunchatApiException.ServerError"/>
    /// and type (<see cref="RunchatApiException{TResult}"/> of <see cref="Error"/> for 400, 403, 404 and 500 with an error text).
    /// </summary>
    /// <param name="statusCode">The HTTP status, such as 404.</param>
    /// <param name="serverError">The server's error text, sent as <c>{"error": ...}</c>; null for no body.</param>
    /// <param name="headers">The response headers; none when null.</param>
    /// <returns>A new exception, to throw from a fake.</returns>
    public static RunchatApiException RunchatApiException(int statusCode, string? serverError = null, IReadOnlyDictionary<string, IEnumerable<string>>? headers = null) =>
        RunchatApiException(statusCode, serverError, headers, retryAfter: null);

    /// <summary>
    /// The exception the client throws for a non-2xx answer, as <see cref="RunchatApiException(int, string?, IReadOnlyDictionary{string, IEnumerable{string}}?)"/>,
    /// with the wait a <c>Retry-After</c> header asked for (a 429 from a fake).
    /// </summary>
    /// <param name="statusCode">The HTTP status, such as 429.</param>
    /// <param name="serverError">The server's error text, sent as <c>{"error": ...}</c>; null for no body.</param>
    /// <param name="headers">The response headers; none when null.</param>
    /// <param name="retryAfter">What <see cref="Runchat.RunchatApiException.RetryAfter"/> says; null for no Retry-After.</param>
    /// <returns>A new exception, to throw from a fake.</returns>
    public static RunchatApiException RunchatApiException(int statusCode, string? serverError, IReadOnlyDictionary<string, IEnumerable<string>>? headers, TimeSpan? retryAfter)
    {
        var body = serverError is null ? null : new JObject { ["error"] = serverError }.ToString(Formatting.None);
        return ResponseErrors.Build(statusCode, body, headers ?? new Dictionary<string, IEnumerable<string>>(), credential: null, retryAfter);
    }

    /// <summary>A successful answer with HTTP details, as <c>TriggerAgentJobWithResponseAsync</c> returns it.</summary>
    /// <typeparam name="T">The answer's type.</typeparam>
    /// <param name="value">The answer, such as <see cref="AgentJobResponse(AgentJobResponseStatus?, IEnumerable{object}?, object?, string?, string?, string?)"/>'s result.</param>
    /// <param name="statusCode">The HTTP status code.</param>
    /// <param name="headers">The headers (keyed case-insensitively in the result); none when null.</param>
    /// <returns>A new response.</returns>
    public static RunchatResponse<T> RunchatResponse<T>(T value, int statusCode = 200, IReadOnlyDictionary<string, IEnumerable<string>>? headers = null)
    {
        var copy = new Dictionary<string, IEnumerable<string>>(StringComparer.OrdinalIgnoreCase);
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                copy[header.Key] = header.Value;
            }
        }

        return new RunchatResponse<T>(value, statusCode, copy);
    }

    /// <summary>A flow parameter, as a schema or a flow run lists it.</summary>
    /// <param name="id">The parameter's id (<c>paramId_nodeId</c>).</param>
    /// <param name="label">The label shown in the editor.</param>
    /// <param name="type">The data type, such as <c>string</c>.</param>
    /// <param name="description">The description.</param>
    /// <param name="data">The values; none when null.</param>
    /// <returns>A new parameter.</returns>
    public static FlowParameter FlowParameter(string id, string label, string type = "string", string? description = null, IEnumerable<object?>? data = null) =>
        new() { Id = id, Label = label, Type = type, Description = description, Data = ToArray(data) };

    /// <summary>A node output of a flow job's run.</summary>
    /// <param name="id">The node's id.</param>
    /// <param name="label">The node's label.</param>
    /// <param name="data">The values; none when null.</param>
    /// <param name="description">The description.</param>
    /// <returns>A new output.</returns>
    public static FlowOutput FlowOutput(string id, string label, IEnumerable<object?>? data = null, string? description = null) =>
        new() { Id = id, Label = label, Description = description, Data = ToArray(data) };

    /// <summary>What <c>TriggerFlowJobAsync</c> returns.</summary>
    /// <param name="data">The node outputs; none when null.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="runchatId">The flow behind it.</param>
    /// <param name="metadata">The metadata object, such as <c>new { credits = 0.1 }</c>; none when null.</param>
    /// <returns>A new response.</returns>
    public static FlowJobResponse FlowJobResponse(IEnumerable<FlowOutput>? data = null, string? jobId = null, string? runchatId = null, object? metadata = null) =>
        new() { Data = new List<FlowOutput>(data ?? Array.Empty<FlowOutput>()), JobId = jobId, RunchatId = runchatId, Metadata = MetadataText(metadata) };

    /// <summary>What <c>RunFlowAsync</c> returns.</summary>
    /// <param name="outputs">The output parameters; none when null.</param>
    /// <param name="instanceId">The instance that ran.</param>
    /// <param name="metadata">The metadata object; none when null.</param>
    /// <returns>A new response.</returns>
    public static FlowRunResponse FlowRunResponse(IEnumerable<FlowParameter>? outputs = null, string? instanceId = null, object? metadata = null) =>
        new() { Outputs = new List<FlowParameter>(outputs ?? Array.Empty<FlowParameter>()), InstanceId = instanceId, Metadata = MetadataText(metadata) };

    /// <summary>What <c>GetFlowSchemaAsync</c> returns.</summary>
    /// <param name="name">The flow's name.</param>
    /// <param name="inputs">The inputs; none when null.</param>
    /// <param name="outputs">The outputs; none when null.</param>
    /// <returns>A new schema.</returns>
    public static FlowSchema FlowSchema(string name, IEnumerable<FlowParameter>? inputs = null, IEnumerable<FlowParameter>? outputs = null) =>
        new() { Name = name, Inputs = new List<FlowParameter>(inputs ?? Array.Empty<FlowParameter>()), Outputs = new List<FlowParameter>(outputs ?? Array.Empty<FlowParameter>()) };

    private static JArray ToArray(IEnumerable<object?>? values)
    {
        var array = new JArray();
        foreach (var value in values ?? Array.Empty<object?>())
        {
            array.Add(value is null ? JValue.CreateNull() : value as JToken ?? JToken.FromObject(value));
        }

        return array;
    }

    private static string? MetadataText(object? metadata) =>
        metadata is null ? null : metadata as string ?? JToken.FromObject(metadata).ToString(Formatting.None);
}
