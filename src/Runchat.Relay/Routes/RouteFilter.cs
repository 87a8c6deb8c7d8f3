using System;
using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Runchat.Relay;

/// <summary>
/// Which verified deliveries of a route run: <c>Events</c> (event-name patterns, <c>*</c> as a suffix
/// wildcard) and <c>When</c> (a JSONPath, as Newtonsoft.Json's <c>SelectTokens</c> reads it, that must
/// select at least one node). A delivery that does not pass is answered <c>ignored</c>, not stored.
/// </summary>
internal sealed class RouteFilter
{
    private readonly string[] _events;
    private readonly string? _when;

    // "$.a.b.c": property names only, answered on the JsonDocument the ingest already parsed; any other
    // JSONPath goes through Newtonsoft.Json's SelectTokens, which reads the body again.
    private readonly string[]? _simplePath;

    private RouteFilter(string[] events, string? when)
    {
        _events = events;
        _when = when;
        _simplePath = when is not null && System.Text.RegularExpressions.Regex.IsMatch(when, @"^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$")
            ? when.Substring(2).Split('.')
            : null;
    }

    /// <summary>A filter that lets every delivery through.</summary>
    public static RouteFilter None { get; } = new(Array.Empty<string>(), null);

    public bool IsEmpty => _events.Length == 0 && _when is null;

    /// <summary>Checks the patterns and compiles nothing at run time that could fail: a bad JSONPath is refused here.</summary>
    /// <exception cref="ArgumentException">A pattern is empty or has <c>*</c> elsewhere than at its end, or <paramref name="when"/> is not a JSONPath.</exception>
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

        if (when is not null)
        {
            if (string.IsNullOrWhiteSpace(when))
            {
                throw new ArgumentException("When is empty; leave it out to run every delivery.");
            }

            try
            {
                // Newtonsoft parses the path when the query runs: run it once on an empty object.
                _ = new JObject().SelectTokens(when).ToList();
            }
            catch (Exception invalid) when (invalid is JsonException or IndexOutOfRangeException or ArgumentException or FormatException or InvalidOperationException)
            {
                // Newtonsoft's path parser throws more than JsonException on some malformed paths.
                throw new ArgumentException($"When is not a JSONPath Newtonsoft.Json can read ('{when}'): {invalid.Message}");
            }
        }

        return patterns.Length == 0 && when is null ? None : new RouteFilter(patterns, when);
    }

    /// <summary>Null when the delivery runs; else why it is ignored, for the sender's answer and the log.</summary>
    /// <param name="eventName">The delivery's event name, if it has one.</param>
    /// <param name="body">The body: one JSON object.</param>
    public string? WhyIgnored(string? eventName, byte[] body)
    {
        using var document = System.Text.Json.JsonDocument.Parse(body);
        return WhyIgnored(eventName, document.RootElement, body);
    }

    /// <inheritdoc cref="WhyIgnored(string?, byte[])"/>
    /// <param name="eventName">The delivery's event name, if it has one.</param>
    /// <param name="root">The body, parsed once by the caller.</param>
    /// <param name="body">The body's bytes, for a JSONPath Newtonsoft.Json evaluates.</param>
    public string? WhyIgnored(string? eventName, System.Text.Json.JsonElement root, byte[] body)
    {
        if (_events.Length > 0 && (eventName is null || !_events.Any(pattern => Matches(pattern, eventName))))
        {
            return eventName is null
                ? $"The delivery names no event; this route runs only {string.Join(", ", _events)}."
                : $"The event '{eventName}' is not one this route runs ({string.Join(", ", _events)}).";
        }

        if (_when is not null)
        {
            try
            {
                if (!(_simplePath is { } path ? SelectsSimple(path, root) : Selects(_when, body)))
                {
                    return $"The payload does not match the route's When ({_when}).";
                }
            }
            catch (Exception failed) when (failed is JsonException or InvalidOperationException or ArgumentException or FormatException)
            {
                return $"The route's When ({_when}) could not be evaluated on this payload: {failed.Message}";
            }
        }

        return null;
    }

    private static bool Matches(string pattern, string eventName) =>
        pattern.EndsWith("*", StringComparison.Ordinal)
            ? eventName.StartsWith(pattern.Substring(0, pattern.Length - 1), StringComparison.Ordinal)
            : string.Equals(pattern, eventName, StringComparison.Ordinal);

    /// <summary>What SelectTokens answers for <c>$.a.b</c>: a node there, JSON null included.</summary>
    private static bool SelectsSimple(string[] path, System.Text.Json.JsonElement element)
    {
        foreach (var name in path)
        {
            if (element.ValueKind != System.Text.Json.JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Selects(string path, byte[] body)
    {
        using var reader = new JsonTextReader(new System.IO.StreamReader(new System.IO.MemoryStream(body, writable: false), System.Text.Encoding.UTF8))
        {
            DateParseHandling = DateParseHandling.None,
            FloatParseHandling = FloatParseHandling.Decimal,
            MaxDepth = 128,
        };
        return JToken.ReadFrom(reader).SelectTokens(path).Any();
    }
}
