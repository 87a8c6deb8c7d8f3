using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>What one configuration does, or would do, with one delivery.</summary>
/// <param name="Decision"><see cref="Runs"/>, <see cref="Ignored"/>, <see cref="Fails"/> or <see cref="NoRoute"/>.</param>
/// <param name="Message">The text the agent receives; null when the payload goes whole, or when it is not known (<paramref name="MessageKnown"/>).</param>
/// <param name="MessageKnown">False for a delivery not sent yet: no stored text to compare.</param>
/// <param name="Reason">Why it is ignored or fails.</param>
internal sealed record BacktestOutcome(string Decision, string? Message, bool MessageKnown, string? Reason)
{
    public const string Runs = "runs";
    public const string Ignored = "ignored";
    public const string Fails = "fails";
    public const string NoRoute = "no route";
}

/// <summary>A delivery whose decision or message the new configuration changes.</summary>
internal sealed record BacktestChange(RelayDelivery Delivery, BacktestOutcome Before, BacktestOutcome After)
{
    public bool DecisionChanged => Before.Decision != After.Decision;
}

/// <summary>One route's counts, before (as stored) and after (the new configuration).</summary>
internal sealed class BacktestRoute
{
    public BacktestRoute(string route) => Route = route;

    public string Route { get; }

    public int Deliveries { get; set; }

    public Dictionary<string, int> Before { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, int> After { get; } = new(StringComparer.Ordinal);

    public int Changed { get; set; }

    public int CountBefore(string decision) => Before.TryGetValue(decision, out var count) ? count : 0;

    public int CountAfter(string decision) => After.TryGetValue(decision, out var count) ? count : 0;
}

/// <summary>Every delivery of the period through a new configuration: counts per route, and what changes.</summary>
internal sealed class BacktestReport
{
    public BacktestReport(IReadOnlyList<BacktestRoute> routes, IReadOnlyList<BacktestChange> changes, int deliveries)
    {
        Routes = routes;
        Changes = changes;
        Deliveries = deliveries;
    }

    public IReadOnlyList<BacktestRoute> Routes { get; }

    public IReadOnlyList<BacktestChange> Changes { get; }

    public int Deliveries { get; }
}

/// <summary>
/// <c>relay test --against-store</c>: reads the stored deliveries of a period, a page at a time (newest first, by the
/// (received_at, id) index, as the dashboard pages), and puts each through a configuration's routes, as the ingest
/// and the dispatcher would: its event name as stored, <c>Events</c>, <c>When</c>, then <c>Message</c> with the
/// delivery's own id, event and time. Nothing is stored, claimed or sent.
/// </summary>
/// <remarks>
/// "Before" is what the relay did, as stored: <c>ignored</c> was ignored; <c>failed</c> without an attempt was
/// failed by the route's rules; anything else ran (or will), and a sent delivery's stored message is the text the
/// agent received. "After" is the new configuration's decision and rendered message.
/// </remarks>
internal static class RelayBacktest
{
    /// <summary>Deliveries read per page.</summary>
    public const int PageSize = 500;

    public static async Task<BacktestReport> RunAsync(IDeliveryStore store, RelayRouteTable routes, DateTimeOffset since, string? route, CancellationToken cancellationToken)
    {
        var byRoute = new SortedDictionary<string, BacktestRoute>(StringComparer.OrdinalIgnoreCase);
        var changes = new List<BacktestChange>();
        var total = 0;
        DateTimeOffset? beforeReceivedAt = null;
        string? beforeId = null;
        while (true)
        {
            var page = await store.ListPageAsync(new DeliveryPageQuery(null, route, null, beforeReceivedAt, beforeId, PageSize) { Since = since }, cancellationToken).ConfigureAwait(false);
            var bodies = await store.GetBodiesAsync(page.Select(d => d.Id).ToList(), cancellationToken).ConfigureAwait(false);
            foreach (var delivery in page)
            {
                var before = Before(delivery);
                var after = await AfterAsync(bodies.TryGetValue(delivery.Id, out var body) ? body : null, routes.Find(delivery.Route), delivery).ConfigureAwait(false);
                total++;
                if (!byRoute.TryGetValue(delivery.Route, out var counts))
                {
                    byRoute[delivery.Route] = counts = new BacktestRoute(delivery.Route);
                }

                counts.Deliveries++;
                counts.Before[before.Decision] = counts.CountBefore(before.Decision) + 1;
                counts.After[after.Decision] = counts.CountAfter(after.Decision) + 1;
                if (Changes(before, after))
                {
                    counts.Changed++;
                    changes.Add(new BacktestChange(delivery, before, after));
                }
            }

            if (page.Count < PageSize)
            {
                break;
            }

            (beforeReceivedAt, beforeId) = (page[^1].ReceivedAt, page[^1].Id);
        }

        return new BacktestReport(byRoute.Values.ToList(), changes, total);
    }

    /// <summary>What the relay did, as stored.</summary>
    internal static BacktestOutcome Before(RelayDelivery delivery) => delivery.State switch
    {
        RelayDeliveryState.Ignored => new BacktestOutcome(BacktestOutcome.Ignored, null, false, delivery.LastError),
        RelayDeliveryState.Failed when delivery.Attempts == 0 => new BacktestOutcome(BacktestOutcome.Fails, null, false, delivery.LastError),
        RelayDeliveryState.Pending or RelayDeliveryState.Sending => new BacktestOutcome(BacktestOutcome.Runs, delivery.Message, delivery.Message is not null, null),
        _ => new BacktestOutcome(BacktestOutcome.Runs, delivery.Message, true, null),
    };

    private static async Task<BacktestOutcome> AfterAsync(byte[]? body, RelayRoute? route, RelayDelivery delivery)
    {
        if (route is null)
        {
            return new BacktestOutcome(BacktestOutcome.NoRoute, null, false, $"the configuration has no route {delivery.Route}");
        }

        if (body is null)
        {
            return new BacktestOutcome(BacktestOutcome.Fails, null, false, "the delivery was deleted while the backtest read it");
        }

        WebhookPayload stored;
        try
        {
            stored = WebhookPayload.ParseStored(body, RunchatRelayOptions.MaxBodyDepthLimit);
        }
        catch (JsonException invalid)
        {
            return new BacktestOutcome(BacktestOutcome.Fails, null, false, $"the stored payload is not JSON ({invalid.Message})");
        }

        using (stored)
        {
            var eventId = delivery.DedupeKey.StartsWith("id:", StringComparison.Ordinal) ? delivery.DedupeKey.Substring(3) : delivery.SenderId;
            var verdict = await RouteRules.RunAsync(route, stored.Root, new DeliveryFacts(delivery.Id, delivery.Event, eventId, delivery.ReceivedAt)).ConfigureAwait(false);
            return verdict.Runs
                ? new BacktestOutcome(BacktestOutcome.Runs, verdict.Message, true, null)
                : new BacktestOutcome(verdict.Failed ? BacktestOutcome.Fails : BacktestOutcome.Ignored, null, false, verdict.Headline.Substring(verdict.Headline.IndexOf(": ", StringComparison.Ordinal) + 2));
        }
    }

    /// <summary>Another decision, or, for a delivery that ran and runs, another text (when the stored one is known).</summary>
    internal static bool Changes(BacktestOutcome before, BacktestOutcome after) =>
        before.Decision != after.Decision
        || (before.Decision == BacktestOutcome.Runs && before.MessageKnown && after.MessageKnown && !string.Equals(before.Message, after.Message, StringComparison.Ordinal));
}
