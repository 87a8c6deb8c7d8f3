using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Runchat.Relay;

/// <summary>What the dashboard's templates read (snake_case in Liquid): plain values, formatted here, never a store object.</summary>
internal static class DashboardModels
{
    /// <summary>The types a template may read members of; nothing else is reachable from a template.</summary>
    public static readonly Type[] Types =
    [
        typeof(DashboardLayout), typeof(DashboardMessage), typeof(OverviewModel), typeof(StateCard), typeof(RouteRow),
        typeof(DeliveryRow), typeof(DeliveriesModel), typeof(DeliveryModel), typeof(DeliveryField), typeof(ReplayForm),
        typeof(ActionForm), typeof(SchedulesModel), typeof(ScheduleRow), typeof(RoutesModel), typeof(RouteState), typeof(InstancesModel),
        typeof(InstanceRow), typeof(IgnoredModel), typeof(IgnoredEventRow), typeof(ReplayManyModel), typeof(ChartModel), typeof(ChartBar),
        typeof(PeriodOption),
    ];

    private const int MaxPayloadBytes = 64 * 1024;

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Age(TimeSpan age) =>
        age.TotalMinutes < 1 ? $"{Math.Max(age.TotalSeconds, 0):0} s" : age.TotalHours < 1 ? $"{age.TotalMinutes:0} min" : age.TotalDays < 1 ? $"{age.TotalHours:0.#} h" : $"{age.TotalDays:0.#} days";

    /// <summary>A state's count as shown: at the store's cap, it means at least that many.</summary>
    public static string Count(RelayStateCount count) =>
        count.AtLeast ? count.Count.ToString("N0", CultureInfo.InvariantCulture) + "+" : count.Count.ToString(CultureInfo.InvariantCulture);

    public static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 120 ? text : text.Substring(0, 117) + "…";

    /// <summary>The payload as text: indented JSON when it is JSON, the first 64 KB of a larger one.</summary>
    public static string Pretty(byte[] payload)
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
}

internal sealed record DashboardLayout(string Title, string Body);

internal sealed record DashboardMessage(string Message);

internal sealed record StateCard(string State, string Count);

internal sealed record RouteRow(string Route, string Href, long Count);

internal sealed record DeliveryRow(string Id, string Href, string State, string Route, string Event, int Attempts, string Received, string Error)
{
    public static DeliveryRow Of(RelayDelivery delivery, string root) => new(
        delivery.Id,
        root + "/deliveries/" + Uri.EscapeDataString(delivery.Id),
        DeliveryStates.Name(delivery.State),
        delivery.Route,
        delivery.Event ?? "–",
        delivery.Attempts,
        DashboardModels.Time(delivery.ReceivedAt),
        DashboardModels.Shorten(delivery.LastError));
}

internal sealed record OverviewModel(
    ChartModel Chart,
    IReadOnlyList<StateCard> States,
    long StartedLastHour,
    long StartedLastDay,
    string? OldestPending,
    string? OldestPendingAge,
    string Updated,
    IReadOnlyList<RouteRow> Routes,
    IReadOnlyList<DeliveryRow> Unknown,
    IReadOnlyList<DeliveryRow> Latest);

internal sealed record DeliveriesModel(IReadOnlyList<string> States, string State, string Route, string Event, IReadOnlyList<DeliveryRow> Rows, string? Older)
{
    public string Q { get; init; } = string.Empty;

    public string Since { get; init; } = string.Empty;

    public IReadOnlyList<PeriodOption> Periods { get; init; } = Array.Empty<PeriodOption>();

    /// <summary>What a search read, and how far back.</summary>
    public string? Searched { get; init; }

    /// <summary>The bulk replay's confirm page for this filter, when it selects failed or unknown deliveries.</summary>
    public string? ReplayMany { get; init; }
}

internal sealed record PeriodOption(string Value, string Label);

/// <summary>A POST form with its antiforgery token: a button, and a confirmation checkbox when it runs the agent.</summary>
internal sealed record ActionForm(string Action, string Field, string Token, string Label, string? Confirm, bool Danger, IReadOnlyList<DeliveryField> Hidden);

