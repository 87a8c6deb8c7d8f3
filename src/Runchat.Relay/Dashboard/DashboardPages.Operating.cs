using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Runchat.Relay;

/// <summary>
/// The pages an operator runs a relay with for months: routes and schedules (pause, resume, Run now), instances,
/// ignored deliveries, and a bulk replay with a confirm step. Every change is a POST with an antiforgery token, through
/// <see cref="IRunchatRelay"/>; a change that runs the agent also needs its confirmation box ticked.
/// </summary>
internal sealed partial class DashboardPages
{
    /// <summary>How many deliveries one search request reads at most: its cost, whatever the store holds.</summary>
    internal const int SearchScan = 5000;

    /// <summary>How many deliveries one bulk replay request replays at most.</summary>
    internal const int MaxBulkReplay = 10_000;

    /// <summary>How many of the latest ignored deliveries the Ignored page groups by event.</summary>
    internal const int IgnoredSample = 10_000;

    private static readonly PeriodOption[] Periods =
    [
        new(string.Empty, "any time"), new("1h", "last hour"), new("24h", "last 24 hours"), new("7d", "last 7 days"), new("30d", "last 30 days"),
    ];

    private static bool TryPeriod(string text, out TimeSpan? period)
    {
        period = text switch
        {
            "" => null,
            "1h" => TimeSpan.FromHours(1),
            "24h" => TimeSpan.FromHours(24),
            "7d" => TimeSpan.FromDays(7),
            "30d" => TimeSpan.FromDays(30),
            _ => TimeSpan.MinValue,
        };
        return period != TimeSpan.MinValue;
    }

    public async Task SchedulesAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var routes = services.GetRequiredService<RelayRouteTable>();
        var relay = services.GetRequiredService<IRunchatRelay>();
        var monitor = services.GetRequiredService<IRelayMonitor>();
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var paused = await relay.ListPausedAsync(context.RequestAborted).ConfigureAwait(false);
        var rows = new List<ScheduleRow>();
        foreach (var schedule in routes.Schedules)
        {
            var next = new List<string>();
            for (DateTimeOffset? at = now; next.Count < 3 && (at = schedule.Next(at!.Value)) is { } fire;)
            {
                next.Add(DashboardModels.Time(fire));
            }

            var last = await monitor.ListAsync(new RelayDeliveryQuery { Route = schedule.Route.Path, Limit = 1 }, context.RequestAborted).ConfigureAwait(false);
            var pause = paused.FirstOrDefault(p => p.Target == RelayPauseTarget.Schedule(schedule.Name));
            var path = _root + "/schedules/" + Uri.EscapeDataString(schedule.Name);
            rows.Add(new ScheduleRow(
                schedule.Name,
                schedule.CronText,
                schedule.Zone.Id,
                schedule.Route.Target,
                next,
                pause is null ? null : DashboardModels.Time(pause.PausedAt) + " UTC",
                last.Deliveries.Count == 0 ? null : DeliveryRow.Of(last.Deliveries[0], _root),
                Form(context, path + (pause is null ? "/pause" : "/resume"), pause is null ? "Pause" : "Resume", confirm: null),
                Form(context, path + "/run", "Run now", confirm: "Run it once now: the agent runs.")));
        }

