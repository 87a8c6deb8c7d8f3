using System;
using System.Net;
using System.Net.Http;
using System.Threading;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Runchat.Internal;

/// <summary>
/// The one place the HTTP pipeline is assembled, for DI and for the standalone client alike.
/// </summary>
/// <remarks>
/// Outermost first: <see cref="RunchatTimeoutHandler"/> (one deadline for the whole call) →
/// the Polly retry handler (<see cref="RunchatRetryPolicy"/>; each attempt is a fresh copy of the
/// request) → any handlers the user adds → IHttpClientFactory's logging → the primary handler:
/// <see cref="RunchatAuthenticationHandler"/> (key and User-Agent) over a socket handler that
/// never follows redirects. HttpClient's own timeout is off.
/// The key is added inside the primary handler, below every logging handler: IHttpClientFactory
/// redacts header values in its log text but hands the raw headers to structured loggers, so a
/// header it never sees is the only header it cannot leak.
/// </remarks>
internal static class RunchatHttpPipeline
{
    /// <summary>The IHttpClientFactory name of the typed client.</summary>
    public const string HttpClientName = "Runchat.Generated";

    public static IHttpClientBuilder Configure(IHttpClientBuilder builder)
    {
        builder.ConfigureHttpClient(static (services, client) =>
        {
            client.BaseAddress = GetOptions(services).GetEndpointBaseUrl();
            client.Timeout = Timeout.InfiniteTimeSpan;
        });

        builder.ConfigurePrimaryHttpMessageHandler(static services =>
            new RunchatAuthenticationHandler(GetOptions(services)) { InnerHandler = CreateSocketHandler() });
        builder.AddHttpMessageHandler(static services => new RunchatTimeoutHandler(GetOptions(services).Timeout));
        builder.AddResilienceHandler("RunchatRetry", static (pipeline, context) =>
            RunchatRetryPolicy.AddTo(pipeline, GetOptions(context.ServiceProvider).MaxRetries));
        builder.RedactLoggedHeaders(static header =>
            string.Equals(header, "Authorization", StringComparison.OrdinalIgnoreCase)
            || string.Equals(header, "Proxy-Authorization", StringComparison.OrdinalIgnoreCase));
        return builder;
    }

    public static RunchatClientOptions GetOptions(IServiceProvider services) =>
        services.GetRequiredService<IOptions<RunchatClientOptions>>().Value;

    // A 302 would turn the POST into a GET, and on this API a GET also triggers the job.
    private static HttpMessageHandler CreateSocketHandler()
    {
#if NET8_0_OR_GREATER
        return new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // A response abandoned by cancellation would first be drained (up to 2 s) to reuse its
            // connection, delaying the caller's OperationCanceledException by as much. Closing it
            // instead costs one new connection per abandoned response, next to minutes of agent run.
            MaxResponseDrainSize = 0,
        };
#else
        return new HttpClientHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
        };
#endif
    }
}
