using System;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Maps webhook routes. Every HTTP answer a route gives is decided by the relay's ingest, in one fixed order:
/// 405, 413, 401, 400, then 202 once the delivery is committed (or found: a duplicate), or 200 when it is
/// stored ignored.
/// </summary>
public static class RunchatRelayEndpointExtensions
{
    /// <summary>Maps every route of <c>Relay:Routes</c>.</summary>
    /// <param name="endpoints">The application.</param>
    /// <returns>A builder for all the routes, to add conventions such as <c>RequireHost</c>.</returns>
    /// <exception cref="OptionsValidationException">A route is invalid; the message names it.</exception>
    public static IEndpointConventionBuilder MapRunchatRelay(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var options = services.GetRequiredService<IOptions<RunchatRelayOptions>>().Value;
        var routes = services.GetRequiredService<RelayRouteTable>();
        var ingest = RelayIngest.From(services);
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Runchat.Relay");
        var group = endpoints.MapGroup(string.Empty);
        foreach (var route in routes.Configured)
        {
            Map(group, route, ingest);
        }

        foreach (var route in options.Routes)
        {
            if (WebhookSignature.IsPublishedSample(route.Secret))
            {
                logger.LogWarning(
                    "The route {Route} uses a sample secret published in the Runchat README: anyone can sign webhooks for it. Set the sender's real secret (for example Relay__Routes__N__Secret) before it faces the internet.",
                    route.Path);
            }
        }

        return group;
    }

    /// <summary>Maps one webhook route in code.</summary>
    /// <param name="endpoints">The application.</param>
    /// <param name="path">The path, such as <c>/hooks/stripe</c>.</param>
    /// <param name="jobId">The Runchat job each delivery triggers.</param>
    /// <param name="scheme">How senders sign, such as <c>WebhookSignature.Stripe(secret)</c>, or a scheme of your own.</param>
    /// <returns>The endpoint's builder.</returns>
    /// <exception cref="ArgumentException">The path or job id is invalid, or the path is mapped already; the message names the route.</exception>
    public static IEndpointConventionBuilder MapRunchatWebhook(this IEndpointRouteBuilder endpoints, string path, string jobId, WebhookScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return MapInCode(endpoints, RelayRoute.Create(path, jobId ?? throw new ArgumentNullException(nameof(jobId)), null, scheme));
    }

    /// <summary>Maps one webhook route in code, with the rules a configured route has: <c>Events</c>, <c>When</c>, <c>Message</c>, <c>Reply</c>.</summary>
    /// <param name="endpoints">The application.</param>
    /// <param name="path">The path, such as <c>/hooks/github</c>.</param>
    /// <param name="jobId">The Runchat job each delivery triggers.</param>
    /// <param name="scheme">How senders sign, such as <c>WebhookSignature.GitHub(secret)</c>, or a scheme of your own.</param>
    /// <param name="rules">
    /// Sets <see cref="RelayRouteOptions.Events"/>, <see cref="RelayRouteOptions.When"/>, <see cref="RelayRouteOptions.Message"/>
    /// and <see cref="RelayRouteOptions.Reply"/>; the path, job and scheme are the arguments, so those keys must stay unset.
    /// </param>
    /// <returns>The endpoint's builder.</returns>
    /// <exception cref="ArgumentException">The path, job id or a rule is invalid (a template that does not parse, a JSONPath that is not one); the message names the route.</exception>
    public static IEndpointConventionBuilder MapRunchatWebhook(this IEndpointRouteBuilder endpoints, string path, string jobId, WebhookScheme scheme, Action<RelayRouteOptions> rules)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(rules);
        var options = new RelayRouteOptions();
        rules(options);
        if (options.Path is not null || options.JobId is not null || options.FlowId is not null || options.Signature is not null || options.Secret is not null || options.Header is not null)
        {
            throw new ArgumentException($"The webhook route {path}: set Path, JobId and the scheme as MapRunchatWebhook's arguments, not in its rules.", nameof(rules));
        }

        return MapInCode(endpoints, RelayRoute.Create(path, jobId ?? throw new ArgumentNullException(nameof(jobId)), null, scheme).WithRules(options));
    }

    /// <summary>
    /// Maps the relay's health endpoints: <paramref name="livePath"/> answers 200 while the process serves (no check runs:
    /// a liveness probe that restarts a relay whose database is down would not help), and <paramref name="readyPath"/>
    /// runs the checks tagged <see cref="RelayHealthChecks.ReadyTag"/> (the store answers, the dispatch loop goes round):
    /// 200 when healthy or degraded, 503 when not. Both answer JSON: the status, and each check's status and description.
    /// </summary>
    /// <param name="endpoints">The application.</param>
    /// <param name="livePath">The liveness path; <c>/healthz</c> by default.</param>
    /// <param name="readyPath">The readiness path; <c>/readyz</c> by default.</param>
    /// <returns>A builder for both, to add conventions such as <c>RequireHost</c>.</returns>
    public static IEndpointConventionBuilder MapRunchatRelayHealthChecks(this IEndpointRouteBuilder endpoints, string livePath = "/healthz", string readyPath = "/readyz")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup(string.Empty);
        group.MapHealthChecks(livePath, new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = static _ => false, ResponseWriter = HealthJson.WriteAsync });
        group.MapHealthChecks(readyPath, new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
        {
            Predicate = static check => check.Tags.Contains(RelayHealthChecks.ReadyTag),
            ResponseWriter = HealthJson.WriteAsync,
        });
        return group;
    }

    private static IEndpointConventionBuilder MapInCode(IEndpointRouteBuilder endpoints, RelayRoute route)
    {
        endpoints.ServiceProvider.GetRequiredService<RelayRouteTable>().AddMapped(route);
        return Map(endpoints, route, RelayIngest.From(endpoints.ServiceProvider));
    }

    private static IEndpointConventionBuilder Map(IEndpointRouteBuilder endpoints, RelayRoute route, RelayIngest ingest) =>
        endpoints.Map(route.Path, context => ingest.HandleAsync(context, route)).WithDisplayName($"Runchat webhook {route.Path} -> {route.Target}");
}
