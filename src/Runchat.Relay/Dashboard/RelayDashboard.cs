using System;
using System.Net;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Runchat.Relay;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// The relay's dashboard: the deliveries at a glance, their payloads and outcomes, and a replay an
/// operator confirms. It shows payloads, which are customer data, so by default it answers only
/// requests from this machine.
/// </summary>
public static class RunchatRelayDashboardExtensions
{
    /// <summary>
    /// Maps the dashboard under <paramref name="path"/>: the overview, the delivery list (filtered by
    /// state, route and event, paged), each delivery, and its replay.
    /// </summary>
    /// <param name="endpoints">The application (after <c>AddRunchatRelay</c>).</param>
    /// <param name="path">Where it is served; <c>/relay</c> by default.</param>
    /// <returns>
    /// The group's builder. Without <c>.RequireAuthorization(…)</c> the dashboard answers only loopback
    /// requests that no proxy forwarded (403 for anything else); with it, the app's policy decides instead.
    /// </returns>
    /// <remarks>
    /// Replay is a POST with an antiforgery token (400 without it, and nothing is replayed). Every page
    /// has a strict Content-Security-Policy (no inline script; the one script and stylesheet come from
    /// the assembly, no CDN), <c>X-Frame-Options: DENY</c> and <c>Cache-Control: no-store</c>.
    /// </remarks>
    public static IEndpointConventionBuilder MapRunchatRelayDashboard(this IEndpointRouteBuilder endpoints, string path = "/relay")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (string.IsNullOrWhiteSpace(path) || !path.StartsWith("/", StringComparison.Ordinal))
        {
            throw new ArgumentException($"The dashboard's path must start with '/'; got '{path}'.", nameof(path));
        }

        var root = path.Length > 1 ? path.TrimEnd('/') : path;
        var pages = new DashboardPages(root);
        var group = endpoints.MapGroup(root);
        group.MapGet("/", context => Guarded(context, pages.OverviewAsync));
        group.MapGet("/deliveries", context => Guarded(context, pages.ListAsync));
        group.MapGet("/deliveries/{id}", context => Guarded(context, pages.DetailAsync));
        group.MapPost("/deliveries/{id}/replay", context => Guarded(context, pages.ReplayAsync));
        group.MapGet("/deliveries/replay", context => Guarded(context, pages.ReplayManyConfirmAsync));
        group.MapPost("/deliveries/replay", context => Guarded(context, pages.ReplayManyAsync));
        group.MapGet("/routes", context => Guarded(context, pages.RoutesAsync));
        group.MapPost("/routes/{action}", context => Guarded(context, pages.RouteActionAsync));
        group.MapGet("/schedules", context => Guarded(context, pages.SchedulesAsync));
        group.MapPost("/schedules/{name}/{action}", context => Guarded(context, pages.ScheduleActionAsync));
        group.MapGet("/instances", context => Guarded(context, pages.InstancesAsync));
        group.MapGet("/ignored", context => Guarded(context, pages.IgnoredAsync));
        group.MapGet("/api/summary", context => Guarded(context, DashboardApi.SummaryAsync));
        group.MapGet("/api/deliveries/{id}", context => Guarded(context, DashboardApi.StateAsync));
        group.MapGet("/assets/{name}", context => Guarded(context, DashboardAssets.WriteAsync));
        return group;
    }

    /// <summary>The security headers, then the loopback rules unless the app put its own authorization on the endpoint.</summary>
    private static Task Guarded(HttpContext context, Func<HttpContext, Task> page)
    {
        var headers = context.Response.Headers;
        headers["Content-Security-Policy"] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        headers["X-Frame-Options"] = "DENY";
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        // What antiforgery sets for a page with a token: set here for every page, so it has nothing to override (and no warning to log).
        headers.CacheControl = "no-cache, no-store";
        headers.Pragma = "no-cache";

        var authorized = context.GetEndpoint()?.Metadata.GetMetadata<IAuthorizeData>() is not null;
        if (!authorized && !IsLocal(context))
        {
            return Refuse(context, StatusCodes.Status403Forbidden,
                "The relay dashboard shows webhook payloads (customer data), so it answers only requests from this machine. " +
                "To open it from elsewhere, map it with .RequireAuthorization(policy).");
        }

        if (!authorized && !IsLocalHost(context.Request.Host))
        {
            // A page elsewhere that resolves its own name to 127.0.0.1 (DNS rebinding) reaches this machine with its own Host.
            return Refuse(context, StatusCodes.Status421MisdirectedRequest,
                "The relay dashboard answers only requests for this machine by name: http://localhost, http://127.0.0.1 or http://[::1], with the port. " +
                "To open it under another name, map it with .RequireAuthorization(policy).");
        }

        return page(context);
    }

    private static Task Refuse(HttpContext context, int status, string why)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(why);
    }

    /// <summary>The Host a browser sends for this machine: localhost, 127.0.0.1 or [::1], with any port.</summary>
    private static bool IsLocalHost(HostString host) =>
        host.HasValue && host.Host.ToLowerInvariant() is "localhost" or "127.0.0.1" or "[::1]";

    /// <summary>
    /// A request from this machine that no proxy forwarded. ASP.NET Core's forwarded-headers middleware
    /// rewrites the remote address from X-Forwarded-For, keeping the original in X-Original-For: a
    /// request carrying either (or Forwarded) came through something, so it is not local, whatever its address.
    /// </summary>
    private static bool IsLocal(HttpContext context)
    {
        var request = context.Request.Headers;
        if (request.ContainsKey("X-Forwarded-For") || request.ContainsKey("X-Original-For") || request.ContainsKey("Forwarded"))
        {
            return false;
        }

        var remote = context.Connection.RemoteIpAddress;
        return remote is not null && IPAddress.IsLoopback(remote);
    }
}
