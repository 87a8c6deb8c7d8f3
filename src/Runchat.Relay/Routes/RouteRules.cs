using System;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Runchat.Relay;

/// <summary>What a route does with a body: the code the relay's dispatch and <c>relay test</c> share.</summary>
internal static class RouteRules
{
    /// <summary>The event name the relay would store, for a body sent without headers.</summary>
    public static string? EventOf(string scheme, byte[] body) => DeliveryEvents.NameOf(scheme, new HeaderDictionary(), body);

    /// <summary>The route's Message for a delivery; (null, null) when the route has none and the payload is sent whole.</summary>
    public static async Task<(string? Message, string? Error)> RenderAsync(RelayRoute? route, byte[] body, string? eventName, string? eventId, string deliveryId, DateTimeOffset receivedAt)
    {
        if (route?.Message is not { } template)
        {
            return (null, null);
        }

        using var payload = JsonDocument.Parse(body);
        var model = new MessageModel(payload.RootElement, eventName, eventId, deliveryId, receivedAt, route.Path, route.JobId);
        if (route.Path.StartsWith("schedule:", StringComparison.Ordinal)
            && payload.RootElement.TryGetProperty("fire_time", out var fire) && fire.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(fire.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var fireTime))
        {
            // A tick's body names the fire time in the schedule's zone: schedule.fire_time keeps that offset.
            model = model with { Schedule = (route.Path.Substring("schedule:".Length), fireTime) };
        }

        return await template.RenderAsync(model).ConfigureAwait(false);
    }

    /// <summary><c>relay test</c>: whether a delivery would run, and the message the agent would receive.</summary>
    public static async Task<Verdict> RunAsync(RelayRoute route, string? eventName, byte[] body, DateTimeOffset now)
    {
        if (route.Filter.WhyIgnored(eventName, body) is { } reason)
        {
            return new Verdict("would be ignored: " + reason, Runs: false, Failed: false, Message: null);
        }

        var (message, error) = await RenderAsync(route, body, eventName, eventId: null, "dlv_test", now).ConfigureAwait(false);
        return error is null
            ? new Verdict("would run", Runs: true, Failed: false, message)
            : new Verdict("would fail: " + error, Runs: false, Failed: true, Message: null);
    }

    internal sealed record Verdict(string Headline, bool Runs, bool Failed, string? Message);
}
