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
    IReadOnlyList<StateCard> States,
    long StartedLastHour,
    long StartedLastDay,
    string? OldestPending,
    string? OldestPendingAge,
    string Updated,
    IReadOnlyList<RouteRow> Routes,
    IReadOnlyList<DeliveryRow> Unknown,
    IReadOnlyList<DeliveryRow> Latest);

internal sealed record DeliveriesModel(IReadOnlyList<string> States, string State, string Route, string Event, IReadOnlyList<DeliveryRow> Rows, string? Older);

internal sealed record DeliveryField(string Label, string Value);

internal sealed record ReplayForm(string Action, string Field, string Token);

internal sealed record DeliveryModel(DeliveryRow Delivery, string StateUrl, bool Replayed, IReadOnlyList<DeliveryField> Fields, ReplayForm? Replay, string Payload);
