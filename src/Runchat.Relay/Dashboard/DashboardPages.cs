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
/// The dashboard's HTML pages: each reads <see cref="IRelayMonitor"/> (replays go through <see cref="IRunchatRelay"/>),
/// builds a model of plain values and renders its template (<see cref="DashboardTemplates"/>).
/// </summary>
internal sealed partial class DashboardPages
{
    private const int PageSize = 50;
    private readonly string _root;
    private readonly DashboardTemplates _templates = DashboardTemplates.Instance;

    public DashboardPages(string root) => _root = root == "/" ? string.Empty : root;

    public async Task OverviewAsync(HttpContext context)
    {
        var monitor = context.RequestServices.GetRequiredService<IRelayMonitor>();
        var aborted = context.RequestAborted;
        var counts = await monitor.CountByStateAsync(aborted).ConfigureAwait(false);
        var unknown = await monitor.ListAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Unknown, Limit = 20 }, aborted).ConfigureAwait(false);
        var latest = await monitor.ListAsync(new RelayDeliveryQuery { Limit = 15 }, aborted).ConfigureAwait(false);
        var figures = await monitor.GetOverviewAsync(aborted).ConfigureAwait(false);
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();

        var chart = ChartModel.Of(await context.RequestServices.GetRequiredService<IDeliveryStore>().OutcomesPerMinuteAsync(now.AddDays(-1), aborted).ConfigureAwait(false), now);
        var model = new OverviewModel(
            chart,
            counts.Select(c => new StateCard(DeliveryStates.Name(c.State), DashboardModels.Count(c))).ToList(),
            figures.StartedLastHour,
            figures.StartedLastDay,
            figures.OldestPending is { } oldest ? oldest.UtcDateTime.ToString("u", CultureInfo.InvariantCulture) : null,
            figures.OldestPending is { } since ? DashboardModels.Age(now - since) : null,
            now.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
            figures.ReceivedByRoute.Select(r => new RouteRow(r.Route, _root + "/deliveries?route=" + Uri.EscapeDataString(r.Route), r.Count)).ToList(),
            Rows(unknown),
            Rows(latest));
        await _templates.WriteAsync(context, _root, "overview", "Overview", model).ConfigureAwait(false);
    }

    public async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        RelayDeliveryState? state = null;
        if (NonEmpty(query["state"]) is { } stateText)
        {
            if (!DeliveryStates.TryParse(stateText, out var parsed))
            {
                await _templates.WriteMessageAsync(context, _root, "Deliveries", $"There is no state '{stateText}'.", StatusCodes.Status400BadRequest).ConfigureAwait(false);
                return;
            }

            state = parsed;
        }

        var before = NonEmpty(query["before"]);
        var sinceText = NonEmpty(query["since"]) ?? string.Empty;
        if (!TryPeriod(sinceText, out var period))
        {
            await _templates.WriteMessageAsync(context, _root, "Deliveries", $"'{sinceText}' is not a period the search offers ({string.Join(", ", Periods.Select(p => p.Value).Where(v => v.Length > 0))}).", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }

        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var text = NonEmpty(query["q"])?.Trim();
        if (text is { Length: > 200 } || DeliveryCursor.HasControl(text))
        {
            await _templates.WriteMessageAsync(context, _root, "Deliveries", "A search is at most 200 characters, with no control characters.", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }

        var filter = new RelayDeliveryQuery { State = state, Route = NonEmpty(query["route"]), Event = NonEmpty(query["event"]), Before = before, Since = period is { } p ? now - p : null, Limit = PageSize };
        if (DeliveryCursor.Problem(filter) is { } problem)
        {
            await _templates.WriteMessageAsync(context, _root, "Deliveries", problem, StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }

        IReadOnlyList<RelayDelivery> rows;
        string? next;
        string? searched = null;
        if (text is null)
        {
            var page = await context.RequestServices.GetRequiredService<IRelayMonitor>().ListAsync(filter, context.RequestAborted).ConfigureAwait(false);
            (rows, next) = (page.Deliveries, page.NextCursor);
        }
        else
        {
            var found = await context.RequestServices.GetRequiredService<IDeliveryStore>().SearchAsync(new DeliverySearch(DeliveryCursor.ToStoreQuery(filter), text, SearchScan), context.RequestAborted).ConfigureAwait(false);
            rows = found.Rows.Count > PageSize ? found.Rows.Take(PageSize).ToList() : found.Rows;
            // Full page: go on after its last row. Otherwise, when the read range ended before the filter's start, go on from where it ended.
            next = found.Rows.Count > PageSize ? DeliveryCursor.Of(rows[^1])
                : found.ScannedTo is { } to ? DeliveryCursor.Of(to.ReceivedAt, to.Id)
                : null;
            searched = $"Searched {found.Scanned:N0} deliveries{(found.ScannedTo is { } end ? $", back to {DashboardModels.Time(end.ReceivedAt)} UTC" : string.Empty)}: {rows.Count} found{(next is null ? "." : "; more may be older.")}";
        }

        var model = new DeliveriesModel(
            Enum.GetValues<RelayDeliveryState>().Select(DeliveryStates.Name).ToList(),
            state is { } s ? DeliveryStates.Name(s) : string.Empty,
            filter.Route ?? string.Empty,
            filter.Event ?? string.Empty,
            rows.Select(d => DeliveryRow.Of(d, _root)).ToList(),
            next is null ? null : Older(filter, next, text, sinceText))
        {
            Q = text ?? string.Empty,
            Since = sinceText,
            Periods = Periods,
            Searched = searched,
            ReplayMany = text is null && state is RelayDeliveryState.Failed or RelayDeliveryState.Unknown ? _root + "/deliveries/replay" + FilterQuery(filter, sinceText) : null,
        };
        await _templates.WriteAsync(context, _root, "deliveries", "Deliveries", model).ConfigureAwait(false);
    }

    public async Task DetailAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        var monitor = context.RequestServices.GetRequiredService<IRelayMonitor>();
        var delivery = await monitor.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (delivery is null)
        {
            await _templates.WriteMessageAsync(context, _root, "Not found", $"There is no delivery {id}.", StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }

        var payload = await monitor.GetPayloadAsync(id, context.RequestAborted).ConfigureAwait(false) ?? Array.Empty<byte>();
        ReplayForm? replay = null;
        if (delivery.State is RelayDeliveryState.Succeeded or RelayDeliveryState.Failed or RelayDeliveryState.Unknown)
        {
            var form = Form(context, DeliveryPath(delivery.Id) + "/replay", "Replay", confirm: "I understand that a replay sends this delivery again, and the agent may run again.");
            replay = new ReplayForm(form.Action, form.Field, form.Token);
        }

        var model = new DeliveryModel(
            DeliveryRow.Of(delivery, _root),
            _root + "/api/deliveries/" + Uri.EscapeDataString(delivery.Id),
            context.Request.Query.ContainsKey("replayed"),
            Fields(delivery),
            replay,
            DashboardModels.Pretty(payload));
        await _templates.WriteAsync(context, _root, "delivery", delivery.Id, model).ConfigureAwait(false);
    }

    public async Task ReplayAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        if (await FormRefusalAsync(context, confirm: true, "Nothing was replayed.").ConfigureAwait(false) is { } refusal)
        {
            await _templates.WriteMessageAsync(context, _root, "Refused", refusal.Message, refusal.Status).ConfigureAwait(false);
            return;
        }

        try
        {
            if (await context.RequestServices.GetRequiredService<IRunchatRelay>().ReplayAsync(id, context.RequestAborted).ConfigureAwait(false) is null)
            {
                await _templates.WriteMessageAsync(context, _root, "Not found", $"There is no delivery {id}.", StatusCodes.Status404NotFound).ConfigureAwait(false);
                return;
            }
        }
        catch (InvalidOperationException refused)
        {
            await _templates.WriteMessageAsync(context, _root, "Not replayed", refused.Message, StatusCodes.Status409Conflict).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = DeliveryPath(id) + "?replayed=1";
    }

    private static List<DeliveryField> Fields(RelayDelivery delivery)
    {
        static string Or(string? value) => value ?? "–";
        static string? Time(DateTimeOffset? at) => at?.UtcDateTime.ToString("u", CultureInfo.InvariantCulture);

        return
        [
            new("Route", delivery.Route),
            new(delivery.FlowId is null ? "Job" : "Flow", Or(delivery.FlowId ?? delivery.JobId)),
            new("Event", Or(delivery.Event)),
            new("Event id", Or(delivery.DedupeKey.StartsWith("id:", StringComparison.Ordinal) ? delivery.DedupeKey.Substring(3) : delivery.SenderId)),
            new("Dedupe key", delivery.DedupeKey),
            new("Source", delivery.Source ?? (delivery.Route.StartsWith("schedule:", StringComparison.Ordinal) ? "schedule" : "webhook")),
            new("Attempts", delivery.Attempts.ToString(CultureInfo.InvariantCulture)),
            new("Received", Or(Time(delivery.ReceivedAt))),
            new("Updated", Or(Time(delivery.UpdatedAt))),
            new("Run status", Or(delivery.Status)),
            new("Message sent", Or(delivery.Message ?? (delivery.Attempts > 0 ? "(the payload, whole)" : null))),
            new("Final reply", Or(delivery.FinalReply)),
            new("Error", Or(delivery.LastError)),
            // Why no reply was posted (an unknown run, a refusal) is the reply's error: shown beside its state.
            new("Reply", delivery.ReplyState is { } reply ? ReplyStates.Name(reply) + (delivery.ReplyUrl is { } url ? ": " + url : string.Empty) : "–"),
            new("Reply error", Or(delivery.ReplyError)),
            new("Replayed", Or(Time(delivery.ReplayedAt))),
            new("Size", delivery.BodyBytes.ToString("N0", CultureInfo.InvariantCulture) + " bytes"),
        ];
    }

    private List<DeliveryRow> Rows(RelayDeliveryPage page) => page.Deliveries.Select(d => DeliveryRow.Of(d, _root)).ToList();

    private string DeliveryPath(string id) => _root + "/deliveries/" + Uri.EscapeDataString(id);

    private string Older(RelayDeliveryQuery filter, string cursor, string? text, string since) =>
        $"{_root}/deliveries{FilterQuery(filter, since)}{(text is null ? string.Empty : "&q=" + Uri.EscapeDataString(text))}&before={Uri.EscapeDataString(cursor)}";

    private static string FilterQuery(RelayDeliveryQuery filter, string since) =>
        $"?state={(filter.State is { } s ? DeliveryStates.Name(s) : string.Empty)}&route={Uri.EscapeDataString(filter.Route ?? string.Empty)}" +
        $"&event={Uri.EscapeDataString(filter.Event ?? string.Empty)}&since={Uri.EscapeDataString(since)}";

    private static string? NonEmpty(Microsoft.Extensions.Primitives.StringValues values) =>
        values.FirstOrDefault() is { } value && !string.IsNullOrWhiteSpace(value) ? value : null;
}
