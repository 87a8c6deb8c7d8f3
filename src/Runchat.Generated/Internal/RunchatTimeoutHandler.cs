using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Internal;

/// <summary>
/// Bounds a whole trigger, retries included, by <see cref="RunchatClientOptions.Timeout"/> and
/// reports it as a <see cref="TimeoutException"/> that says the job may still be running.
/// </summary>
/// <remarks>
/// HttpClient's own 100 s timeout is switched off (agent runs take minutes) and would surface as
/// an ambiguous <see cref="TaskCanceledException"/>. The caller's own token still surfaces as
/// <see cref="OperationCanceledException"/>. Neither is retried: this handler sits outside the
/// retry handler.
/// </remarks>
internal sealed class RunchatTimeoutHandler : DelegatingHandler
{
    private readonly TimeSpan _timeout;

    public RunchatTimeoutHandler(TimeSpan timeout) => _timeout = timeout;

    private const string DeadlineOwnedKey = "Runchat.DeadlineOwnedByCaller";

    /// <summary>
    /// Marks a request whose caller (the handwritten trigger path) already enforces the same
    /// deadline over the whole call, body included, so this handler does not run a second timer.
    /// </summary>
    internal static void MarkDeadlineOwnedByCaller(HttpRequestMessage request)
    {
#if NET5_0_OR_GREATER
        request.Options.Set(new HttpRequestOptionsKey<bool>(DeadlineOwnedKey), true);
#else
        request.Properties[DeadlineOwnedKey] = true;
#endif
    }

    private static bool IsDeadlineOwnedByCaller(HttpRequestMessage request)
    {
#if NET5_0_OR_GREATER
        return request.Options.TryGetValue(new HttpRequestOptionsKey<bool>(DeadlineOwnedKey), out var owned) && owned;
#else
        return request.Properties.TryGetValue(DeadlineOwnedKey, out var owned) && owned is true;
#endif
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_timeout == Timeout.InfiniteTimeSpan || IsDeadlineOwnedByCaller(request))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(_timeout);
        try
        {
            return await base.SendAsync(request, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException exception) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw CreateTimeoutException(_timeout, exception);
        }
    }

    internal static TimeoutException CreateTimeoutException(TimeSpan timeout, Exception inner) => new(
        $"The Runchat API did not answer within the configured timeout of {Describe(timeout)} (RunchatClientOptions.Timeout). " +
        "The job may still be running on the server: it was not retried and is not cancelled there.",
        inner);

    private static string Describe(TimeSpan timeout) =>
        timeout.TotalSeconds < 120 ? $"{timeout.TotalSeconds:0.###} s" : $"{timeout.TotalMinutes:0.##} min";
}
