using System;

namespace Runchat.Internal;

/// <summary>The rule every generated operation's path obeys (build/templates/Client.Class.liquid calls it).</summary>
internal static class RequestPath
{
    /// <summary>
    /// Refuses a relative URL with an empty, <c>.</c> or <c>..</c> path segment: URI normalization
    /// would send the request to another path (<c>job/..</c> is the API root). Every generated
    /// request builder calls this, so an operation added upstream gets the rule too.
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
