using System;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Runchat.Relay;

/// <summary>The JSON the dashboard's script polls: the counts by state (overview) and one delivery's state (detail).</summary>
internal static class DashboardApi
{
    /// <summary><c>{"states":{"pending":"3",…},"at":"12:00:03"}</c>: counts as shown (<c>100,000+</c> at a cap).</summary>
    public static async Task SummaryAsync(HttpContext context)
    {
        var counts = await context.RequestServices.GetRequiredService<IRelayMonitor>().CountByStateAsync(context.RequestAborted).ConfigureAwait(false);
        var states = counts.ToDictionary(c => DeliveryStates.Name(c.State), DashboardModels.Count);
        var at = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        await WriteAsync(context, new { states, at }).ConfigureAwait(false);
    }

    /// <summary><c>{"state":"sending","attempts":1}</c>, or a 404.</summary>
    public static async Task StateAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        var delivery = await context.RequestServices.GetRequiredService<IRelayMonitor>().GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (delivery is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await WriteAsync(context, new { state = DeliveryStates.Name(delivery.State), attempts = delivery.Attempts }).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, object value)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(value), context.RequestAborted);
    }
}

/// <summary>The dashboard's stylesheet and script, from the assembly (the pages' CSP allows no other source).</summary>
internal static class DashboardAssets
{
    public static async Task WriteAsync(HttpContext context)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var contentType = name switch
        {
            "dashboard.css" => "text/css; charset=utf-8",
            "dashboard.js" => "text/javascript; charset=utf-8",
            _ => null,
        };
        using var stream = contentType is null ? null : typeof(DashboardAssets).Assembly.GetManifestResourceStream("Runchat.Relay.Dashboard." + name);
        if (stream is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = contentType;
        await stream.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }
}
