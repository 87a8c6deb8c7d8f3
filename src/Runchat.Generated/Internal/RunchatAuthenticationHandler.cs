using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Internal;

/// <summary>
/// Adds <c>Authorization: Bearer</c> and the library's <c>User-Agent</c> to every request, and
/// refuses to put the key on plain http to a host that is not loopback.
/// </summary>
/// <remarks>
/// It is the outer layer of the primary handler, below IHttpClientFactory's logging handlers and
/// any handler the user adds, so none of them ever sees the key. The http check sits here, on the
/// last hop before the wire, so it also covers a URL changed by a handler the user added.
/// </remarks>
internal sealed class RunchatAuthenticationHandler : DelegatingHandler
{
    private readonly AuthenticationHeaderValue _authorization;
    private readonly bool _allowInsecureHttp;

    public RunchatAuthenticationHandler(RunchatClientOptions options)
    {
        options.Validate();
        _authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        _allowInsecureHttp = options.AllowInsecureHttp;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri;
        if (uri is not null && uri.IsAbsoluteUri && uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback && !_allowInsecureHttp)
        {
            throw new InvalidOperationException(
                $"Refusing to send the Runchat API key over plain http to '{uri.Host}'. Use https, or set RunchatClientOptions.AllowInsecureHttp on a network you trust.");
        }

        if (request.Headers.UserAgent.Count == 0)
        {
            foreach (var product in RunchatUserAgent.Value)
            {
                request.Headers.UserAgent.Add(product);
            }
        }

        // The key is on the request only while it is on the wire: a retry clones the request, and
        // the clone passes through logging handlers that must never see it.
        request.Headers.Authorization = _authorization;
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            request.Headers.Authorization = null;
        }
    }
}
