using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.Options;

namespace Runchat.Relay;

/// <summary>
/// The relay's routes, built once from the validated options: the webhook routes of <c>Relay:Routes</c> and the
/// routes of the schedules' ticks, plus those an app maps in code (<c>MapRunchatWebhook</c>). The ingest maps
/// them; the dispatcher finds a stored delivery's Message template here. A delivery whose route is no longer
/// mapped (the configuration changed) is sent as stored: its payload, whole.
/// </summary>
internal sealed class RelayRouteTable
{
    private readonly ConcurrentDictionary<string, RelayRoute> _routes = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="options">The validated options.</param>
    /// <param name="schemes">The schemes a route may name (with those registered by AddScheme); the built-in ones when null.</param>
    public RelayRouteTable(IOptions<RunchatRelayOptions> options, Signatures.WebhookSchemes? schemes = null)
    {
        schemes ??= Signatures.WebhookSchemes.BuiltIn;
        // The options are validated before this runs (ValidateOnStart): every route and schedule builds.
        var relay = options.Value;
        Configured = relay.Routes.Select(r => r.CreateRoute(schemes, out _)!).ToList();
        Schedules = relay.Schedules.Select(s => s.Create(out _)!).ToList();
        foreach (var route in Configured.Concat(Schedules.Select(s => s.Route)))
        {
            _routes[RelayRoute.Normalize(route.Path)] = route;
        }
    }

    /// <summary>The routes of <c>Relay:Routes</c>, in order.</summary>
    public IReadOnlyList<RelayRoute> Configured { get; }

    /// <summary>The schedules of <c>Relay:Schedules</c>, in order.</summary>
    public IReadOnlyList<RelaySchedule> Schedules { get; }

    /// <summary>A route an app maps in code.</summary>
    /// <exception cref="ArgumentException">Its path is a configured route's, or another code route's.</exception>
    public void AddMapped(RelayRoute route)
    {
        if (!_routes.TryAdd(RelayRoute.Normalize(route.Path), route))
        {
            throw new ArgumentException($"The webhook route {route.Path} is mapped twice (case and a trailing slash do not make paths different).");
        }
    }

    public RelayRoute? Find(string path) => _routes.TryGetValue(RelayRoute.Normalize(path), out var route) ? route : null;
}
