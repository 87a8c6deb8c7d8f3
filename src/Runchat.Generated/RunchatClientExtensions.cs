using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat;

// Handwritten: the status and headers of a successful answer, through the interface, without adding
// members to IRunchatClient (which would break every hand-written fake of it).

/// <summary>Triggers that also return the answer's HTTP status code and headers.</summary>
public static class RunchatClientExtensions
{
    private static readonly IReadOnlyDictionary<string, IEnumerable<string>> NoHeaders =
        new Dictionary<string, IEnumerable<string>>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// <see cref="IRunchatClient.TriggerAgentJobAsync(string, CancellationToken)"/>, with the answer's status
    /// code and headers (a request id, rate-limit headers): the same request, guarantees and exceptions.
    /// </summary>
    /// <param name="client">The client. For an <see cref="IRunchatClient"/> that is not a <see cref="RunchatClient"/> (a fake), the value is its <c>TriggerAgentJobAsync</c> result, with status 200 and no headers.</param>
    /// <param name="jobId">The job id from the Runchat Tasks dashboard.</param>
    /// <param name="cancellationToken">Stops waiting; does not stop a run the server has already started.</param>
    /// <returns>The finished run in <see cref="RunchatResponse{T}.Value"/>, with the HTTP details.</returns>
    public static Task<RunchatResponse<AgentJobResponse>> TriggerAgentJobWithResponseAsync(this IRunchatClient client, string jobId, CancellationToken cancellationToken = default) =>
        (client ?? throw new ArgumentNullException(nameof(client))) is RunchatClient runchat
            ? runchat.TriggerAgentJobWithResponseAsync(jobId, cancellationToken)
            : WithoutDetails(client.TriggerAgentJobAsync(jobId, cancellationToken));

    /// <summary>
    /// <see cref="IRunchatClient.TriggerAgentJobAsync(string, string, CancellationToken)"/>, with the answer's
    /// status code and headers: the same request, guarantees and exceptions.
    /// </summary>
    /// <param name="client">The client. For an <see cref="IRunchatClient"/> that is not a <see cref="RunchatClient"/> (a fake), the value is its <c>TriggerAgentJobAsync</c> result, with status 200 and no headers.</param>
    /// <param name="jobId">The job id from the Runchat Tasks dashboard.</param>
    /// <param name="message">The user message, sent verbatim.</param>
    /// <param name="cancellationToken">Stops waiting; does not stop a run the server has already started.</param>
    /// <returns>The finished run in <see cref="RunchatResponse{T}.Value"/>, with the HTTP details.</returns>
    public static Task<RunchatResponse<AgentJobResponse>> TriggerAgentJobWithResponseAsync(this IRunchatClient client, string jobId, string message, CancellationToken cancellationToken = default) =>
        (client ?? throw new ArgumentNullException(nameof(client))) is RunchatClient runchat
            ? runchat.TriggerAgentJobWithResponseAsync(jobId, message, cancellationToken)
            : WithoutDetails(client.TriggerAgentJobAsync(jobId, message, cancellationToken));

    /// <summary>
    /// <see cref="IRunchatClient.TriggerAgentJobAsync(string, JobPayload, CancellationToken)"/>, with the
    /// answer's status code and headers: the same request, guarantees and exceptions.
    /// </summary>
    /// <param name="client">The client. For an <see cref="IRunchatClient"/> that is not a <see cref="RunchatClient"/> (a fake), the value is its <c>TriggerAgentJobAsync</c> result, with status 200 and no headers.</param>
    /// <param name="jobId">The job id from the Runchat Tasks dashboard.</param>
    /// <param name="payload">The JSON object to forward.</param>
    /// <param name="cancellationToken">Stops waiting; does not stop a run the server has already started.</param>
    /// <returns>The finished run in <see cref="RunchatResponse{T}.Value"/>, with the HTTP details.</returns>
    public static Task<RunchatResponse<AgentJobResponse>> TriggerAgentJobWithResponseAsync(this IRunchatClient client, string jobId, JobPayload payload, CancellationToken cancellationToken = default) =>
        (client ?? throw new ArgumentNullException(nameof(client))) is RunchatClient runchat
            ? runchat.TriggerAgentJobWithResponseAsync(jobId, payload, cancellationToken)
            : WithoutDetails(client.TriggerAgentJobAsync(jobId, payload, cancellationToken));

    private static async Task<RunchatResponse<AgentJobResponse>> WithoutDetails(Task<AgentJobResponse> call) =>
        new(await call.ConfigureAwait(false), 200, NoHeaders);
}
