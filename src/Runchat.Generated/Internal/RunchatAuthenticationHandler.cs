using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Internal;

/// <summary>
/// Adds <c>Authorization: Bearer</c> and the library's <c>User-Agent</c> to every request, refuses
/// to put the key on plain http to a host that is not loopback, and scrubs the key from the
/// answer's headers before any handler above sees them.
/// </summary>
/// <remarks>
/// It sits in the primary handler, below IHttpClientFactory's logging handlers and any handler the
/// user adds, so none of them ever sees the key: not on the request (it is removed again when the
/// send ends), and not echoed in a response header (a <c>Location</c>, a proxy's debug header, a
/// 429's headers), which IHttpClientFactory logs at Trace. The http check sits here, on the last hop
/// before the wire, so it also covers a URL changed by a handler the user added. The key is read
/// from the <see cref="RunchatCredential"/> on every request, so a rotated key is used at once.
/// </remarks>
internal sealed class RunchatAuthenticationHandler : DelegatingHandler
{
    private readonly RunchatCredential _credential;
    private readonly bool _allowInsecureHttp;

    public RunchatAuthenticationHandler(RunchatCredential credential, bool allowInsecureHttp)
    {
        _credential = credential;
        _allowInsecureHttp = allowInsecureHttp;
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
        request.Headers.Authorization = _credential.CurrentAuthorization();
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            ScrubHeaders(response.Headers);
            if (response.Content is not null)
            {
                ScrubHeaders(response.Content.Headers);
            }

            return response;
        }
        finally
        {
            request.Headers.Authorization = null;
        }
    }

    private void ScrubHeaders(HttpHeaders headers)
    {
        List<KeyValuePair<string, List<string>>>? echoed = null;
#if NET6_0_OR_GREATER
        foreach (var header in headers.NonValidated)
#else
        foreach (var header in headers)
#endif
        {
            List<string>? redacted = null;
            var index = 0;
            foreach (var value in header.Value)
            {
                var scrubbed = _credential.Redact(value);
                if (redacted is null && !ReferenceEquals(scrubbed, value))
                {
                    redacted = header.Value.Take(index).ToList();
                }

                redacted?.Add(scrubbed);
                index++;
            }

            if (redacted is not null)
            {
                (echoed ??= new()).Add(new(header.Key, redacted));
            }
        }

        if (echoed is null)
        {
            return;
        }

        foreach (var header in echoed)
        {
            headers.Remove(header.Key);
            headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }
}
