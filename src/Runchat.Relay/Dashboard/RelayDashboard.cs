using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
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
        group.MapGet("/api/summary", context => Guarded(context, pages.SummaryAsync));
        group.MapGet("/api/deliveries/{id}", context => Guarded(context, pages.StateAsync));
        group.MapGet("/assets/{name}", context => Guarded(context, DashboardPages.AssetAsync));
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

/// <summary>The dashboard's pages: server-rendered HTML, every value HTML-encoded.</summary>
internal sealed class DashboardPages
{
    private const int PageSize = 50;
    private const int MaxPayloadBytes = 64 * 1024;
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;
    private readonly string _root;

    public DashboardPages(string root) => _root = root == "/" ? string.Empty : root;

    public async Task OverviewAsync(HttpContext context)
    {
        var store = context.RequestServices.GetRequiredService<IDeliveryStore>();
        var counts = store.CountByState();
        var unknown = await store.ListPageAsync(new DeliveryPageQuery(RelayDeliveryState.Unknown, null, null, null, null, 20), context.RequestAborted).ConfigureAwait(false);
        var latest = await store.ListPageAsync(new DeliveryPageQuery(null, null, null, null, null, 15), context.RequestAborted).ConfigureAwait(false);
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var figures = await store.OverviewAsync(now, context.RequestAborted).ConfigureAwait(false);

        var body = new StringBuilder();
        body.Append($"<h2>Deliveries</h2><div class=\"cards\" data-summary=\"{Attr(_root + "/api/summary")}\">");
        foreach (var (state, count) in counts)
        {
            var name = DeliveryStates.Name(state);
            body.Append($"<a class=\"card\" href=\"{Attr(_root + "/deliveries?state=" + name)}\"><span class=\"state state-{name}\">{name}</span><b data-count=\"{name}\">{Count(state, count)}</b></a>");
        }

        body.Append($"</div><p>Sends started in the last hour: <b>{figures.SentLastHour}</b>, in the last day: <b>{figures.SentLastDay}</b>. ");
        body.Append(figures.OldestPending is { } oldest ? $"Oldest pending: received {Text(oldest.UtcDateTime.ToString("u", CultureInfo.InvariantCulture))} ({Text(Age(now - oldest))} ago). " : "Nothing pending. ");
        body.Append($"Updated <span data-updated>{Text(now.ToString("HH:mm:ss", CultureInfo.InvariantCulture))}</span> UTC.</p>");
        if (figures.ByRoute.Count > 0)
        {
            body.Append("<h3>Received in the last 24 hours, by route</h3><table><thead><tr><th>Route</th><th>Deliveries</th></tr></thead><tbody>");
            foreach (var (route, count) in figures.ByRoute)
            {
                body.Append($"<tr><td><a href=\"{Attr(_root + "/deliveries?route=" + Uri.EscapeDataString(route))}\">{Text(route)}</a></td><td>{count}</td></tr>");
            }

            body.Append("</tbody></table>");
        }

        if (unknown.Count > 0)
        {
            body.Append("<div class=\"warning\"><b>Unknown deliveries need a decision.</b> Each may or may not have run the agent (a timeout, a dropped connection, a 5xx, or a relay that stopped mid-run). Check the job's history in Runchat before replaying one.</div>");
            body.Append(Table(unknown));
        }

        body.Append("<h2>Latest</h2>").Append(Table(latest));
        await WritePageAsync(context, "Overview", body.ToString()).ConfigureAwait(false);
    }

    public async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        RelayDeliveryState? state = null;
        if (query["state"].FirstOrDefault() is { Length: > 0 } stateText)
        {
            if (!DeliveryStates.TryParse(stateText, out var parsed))
            {
                await WritePageAsync(context, "Deliveries", $"<p>There is no state '{Text(stateText)}'.</p>", StatusCodes.Status400BadRequest).ConfigureAwait(false);
                return;
            }

            state = parsed;
        }

