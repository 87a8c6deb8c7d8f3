using System;
using System.ComponentModel;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Runchat;

// Handwritten: the HTTP client type the generated RunchatClient is built on (httpClientType in
// nswag.json). NSwag always generates a public constructor taking that type; because only this
// library can create a RunchatTransport, that constructor cannot be used to build a client
// without the bearer key, the deadline, the retry policy and the redirect guard.

/// <summary>
/// The Runchat HTTP pipeline a <see cref="RunchatClient"/> sends through. Only the library creates
/// one: use <see cref="RunchatClient(RunchatClientOptions)"/> or <c>services.AddRunchatClient(...)</c>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class RunchatTransport
{
    private readonly HttpClient _httpClient;

    internal RunchatTransport(HttpClient httpClient, RunchatClientOptions options, ILogger? logger = null)
    {
        _httpClient = httpClient;
        Options = options;
        Logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The <c>Runchat</c> log category: one line per trigger (never the key, never the message text).</summary>
    internal ILogger Logger { get; }

    /// <summary>The validated options the pipeline was built from (the API key is used for redaction only).</summary>
    internal RunchatClientOptions Options { get; }

    /// <summary>Releases the HttpClient; only the owner of a standalone client calls it (the generated code never does: disposeHttpClient is false).</summary>
    internal void Dispose() => _httpClient.Dispose();

    /// <summary>
    /// Sends one request through the pipeline. When this returns, the response body is already
    /// buffered under the deadline (see Internal/RunchatDeadlineHandler.cs), so reading it cannot stall.
    /// </summary>
    internal Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completionOption, CancellationToken cancellationToken) =>
        _httpClient.SendAsync(request, completionOption, cancellationToken);
}
