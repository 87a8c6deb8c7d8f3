using System;

namespace Runchat.Internal;

/// <summary>The request paths: the one the handwritten triggers build, and the rule every operation's path obeys.</summary>
internal static class RequestPath
{
    /// <summary>
    /// <c>job/{runchat_job_id}</c>, relative to the base URL, with the id as exactly one
    /// percent-encoded segment (<c>a/b?c#d</c> → <c>job/a%2Fb%3Fc%23d</c>).
    /// </summary>
    /// <remarks>
    /// Written by hand rather than taken from the generated operation, whose parameter is an
    /// AgentJobRequest and cannot express "no body" or "these exact bytes". The spec-lint check
    /// (build/SpecTool/SpecChecks.cs, run by update-spec.sh and the tests) fails if upstream moves
    /// or drops POST /job/{runchat_job_id}. Call <see cref="JobIdValidator.Validate"/> first.
    /// </remarks>
    public static string ForTrigger(string jobId) => "job/" + Uri.EscapeDataString(jobId);

    /// <summary>
    /// Refuses a relative URL with an empty, <c>.</c> or <c>..</c> path segment: URI normalization
    /// would send the request to another path (<c>job/..</c> is the API root). Every generated
    /// operation passes through this, so an operation added upstream gets the rule too.
    /// </summary>
    /// <exception cref="ArgumentException">A path parameter is empty, "." or "..".</exception>
    public static void EnsureNoDotOrEmptySegments(string relativeUrl)
    {
        var end = relativeUrl.IndexOfAny(new[] { '?', '#' });
        var path = end < 0 ? relativeUrl : relativeUrl.Substring(0, end);
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                throw new ArgumentException(
                    $"The request path '{path}' has an empty, '.' or '..' segment, which would send the request to another path. Check the ids passed to this operation.",
                    "relativeUrl");
            }
        }
    }
}
