using System;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat;

// Handwritten: the interface (nswag.json generates none). The generated operations are internal
// request builders (build/templates/Client.Class.liquid); what callers use and mock is declared here.

/// <summary>
/// The Runchat API client: triggers saved agent jobs. Mock this interface in your own tests.
/// </summary>
/// <remarks>
/// Each <c>TriggerAgentJobAsync</c> overload chooses the body mode explicitly: none, a message, or a
/// payload sent byte for byte.
/// </remarks>
public partial interface IRunchatClient
{
    /// <summary>
    /// Runs the job's saved chat template as-is. Sends no request body at all
    /// (<c>Content-Length: 0</c>, no <c>Content-Type</c>).
    /// </summary>
    /// <param name="jobId">The job id from the Runchat Tasks dashboard; sent as one percent-encoded path segment.</param>
    /// <param name="cancellationToken">
    /// Stops waiting. Like the timeout, it does not stop a run the server has already started.
    /// </param>
    /// <returns>The finished run. Check <see cref="AgentJobResponse.IsSuccess"/> or call <see cref="AgentJobResponse.EnsureSuccess"/>: a 200 can carry <c>status: error</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="jobId"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="jobId"/> is empty, whitespace, <c>.</c>, <c>..</c> or has control characters. Nothing is sent.</exception>
    /// <exception cref="RunchatApiException">The API answered with a status other than 2xx (a 400 for flow jobs, 401 for a bad key, 404, 429, 5xx, a redirect), or with a body that is not an agent job response.</exception>
    /// <exception cref="TimeoutException">The configured <see cref="RunchatClientOptions.Timeout"/> elapsed; the job may still be running on the server.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="System.Net.Http.HttpRequestException">The server could not be reached, or the connection dropped.</exception>
    Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends <paramref name="message"/> verbatim as a user message to the job's saved chat
    /// template, then runs the agent. The body is exactly <c>{"message":"&lt;message&gt;"}</c>.
    /// </summary>
    /// <param name="jobId">The job id from the Runchat Tasks dashboard; sent as one percent-encoded path segment.</param>
    /// <param name="message">The text to append. Not null, empty or whitespace.</param>
    /// <param name="cancellationToken">Stops waiting; does not stop a run the server has already started.</param>
    /// <returns>The finished run. A 200 can carry <c>status: error</c>; see <see cref="AgentJobResponse.EnsureSuccess"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="jobId"/> or <paramref name="message"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="message"/> is empty or whitespace (use the overload without a message to run the template as-is), or <paramref name="jobId"/> is invalid. Nothing is sent.</exception>
    /// <exception cref="RunchatApiException">The API answered with a status other than 2xx, or with a body that is not an agent job response.</exception>
    /// <exception cref="TimeoutException">The configured <see cref="RunchatClientOptions.Timeout"/> elapsed; the job may still be running on the server.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="System.Net.Http.HttpRequestException">The server could not be reached, or the connection dropped.</exception>
    Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, string message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Forwards a raw payload (a webhook body) to the job: the agent receives the whole payload as
    /// its user message. The payload's bytes are sent exactly as given.
    /// </summary>
    /// <remarks>
    /// When the payload has a top-level <c>message</c> key, sending it as-is would make the server
    /// append only that key's value and drop everything else. Such a payload is sent as
    /// <c>{"message":"&lt;the payload text&gt;"}</c> instead, so the agent still receives the
    /// entire payload (see <see cref="JobPayload.HasTopLevelMessageKey"/>).
    /// </remarks>
    /// <param name="jobId">The job id from the Runchat Tasks dashboard; sent as one percent-encoded path segment.</param>
    /// <param name="payload">The JSON object to forward; validated when it was created.</param>
    /// <param name="cancellationToken">Stops waiting; does not stop a run the server has already started.</param>
    /// <returns>The finished run. A 200 can carry <c>status: error</c>; see <see cref="AgentJobResponse.EnsureSuccess"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="jobId"/> or <paramref name="payload"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="jobId"/> is invalid. Nothing is sent.</exception>
    /// <exception cref="RunchatApiException">The API answered with a status other than 2xx, or with a body that is not an agent job response.</exception>
    /// <exception cref="TimeoutException">The configured <see cref="RunchatClientOptions.Timeout"/> elapsed; the job may still be running on the server.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="System.Net.Http.HttpRequestException">The server could not be reached, or the connection dropped.</exception>
    Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, JobPayload payload, CancellationToken cancellationToken = default);
}
