using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Internal;

namespace Runchat;

// Handwritten: the three trigger modes ("raw payload vs. explicit message"). Each validates its
// arguments, builds its body in JobRequestBody, and goes through SendTriggerAsync, which reuses
// the generated operation for the URL, headers, sending and response parsing.
public partial class RunchatClient
{
    /// <inheritdoc />
    public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(jobId);
        return SendTriggerAsync(jobId, content: null, cancellationToken);
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

        return SendTriggerAsync(jobId, JobRequestBody.ForMessage(message), cancellationToken);
    }

    /// <inheritdoc />
    public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, JobPayload payload, CancellationToken cancellationToken = default)
    {
        JobIdValidator.Validate(jobId);
        if (payload is null)
        {
            throw new ArgumentNullException(nameof(payload), "The payload is null. To run the saved template as-is, call TriggerAgentJobAsync(jobId) without a payload.");
        }

        return SendTriggerAsync(jobId, JobRequestBody.ForPayload(payload), cancellationToken);
    }

    /// <summary>The one send path of the handwritten layer.</summary>
    private async Task<AgentJobResponse> SendTriggerAsync(string jobId, HttpContent? content, CancellationToken cancellationToken)
    {
        // The generated operation serializes its AgentJobRequest argument, which cannot express
        // "no body" or "these exact bytes". The body travels to PrepareRequestAsync (in
        // RunchatClient.Wire.cs) beside the call instead; AsyncLocal keeps concurrent calls apart.
        PendingBody.Value = new RequestBody(content);
        try
        {
            return await TriggerAgentJobWithMessageAsync(null, jobId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            PendingBody.Value = null;
            content?.Dispose();
        }
    }
}
