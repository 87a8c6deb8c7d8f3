using System;
using System.Net;
using System.Net.Http;
using System.Threading;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;

namespace Runchat.Internal;

/// <summary>
/// The one place the HTTP pipeline is assembled, for DI and for the standalone client alike.
/// </summary>
/// <remarks>
/// Outermost first: <see cref="RunchatDeadlineHandler"/> (the one deadline; buffers the body) →
/// the Polly retry handler (<see cref="RunchatRetryPolicy"/>) → any handlers the user adds →
/// IHttpClientFactory's logging → any DelegatingHandlers the user made part of the primary handler →
/// <see cref="RunchatAuthenticationHandler"/> (key, User-Agent,
/// the plain-http refusal) → the handler that talks to the network, with redirects off.
/// The deadline handler and the authentication handler are put in place by
/// <see cref="RunchatHandlerBuilderFilter"/>, which runs after all user configuration: a user who
/// replaces the primary handler (for a proxy or a client certificate) or adds handlers cannot
/// remove them, and the key stays below every logging handler (IHttpClientFactory redacts header
/// values in its log text but hands raw headers to structured loggers).
/// </remarks>
internal static class RunchatHttpPipeline
{
    /// <summary>The IHttpClientFactory name of the typed client.</summary>
    public const string HttpClientName = "Runchat.Generated";

    public static IHttpClientBuilder Configure(IHttpClientBuilder builder)
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHttpMessageHandlerBuilderFilter, RunchatHandlerBuilderFilter>());
        builder.ConfigurePrimaryHttpMessageHandler(static () => CreateSocketHandler());
        builder.AddResilienceHandler("RunchatRetry", static (pipeline, context) =>
        {
            pipeline.ConfigureTelemetry(RunchatRetryPolicy.Telemetry(context.ServiceProvider.GetService<IOptions<TelemetryOptions>>()?.Value));
            RunchatRetryPolicy.AddTo(pipeline, GetOptions(context.ServiceProvider).MaxRetries);
        });
        builder.RedactLoggedHeaders(static header =>
            string.Equals(header, "Authorization", StringComparison.OrdinalIgnoreCase)
            || string.Equals(header, "Proxy-Authorization", StringComparison.OrdinalIgnoreCase));
        return builder;
    }

    public static RunchatClientOptions GetOptions(IServiceProvider services) =>
        services.GetRequiredService<IOptions<RunchatClientOptions>>().Value;

    /// <summary>
    /// Wraps the HttpClient the factory made, after every <c>ConfigureHttpClient</c> of the user's:
    /// the options are the one source of the address, and the deadline handler the one timeout.
    /// </summary>
    public static RunchatTransport CreateTransport(HttpClient httpClient, RunchatClientOptions options, IServiceProvider? services = null)
    {
        httpClient.BaseAddress = options.GetEndpointBaseUrl();
        httpClient.Timeout = Timeout.InfiniteTimeSpan;
        var logger = (services?.GetService(typeof(ILoggerFactory)) as ILoggerFactory)?.CreateLogger(LogCategory);
        return new RunchatTransport(httpClient, options, logger);
    }

    /// <summary>The library's own log category.</summary>
    public const string LogCategory = "Runchat";

    /// <summary>
    /// Puts the authentication handler directly above the handler that talks to the network, and
    /// turns off that handler's redirects. A primary handler the user made of their own
    /// DelegatingHandlers around a socket handler thus never sees the key either.
    /// </summary>
    /// <returns>The primary handler to use: <paramref name="primary"/>, or the authentication handler over it.</returns>
    /// <exception cref="InvalidOperationException">The innermost handler is of a type whose redirects this library cannot turn off.</exception>
    public static HttpMessageHandler SecurePrimaryHandler(HttpMessageHandler primary, RunchatClientOptions options)
    {
        DelegatingHandler? parent = null;
        var innermost = primary;
        while (innermost is DelegatingHandler { InnerHandler: { } inner } delegating)
        {
            parent = delegating;
            innermost = inner;
        }

        DisableRedirects(innermost);
        var authentication = new RunchatAuthenticationHandler(options) { InnerHandler = innermost };
        if (parent is null)
        {
            return authentication;
        }

        parent.InnerHandler = authentication;
        return primary;
    }

    // A 302 would turn the POST into a GET, and on this API a GET also triggers the job.
    private static void DisableRedirects(HttpMessageHandler innermost)
    {
        switch (innermost)
        {
            case HttpClientHandler httpClientHandler:
                httpClientHandler.AllowAutoRedirect = false;
                return;
#if NET8_0_OR_GREATER
            case SocketsHttpHandler socketsHandler:
                socketsHandler.AllowAutoRedirect = false;
                return;
#endif
            case IRedirectFreeHandler:
                return;
        }

#if !NET8_0_OR_GREATER
        // The netstandard2.0 build can run on .NET Core, where SocketsHttpHandler exists but is not in the reference API.
        if (innermost.GetType().FullName == "System.Net.Http.SocketsHttpHandler"
            && innermost.GetType().GetProperty("AllowAutoRedirect") is { CanWrite: true } property)
        {
            property.SetValue(innermost, false);
            return;
        }
#endif

        throw new InvalidOperationException(
            $"The Runchat client's primary HTTP handler is a {innermost.GetType().Name}, whose redirects it cannot turn off " +
            "(a redirect would re-send the trigger as a GET, which runs the job again). In ConfigurePrimaryHttpMessageHandler, " +
            "return a SocketsHttpHandler or HttpClientHandler (set Proxy, certificates and the like on it); the client turns off its redirects itself.");
    }

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

/// <summary>
/// Marks an in-memory primary handler (benchmarks, tests) that never follows redirects, so
/// RunchatHttpPipeline.SecurePrimaryHandler accepts it.
/// </summary>
internal interface IRedirectFreeHandler
{
}