        var route = NonEmpty(query["route"].FirstOrDefault());
        var eventName = NonEmpty(query["event"].FirstOrDefault());
        DateTimeOffset? beforeAt = null;
        string? beforeId = null;
        if (NonEmpty(query["before"].FirstOrDefault()) is { } before)
        {
            if (!DeliveryCursor.TryParse(before, out var at, out var id, out var error))
            {
                await WritePageAsync(context, "Deliveries", $"<p>{Text(error!)}</p>", StatusCodes.Status400BadRequest).ConfigureAwait(false);
                return;
            }

            (beforeAt, beforeId) = (at, id);
        }

        var store = context.RequestServices.GetRequiredService<IDeliveryStore>();
        var page = await store.ListPageAsync(new DeliveryPageQuery(state, route, eventName, beforeAt, beforeId, PageSize), context.RequestAborted).ConfigureAwait(false);

        var body = new StringBuilder();
        body.Append($"<form class=\"filters\" method=\"get\" action=\"{Attr(_root + "/deliveries")}\"><div><label for=\"state\">State</label><select id=\"state\" name=\"state\"><option value=\"\">any</option>");
        foreach (RelayDeliveryState option in Enum.GetValues(typeof(RelayDeliveryState)))
        {
            var name = DeliveryStates.Name(option);
            body.Append($"<option value=\"{name}\"{(state == option ? " selected" : string.Empty)}>{name}</option>");
        }

        body.Append($"</select></div><div><label for=\"route\">Route</label><input id=\"route\" name=\"route\" value=\"{Attr(route ?? string.Empty)}\"></div>");
        body.Append($"<div><label for=\"event\">Event</label><input id=\"event\" name=\"event\" value=\"{Attr(eventName ?? string.Empty)}\"></div><button type=\"submit\">Filter</button></form>");
        body.Append(Table(page));
        if (page.Count == PageSize)
        {
            var last = page[page.Count - 1];
            var next = $"{_root}/deliveries?state={Uri.EscapeDataString(state is { } s ? DeliveryStates.Name(s) : string.Empty)}&route={Uri.EscapeDataString(route ?? string.Empty)}&event={Uri.EscapeDataString(eventName ?? string.Empty)}&before={last.ReceivedAt.ToUnixTimeMilliseconds()}:{Uri.EscapeDataString(last.Id)}";
            body.Append($"<p><a href=\"{Attr(next)}\">Older →</a></p>");
        }

