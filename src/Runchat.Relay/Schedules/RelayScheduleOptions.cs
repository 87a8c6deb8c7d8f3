using System;
using System.Globalization;
using System.Linq;
using Cronos;

namespace Runchat.Relay;

/// <summary>
/// A schedule: the relay starts a run on a cron, each tick a delivery (route <c>schedule:&lt;Name&gt;</c>,
/// event <c>schedule</c>, dedupe key <c>schedule:&lt;Name&gt;:&lt;fire time in UTC&gt;</c>), so each tick runs
/// exactly once, however many relays share the store, and is listed and replayed like a webhook.
/// </summary>
public sealed class RelayScheduleOptions
{
    /// <summary>The schedule's name: letters, digits, <c>-</c>, <c>_</c> and <c>.</c>.</summary>
    public string? Name { get; set; }

    /// <summary>A cron expression: 5 fields (minute precision) or 6 (with seconds first), as Cronos reads it, such as <c>0 9 * * 1-5</c>.</summary>
    public string? Cron { get; set; }

    /// <summary>The IANA time zone the expression is read in, such as <c>Europe/Berlin</c> (daylight saving as Cronos applies it). Defaults to UTC.</summary>
    public string? TimeZone { get; set; }

    /// <summary>The agent job each tick triggers. Exactly one of <see cref="JobId"/> and <see cref="FlowId"/>.</summary>
    public string? JobId { get; set; }

    /// <summary>Instead of <see cref="JobId"/>: the flow each tick runs, with the tick (<c>{"schedule":…,"fire_time":…}</c>) as its Webhook node's input.</summary>
    public string? FlowId { get; set; }

    /// <summary>A Liquid template for the agent's message, as on routes, with <c>schedule.name</c> and <c>schedule.fire_time</c> (in the schedule's time zone).</summary>
    public string? Message { get; set; }

    /// <summary>Ticks missed while no relay ran: <c>skip</c> (the default) enqueues none; <c>run-once</c> enqueues the latest only. Never a burst.</summary>
    public string? Misfire { get; set; }

    /// <summary>A tick while the previous run is still pending or sending: <c>skip</c> (the default) records it as a failed delivery saying so; <c>allow</c> runs it anyway.</summary>
    public string? Overlap { get; set; }

    /// <summary>A cron with no fire time within this many years is refused: it would never run.</summary>
    internal const int NeverFiresYears = 5;

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Cron} ({TimeZone ?? "UTC"}) -> {JobId ?? "flow " + FlowId}";

    internal RelaySchedule? Create(out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(Name) || !Name!.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            error = "Name is required: letters, digits, '-', '_' and '.'.";
            return null;
        }

        CronExpression cron;
        try
        {
            var fields = (Cron ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            cron = CronExpression.Parse(Cron ?? string.Empty, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException invalid)
        {
            error = $"Cron '{Cron}' is not a cron expression (5 fields, or 6 with seconds): {invalid.Message}";
            return null;
        }

        TimeZoneInfo zone;

        try
        {
            zone = string.IsNullOrWhiteSpace(TimeZone) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(TimeZone!);
        }
        catch (Exception invalid) when (invalid is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            error = $"TimeZone '{TimeZone}' is not a time zone this machine knows (an IANA id such as Europe/Berlin).";
            return null;
        }

        var misfire = (Misfire ?? "skip").ToLowerInvariant();
        var overlap = (Overlap ?? "skip").ToLowerInvariant();
        // 30 February, or a weekday that 29 February never falls on in the window: accepted, it would never fire.
        var horizon = DateTime.UtcNow.AddYears(NeverFiresYears);
        if (cron.GetNextOccurrence(DateTime.UtcNow, zone) is not { } first || first > horizon)
        {
            error = $"Cron '{Cron}' has no fire time in the next {NeverFiresYears} years (a date that does not exist, such as 30 February?).";
            return null;
        }

        if (misfire is not ("skip" or "run-once"))
        {
            error = $"Misfire is skip or run-once; got '{Misfire}'.";
            return null;
        }

        if (overlap is not ("skip" or "allow"))
        {
            error = $"Overlap is skip or allow; got '{Overlap}'.";
            return null;
        }

        try
        {
            if ((JobId is null) == (FlowId is null))
            {
                throw new ArgumentException("set exactly one of JobId and FlowId.");
            }

            if (FlowId is not null && Message is not null)
            {
                throw new ArgumentException("a FlowId schedule posts the tick to the flow; Message is for agent jobs.");
            }

            var route = RelayRoute.ForTarget(RelaySchedule.RouteOf(Name), JobId, FlowId, Signatures.WebhookSignature.None)
                with { Message = Message is null ? null : MessageTemplate.Parse(Message) };
            return new RelaySchedule(Name, cron, zone, route, misfire == "run-once", overlap == "allow") { CronText = Cron! };
        }
        catch (ArgumentException invalid)
        {
            error = Messages.WithoutParameter(invalid);
            return null;
        }
    }
}

/// <summary>A validated schedule: its cron in its zone, and the route its ticks are delivered on.</summary>
internal sealed record RelaySchedule(string Name, CronExpression Cron, TimeZoneInfo Zone, RelayRoute Route, bool RunOnceOnMisfire, bool AllowOverlap)
{
    /// <summary>The cron expression as configured.</summary>
    public string CronText { get; init; } = string.Empty;

    /// <summary>The route of a schedule's ticks.</summary>
    public static string RouteOf(string name) => "schedule:" + name;

    /// <summary>The dedupe key of one tick: the same for every relay, so a tick is stored once.</summary>
    public string DedupeKey(DateTimeOffset fireTime) => $"schedule:{Name}:{fireTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}";

    /// <summary>The dedupe key of a tick an operator asked for (Run now): its own delivery id makes it unique.</summary>
    public string ManualKey(string deliveryId) => $"schedule:{Name}:manual:{deliveryId}";

    /// <summary>The fire time a tick's dedupe key names, or null (a manual tick has none).</summary>
    public DateTimeOffset? FireTimeOf(string dedupeKey) =>
        dedupeKey.StartsWith($"schedule:{Name}:", StringComparison.Ordinal)
        && DateTimeOffset.TryParseExact(dedupeKey.Substring(Name.Length + 10), "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : null;

    /// <summary>The next fire time strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset? Next(DateTimeOffset after) =>
        Cron.GetNextOccurrence(after.UtcDateTime, Zone) is { } next ? new DateTimeOffset(next, TimeSpan.Zero) : null;

    /// <summary>The tick's body: what the agent (or the flow) receives without a Message.</summary>
    public byte[] Body(DateTimeOffset fireTime) => System.Text.Encoding.UTF8.GetBytes(
        $"{{\"schedule\":\"{Name}\",\"fire_time\":\"{TimeZoneInfo.ConvertTime(fireTime, Zone).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)}\"}}");
}
