using System;
using System.Diagnostics;
using System.Net.Http;

namespace Runchat.Internal;

/// <summary>
/// The call's deadline, written on the request by <see cref="RunchatDeadlineHandler"/> so that the
/// retry policy, one handler further in, can tell a wait that fits from one that does not.
/// </summary>
/// <remarks>
/// It travels on the request itself (HttpRequestMessage options), explicitly, not beside the call.
/// The deadline handler remains the one owner of the timeout; this is a read-only copy of it.
/// </remarks>
internal static class RequestDeadline
{
    private const string Key = "Runchat.Deadline";

    /// <summary>A monotonic clock (Stopwatch), immune to wall-clock changes.</summary>
    public static TimeSpan Now() => TimeSpan.FromSeconds(Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency);

    public static void Set(HttpRequestMessage request, TimeSpan deadline)
    {
#if NET5_0_OR_GREATER
        request.Options.Set(new HttpRequestOptionsKey<TimeSpan>(Key), deadline);
#else
        request.Properties[Key] = deadline;
#endif
    }

    /// <summary>The time left before the call's deadline, or null when it has none.</summary>
    public static TimeSpan? Remaining(HttpRequestMessage? request)
    {
        if (request is null)
        {
            return null;
        }

#if NET5_0_OR_GREATER
        return request.Options.TryGetValue(new HttpRequestOptionsKey<TimeSpan>(Key), out var deadline) ? deadline - Now() : null;
#else
        return request.Properties.TryGetValue(Key, out var value) && value is TimeSpan deadline ? deadline - Now() : null;
#endif
    }
}
