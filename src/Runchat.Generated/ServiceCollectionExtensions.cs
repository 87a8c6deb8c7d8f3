using System;
using System.Globalization;
using System.Linq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Runchat;
using Runchat.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="IRunchatClient"/> with dependency injection.</summary>
public static class RunchatServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IRunchatClient"/> and <see cref="RunchatClient"/> (one shared, thread-safe
    /// instance) on an IHttpClientFactory named client with the Runchat pipeline: bearer key, our own
    /// timeout, retries only where the agent provably did not run, never a second send, and
    /// redirects never followed.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Fills in the options; <see cref="RunchatClientOptions.ApiKey"/> is required.</param>
    /// <returns>The <see cref="IHttpClientBuilder"/>, to add handlers of your own.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is null.</exception>
    /// <remarks>
    /// The options are validated when first used (or at start-up under a host): a missing key throws
    /// <see cref="OptionsValidationException"/> naming <c>RUNCHAT_API_KEY</c> before any request.
    /// </remarks>
    public static IHttpClientBuilder AddRunchatClient(this IServiceCollection services, Action<RunchatClientOptions> configure)
    {
        if (services is null) throw new ArgumentNullException(nameof(services));
        if (configure is null) throw new ArgumentNullException(nameof(configure));

        services.AddOptions<RunchatClientOptions>().Configure(configure);
        return AddRunchatClientCore(services, "set RunchatClientOptions.ApiKey in the AddRunchatClient callback (for example from Environment.GetEnvironmentVariable(\"RUNCHAT_API_KEY\"))");
    }

    /// <summary>
    /// Registers <see cref="IRunchatClient"/> with options bound from a configuration section
    /// (keys <c>ApiKey</c>, <c>BaseUrl</c>, <c>Timeout</c> as seconds such as <c>90</c> or a time span such as
    /// <c>00:15:00</c>, <c>MaxRetries</c>, <c>AllowInsecureHttp</c>, <c>RecordMetadataInTraces</c>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The section to bind, such as <c>configuration.GetSection("Runchat")</c>.</param>
    /// <returns>The <see cref="IHttpClientBuilder"/>, to add handlers of your own.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="section"/> is null.</exception>
    public static IHttpClientBuilder AddRunchatClient(this IServiceCollection services, IConfiguration section)
    {
        if (services is null) throw new ArgumentNullException(nameof(services));
        if (section is null) throw new ArgumentNullException(nameof(section));

        var path = section is IConfigurationSection named ? named.Path : null;
        var apiKey = path is null ? "ApiKey" : path + ":ApiKey";
        // Bound as the binder would, except that a bare number for Timeout is seconds (as for
        // runchat-job --timeout); the binder alone reads "5" as 5 days and refuses "90.5".
        services.AddOptions<RunchatClientOptions>().Configure(options => BindWithSecondsTimeout(section, options));
        services.AddSingleton<IOptionsChangeTokenSource<RunchatClientOptions>>(new ConfigurationChangeTokenSource<RunchatClientOptions>(section));
        // A misspelled key (BaseUlr) would send every run to the production API: refused, naming it.
        services.AddSingleton<IValidateOptions<RunchatClientOptions>>(new UnknownKeysValidator(section));
        return AddRunchatClientCore(services,
            $"set the configuration value {apiKey} (environment variable {apiKey.Replace(":", "__")}, user-secrets, or a secret store); " +
            $"AddRunchatClient(configuration) does not read {RunchatClientOptions.ApiKeyEnvironmentVariable}");
    }

    /// <param name="services">The service collection.</param>
    /// <param name="apiKeySource">Where the key should come from, for the missing-key message; null for the standalone client's.</param>
    internal static IHttpClientBuilder AddRunchatClientCore(IServiceCollection services, string? apiKeySource)
    {
        // A second call only adds configuration: building the pipeline twice would nest a second
        // timeout and retry handler inside the first.
        if (services.Any(descriptor => descriptor.ServiceType == typeof(RegistrationMarker)))
        {
            return services.AddHttpClient(RunchatHttpPipeline.HttpClientName);
        }

        services.AddSingleton<RegistrationMarker>();
        services.AddOptions<RunchatClientOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RunchatClientOptions>>(new RunchatClientOptionsValidator(apiKeySource)));

        // One client for the application: it asks IHttpClientFactory for an HttpClient on every call,
        // so handler rotation still applies, and the container holds one instance instead of every
        // transient it ever made (a transient IDisposable resolved from the root provider is kept
        // until the provider is disposed).
        services.TryAddSingleton(static provider => new RunchatClient(RunchatHttpPipeline.CreateTransport(provider)));
        services.TryAddSingleton<IRunchatClient>(static provider => provider.GetRequiredService<RunchatClient>());
        // The flow operations by their own interface: injected as IRunchatFlowClient, they need no cast of an IRunchatClient.
        services.TryAddSingleton<IRunchatFlowClient>(static provider => provider.GetRequiredService<RunchatClient>());
        var builder = services.AddHttpClient(RunchatHttpPipeline.HttpClientName);
        return RunchatHttpPipeline.Configure(builder);
    }

    private static void BindWithSecondsTimeout(IConfiguration section, RunchatClientOptions options)
    {
        var timeout = section["Timeout"];
        if (timeout is null)
        {
            section.Bind(options);
            return;
        }

        var values = section.AsEnumerable(makePathsRelative: true)
            .Where(pair => !string.Equals(pair.Key, "Timeout", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.OrdinalIgnoreCase);
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().Bind(options);
        options.Timeout = RunchatClientOptions.TryParseTimeout(timeout, out var parsed)
            ? parsed
            : throw new InvalidOperationException($"{(section as IConfigurationSection)?.Path ?? "Runchat"}:Timeout takes {RunchatClientOptions.TimeoutSyntax}; got '{timeout}'.");
    }

    private sealed class RegistrationMarker
    {
    }

    private sealed class UnknownKeysValidator : IValidateOptions<RunchatClientOptions>
    {
        private readonly IConfiguration _section;

        public UnknownKeysValidator(IConfiguration section) => _section = section;

        public ValidateOptionsResult Validate(string? name, RunchatClientOptions options)
        {
            var unknown = ConfigurationKeys.Unknown(_section, ConfigurationKeys.Of<RunchatClientOptions>()).ToList();
            return unknown.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(unknown);
        }
    }

    private sealed class RunchatClientOptionsValidator : IValidateOptions<RunchatClientOptions>
    {
        private readonly string? _apiKeySource;

        public RunchatClientOptionsValidator(string? apiKeySource) => _apiKeySource = apiKeySource;

        public ValidateOptionsResult Validate(string? name, RunchatClientOptions options)
        {
            var error = options.GetValidationError(_apiKeySource);
            return error is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(error);
        }
    }
}