        await _templates.WriteAsync(context, _root, "schedules", "Schedules", new SchedulesModel(rows, Notice(context))).ConfigureAwait(false);
    }

    /// <summary><c>POST /schedules/{name}/pause|resume|run</c>.</summary>
    public async Task ScheduleActionAsync(HttpContext context)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var action = (string)context.Request.RouteValues["action"]!;
        if (action is not ("pause" or "resume" or "run"))
        {
            await _templates.WriteMessageAsync(context, _root, "Not found", $"A schedule can be paused, resumed or run; not '{action}'.", StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }

        if (await FormRefusalAsync(context, confirm: action == "run", action == "run" ? "Nothing was run." : "Nothing was changed.").ConfigureAwait(false) is { } refusal)
        {
            await _templates.WriteMessageAsync(context, _root, "Refused", refusal.Message, refusal.Status).ConfigureAwait(false);
            return;
        }

        var relay = context.RequestServices.GetRequiredService<IRunchatRelay>();
        string notice;
        try
        {
            notice = action switch
            {
                "pause" => await relay.PauseAsync(RelayPauseTarget.Schedule(name), context.RequestAborted).ConfigureAwait(false)
                    ? $"{name} is paused: its ticks are skipped (stored as ignored) until it is resumed." : $"{name} was paused already.",
                "resume" => await relay.ResumeAsync(RelayPauseTarget.Schedule(name), context.RequestAborted).ConfigureAwait(false)
                    ? $"{name} is resumed: its next tick runs." : $"{name} was not paused.",
                _ => $"{name} runs now: delivery {(await relay.RunScheduleNowAsync(name, context.RequestAborted).ConfigureAwait(false)).Id}.",
            };
        }
        catch (ArgumentException unknown)
        {
            await _templates.WriteMessageAsync(context, _root, "Not found", Messages.WithoutParameter(unknown), StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }

        SeeOther(context, _root + "/schedules?notice=" + Uri.EscapeDataString(notice));
    }

    public async Task RoutesAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var routes = services.GetRequiredService<RelayRouteTable>();
        var paused = await services.GetRequiredService<IRunchatRelay>().ListPausedAsync(context.RequestAborted).ConfigureAwait(false);
        var overview = await services.GetRequiredService<IRelayMonitor>().GetOverviewAsync(context.RequestAborted).ConfigureAwait(false);
        var rows = routes.Configured.Select(route =>
        {
            var pause = paused.FirstOrDefault(p => p.Target == RelayPauseTarget.Route(route.Path));
            var hidden = new[] { new DeliveryField("route", route.Path) };
            return new RouteState(
                route.Path,
                _root + "/deliveries?route=" + Uri.EscapeDataString(route.Path),
                route.Target,
                route.Scheme.Name,
                overview.ReceivedByRoute.FirstOrDefault(r => r.Route == route.Path)?.Count ?? 0,
                pause is null ? null : DashboardModels.Time(pause.PausedAt) + " UTC",
                Form(context, _root + (pause is null ? "/routes/pause" : "/routes/resume"), pause is null ? "Pause" : "Resume", confirm: null, hidden: hidden));
        }).ToList();
        await _templates.WriteAsync(context, _root, "routes", "Routes", new RoutesModel(rows, Notice(context))).ConfigureAwait(false);
    }

    /// <summary><c>POST /routes/pause|resume</c>, the route in the form.</summary>
    public async Task RouteActionAsync(HttpContext context)
    {
        var action = (string)context.Request.RouteValues["action"]!;
        if (action is not ("pause" or "resume"))
        {
            await _templates.WriteMessageAsync(context, _root, "Not found", $"A route can be paused or resumed; not '{action}'.", StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }

        var pause = action == "pause";
        if (await FormRefusalAsync(context, confirm: false, "Nothing was changed.").ConfigureAwait(false) is { } refusal)
        {
            await _templates.WriteMessageAsync(context, _root, "Refused", refusal.Message, refusal.Status).ConfigureAwait(false);
            return;
        }

        var path = (await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false))["route"].ToString();
        var relay = context.RequestServices.GetRequiredService<IRunchatRelay>();
        string notice;
        try
        {
            var target = RelayPauseTarget.Route(path);
            notice = pause
                ? await relay.PauseAsync(target, context.RequestAborted).ConfigureAwait(false)
                    ? $"{path} is paused: its deliveries are acknowledged and stored, and wait." : $"{path} was paused already."
                : await relay.ResumeAsync(target, context.RequestAborted).ConfigureAwait(false)
                    ? $"{path} is resumed: what waited is sent, oldest first." : $"{path} was not paused.";
        }
        catch (ArgumentException unknown)
        {
            await _templates.WriteMessageAsync(context, _root, "Not found", Messages.WithoutParameter(unknown), StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }

        SeeOther(context, _root + "/routes?notice=" + Uri.EscapeDataString(notice));
    }

    public async Task InstancesAsync(HttpContext context)
    {
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var instances = await context.RequestServices.GetRequiredService<IRunchatRelay>().ListInstancesAsync(context.RequestAborted).ConfigureAwait(false);
        var rows = instances.Select(i => new InstanceRow(
            i.Host, i.ProcessId, DashboardModels.Time(i.StartedAt), DashboardModels.Time(i.LastSeenAt), i.RunsInFlight,
            i.IsAlive(now) ? "alive" : "silent for " + DashboardModels.Age(now - i.LastSeenAt),
            i.IsAlive(now) ? "alive" : "silent")).ToList();
        await _templates.WriteAsync(context, _root, "instances", "Instances", new InstancesModel(rows)).ConfigureAwait(false);
    }

    public async Task IgnoredAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var summary = await services.GetRequiredService<IDeliveryStore>().IgnoredSummaryAsync(now.AddDays(-1), IgnoredSample, context.RequestAborted).ConfigureAwait(false);
        var latest = await services.GetRequiredService<IRelayMonitor>().ListAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Ignored, Limit = 20 }, context.RequestAborted).ConfigureAwait(false);
        var model = new IgnoredModel(
            summary.ByRoute.Select(r => new RouteRow(r.Route, _root + "/deliveries?state=ignored&route=" + Uri.EscapeDataString(r.Route), r.Count)).ToList(),
            summary.ByEvent.Select(r => new IgnoredEventRow(r.Route, r.Event ?? "–",
                _root + "/deliveries?state=ignored&route=" + Uri.EscapeDataString(r.Route) + (r.Event is null ? string.Empty : "&event=" + Uri.EscapeDataString(r.Event)), r.Count)).ToList(),
            summary.Sample,
            Rows(latest));
        await _templates.WriteAsync(context, _root, "ignored", "Ignored", model).ConfigureAwait(false);
    }

    /// <summary><c>GET /deliveries/replay?state=…</c>: what a bulk replay would replay, and the confirm form.</summary>
    public async Task ReplayManyConfirmAsync(HttpContext context)
    {
        if (await BulkFilterAsync(context, context.Request.Query["state"], context.Request.Query["route"], context.Request.Query["event"], context.Request.Query["since"]).ConfigureAwait(false) is not { } filter)
        {
            return;
        }

        var page = await context.RequestServices.GetRequiredService<IRelayMonitor>().ListAsync(filter.Query, context.RequestAborted).ConfigureAwait(false);
        var hidden = new[]
        {
            new DeliveryField("state", DeliveryStates.Name(filter.Query.State!.Value)), new DeliveryField("route", filter.Query.Route ?? string.Empty),
            new DeliveryField("event", filter.Query.Event ?? string.Empty), new DeliveryField("since", filter.Since),
        };
        var form = Form(context, _root + "/deliveries/replay", "Replay them", confirm: "I understand that each of these runs the agent again.", hidden: hidden);
        var model = new ReplayManyModel(filter.Describe, null, page.Deliveries.Count, page.NextCursor is not null, MaxBulkReplay, form, Rows(page));
        await _templates.WriteAsync(context, _root, "replay-many", "Replay", model).ConfigureAwait(false);
    }

    /// <summary><c>POST /deliveries/replay</c>: the filter and the confirmation in the form; replays up to <see cref="MaxBulkReplay"/>.</summary>
    public async Task ReplayManyAsync(HttpContext context)
    {
        if (await FormRefusalAsync(context, confirm: true, "Nothing was replayed.").ConfigureAwait(false) is { } refusal)
        {
            await _templates.WriteMessageAsync(context, _root, "Refused", refusal.Message, refusal.Status).ConfigureAwait(false);
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        if (await BulkFilterAsync(context, form["state"], form["route"], form["event"], form["since"]).ConfigureAwait(false) is not { } filter)
        {
            return;
        }

        var replayed = new List<RelayDelivery>();
        int kept = 0, seen = 0;
        await foreach (var result in context.RequestServices.GetRequiredService<IRunchatRelay>().ReplayManyAsync(filter.Query.From(null, 500), context.RequestAborted).ConfigureAwait(false))
        {
            if (result.Replayed)
            {
                replayed.Add(result.Delivery);
            }
            else
            {
                kept++;
            }

            if (++seen >= MaxBulkReplay)
            {
                break;
            }
        }

        var done = $"{replayed.Count} replayed, {kept} kept (changed since they were read){(seen >= MaxBulkReplay ? $"; stopped at {MaxBulkReplay:N0}: replay again for the rest" : string.Empty)}. " +
            "A running relay sends them at its own pace.";
        var model = new ReplayManyModel(filter.Describe, done, replayed.Count, false, MaxBulkReplay, null, replayed.Take(PageSize).Select(d => DeliveryRow.Of(d, _root)).ToList());
        await _templates.WriteAsync(context, _root, "replay-many", "Replayed", model).ConfigureAwait(false);
    }

    /// <summary>A bulk replay's filter (failed or unknown, route, event, since), or null after answering why it is not one.</summary>
    private async Task<(RelayDeliveryQuery Query, string Since, string Describe)?> BulkFilterAsync(HttpContext context, string? stateText, string? route, string? eventName, string? since)
    {
        if (stateText is not ("failed" or "unknown"))
        {
            await _templates.WriteMessageAsync(context, _root, "Replay", "A bulk replay takes failed or unknown deliveries (state=failed or state=unknown). Nothing was replayed.", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return null;
        }

        since ??= string.Empty;
        if (!TryPeriod(since, out var period))
        {
            await _templates.WriteMessageAsync(context, _root, "Replay", $"'{since}' is not a period the page offers. Nothing was replayed.", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return null;
        }

        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var query = new RelayDeliveryQuery
        {
            State = DeliveryStates.Parse(stateText),
            Route = string.IsNullOrWhiteSpace(route) ? null : route,
            Event = string.IsNullOrWhiteSpace(eventName) ? null : eventName,
            Since = period is { } p ? now - p : null,
            Limit = PageSize,
        };
        if (DeliveryCursor.Problem(query) is { } problem)
        {
            await _templates.WriteMessageAsync(context, _root, "Replay", problem + " Nothing was replayed.", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return null;
        }

        var describe = $"{stateText} deliveries" + (query.Route is null ? string.Empty : " of " + query.Route) + (query.Event is null ? string.Empty : ", event " + query.Event) +
            (since.Length == 0 ? string.Empty : ", " + Periods.First(o => o.Value == since).Label);
        return (query, since, describe);
    }

    /// <summary>Why a POST is not one of the dashboard's own forms (confirmed, when it runs the agent); null when it is.</summary>
    /// <param name="context">The request.</param>
    /// <param name="confirm">Whether the form's confirmation box must be ticked (it runs the agent).</param>
    /// <param name="unchanged">What the refusal says did not happen: "Nothing was replayed.", "Nothing was changed."</param>
    private static async Task<(string Message, int Status)?> FormRefusalAsync(HttpContext context, bool confirm, string unchanged)
    {
        if (!context.Request.HasFormContentType)
        {
            return ($"This is one of the dashboard's forms (application/x-www-form-urlencoded). {unchanged}", StatusCodes.Status415UnsupportedMediaType);
        }

        try
        {
            await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return ($"Refused: the form's antiforgery token is missing or wrong. {unchanged} Open the page again and use its button.", StatusCodes.Status400BadRequest);
        }

        if (!confirm)
        {
            return null;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        return form["confirm"] == "yes" ? null : ($"It was not confirmed. {unchanged}", StatusCodes.Status400BadRequest);
    }

    private static ActionForm Form(HttpContext context, string action, string label, string? confirm, IReadOnlyList<DeliveryField>? hidden = null)
    {
        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        return new ActionForm(action, tokens.FormFieldName, tokens.RequestToken ?? string.Empty, label, confirm, confirm is not null, hidden ?? Array.Empty<DeliveryField>());
    }

    private static string? Notice(HttpContext context) => NonEmpty(context.Request.Query["notice"]) is { } notice && notice.Length <= 300 ? notice : null;

    private static void SeeOther(HttpContext context, string location)
    {
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = location;
    }
}
