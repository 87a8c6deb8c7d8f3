using System;

namespace Runchat;

/// <summary>
/// The agent run finished, but not successfully: the API answered 200 with <c>status: error</c>
/// (or with no success status). Thrown by <see cref="AgentJobResponse.EnsureSuccess"/>.
/// </summary>
public class RunchatAgentRunException : Exception
{
    /// <summary>Creates the exception for a finished run that did not succeed.</summary>
    /// <param name="response">The run's response.</param>
    /// <exception cref="ArgumentNullException"><paramref name="response"/> is null.</exception>
    public RunchatAgentRunException(AgentJobResponse response)
        : base(Describe(response ?? throw new ArgumentNullException(nameof(response))))
    {
        Response = response;
    }

    /// <summary>The job's id, as the response reports it.</summary>
    public string? JobId => Response.JobId;

    /// <summary>The run's error message, as the response reports it.</summary>
    public string? Error => Response.Error;

    /// <summary>The whole response, transcript included.</summary>
    public AgentJobResponse Response { get; }

    private static string Describe(AgentJobResponse response)
    {
        var job = response.JobId is null ? "The agent run" : $"The agent run of job '{response.JobId}'";
        var status = response.Status switch
        {
            AgentJobResponseStatus.Error => "finished with status 'error'",
            null => "finished without a status this client recognises",
            var other => $"finished with status '{other}'",
        };
        return response.Error is null ? $"{job} {status}." : $"{job} {status}: {response.Error}";
    }
}
