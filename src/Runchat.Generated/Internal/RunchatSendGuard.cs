using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Internal;

/// <summary>
/// The one place the "never twice" promise is enforced: directly above the handler that talks to
/// the network, every request of a call is counted, and a send the library did not authorize is
/// refused before a byte leaves.
/// </summary>
/// <remarks>
/// <para>
/// A call may reach the network once, plus once for each retry <see cref="RunchatRetryPolicy"/>
/// decided (a failure to connect, a 429 within the deadline). Whatever else sits between the client
/// and this handler (a resilience or hedging handler the application added, a handler of its own
/// that re-sends, a Polly policy) cannot send the trigger again: its extra send ends here with an
/// <see cref="InvalidOperationException"/> that says so and that nothing was sent again.
/// </para>
/// <para>
/// It recognises no handler types: it counts sends against the call's <see cref="SendLedger"/>,
/// which <see cref="RunchatTransport"/> attaches to the request before any handler sees it, so a
/// clone of the request (hedging clones one per attempt) carries the same ledger.
/// </para>
/// </remarks>
internal sealed class RunchatSendGuard : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var ledger = SendLedger.Of(request) ?? throw new InvalidOperationException(
            "A request reached the Runchat client's network handler without passing through the Runchat client (it has no send ledger; a handler may have built a new request). " +
            "It was not sent: only requests the client makes may reach the network.");

        ledger.StartSend();
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            ledger.Ended($"was answered {(int)response.StatusCode}");
            return response;
        }
        catch (Exception exception)
        {
            ledger.Ended(exception is OperationCanceledException ? "was cut off (a timeout or cancellation) while the server had it" : "failed: " + exception.GetType().Name);
            throw;
        }
    }
}

/// <summary>
/// One call's sends: how many the library authorized, how many were started, and how the last one
/// ended. It travels on the request (HttpRequestMessage options), explicitly, from
/// <see cref="RunchatTransport"/> down to <see cref="RunchatSendGuard"/>.
/// </summary>
internal sealed class SendLedger
{
    private const string Key = "Runchat.SendLedger";

    private int _authorized = 1;
    private int _started;
    private volatile string _lastSend = "is still waiting for its answer";

    /// <summary>Sends started so far (the guard's count; a refused send is not counted).</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>Gives the request a fresh ledger: one send authorized.</summary>
    public static SendLedger Attach(HttpRequestMessage request)
    {
        var ledger = new SendLedger();
#if NET5_0_OR_GREATER
        request.Options.Set(new HttpRequestOptionsKey<SendLedger>(Key), ledger);
#else
        request.Properties[Key] = ledger;
#endif
        return ledger;
    }

    public static SendLedger? Of(HttpRequestMessage? request)
    {
        if (request is null)
        {
            return null;
        }

#if NET5_0_OR_GREATER
        return request.Options.TryGetValue(new HttpRequestOptionsKey<SendLedger>(Key), out var ledger) ? ledger : null;
#else
        return request.Properties.TryGetValue(Key, out var value) ? value as SendLedger : null;
#endif
    }

    /// <summary>The library's retry policy decided to try again: one more send is allowed.</summary>
    public void AuthorizeRetry() => Interlocked.Increment(ref _authorized);

    /// <exception cref="InvalidOperationException">Every authorized send has been used.</exception>
    public void StartSend()
    {
        while (true)
        {
            var started = Volatile.Read(ref _started);
            if (started >= Volatile.Read(ref _authorized))
            {
                throw new InvalidOperationException(
                    $"The Runchat client refused to send this request again: it had already been sent {started} time(s), and the last send {_lastSend}. " +
                    "A handler between the client and the network (typically a resilience or hedging handler from AddStandardResilienceHandler, " +
                    "AddStandardHedgingHandler or ConfigureHttpClientDefaults, or a handler of your own that re-sends) tried to send it once more. " +
                    "Nothing was sent again. The request reached the server, so the agent may have run: check the job's history before triggering it again. " +
                    "Remove that handler from the Runchat client: it has its own timeout, and retries only what provably did not run the agent.");
            }

            if (Interlocked.CompareExchange(ref _started, started + 1, started) == started)
            {
                return;
            }
        }
    }

    public void Ended(string description) => _lastSend = description;
}
