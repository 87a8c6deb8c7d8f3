using System;
using System.Net;
using System.Net.Http;
#if !NET8_0_OR_GREATER
using System.Net.Sockets;
#endif

namespace Runchat;

/// <summary>
/// What may be sent again, and after how long: the rule the client's own retries follow, public for
/// code that retries across calls (a queue consumer, Runchat.Relay). A trigger is not idempotent,
/// so only a failure that proves the agent did not run may be re-sent.
/// </summary>
public static class RunchatRetry
{
    /// <summary>
    /// True when <paramref name="exception"/> proves the agent did not run and the cause may pass:
    /// a failure to connect (no request byte left this machine) or <c>429 Too Many Requests</c>.
    /// False for everything else, a timeout, a 5xx or a connection dropped after sending included:
    /// those may have run the agent.
    /// </summary>
    /// <param name="exception">What a call threw.</param>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public static bool IsSafeToResend(Exception exception) => exception switch
    {
        null => throw new ArgumentNullException(nameof(exception)),
        RunchatApiException api => api.StatusCode == 429,
        HttpRequestException http => IsFailureToConnect(http),
        _ => false,
    };

    /// <summary>
    /// How long to wait before attempt <paramref name="retry"/> + 1: the server's
    /// <see cref="RunchatApiException.RetryAfter"/> when it sent one, else
    /// <paramref name="baseDelay"/> × 2^<paramref name="retry"/> with up to 25% jitter; never more than <paramref name="maxDelay"/>.
    /// </summary>
    /// <param name="exception">What the last attempt threw; see <see cref="IsSafeToResend"/>.</param>
    /// <param name="retry">0 before the first retry, 1 before the second, and so on.</param>
    /// <param name="baseDelay">The first wait without Retry-After.</param>
    /// <param name="maxDelay">The longest wait, Retry-After included.</param>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="retry"/> is negative, or a delay is not positive.</exception>
    public static TimeSpan GetDelay(Exception exception, int retry, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        if (exception is null) throw new ArgumentNullException(nameof(exception));
        if (retry < 0) throw new ArgumentOutOfRangeException(nameof(retry), retry, "The retry number starts at 0.");
        if (baseDelay <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(baseDelay), baseDelay, "The base delay must be positive.");
        if (maxDelay <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(maxDelay), maxDelay, "The longest delay must be positive.");
        return Delay((exception as RunchatApiException)?.RetryAfter, retry, baseDelay, maxDelay, jitter: true);
    }

    /// <summary>The one backoff formula: Retry-After, else exponential with jitter (or its longest value without), capped.</summary>
    internal static TimeSpan Delay(TimeSpan? retryAfter, int retry, TimeSpan baseDelay, TimeSpan maxDelay, bool jitter)
    {
        if (retryAfter is { } asked)
        {
            return asked < maxDelay ? asked : maxDelay;
        }

        var exponential = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry, 16));
        var factor = jitter ? 1 + (0.25 * new Random(Guid.NewGuid().GetHashCode()).NextDouble()) : 1.25;
        return TimeSpan.FromMilliseconds(Math.Min(exponential * factor, maxDelay.TotalMilliseconds));
    }

    /// <summary>True when the exception says the connection was never established, so no request byte left.</summary>
    internal static bool IsFailureToConnect(HttpRequestException exception)
    {
#if NET8_0_OR_GREATER
        return exception.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError;
#else
        // netstandard2.0 has no HttpRequestError. Both SocketsHttpHandler and the .NET Framework
        // handler put the connect-phase SocketException directly under the HttpRequestException
        // (a drop after sending arrives as an IOException instead), so the socket error code tells.
        if (exception.InnerException is SocketException socket)
        {
            return socket.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.TryAgain
                or SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.AddressNotAvailable;
        }

        return exception.InnerException is WebException { Status: WebExceptionStatus.ConnectFailure or WebExceptionStatus.NameResolutionFailure };
#endif
    }

    /// <summary>
    /// The wait a 429 asks for: delta-seconds, or an HTTP date measured against the answer's own
    /// <c>Date</c> header (the server's clock, so a skewed local clock does not matter), else against
    /// <paramref name="now"/>. Null when there is no Retry-After. Never negative.
    /// </summary>
    internal static TimeSpan? RetryAfterOf(HttpResponseMessage? response, DateTimeOffset now)
    {
        var retryAfter = response?.Headers.RetryAfter;
        var wait = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - (response!.Headers.Date ?? now) : null);
        return wait is { } value && value < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }
}
