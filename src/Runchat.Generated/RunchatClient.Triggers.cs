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
        // The pipeline's timeout handler bounds the wait for the answer; this deadline also bounds
        // reading it (the generated code deserializes the body with synchronous reads, which no
        // token reaches, so RunchatClient.Wire.cs aborts the response when the token fires).
        var timeout = _options?.Timeout ?? Timeout.InfiniteTimeSpan;
        using var deadline = timeout == Timeout.InfiniteTimeSpan ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline?.CancelAfter(timeout);
        var token = deadline?.Token ?? cancellationToken;

        // The generated operation serializes its AgentJobRequest argument, which cannot express
        // "no body" or "these exact bytes". The body travels to PrepareRequestAsync beside the
        // call instead; AsyncLocal keeps concurrent calls apart.
        var call = new CallState(content, token, ownsDeadline: deadline is not null);
        CurrentCall.Value = call;
        try
        {
            return await TriggerAgentJobWithMessageAsync(null, jobId, token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not TimeoutException && deadline is { IsCancellationRequested: true } && !cancellationToken.IsCancellationRequested)
        {
            throw RunchatTimeoutHandler.CreateTimeoutException(timeout, exception);
        }
        catch (Exception exception) when (exception is not OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The trigger was cancelled while the response was read. A run the server started is not stopped.", exception, cancellationToken);
        }
        finally
        {
            CurrentCall.Value = null;
            call.Dispose();
            content?.Dispose();
        }
    }
}
