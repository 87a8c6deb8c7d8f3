using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Internal;

namespace Runchat;

// Handwritten: the three trigger modes ("raw payload vs. explicit message"). Each validates its
// arguments, builds its body in Internal/JobRequestBody.cs, and goes through SendTriggerAsync.
// The generated operation for this endpoint is protected (nswag.json protectedMethods): its
// AgentJobRequest parameter cannot express "no body" or "these exact bytes".
public partial class RunchatClient
{
    /// <inheritdoc />
    public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(jobId);
        return SendTriggerAsync(jobId, content: null, "none", cancellationToken);
    }

    /// <inheritdoc />
    public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, string message, CancellationToken cancellationToken = default)
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

        for (var i = 0; i < message.Length; i++)
        {
            if (char.IsHighSurrogate(message[i]) && i + 1 < message.Length && char.IsLowSurrogate(message[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(message[i]))
            {
                throw new ArgumentException($"The message has a broken character at index {i} (an unpaired UTF-16 surrogate, U+{(int)message[i]:X4}), which cannot be sent as UTF-8. It usually comes from cutting a string in the middle of an emoji.", nameof(message));
            }
        }

        return SendTriggerAsync(jobId, JobRequestBody.ForMessage(message), "message", cancellationToken);
    }

    /// <inheritdoc />
    public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, JobPayload payload, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(jobId);
        if (payload is null)
        {
            throw new ArgumentNullException(nameof(payload), "The payload is null. To run the saved template as-is, call TriggerAgentJobAsync(jobId) without a payload.");
        }

        return SendTriggerAsync(jobId, JobRequestBody.ForPayload(payload), "payload", cancellationToken);
    }

    /// <summary>The one send path of the handwritten layer.</summary>
    /// <remarks>
    /// It is one span and one set of measurements (Internal/RunchatTelemetry.cs) when anything listens.
    /// The request is built here, with its body as an argument; the pipeline (RunchatTransport, then
    /// the handlers in Internal/RunchatHttpPipeline.cs) owns the deadline and buffers the answer;
    /// ResponseErrors maps every non-2xx; the generated ReadObjectResponseAsync reads the 200.
    /// </remarks>
    private async Task<AgentJobResponse> SendTriggerAsync(string jobId, HttpContent? content, string bodyMode, CancellationToken cancellationToken)
    {
        var options = _httpClient.Options;
        using var telemetry = RunchatTelemetry.Start(jobId, bodyMode, options.BaseUrl, options.RecordMetadataInTraces);
        try
        {
            var response = await SendTriggerCoreAsync(jobId, content, cancellationToken).ConfigureAwait(false);
            telemetry?.Succeeded(response);
            return response;
        }
        catch (Exception exception) when (telemetry is not null)
        {
            telemetry.Failed(exception);
            throw;
        }
    }

    private async Task<AgentJobResponse> SendTriggerCoreAsync(string jobId, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(RequestPath.ForTrigger(jobId), UriKind.Relative)) { Content = content };
        request.Headers.TryAddWithoutValidation("Accept", "application/json");

        using var response = await _httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await ResponseErrors.ThrowIfNotSuccess(response, _httpClient.Options.ApiKey).ConfigureAwait(false);

        var headers = ResponseErrors.CollectHeaders(response, _httpClient.Options.ApiKey);
        var status = (int)response.StatusCode;
        if (status != 200)
        {
            throw new RunchatApiException($"Runchat answered with the unexpected HTTP status {status}; a trigger answers 200.", status, null, headers, null);
        }

        var result = await ReadObjectResponseAsync<AgentJobResponse>(response, headers, cancellationToken).ConfigureAwait(false);
        return result.Object ?? throw new RunchatApiException("Runchat answered 200 with an empty body instead of the run's result.", status, result.Text, headers, null);
    }
}
