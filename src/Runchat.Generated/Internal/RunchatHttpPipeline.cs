using System;
using System.Net;
using System.Net.Http;
using System.Reflection;
using System.Threading;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Telemetry;

namespace Runchat.Internal;

/// <summary>
/// The one place the HTTP pipeline is defined, for DI and for the standalone client alike (the
/// standalone client builds its HttpClient through the same IHttpClientFactory registration).
/// </summary>
/// <remarks>
/// <see cref="Configure"/> registers what IHttpClientFactory needs; <see cref="Assemble"/> writes the
/// handler order, once, after all user configuration (<see cref="RunchatHandlerBuilderFilter"/> calls it).
/// </remarks>
internal static class RunchatHttpPipeline
{
    /// <summary>The IHttpClientFactory name of the typed client.</summary>
    public const string HttpClientName = "Runchat.Generated";

    public static IHttpClientBuilder Configure(IHttpClientBuilder builder)
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHttpMessageHandlerBuilderFilter, RunchatHandlerBuilderFilter>());
        builder.Services.TryAddSingleton(static provider => new RunchatCredential(
            provider.GetRequiredService<IOptionsFactory<RunchatClientOptions>>(),
            provider.GetRequiredService<IOptions<RunchatClientOptions>>(),
            provider.GetServices<IOptionsChangeTokenSource<RunchatClientOptions>>()));
        builder.ConfigurePrimaryHttpMessageHandler(static () => CreateSocketHandler());
        // Resilience handlers configured for every client (ConfigureHttpClientDefaults, as .NET
        // Aspire's ServiceDefaults do with AddStandardResilienceHandler) run before this line: their
        // retries, hedging and 10-second attempt timeout would re-run or cut off an agent, so the
        // Runchat client leaves them out, as Microsoft.Extensions.Http.Resilience's (experimental)
        // RemoveAllResilienceHandlers does. Handlers added to the Runchat builder after
        // AddRunchatClient stay, and RunchatSendGuard refuses any second send they attempt.
        builder.ConfigureAdditionalHttpMessageHandlers(static (handlers, _) =>
        {
            for (var i = handlers.Count - 1; i >= 0; i--)
            {
                if (handlers[i] is ResilienceHandler)
                {
                    handlers.RemoveAt(i);
                }
            }
        });
        builder.RedactLoggedHeaders(static header =>
            string.Equals(header, "Authorization", StringComparison.OrdinalIgnoreCase)
            || string.Equals(header, "Proxy-Authorization", StringComparison.OrdinalIgnoreCase));
        return builder;
    }

    /// <summary>
    /// The handler order, outermost first, for every Runchat HttpClient. It runs after all user
    /// configuration, so a user who replaces the primary handler (for a proxy or a client
    /// certificate) or adds handlers cannot remove a safety property.
    /// </summary>
    /// <remarks>
    /// 1. <see cref="RunchatDeadlineHandler"/>: the one deadline, over every attempt; buffers the body.<br/>
    /// 2. The retry handler (<see cref="RunchatRetryPolicy"/>, the rule of <see cref="RunchatRetry"/>).<br/>
    /// 3. The handlers the user added, and IHttpClientFactory's logging, as configured.<br/>
    /// 4. Any DelegatingHandlers the user made part of the primary handler.<br/>
    /// 5. <see cref="RunchatAuthenticationHandler"/>: the key, User-Agent, the plain-http refusal, the
    ///    key scrubbed from response headers; below every logging handler (IHttpClientFactory redacts
    ///    header values in its log text but hands raw headers to structured loggers).<br/>
    /// 6. <see cref="RunchatSendGuard"/>: at most one send, plus one per retry step 2 authorized.<br/>
    /// 7. The handler that talks to the network, which must not follow redirects.
    /// </remarks>
    public static void Assemble(HttpMessageHandlerBuilder builder)
    {
        var services = builder.Services;
        var options = GetOptions(services);
        var credential = services.GetRequiredService<RunchatCredential>();
        builder.AdditionalHandlers.Insert(0, new RunchatDeadlineHandler(options.Timeout));
        builder.AdditionalHandlers.Insert(1, RunchatRetryPolicy.CreateHandler(options.MaxRetries, services.GetService<IOptions<TelemetryOptions>>()?.Value, services.GetService<ILoggerFactory>()));
        builder.PrimaryHandler = SecurePrimaryHandler(builder.PrimaryHandler, credential, options.AllowInsecureHttp);
    }

    public static RunchatClientOptions GetOptions(IServiceProvider services) =>
        services.GetRequiredService<IOptions<RunchatClientOptions>>().Value;

    /// <summary>
    /// The transport of a client from dependency injection: a singleton that asks IHttpClientFactory
    /// for an HttpClient on every call (so the factory's handler rotation applies). The first one
    /// is made here, so a handler chain that cannot work fails when the client is resolved.
    /// </summary>
    public static RunchatTransport CreateTransport(IServiceProvider services)
    {
        var options = GetOptions(services);
        var factory = services.GetRequiredService<IHttpClientFactory>();
        var baseUrl = options.GetEndpointBaseUrl();
        _ = Prepare(factory.CreateClient(HttpClientName), baseUrl);
        return new RunchatTransport(
            () => Prepare(factory.CreateClient(HttpClientName), baseUrl),
            options,
            services.GetRequiredService<RunchatCredential>(),
            services.GetService<ILoggerFactory>()?.CreateLogger(LogCategory),
            owned: null);
    }

    /// <summary>The transport of a standalone client: one HttpClient for its whole life, released with it.</summary>
    public static RunchatTransport CreateOwnedTransport(IServiceProvider services, IDisposable owner)
    {
        var options = GetOptions(services);
        var httpClient = Prepare(services.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName), options.GetEndpointBaseUrl());
        return new RunchatTransport(() => httpClient, options, services.GetRequiredService<RunchatCredential>(), logger: null, owned: new Owned(httpClient, owner));
    }

    /// <summary>
    /// Applied to every HttpClient, after every <c>ConfigureHttpClient</c> of the user's: the options
    /// are the one source of the address, and the deadline handler the one timeout.
    /// </summary>
    private static HttpClient Prepare(HttpClient httpClient, Uri baseUrl)
    {
        httpClient.BaseAddress = baseUrl;
        httpClient.Timeout = Timeout.InfiniteTimeSpan;
        return httpClient;
    }

    private sealed class Owned : IDisposable
    {
        private readonly HttpClient _httpClient;
        private readonly IDisposable _owner;

        public Owned(HttpClient httpClient, IDisposable owner)
        {
            _httpClient = httpClient;
            _owner = owner;
        }

        public void Dispose()
        {
            _httpClient.Dispose();
            _owner.Dispose();
        }
    }

    /// <summary>The library's own log category.</summary>
    public const string LogCategory = "Runchat";

    /// <summary>
    /// Steps 5 to 7 of <see cref="Assemble"/>: puts the authentication handler and the send guard directly above the handler that talks to
    /// the network, and checks that handler follows no redirects. A primary handler the user made of
    /// their own DelegatingHandlers around a network handler thus never sees the key, and cannot
    /// re-send a request either.
    /// </summary>
    /// <returns>The primary handler to use: <paramref name="primary"/>, or the authentication handler over it.</returns>
    /// <exception cref="InvalidOperationException">The innermost handler follows redirects.</exception>
    private static HttpMessageHandler SecurePrimaryHandler(HttpMessageHandler primary, RunchatCredential credential, bool allowInsecureHttp)
    {
        DelegatingHandler? parent = null;
        var innermost = primary;
        while (innermost is DelegatingHandler { InnerHandler: { } inner } delegating)
        {
            parent = delegating;
            innermost = inner;
        }

        EnsureNoRedirects(innermost);
        var guard = new RunchatSendGuard { InnerHandler = innermost };
        var authentication = new RunchatAuthenticationHandler(credential, allowInsecureHttp) { InnerHandler = guard };
        if (parent is null)
        {
            return authentication;
        }

        parent.InnerHandler = authentication;
        return primary;
    }

    /// <summary>
    /// A 302 would turn the POST into a GET, and on this API a GET also triggers the job. Every
    /// handler that talks to a network has a redirect setting: <c>AllowAutoRedirect</c>
    /// (SocketsHttpHandler, HttpClientHandler, Android's and Apple's handlers) or
    /// <c>AutomaticRedirection</c> (WinHttpHandler). It must be off. The handler is only read, never
    /// changed: the application may share it with other clients, or have sent with it already.
    /// A handler without such a setting (an in-memory fake, such as MockHttp's) is used as it is.
    /// </summary>
    private static void EnsureNoRedirects(HttpMessageHandler innermost)
    {
        var type = innermost.GetType();
        foreach (var name in RedirectSettings)
        {
            if (type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is { PropertyType: var propertyType, CanRead: true } property
                && propertyType == typeof(bool)
                && (bool)property.GetValue(innermost)!)
            {
                throw new InvalidOperationException(
                    $"The Runchat client's primary HTTP handler, a {type.Name}, follows redirects ({name} = true). A redirect would re-send the trigger " +
                    $"(as a GET, which runs the job again). Set {name} = false on the handler you return from ConfigurePrimaryHttpMessageHandler. " +
                    "The client does not change it for you: your application may share that handler with other clients.");
            }
        }
    }

    private static readonly string[] RedirectSettings = { "AllowAutoRedirect", "AutomaticRedirection" };

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
