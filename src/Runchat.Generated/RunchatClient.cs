using System;
using System.Net.Http;
using Microsoft.Extensions.DependencyInjection;
using Runchat.Internal;

namespace Runchat;

// Handwritten: how a RunchatClient comes to exist and who owns its HttpClient. The generated
// constructor RunchatClient(HttpClient) stays available for callers who bring a fully configured
// HttpClient of their own (BaseAddress, Authorization, no auto-redirect).

/// <summary>
/// The Runchat API client. Create one with <see cref="RunchatClient(RunchatClientOptions)"/>, or
/// register it with <c>services.AddRunchatClient(...)</c>. It is thread-safe: share one instance.
/// </summary>
public partial class RunchatClient : IDisposable
{
    private readonly RunchatClientOptions? _options;
    private readonly OwnedTransport? _ownedTransport;

    /// <summary>
    /// Creates a standalone client that owns its HTTP pipeline: the same one
    /// <c>services.AddRunchatClient</c> registers (bearer key, timeout, safe retries, no redirects).
    /// Dispose it when done; share one instance rather than creating one per call.
    /// </summary>
    /// <param name="options">The settings; <see cref="RunchatClientOptions.ApiKey"/> is required. They are copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="InvalidOperationException">
    /// The options cannot work: no API key (set <c>RUNCHAT_API_KEY</c>), a bad base URL, plain http to a
    /// remote host without <see cref="RunchatClientOptions.AllowInsecureHttp"/>, or a non-positive timeout.
    /// </exception>
    public RunchatClient(RunchatClientOptions options)
        : this(OwnedTransport.Create(options))
    {
    }

    private RunchatClient(OwnedTransport transport)
        : this(transport.HttpClient, transport.Options)
    {
        _ownedTransport = transport;
    }

    /// <summary>Used by dependency injection: the HttpClient comes from IHttpClientFactory with the Runchat pipeline.</summary>
    internal RunchatClient(HttpClient httpClient, RunchatClientOptions options)
        : this(httpClient)
    {
        _options = options;
    }

    /// <summary>Releases the HTTP pipeline this client created. A client from dependency injection owns nothing to release.</summary>
    public void Dispose() => _ownedTransport?.Dispose();

    /// <summary>A private IHttpClientFactory, so the standalone client and DI share one pipeline definition.</summary>
    private sealed class OwnedTransport : IDisposable
    {
        private readonly ServiceProvider _services;

        private OwnedTransport(ServiceProvider services, HttpClient httpClient, RunchatClientOptions options)
        {
            _services = services;
            HttpClient = httpClient;
            Options = options;
        }

        public HttpClient HttpClient { get; }

        public RunchatClientOptions Options { get; }

        public static OwnedTransport Create(RunchatClientOptions options)
        {
            if (options is null) throw new ArgumentNullException(nameof(options));

            var snapshot = options.Clone();
            snapshot.Validate();

            var services = new ServiceCollection();
            services.AddRunchatClient(snapshot.CopyTo);
            // The client holds its handler chain for its whole life; there is no rotation to wait for.
            services.AddHttpClient(RunchatHttpPipeline.HttpClientName).SetHandlerLifetime(System.Threading.Timeout.InfiniteTimeSpan);
            var provider = services.BuildServiceProvider();
            var httpClient = provider.GetRequiredService<IHttpClientFactory>().CreateClient(RunchatHttpPipeline.HttpClientName);
            return new OwnedTransport(provider, httpClient, snapshot);
        }

        public void Dispose()
        {
            HttpClient.Dispose();
            _services.Dispose();
        }
    }
}
