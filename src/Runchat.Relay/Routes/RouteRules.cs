using System;
using System.Globalization;
using System.Text.Json;
using System.Threading.Tasks;
using Runchat.Relay.Signatures;

namespace Runchat.Relay;

/// <summary>What a route does with a stored payload: the code the dispatcher and <c>relay test</c> share.</summary>
internal static class RouteRules
{
    /// <summary>The route's Message for a delivery; (null, null) when the route has none and the payload is sent whole.</summary>
    /// <param name="route">The delivery's route, or null when it is no longer mapped (then the payload goes whole).</param>
    /// <param name="payload">The stored payload, parsed.</param>
    /// <param name="delivery">What the model says of the delivery: its id, event, and when it was received.</param>
    public static async Task<(string? Message, string? Error)> RenderAsync(RelayRoute? route, JsonElement payload, DeliveryFacts delivery)
    {
        if (route?.Message is not { } template)
        {
            return (null, null);
        }

        var model = new MessageModel(payload, delivery.EventName, delivery.EventId, delivery.Id, delivery.ReceivedAt, route.Path, route.JobId ?? string.Empty);
        if (route.Path.StartsWith("schedule:", StringComparison.Ordinal)
            && payload.TryGetProperty("fire_time", out var fire) && fire.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(fire.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var fireTime))
        {
            // A tick's body names the fire time in the schedule's zone: schedule.fire_time keeps that offset.
            model = model with { Schedule = (route.Path.Substring("schedule:".Length), fireTime) };
        }

        return await template.RenderAsync(model).ConfigureAwait(false);
    }

    /// <summary>
    /// The message of a claimed delivery, rendered from its stored body (parsed once, under the limits it was
    /// stored under), or why it cannot be sent.
    /// </summary>
    public static async Task<(string? Message, string? Error)> RenderAsync(RelayRoute? route, ClaimedDelivery delivery)
    {
        if (route?.Message is null)
        {
            return (null, null);
        }

        WebhookPayload stored;
        try
        {
            stored = WebhookPayload.ParseStored(delivery.Body, RunchatRelayOptions.MaxBodyDepthLimit);
        }
        catch (JsonException invalid)
        {
            return (null, $"The stored payload is not JSON the Message template can read ({invalid.Message}); nothing was sent.");
        }

        using (stored)
        {
            return await RenderAsync(route, stored.Root, new DeliveryFacts(delivery.Id, delivery.Event, delivery.EventId, delivery.ReceivedAt)).ConfigureAwait(false);
        }
    }

    /// <summary><c>relay test</c>: whether a delivery would run, and the message the agent would receive.</summary>
    public static Task<Verdict> RunAsync(RelayRoute route, string? eventName, JsonElement payload, DateTimeOffset now) =>
        RunAsync(route, payload, new DeliveryFacts("dlv_test", eventName, null, now));

    /// <summary>What <paramref name="route"/> would do with a delivery: run it (and the message), ignore it, or fail it. The backtest's and <c>relay test</c>'s.</summary>
    public static async Task<Verdict> RunAsync(RelayRoute route, JsonElement payload, DeliveryFacts delivery)
    {
        var eventName = delivery.EventName;
        var decision = route.Filter.Decide(eventName, payload);
        if (decision.State == RelayDeliveryState.Ignored)
        {
            return new Verdict("would be ignored: " + decision.Reason, Runs: false, Failed: false, Message: null);
        }

        if (decision.State == RelayDeliveryState.Failed)
        {
            return new Verdict("would fail: " + decision.Reason, Runs: false, Failed: true, Message: null);
        }

        var (message, error) = await RenderAsync(route, payload, delivery).ConfigureAwait(false);
        return error is null
            ? new Verdict("would run", Runs: true, Failed: false, message)
            : new Verdict("would fail: " + error, Runs: false, Failed: true, Message: null);
    }

    internal sealed record Verdict(string Headline, bool Runs, bool Failed, string? Message);
}

/// <summary>What a template's model says of the delivery itself.</summary>
internal sealed record DeliveryFacts(string Id, string? EventName, string? EventId, DateTimeOffset ReceivedAt);