        await WritePageAsync(context, "Deliveries", body.ToString()).ConfigureAwait(false);
    }

    public async Task DetailAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        var store = context.RequestServices.GetRequiredService<IDeliveryStore>();
        var delivery = await store.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (delivery is null)
        {
            await WritePageAsync(context, "Not found", $"<p>There is no delivery {Text(id)}.</p>", StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }

        var payload = await store.GetBodyAsync(id, context.RequestAborted).ConfigureAwait(false) ?? Array.Empty<byte>();
        var name = DeliveryStates.Name(delivery.State);
        var body = new StringBuilder();
        if (context.Request.Query.ContainsKey("replayed"))
        {
            body.Append("<p class=\"notice\">Replayed: the delivery is pending again, and a running relay sends it within a few seconds.</p>");
        }

        body.Append($"<h2 data-delivery=\"{Attr(_root + "/api/deliveries/" + Uri.EscapeDataString(delivery.Id))}\">{Text(delivery.Id)} <span class=\"state state-{name}\" data-state>{name}</span></h2><dl>");
        void Row(string label, string? value) => body.Append($"<dt>{label}</dt><dd>{Text(value ?? "–")}</dd>");
        Row("Route", delivery.Route);
        Row(delivery.FlowId is null ? "Job" : "Flow", delivery.FlowId ?? delivery.JobId);
        Row("Event", delivery.Event);
        Row("Event id", delivery.DedupeKey.StartsWith("id:", StringComparison.Ordinal) ? delivery.DedupeKey.Substring(3) : delivery.SenderId);
        Row("Dedupe key", delivery.DedupeKey);
        Row("Attempts", delivery.Attempts.ToString(CultureInfo.InvariantCulture));
        Row("Received", delivery.ReceivedAt.UtcDateTime.ToString("u", CultureInfo.InvariantCulture));
        Row("Updated", delivery.UpdatedAt.UtcDateTime.ToString("u", CultureInfo.InvariantCulture));
        Row("Run status", delivery.Status);
        Row("Message sent", delivery.Message ?? (delivery.Attempts > 0 ? "(the payload, whole)" : null));
        Row("Final reply", delivery.FinalReply);
        Row("Error", delivery.LastError);
        Row("Replayed", delivery.ReplayedAt?.UtcDateTime.ToString("u", CultureInfo.InvariantCulture));
        Row("Size", delivery.BodyBytes.ToString("N0", CultureInfo.InvariantCulture) + " bytes");
        body.Append("</dl>");

        if (delivery.State == RelayDeliveryState.Unknown)
        {
            body.Append("<p class=\"warning\">The run may or may not have happened: the request reached (or may have reached) Runchat, and no answer came back that says how it ended. Check the job's history in Runchat before replaying: a replay runs the agent again.</p>");
        }

        if (delivery.State is RelayDeliveryState.Succeeded or RelayDeliveryState.Failed or RelayDeliveryState.Unknown)
        {
            var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
            var tokens = antiforgery.GetAndStoreTokens(context);
            body.Append($"<form method=\"post\" action=\"{Attr(_root + "/deliveries/" + Uri.EscapeDataString(delivery.Id) + "/replay")}\">");
            body.Append($"<input type=\"hidden\" name=\"{Attr(tokens.FormFieldName)}\" value=\"{Attr(tokens.RequestToken ?? string.Empty)}\">");
            body.Append("<p><label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> I understand that a replay sends this delivery again, and the agent may run again.</label></p>");
            body.Append("<button class=\"danger\" type=\"submit\">Replay</button></form>");
        }

        body.Append("<h3>Payload</h3><pre>").Append(Text(Pretty(payload))).Append("</pre>");
        await WritePageAsync(context, delivery.Id, body.ToString()).ConfigureAwait(false);
    }

    public async Task ReplayAsync(HttpContext context)
    {
        if (!context.Request.HasFormContentType)
        {
            await WritePageAsync(context, "Refused", "<p>A replay is the delivery page's form (application/x-www-form-urlencoded). Nothing was replayed.</p>", StatusCodes.Status415UnsupportedMediaType).ConfigureAwait(false);
            return;
        }

        var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            await WritePageAsync(context, "Refused", "<p>The replay was refused: the form's antiforgery token is missing or wrong. Nothing was replayed. Open the delivery again and use its Replay button.</p>", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var id = (string)context.Request.RouteValues["id"]!;
        if (form["confirm"] != "yes")
        {
            await WritePageAsync(context, "Refused", "<p>The replay was not confirmed. Nothing was replayed.</p>", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }

        try
        {
            var replayed = await context.RequestServices.GetRequiredService<IRunchatRelay>().ReplayAsync(id, context.RequestAborted).ConfigureAwait(false);
            if (replayed is null)
            {
                await WritePageAsync(context, "Not found", $"<p>There is no delivery {Text(id)}.</p>", StatusCodes.Status404NotFound).ConfigureAwait(false);
                return;
            }
        }
        catch (InvalidOperationException refused)
        {
            await WritePageAsync(context, "Not replayed", $"<p>{Text(refused.Message)}</p>", StatusCodes.Status409Conflict).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = _root + "/deliveries/" + Uri.EscapeDataString(id) + "?replayed=1";
    }

    public Task SummaryAsync(HttpContext context)
    {
        var store = context.RequestServices.GetRequiredService<IDeliveryStore>();
        var states = store.CountByState().ToDictionary(c => DeliveryStates.Name(c.State), c => Count(c.State, c.Count));
        var at = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { states, at }));
    }

    /// <summary>One delivery's state, for the detail page to follow without a reload.</summary>
    public async Task StateAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        var delivery = await context.RequestServices.GetRequiredService<IDeliveryStore>().GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (delivery is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { state = DeliveryStates.Name(delivery.State), attempts = delivery.Attempts })).ConfigureAwait(false);
    }

    public static async Task AssetAsync(HttpContext context)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var contentType = name switch
        {
            "dashboard.css" => "text/css; charset=utf-8",
            "dashboard.js" => "text/javascript; charset=utf-8",
            _ => null,
        };
        using var stream = contentType is null ? null : typeof(DashboardPages).Assembly.GetManifestResourceStream("Runchat.Relay.Dashboard." + name);
        if (stream is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = contentType;
        await stream.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A state's count as shown: at the store's cap, it means at least that many.</summary>
    private static string Count(RelayDeliveryState state, long count) => count >= SqlDeliveryStore.CapOf(state) ? count.ToString("N0", CultureInfo.InvariantCulture) + "+" : count.ToString(CultureInfo.InvariantCulture);

    private string Table(IReadOnlyList<RelayDelivery> deliveries)
    {
        if (deliveries.Count == 0)
        {
            return "<p>None.</p>";
        }

        var table = new StringBuilder("<table><thead><tr><th>Delivery</th><th>State</th><th>Route</th><th>Event</th><th>Attempts</th><th>Received (UTC)</th><th>Error</th></tr></thead><tbody>");
        foreach (var delivery in deliveries)
        {
            var name = DeliveryStates.Name(delivery.State);
            table.Append($"<tr><td><a href=\"{Attr(_root + "/deliveries/" + Uri.EscapeDataString(delivery.Id))}\">{Text(delivery.Id)}</a></td><td><span class=\"state state-{name}\">{name}</span></td>");
            table.Append($"<td>{Text(delivery.Route)}</td><td>{Text(delivery.Event ?? "–")}</td><td>{delivery.Attempts}</td><td>{delivery.ReceivedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}</td><td>{Text(Shorten(delivery.LastError))}</td></tr>");
        }

        return table.Append("</tbody></table>").ToString();
    }

    private async Task WritePageAsync(HttpContext context, string title, string body, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        var html = $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">" +
                   $"<title>{Text(title)} · Runchat relay</title><link rel=\"stylesheet\" href=\"{Attr(_root + "/assets/dashboard.css")}\"><script src=\"{Attr(_root + "/assets/dashboard.js")}\" defer></script></head>" +
                   $"<body><header><h1>Runchat relay</h1><a href=\"{Attr(_root + "/")}\">Overview</a><a href=\"{Attr(_root + "/deliveries")}\">Deliveries</a></header><main>{body}</main></body></html>";
        await context.Response.WriteAsync(html, context.RequestAborted).ConfigureAwait(false);
    }

    private static string Pretty(byte[] payload)
    {
        if (payload.Length > MaxPayloadBytes)
        {
            return Encoding.UTF8.GetString(payload, 0, MaxPayloadBytes) + $"\n… ({payload.Length - MaxPayloadBytes:N0} more bytes not shown)";
        }

        try
        {
            using var document = JsonDocument.Parse(payload);
            return JsonSerializer.Serialize(document.RootElement, new JsonSerializerOptions { WriteIndented = true, Encoder = ReadableJsonEncoder.Instance });
        }
        catch (JsonException)
        {
            return Encoding.UTF8.GetString(payload);
        }
    }

    private static string Age(TimeSpan age) =>
        age.TotalMinutes < 1 ? $"{Math.Max(age.TotalSeconds, 0):0} s" : age.TotalHours < 1 ? $"{age.TotalMinutes:0} min" : age.TotalDays < 1 ? $"{age.TotalHours:0.#} h" : $"{age.TotalDays:0.#} days";

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 120 ? text : text.Substring(0, 117) + "…";

    private static string Text(string value) => Html.Encode(value);

    private static string Attr(string value) => Html.Encode(value);
}
