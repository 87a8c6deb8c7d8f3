using System;
using System.Net;
using System.Net.Http;
#if !NET8_0_OR_GREATER
using System.Net.Sockets;
#endif
using System.Threading.Tasks;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Retry;

namespace Runchat.Internal;

/// <summary>
/// Which failures may be retried: only those where the request provably did not run the agent.
/// </summary>
/// <remarks>
/// The endpoint is not idempotent: every request that reaches the server runs the agent and
/// spends credits. So, unlike the standard resilience handler, this retries only
/// (a) failures to connect, where nothing was sent, and
/// (b) 429 Too Many Requests, honouring Retry-After up to <see cref="MaxRetryAfter"/>.
/// It never retries a 5xx, a timeout, or a connection dropped after the request went out.
/// </remarks>
internal static class RunchatRetryPolicy
{
    /// <summary>A 429 asking to wait longer than this is reported to the caller instead of waited out.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan BaseDelay = TimeSpan.FromSeconds(1);

    public static void AddTo(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, int maxRetries)
    {
        if (maxRetries <= 0)
        {
            return;
        }

        pipeline.AddRetry(new HttpRetryStrategyOptions
        {
            Name = "RunchatRetry",
            MaxRetryAttempts = maxRetries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = BaseDelay,
            MaxDelay = MaxRetryAfter,
            ShouldRetryAfterHeader = false,
            ShouldHandle = static args => new ValueTask<bool>(ShouldRetry(args.Outcome)),
            DelayGenerator = static args => new ValueTask<TimeSpan?>(GetRetryAfter(args.Outcome.Result)),
        });
    }

    public static bool ShouldRetry(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Result is { } response)
        {
            if ((int)response.StatusCode != 429)
            {
                return false;
            }

            var retryAfter = GetRetryAfter(response);
            return retryAfter is null || retryAfter <= MaxRetryAfter;
        }

        return outcome.Exception is HttpRequestException exception && IsFailureToConnect(exception);
    }

    /// <summary>True when the exception says the connection was never established, so no request byte left.</summary>
    public static bool IsFailureToConnect(HttpRequestException exception)
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

    /// <summary>The delay a 429 asks for (delta-seconds or HTTP date), or null to use the exponential backoff.</summary>
    public static TimeSpan? GetRetryAfter(HttpResponseMessage? response)
    {
        var retryAfter = response?.Headers.RetryAfter;
        if (retryAfter is null)
        {
            return null;
        }

        if (retryAfter.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (retryAfter.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }
}
