using System;
using System.Collections.Concurrent;

namespace Runchat.Relay;

/// <summary>
/// The routes this relay has mapped, from configuration and from code, by path: the dispatcher finds
/// a stored delivery's Message template here. A delivery whose route is no longer mapped (the
/// configuration changed) is sent as stored: its payload, whole.
/// </summary>
internal sealed class RelayRouteTable
{
    private readonly ConcurrentDictionary<string, RelayRoute> _routes = new(StringComparer.OrdinalIgnoreCase);

    public void Add(RelayRoute route) => _routes[RelayRoute.Normalize(route.Path)] = route;

    public RelayRoute? Find(string path) => _routes.TryGetValue(RelayRoute.Normalize(path), out var route) ? route : null;
}
