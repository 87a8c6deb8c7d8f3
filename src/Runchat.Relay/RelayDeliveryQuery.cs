using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Runchat.Relay;

/// <summary>Which deliveries <see cref="IRunchatRelay.ListAsync(RelayDeliveryQuery, System.Threading.CancellationToken)"/> lists, newest first, and where its page starts.</summary>
public sealed class RelayDeliveryQuery
{
    /// <summary>The most deliveries one page may hold.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Only deliveries in this state; null for all.</summary>
    public RelayDeliveryState? State { get; init; }

    /// <summary>Only deliveries of this route (its path, or <c>schedule:&lt;Name&gt;</c>); null for all.</summary>
    public string? Route { get; init; }

    /// <summary>Only deliveries of this event name (<c>issues.opened</c>); null for all.</summary>
    public string? Event { get; init; }

    /// <summary>Only deliveries received at or after this time; null for any.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>The previous page's <see cref="RelayDeliveryPage.NextCursor"/>: this page holds the deliveries after it. Null for the newest.</summary>
    public string? Before { get; init; }

    /// <summary>How many deliveries the page holds at most: 1 to <see cref="MaxLimit"/>; 100 by default.</summary>
    public int Limit { get; init; } = 100;

    /// <summary>The same filter from another place in the list: the page after <paramref name="cursor"/> (null: the newest), of <paramref name="limit"/> deliveries (null: this query's).</summary>
    internal RelayDeliveryQuery From(string? cursor, int? limit = null) =>
        new() { State = State, Route = Route, Event = Event, Since = Since, Before = cursor, Limit = limit ?? Limit };
}

/// <summary>One page of deliveries, newest first.</summary>
public sealed class RelayDeliveryPage
{
    internal RelayDeliveryPage(IReadOnlyList<RelayDelivery> deliveries, string? nextCursor)
    {
        Deliveries = deliveries;
        NextCursor = nextCursor;
    }

    /// <summary>The deliveries of this page.</summary>
    public IReadOnlyList<RelayDelivery> Deliveries { get; }

    /// <summary>Where the next (older) page starts, for <see cref="RelayDeliveryQuery.Before"/>; null when this is the last.</summary>
    public string? NextCursor { get; }
}

/// <summary>
/// A page's place in the list: <c>&lt;received_at, Unix milliseconds&gt;:&lt;delivery id&gt;</c>, the keyset of the
/// (received_at, id) indexes, so that a page costs the same at any depth of a store of any size.
/// </summary>
internal static class DeliveryCursor
{
    private const long MaxMilliseconds = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

    public static string Of(RelayDelivery delivery) => Of(delivery.ReceivedAt, delivery.Id);

    public static string Of(DateTimeOffset receivedAt, string id) =>
        receivedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + ":" + id;

    /// <summary>The received time and id a cursor names, or why it is not one (for a 400 or an exit 2).</summary>
    public static bool TryParse(string? text, out DateTimeOffset receivedAt, out string id, out string? error)
    {
        receivedAt = default;
        id = string.Empty;
        var colon = text?.IndexOf(':') ?? -1;
        if (text is null || colon <= 0 || colon == text.Length - 1
            || !long.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds) || milliseconds > MaxMilliseconds
            || text.Length - colon - 1 > 64 || text.AsSpan(colon + 1).IndexOfAnyInRange('\0', ' ') >= 0)
        {
            error = $"'{Shorten(text)}' is not a list cursor (<milliseconds>:<delivery id>, as a page's next cursor gives it).";
            return false;
        }

        receivedAt = DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
        id = text.Substring(colon + 1);
        error = null;
        return true;
    }

    /// <summary>
    /// Why <paramref name="query"/> cannot be asked of a store (for a 400 or an exit 2), or null: the one check every list,
    /// search and bulk replay passes, whichever surface built it. A route or event name with a control character
    /// (a NUL, which PostgreSQL cannot even take as a parameter) names nothing a relay stores.
    /// </summary>
    public static string? Problem(RelayDeliveryQuery query)
    {
        if (query.Limit is < 1 or > RelayDeliveryQuery.MaxLimit)
        {
            return $"A page holds 1 to {RelayDeliveryQuery.MaxLimit} deliveries; got {query.Limit}.";
        }

        if (query.Before is not null && !TryParse(query.Before, out _, out _, out var error))
        {
            return error;
        }

        return HasControl(query.Route) ? $"'{Shorten(Printable(query.Route!))}' is not a route: a route's path has no control characters."
            : HasControl(query.Event) ? $"'{Shorten(Printable(query.Event!))}' is not an event name: an event name has no control characters."
            : null;
    }

    /// <summary>Whether <paramref name="text"/> holds a control character (U+0000 to U+001F, U+007F).</summary>
    public static bool HasControl(string? text) => text is not null && (text.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0 || text.Contains('\u007f', StringComparison.Ordinal));

    /// <summary>The store's query for <paramref name="query"/>, asking one more than the limit to know whether a next page exists.</summary>
    /// <exception cref="ArgumentException">The query is not one (<see cref="Problem"/> says why).</exception>
    public static DeliveryPageQuery ToStoreQuery(RelayDeliveryQuery query)
    {
        if (Problem(query) is { } problem)
        {
            throw new ArgumentException(problem, nameof(query));
        }

        DateTimeOffset? at = null;
        string? id = null;
        if (query.Before is not null && TryParse(query.Before, out var receivedAt, out var beforeId, out _))
        {
            (at, id) = (receivedAt, beforeId);
        }

        return new DeliveryPageQuery(query.State, query.Route, query.Event, at, id, query.Limit + 1) { Since = query.Since };
    }

    /// <summary>A page from the store's rows (one more than asked when there is a next page).</summary>
    public static RelayDeliveryPage ToPage(IReadOnlyList<RelayDelivery> rows, int limit) =>
        rows.Count > limit
            ? new RelayDeliveryPage(Take(rows, limit), Of(rows[limit - 1]))
            : new RelayDeliveryPage(rows, null);

    private static IReadOnlyList<RelayDelivery> Take(IReadOnlyList<RelayDelivery> rows, int count)
    {
        var page = new RelayDelivery[count];
        for (var i = 0; i < count; i++)
        {
            page[i] = rows[i];
        }

        return page;
    }

    private static string Printable(string text) => new(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length > 40 ? text.Substring(0, 40) + "…" : text;
}
