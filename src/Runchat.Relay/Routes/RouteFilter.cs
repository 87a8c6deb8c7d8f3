using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Runchat.Relay;

/// <summary>
/// Which verified deliveries of a route run: <c>Events</c> (event-name patterns, <c>*</c> as a suffix
/// wildcard) and <c>When</c> (a JSONPath, as Newtonsoft.Json's <c>SelectTokens</c> reads it, that must
/// select at least one node), both read from the ingest's one parsed document.
/// </summary>
/// <remarks>
/// A delivery that does not pass is stored <c>ignored</c> with the reason and never run. A <c>When</c> that
/// cannot be evaluated on a payload (its regular expression timed out, a comparison of a string with a number)
/// is never taken for "ignored": the delivery is stored <c>failed</c> with the reason, for an operator to see.
/// </remarks>
internal sealed class RouteFilter
{
    // A When is tried on these at start-up as well as parsed: an expression that fails on them is not one the relay can run.
    private static readonly string[] Samples =
    {
        "{}",
        "{\"action\":\"opened\",\"type\":\"x\",\"n\":1,\"flag\":true,\"none\":null,\"issue\":{\"number\":7,\"labels\":[{\"name\":\"agent\"},{\"name\":\"bug\"}]},\"items\":[1,2,3]}",
    };

    private readonly string[] _events;
    private readonly JsonPathQuery? _when;

    private RouteFilter(string[] events, JsonPathQuery? when)
    {
        _events = events;
        _when = when;
    }

    /// <summary>A filter that lets every delivery through.</summary>
    public static RouteFilter None { get; } = new(Array.Empty<string>(), null);

    /// <summary>Checks the patterns, and parses and tries <paramref name="when"/>: whatever is wrong is refused here, at start-up.</summary>
    /// <exception cref="ArgumentException">A pattern is empty or has <c>*</c> elsewhere than at its end, or <paramref name="when"/> is not a JSONPath this relay can run.</exception>
    public static RouteFilter Create(IReadOnlyCollection<string>? events, string? when)
    {
        var patterns = (events ?? Array.Empty<string>()).ToArray();
        foreach (var pattern in patterns)
        {
            if (string.IsNullOrWhiteSpace(pattern) || pattern.Trim() != pattern)
            {
                throw new ArgumentException($"Events has an empty pattern or one with spaces around it ('{pattern}').");
            }

            if (pattern.IndexOf('*') is var star and >= 0 && star != pattern.Length - 1)
            {
                throw new ArgumentException($"The Events pattern '{pattern}' has '*' before its end; '*' is a suffix wildcard only (issue_comment.*).");
            }
        }

        if (when is not null && string.IsNullOrWhiteSpace(when))
        {
            throw new ArgumentException("When is empty; leave it out to run every delivery.");
        }

        var query = when is null ? null : JsonPathQuery.Parse(when);
        if (query is not null)
        {
            foreach (var sample in Samples)
            {
                using var document = JsonDocument.Parse(sample);
                try
                {
                    query.Selects(document.RootElement);
                }
                catch (JsonPathException failed)
                {
                    throw new ArgumentException($"When ('{when}') fails on a sample payload: {failed.Message}.");
                }
            }
        }

        return patterns.Length == 0 && query is null ? None : new RouteFilter(patterns, query);
    }

    /// <summary>Whether the delivery runs, is ignored (and why), or fails because <c>When</c> could not be evaluated (and why).</summary>
    /// <param name="eventName">The delivery's event name, if it has one.</param>
    /// <param name="payload">The payload, parsed once.</param>
    public RouteVerdict Decide(string? eventName, JsonElement payload)
    {
        if (_events.Length > 0 && (eventName is null || !_events.Any(pattern => Matches(pattern, eventName))))
        {
            return RouteVerdict.Ignore(eventName is null
                ? $"The delivery names no event; this route runs only {string.Join(", ", _events)}."
                : $"The event '{eventName}' is not one this route runs ({string.Join(", ", _events)}).");
        }

        if (_when is not null)
        {
            try
            {
                if (!_when.Selects(payload))
                {
                    return RouteVerdict.Ignore($"The payload does not match the route's When ({_when.Text}).");
                }
            }
            catch (JsonPathException failed)
            {
                return RouteVerdict.Fail($"The route's When ({_when.Text}) could not be evaluated on this payload: {failed.Message}. Nothing was run.");
            }
        }

        return RouteVerdict.Run;
    }

    /// <summary>Whether the route's <c>Events</c> take <paramref name="eventName"/> (any, when it has none). Backfill asks before it reads a payload.</summary>
    public bool TakesEvent(string? eventName) => _events.Length == 0 || (eventName is not null && _events.Any(pattern => Matches(pattern, eventName)));

    private static bool Matches(string pattern, string eventName) =>
        pattern.EndsWith('*')
            ? eventName.StartsWith(pattern.Substring(0, pattern.Length - 1), StringComparison.Ordinal)
            : string.Equals(pattern, eventName, StringComparison.Ordinal);
}

/// <summary>What a route's filter decided for one delivery: run it, store it ignored, or store it failed; with the reason.</summary>
internal readonly record struct RouteVerdict(RelayDeliveryState State, string? Reason)
{
    public static RouteVerdict Run => new(RelayDeliveryState.Pending, null);

    public static RouteVerdict Ignore(string reason) => new(RelayDeliveryState.Ignored, reason);

    public static RouteVerdict Fail(string reason) => new(RelayDeliveryState.Failed, reason);
}
