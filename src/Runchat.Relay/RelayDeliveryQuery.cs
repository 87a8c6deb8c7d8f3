using System;
using System.Collections.Generic;
using System.Globalization;

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

    /// <summary>The store's query for <paramref name="query"/>, asking one more than the limit to know whether a next page exists.</summary>
    /// <exception cref="ArgumentException">The limit or the cursor is not one.</exception>
    public static DeliveryPageQuery ToStoreQuery(RelayDeliveryQuery query)
    {
        if (query.Limit is < 1 or > RelayDeliveryQuery.MaxLimit)
        {
            throw new ArgumentException($"A page holds 1 to {RelayDeliveryQuery.MaxLimit} deliveries; got {query.Limit}.", nameof(query));
        }

        DateTimeOffset? at = null;
        string? id = null;
        if (query.Before is not null)
        {
            if (!TryParse(query.Before, out var receivedAt, out var beforeId, out var error))
            {
                throw new ArgumentException(error, nameof(query));
            }

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

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length > 40 ? text.Substring(0, 40) + "…" : text;
}
