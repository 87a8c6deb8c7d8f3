using System;
using System.Linq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the relay: its options, store, dispatcher, <see cref="IRunchatRelay"/> and <see cref="IRelayMonitor"/>.</summary>
public static class RunchatRelayServiceCollectionExtensions
{
    /// <summary>
    /// Registers the relay with options bound from a configuration section (<c>Store</c>,
    /// <c>MaxConcurrentRuns</c>, <c>MaxRunsPerMinute</c>, <c>MaxBodyBytes</c>, <c>SignatureTolerance</c>, <c>Routes</c>).
    /// Needs <c>AddRunchatClient</c> too: the relay triggers jobs through <see cref="Runchat.IRunchatClient"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The section, such as <c>configuration.GetSection("Relay")</c>.</param>
    /// <returns>The service collection.</returns>
    /// <remarks>Invalid options fail at start-up with <see cref="OptionsValidationException"/>, naming the route at fault.</remarks>
    public static IServiceCollection AddRunchatRelay(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        services.AddOptions<RunchatRelayOptions>().Bind(section);
        services.AddSingleton<IValidateOptions<RunchatRelayOptions>>(new UnknownKeysValidator(section));
        return AddCore(services);
    }

    /// <summary>Registers the relay with options set in code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRunchatRelay(this IServiceCollection services, Action<RunchatRelayOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<RunchatRelayOptions>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>
    /// Registers a webhook scheme by name, so that a route's <c>Signature</c> can name it, as it names the built-in ones:
    /// <c>services.AddRunchatRelay(section).AddScheme("internal-alerts", settings =&gt; new InternalAlertsScheme(settings.Secret))</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The name configuration spells: 1 to 40 lower-case letters, digits and hyphens, starting with a letter; not a built-in scheme's.</param>
    /// <param name="factory">Builds the scheme for one route from its <see cref="WebhookSchemeSettings"/>, once, at start-up.
    /// An <see cref="ArgumentException"/> it throws is a configuration error that names the route.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentException">The name is not valid. A name registered twice, or a built-in one, fails at start-up.</exception>
    public static IServiceCollection AddScheme(this IServiceCollection services, string name, Func<WebhookSchemeSettings, WebhookScheme> factory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(factory);
        services.AddSingleton(new WebhookSchemeRegistration(name, factory));
        return services;
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddOptions<RunchatRelayOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RunchatRelayOptions>, RelayOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DispatchSignal>();
        services.TryAddSingleton<RelayRouteTable>();
        services.TryAddSingleton(static provider => WebhookSchemes.With(provider.GetServices<WebhookSchemeRegistration>()));
        // The dashboard's replay form (MapRunchatRelayDashboard).
        services.AddAntiforgery();
        services.TryAddSingleton<IDeliveryStore>(static provider =>
        {
            var options = provider.GetRequiredService<IOptions<RunchatRelayOptions>>().Value;
            DeliveryStoreLocation.TryParse(options.Store, out var location, out _);
            return location!.Open();
        });
        services.TryAddSingleton<IRelayMonitor>(static provider => new RelayMonitor(provider.GetRequiredService<IDeliveryStore>(), provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IRunchatRelay, RunchatRelay>();
        services.TryAddSingleton<RelayIngest>();
        services.AddMetrics();
        services.TryAddSingleton<RelayTelemetry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, RelayDispatcher>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, RelayScheduler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, ReplyPoster>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, RelayRetention>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, RelayHeartbeat>());
        services.TryAddSingleton<RelayInstanceStatus>();
        if (!services.Any(static d => d.ServiceType == typeof(RelayStoreHealthCheck)))
        {
            // Once, however often AddRunchatRelay is called: two checks of one name fail every health request.
            services.AddSingleton<RelayStoreHealthCheck>();
            services.AddSingleton<RelayDispatcherHealthCheck>();
            services.AddHealthChecks()
                .AddCheck<RelayStoreHealthCheck>(RelayHealthChecks.Store, failureStatus: null, tags: RelayHealthChecks.Tags, timeout: RelayHealthChecks.StoreTimeout)
                .AddCheck<RelayDispatcherHealthCheck>(RelayHealthChecks.Dispatcher, failureStatus: null, tags: RelayHealthChecks.Tags);
        }

        // The replies' client: the poster owns its retries (a post to GitHub or Slack is not idempotent), so resilience
        // handlers configured for every client (Aspire's ServiceDefaults retry POST) are left out, as for Runchat's.
        services.AddHttpClient(ReplyPoster.HttpClientName)
            .ConfigureAdditionalHttpMessageHandlers(static (handlers, _) =>
            {
                for (var i = handlers.Count - 1; i >= 0; i--)
                {
                    if (handlers[i] is Microsoft.Extensions.Http.Resilience.ResilienceHandler)
                    {
                        handlers.RemoveAt(i);
                    }
                }
            })
            .RedactLoggedHeaders(static header => string.Equals(header, "Authorization", StringComparison.OrdinalIgnoreCase));
        return services;
    }

    /// <summary>A misspelled key (MaxBodyByte, a route's Secert) would be ignored and its default used: refused, naming it.</summary>
    private sealed class UnknownKeysValidator : IValidateOptions<RunchatRelayOptions>
    {
        private readonly IConfiguration _section;

        public UnknownKeysValidator(IConfiguration section) => _section = section;

        public ValidateOptionsResult Validate(string? name, RunchatRelayOptions options)
        {
            var errors = new System.Collections.Generic.List<string>(Runchat.Relay.Internal.ConfigurationKeys.Unknown(_section, Runchat.Relay.Internal.ConfigurationKeys.Of<RunchatRelayOptions>()));
            foreach (var route in _section.GetSection("Routes").GetChildren())
            {
                errors.AddRange(Runchat.Relay.Internal.ConfigurationKeys.Unknown(route, Runchat.Relay.Internal.ConfigurationKeys.Of<RelayRouteOptions>()));
                var reply = route.GetSection(nameof(RelayRouteOptions.PostReply));
                errors.AddRange(Runchat.Relay.Internal.ConfigurationKeys.Unknown(reply, Runchat.Relay.Internal.ConfigurationKeys.Of<RelayReplyOptions>()));
                errors.AddRange(Runchat.Relay.Internal.ConfigurationKeys.Unknown(reply.GetSection(nameof(RelayReplyOptions.GitHub)), Runchat.Relay.Internal.ConfigurationKeys.Of<RelayGitHubOptions>()));
                errors.AddRange(Runchat.Relay.Internal.ConfigurationKeys.Unknown(reply.GetSection(nameof(RelayReplyOptions.Slack)), Runchat.Relay.Internal.ConfigurationKeys.Of<RelaySlackOptions>()));
                errors.AddRange(Runchat.Relay.Internal.ConfigurationKeys.Unknown(route.GetSection(nameof(RelayRouteOptions.GitHub)), Runchat.Relay.Internal.ConfigurationKeys.Of<RelayGitHubSourceOptions>()));
                errors.AddRange(Runchat.Relay.Internal.ConfigurationKeys.Unknown(route.GetSection(nameof(RelayRouteOptions.Stripe)), Runchat.Relay.Internal.ConfigurationKeys.Of<RelayStripeSourceOptions>()));
            }

            errors.AddRange(Runchat.Relay.Internal.ConfigurationKeys.Unknown(_section.GetSection(nameof(RunchatRelayOptions.Retention)), Runchat.Relay.Internal.ConfigurationKeys.Of<RelayRetentionOptions>()));
            foreach (var schedule in _section.GetSection("Schedules").GetChildren())
            {
                errors.AddRange(Runchat.Relay.Internal.ConfigurationKeys.Unknown(schedule, Runchat.Relay.Internal.ConfigurationKeys.Of<RelayScheduleOptions>()));
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }

    private sealed class RelayOptionsValidator : IValidateOptions<RunchatRelayOptions>
    {
        private readonly WebhookSchemes _schemes;

        public RelayOptionsValidator(WebhookSchemes schemes) => _schemes = schemes;

        public ValidateOptionsResult Validate(string? name, RunchatRelayOptions options)
        {
            var errors = options.Validate(_schemes);
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