internal sealed record SchedulesModel(IReadOnlyList<ScheduleRow> Schedules, string? Notice);

internal sealed record ScheduleRow(string Name, string Cron, string Zone, string Target, IReadOnlyList<string> Next, string? Paused, DeliveryRow? Last, ActionForm Toggle, ActionForm Run);

internal sealed record RoutesModel(IReadOnlyList<RouteState> Routes, string? Notice);

internal sealed record RouteState(string Path, string Href, string Target, string Signature, long Received, string? Paused, ActionForm Toggle);

internal sealed record InstancesModel(IReadOnlyList<InstanceRow> Instances);

internal sealed record InstanceRow(string Host, int ProcessId, string Started, string LastSeen, int Runs, string Status, string StatusClass);

internal sealed record IgnoredModel(IReadOnlyList<RouteRow> ByRoute, IReadOnlyList<IgnoredEventRow> ByEvent, int Sample, IReadOnlyList<DeliveryRow> Latest);

internal sealed record IgnoredEventRow(string Route, string Event, string Href, long Count);

internal sealed record ReplayManyModel(string Filter, string? Done, long Count, bool More, int Max, ActionForm? Form, IReadOnlyList<DeliveryRow> Rows);

internal sealed record ChartModel(int Width, int Height, int BarWidth, long Peak, IReadOnlyList<ChartBar> Bars)
{
    /// <summary>Bars of 10 minutes, over 24 hours, from the per-minute counters, stacked by outcome.</summary>
    public static ChartModel Of(IReadOnlyList<(long Minute, string Outcome, long Count)> counts, DateTimeOffset now)
    {
        const int Buckets = 144, BarWidth = 6, Gap = 1, Height = 120;
        var outcomes = new[] { "succeeded", "failed", "unknown", "ignored" };
        var last = MinuteCount.MinuteOf(now);
        var first = last - (Buckets * 10) + 1;
        var sums = new long[Buckets, outcomes.Length];
        foreach (var (minute, outcome, count) in counts)
        {
            var index = Array.IndexOf(outcomes, outcome);
            if (minute >= first && minute <= last && index >= 0)
            {
                sums[(minute - first) / 10, index] += count;
            }
        }

        long peak = 0;
        for (var b = 0; b < Buckets; b++)
        {
            long total = 0;
            for (var o = 0; o < outcomes.Length; o++)
            {
                total += sums[b, o];
            }

            peak = Math.Max(peak, total);
        }

        var bars = new List<ChartBar>();
        for (var b = 0; b < Buckets; b++)
        {
            var y = (double)Height;
            for (var o = 0; o < outcomes.Length; o++)
            {
                if (sums[b, o] == 0)
                {
                    continue;
                }

                var height = Math.Max(1, sums[b, o] * (double)Height / peak);
                y -= height;
                var start = DateTimeOffset.FromUnixTimeSeconds((first + (b * 10)) * 60);
                bars.Add(new ChartBar(outcomes[o], (b * (BarWidth + Gap)).ToString(CultureInfo.InvariantCulture), Math.Round(y, 1).ToString(CultureInfo.InvariantCulture),
                    Math.Round(height, 1).ToString(CultureInfo.InvariantCulture), $"{start.UtcDateTime:HH:mm}–{start.AddMinutes(10).UtcDateTime:HH:mm} UTC: {sums[b, o]} {outcomes[o]}"));
            }
        }

        return new ChartModel(Buckets * (BarWidth + Gap), Height, BarWidth, peak, bars);
    }
}

internal sealed record ChartBar(string Outcome, string X, string Y, string Height, string Title);

internal sealed record DeliveryField(string Label, string Value);

internal sealed record ReplayForm(string Action, string Field, string Token);

internal sealed record DeliveryModel(DeliveryRow Delivery, string StateUrl, bool Replayed, IReadOnlyList<DeliveryField> Fields, ReplayForm? Replay, string Payload);
