using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Runchat.Internal;

namespace Runchat;

// Handwritten: the flow operations of the sibling pages (openapi/pages/). Each validates its
// arguments and builds its body; the generated Create…Request and Send…Async (build/templates/
// Client.Class.liquid) build, send, map and read, through the same pipeline as the agent triggers:
// one deadline, the send guard, the error mapper, the strict reader, redaction.
public partial class RunchatClient : IRunchatFlowClient
{
    /// <summary>
    /// Triggers a flow-backed saved job (<c>GET /job/{jobId}</c>): the flow runs its scheduled inputs.
    /// The GET starts a run, so it is treated as the POST is: never sent again once it may have reached the server.
    /// </summary>
    /// <param name="jobId">The job id from the Runchat Tasks dashboard; sent as one percent-encoded path segment.</param>
    /// <param name="cancellationToken">Stops waiting; it does not stop a run the server has already started.</param>
    /// <returns>The node outputs of the run.</returns>
    /// <exception cref="ArgumentException"><paramref name="jobId"/> is invalid; nothing is sent.</exception>
    /// <exception cref="RunchatApiException">The API answered with a status other than 200, or with a body that is not a flow job response.</exception>
    /// <exception cref="TimeoutException">The timeout elapsed: the flow may still be running on the server.</exception>
    public Task<FlowJobResponse> TriggerFlowJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(jobId);
        // An empty body rather than none: the runtime may re-send a body-less request on a connection
        // that closed under it (see JobRequestBody.None); this GET starts a run and must not be re-sent.
        return ValueOf(SendFlowAsync("execute_flow", jobId, "none", JobRequestBody.None(),
            content => CreateTriggerFlowJobRequest(jobId, content), SendTriggerFlowJobAsync, static r => (r.Metadata, r.RunchatId), cancellationToken));
    }

    /// <summary>
    /// Runs a flow (<c>POST /{runchatId}</c>) with inputs keyed by parameter id: the body is
    /// <c>{"inputs": {…}}</c>, with <c>runchat_instance_id</c> when <paramref name="instanceId"/> continues an instance.
    /// </summary>
    /// <param name="runchatId">The flow's id (the <c>id</c> in the editor's URL).</param>
    /// <param name="inputs">The inputs, by id or, through the schema, by label.</param>
    /// <param name="instanceId">An instance to continue; null starts a new one.</param>
    /// <param name="cancellationToken">Stops waiting; it does not stop a run the server has already started.</param>
    /// <returns>The instance that ran, and its outputs.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="runchatId"/> or <paramref name="instanceId"/> is invalid; nothing is sent.</exception>
    /// <exception cref="RunchatApiException">The API answered with a status other than 200, or with a body that is not a flow run response.</exception>
    public Task<FlowRunResponse> RunFlowAsync(string runchatId, FlowInputs inputs, string? instanceId = null, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(runchatId, nameof(runchatId));
        if (inputs is null) throw new ArgumentNullException(nameof(inputs), "The inputs are null. To run the flow with its Webhook node's input, pass a JobPayload.");
        ValidateInstanceId(instanceId);
        return ValueOf(SendFlowAsync("execute_flow", runchatId, "inputs", JobRequestBody.ForBytes(inputs.ToBody(instanceId)),
            content => CreateRunFlowRequest(runchatId, content), SendRunFlowAsync, static r => (r.Metadata, null), cancellationToken));
    }

    /// <summary>
    /// Runs a flow (<c>POST /{runchatId}</c>) with a raw JSON body, which becomes the input of the
    /// flow's Webhook node: sent byte for byte, as a payload to an agent job is.
    /// </summary>
    /// <param name="runchatId">The flow's id.</param>
    /// <param name="payload">The body, such as a webhook's, exactly as received.</param>
    /// <param name="instanceId">
    /// Must be null: the body is sent byte for byte, so it cannot carry <c>runchat_instance_id</c>. To
    /// continue an instance, pass <see cref="FlowInputs"/>, or put the key in the payload yourself.
    /// </param>
    /// <param name="cancellationToken">Stops waiting; it does not stop a run the server has already started.</param>
    /// <returns>The instance that ran, and its outputs.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="payload"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="runchatId"/> is invalid, or <paramref name="instanceId"/> is set; nothing is sent.</exception>
    /// <exception cref="RunchatApiException">The API answered with a status other than 200, or with a body that is not a flow run response.</exception>
    public Task<FlowRunResponse> RunFlowAsync(string runchatId, JobPayload payload, string? instanceId = null, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(runchatId, nameof(runchatId));
        if (payload is null) throw new ArgumentNullException(nameof(payload), "The payload is null. To run the flow with inputs, pass FlowInputs.");
        if (instanceId is not null)
        {
            throw new ArgumentException(
                "A raw payload is sent byte for byte, so it cannot also carry runchat_instance_id. Continue an instance with FlowInputs, or put \"runchat_instance_id\" in the payload.",
                nameof(instanceId));
        }

        return ValueOf(SendFlowAsync("execute_flow", runchatId, "payload", JobRequestBody.ForBytes(payload),
            content => CreateRunFlowRequest(runchatId, content), SendRunFlowAsync, static r => (r.Metadata, null), cancellationToken));
    }

    /// <summary>Reads a flow's published inputs and outputs (<c>GET /{runchatId}/schema</c>); runs nothing.</summary>
    /// <param name="runchatId">The flow's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The flow's name, inputs and outputs: pass it to <see cref="FlowInputs.From(FlowSchema)"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="runchatId"/> is invalid; nothing is sent.</exception>
    /// <exception cref="RunchatApiException">The API answered with a status other than 200, or with a body that is not a flow schema.</exception>
    public Task<FlowSchema> GetFlowSchemaAsync(string runchatId, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(runchatId, nameof(runchatId));
        return ValueOf(SendFlowAsync("get_flow_schema", runchatId, "none", JobRequestBody.None(),
            content => CreateGetFlowSchemaRequest(runchatId, content), SendGetFlowSchemaAsync, static _ => (null, null), cancellationToken));
    }

    private static void ValidateInstanceId(string? instanceId)
    {
        if (instanceId is not null && (string.IsNullOrWhiteSpace(instanceId) || Utf16.UnpairedSurrogateAt(instanceId) >= 0))
        {
            throw new ArgumentException("The instance id is empty, whitespace or has a broken character; pass null to start a new instance.", nameof(instanceId));
        }
    }

    /// <summary>
    /// The send path of the flow operations: one span and one log line around the generated builder and
    /// sender, as <see cref="SendTriggerAsync"/> is for the agent triggers.
    /// </summary>
    private async Task<RunchatResponse<T>> SendFlowAsync<T>(
        string operation, string id, string bodyMode, HttpContent content,
        Func<HttpContent, HttpRequestMessage> create, Func<HttpRequestMessage, CancellationToken, Task<RunchatResponse<T>>> send,
        Func<T, (string? Metadata, string? RunchatId)> describe, CancellationToken cancellationToken)
    {
        var options = _transport.Options;
        var logger = _transport.Logger;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var telemetry = RunchatTelemetry.StartFlow(operation, id, bodyMode, options.BaseUrl, options.RecordMetadataInTraces);
        try
        {
            using var request = create(content);
            var response = await send(request, cancellationToken).ConfigureAwait(false);
            var (metadata, runchatId) = describe(response.Value);
            telemetry?.Succeeded(metadata, runchatId);
            if (logger.IsEnabled(LogLevel.Information))
            {
                logger.LogInformation("{Operation} {Id} ({BodyMode}): done in {ElapsedMs:0} ms", operation, id, bodyMode, ElapsedMs(started));
            }

            return response;
        }
        catch (Exception exception)
        {
            telemetry?.Failed(exception);
            logger.Log(exception is OperationCanceledException ? LogLevel.Information : LogLevel.Warning,
                "{Operation} {Id} ({BodyMode}) failed after {ElapsedMs:0} ms: {Error}", operation, id, bodyMode, ElapsedMs(started), FirstLine(exception.Message));
            throw;
        }
    }
}
