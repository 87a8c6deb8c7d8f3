using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Runchat.Internal;

namespace Runchat;

// Handwritten: the three trigger modes ("raw payload vs. explicit message"). Each validates its
// arguments, builds its body in Internal/JobRequestBody.cs (the one thing the spec cannot express:
// no body, these exact bytes, or a message), and goes through SendTriggerAsync, which hands that
// body to the generated request builder and sender (build/templates/Client.Class.liquid).
public partial class RunchatClient
{
    /// <inheritdoc />
    public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        ValueOf(TriggerAgentJobWithResponseAsync(jobId, cancellationToken));

    /// <inheritdoc cref="RunchatClientExtensions.TriggerAgentJobWithResponseAsync(IRunchatClient, string, CancellationToken)" />
    public Task<RunchatResponse<AgentJobResponse>> TriggerAgentJobWithResponseAsync(string jobId, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(jobId);
        return SendTriggerAsync(jobId, JobRequestBody.None(), "none", cancellationToken);
    }

    /// <inheritdoc />
    public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, string message, CancellationToken cancellationToken = default) =>
        ValueOf(TriggerAgentJobWithResponseAsync(jobId, message, cancellationToken));

    /// <inheritdoc cref="RunchatClientExtensions.TriggerAgentJobWithResponseAsync(IRunchatClient, string, string, CancellationToken)" />
    public Task<RunchatResponse<AgentJobResponse>> TriggerAgentJobWithResponseAsync(string jobId, string message, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(jobId);
        if (message is null)
        {
            throw new ArgumentNullException(nameof(message), "The message is null. To run the saved template as-is, call TriggerAgentJobAsync(jobId) without a message.");
        }

        if (string.IsNullOrWhiteSpace(message))
        {
            throw new ArgumentException("The message is empty or whitespace, which the server would append as a blank user message. To run the saved template as-is, call TriggerAgentJobAsync(jobId) without a message.", nameof(message));
        }

        var unpaired = Utf16.UnpairedSurrogateAt(message);
        if (unpaired >= 0)
        {
            throw new ArgumentException($"The message has a broken character at index {unpaired} (an unpaired UTF-16 surrogate, U+{(int)message[unpaired]:X4}), which cannot be sent as UTF-8. It usually comes from cutting a string in the middle of an emoji.", nameof(message));
        }

        return SendTriggerAsync(jobId, JobRequestBody.ForMessage(message), "message", cancellationToken);
    }

    /// <inheritdoc />
    public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, JobPayload payload, CancellationToken cancellationToken = default) =>
        ValueOf(TriggerAgentJobWithResponseAsync(jobId, payload, cancellationToken));

    /// <inheritdoc cref="RunchatClientExtensions.TriggerAgentJobWithResponseAsync(IRunchatClient, string, JobPayload, CancellationToken)" />
    public Task<RunchatResponse<AgentJobResponse>> TriggerAgentJobWithResponseAsync(string jobId, JobPayload payload, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(jobId);
        if (payload is null)
        {
            throw new ArgumentNullException(nameof(payload), "The payload is null. To run the saved template as-is, call TriggerAgentJobAsync(jobId) without a payload.");
        }

        if (payload.HasTopLevelMessageKey)
        {
            _transport.Logger.LogWarning(
                "The payload for job {JobId} has a top-level \"message\" key, which the server would take as the whole message; it is sent wrapped as {{\"message\": \"<the whole payload>\"}} so the agent receives all of it.",
                jobId);
        }

        return SendTriggerAsync(jobId, JobRequestBody.ForPayload(payload), "payload", cancellationToken);
    }

    /// <summary>The one send path of the handwritten layer.</summary>
    /// <remarks>
    /// It is one span and one set of measurements (Internal/RunchatTelemetry.cs) when anything listens,
    /// and one log line. The generated CreateTriggerAgentJobWithMessageRequest builds the request around
    /// <paramref name="content"/>; the generated SendTriggerAgentJobWithMessageAsync sends it once through
    /// the pipeline (RunchatTransport, then the handlers in Internal/RunchatHttpPipeline.cs, which owns
    /// the deadline and buffers the answer), maps every status but 200 (Internal/ResponseErrors.cs), and
    /// reads the 200 strictly (RunchatClient.Serialization.cs).
    /// </remarks>
    private async Task<RunchatResponse<AgentJobResponse>> SendTriggerAsync(string jobId, HttpContent content, string bodyMode, CancellationToken cancellationToken)
    {
        var options = _transport.Options;
        var logger = _transport.Logger;
        var bytes = content.Headers.ContentLength ?? 0;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var telemetry = RunchatTelemetry.Start(jobId, bodyMode, options.BaseUrl, options.RecordMetadataInTraces);
        try
        {
            using var request = CreateTriggerAgentJobWithMessageRequest(jobId, content);
            var response = await SendTriggerAgentJobWithMessageAsync(request, cancellationToken).ConfigureAwait(false);
            telemetry?.Succeeded(response.Value);
            if (logger.IsEnabled(LogLevel.Information))
            {
                logger.LogInformation("Triggered job {JobId} ({BodyMode}, {RequestBytes} bytes): status {RunStatus} in {ElapsedMs:0} ms",
                    jobId, bodyMode, bytes, response.Value.Status?.ToString().ToLowerInvariant() ?? "unknown", ElapsedMs(started));
            }

            return response;
        }
        catch (Exception exception)
        {
            telemetry?.Failed(exception);
            // One line, no stack trace: the caller gets the exception and decides what to log.
            logger.Log(exception is OperationCanceledException ? LogLevel.Information : LogLevel.Warning,
                "Trigger of job {JobId} ({BodyMode}, {RequestBytes} bytes) failed after {ElapsedMs:0} ms: {Error}",
                jobId, bodyMode, bytes, ElapsedMs(started), FirstLine(exception.Message));
            throw;
        }
    }

    // The generated exception's message goes on with the status and the body; the log keeps the sentence.
    private static string FirstLine(string text)
    {
        var end = text.IndexOf('\n');
        return end < 0 ? text : text.Substring(0, end).TrimEnd('\r');
    }

    private static double ElapsedMs(long started) =>
        (System.Diagnostics.Stopwatch.GetTimestamp() - started) * 1000.0 / System.Diagnostics.Stopwatch.Frequency;

    // Argument errors stay synchronous: the plain overloads (and the flow operations) only unwrap the finished call.
    private static async Task<T> ValueOf<T>(Task<RunchatResponse<T>> call) =>
        (await call.ConfigureAwait(false)).Value;
}
