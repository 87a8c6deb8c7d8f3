using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Runchat.Internal;

namespace Runchat;

// Handwritten: what the generated RunchatClient sends through (httpClientType in nswag.json). The
// generated constructor that takes it is internal (build/templates/Client.Class.liquid), so a client
// always has the bearer key, the deadline, the retry policy, the send guard and the redirect check.

/// <summary>
/// The Runchat HTTP pipeline a <see cref="RunchatClient"/> sends through, with the options, the key
/// and the log category it was built with. RunchatHttpPipeline creates it.
/// </summary>
internal sealed class RunchatTransport
{
    private readonly Func<HttpClient> _httpClient;
    private readonly IDisposable? _owned;
    private int _disposed;

    /// <param name="httpClient">The HttpClient for one call: a new one from IHttpClientFactory each time, or the standalone client's own.</param>
    /// <param name="options">The validated options.</param>
    /// <param name="credential">The key to send, and every key to redact.</param>
    /// <param name="logger">The Runchat log category, or null for none.</param>
    /// <param name="owned">What <see cref="Dispose"/> releases: the standalone client's HttpClient and services; null under dependency injection.</param>
    internal RunchatTransport(Func<HttpClient> httpClient, RunchatClientOptions options, RunchatCredential credential, ILogger? logger, IDisposable? owned)
    {
        _httpClient = httpClient;
        _owned = owned;
        Options = options;
        Credential = credential;
        Logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The <c>Runchat</c> log category: one line per trigger (never the key, never the message text).</summary>
    internal ILogger Logger { get; }

    /// <summary>The validated options the pipeline was built from. The key to send and to redact is <see cref="Credential"/>'s.</summary>
    internal RunchatClientOptions Options { get; }

    /// <summary>The key sent on each request, and every key this client has sent, for redaction.</summary>
    internal RunchatCredential Credential { get; }

    /// <summary>
    /// Releases what the standalone client owns; calls still in flight end with
    /// <see cref="ObjectDisposedException"/>. Under dependency injection the container owns the pipeline and this does nothing.
    /// </summary>
    internal void Dispose()
    {
        if (_owned is not null && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _owned.Dispose();
        }
    }

    /// <summary>
    /// Sends one request through the pipeline. The request gets its <see cref="SendLedger"/> here,
    /// before any handler sees it. When this returns, the response body is already buffered under
    /// the deadline (see Internal/RunchatDeadlineHandler.cs), so reading it cannot stall.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The client was disposed before or during the call.</exception>
    internal async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ThrowIfDisposed(during: false, inner: null);
        SendLedger.Attach(request);
        try
        {
            return await _httpClient().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (Volatile.Read(ref _disposed) != 0 && !cancellationToken.IsCancellationRequested)
        {
            ThrowIfDisposed(during: true, exception);
            throw;
        }
    }

    private void ThrowIfDisposed(bool during, Exception? inner)
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            return;
        }

        throw during
            ? new ObjectDisposedException(
                "The RunchatClient was disposed while this call was in flight. The request may have reached the server, so the agent may have run; it is not stopped there.",
                inner)
            : new ObjectDisposedException(nameof(RunchatClient), "The RunchatClient has been disposed; nothing was sent.");
    }
}
