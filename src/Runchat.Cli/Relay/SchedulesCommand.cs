using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary><c>relay schedules</c>: each schedule's next fire times and its last tick, one indexed read each.</summary>
internal static class SchedulesCommand
{
    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var command = new Command("schedules", "List the schedules: each one's next 3 fire times, in its time zone and in UTC, and how its last tick went.") { config };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: false);
            if (relay.Routes.Schedules.Count == 0)
            {
                await console.Out.WriteLineAsync("No schedules (Relay:Schedules).").ConfigureAwait(false);
                return ExitCodes.Success;
            }

            // The last tick needs a store a relay wrote; without one the times are listed alone.
            var stored = relay.Location.Kind != "sqlite" || File.Exists(relay.Location.Target);
            var now = DateTimeOffset.UtcNow;
            var paused = stored ? await relay.Relay.ListPausedAsync(cancellationToken).ConfigureAwait(false) : Array.Empty<RelayPause>();
            foreach (var schedule in relay.Routes.Schedules)
            {
                var pause = paused.FirstOrDefault(p => p.Target == RelayPauseTarget.Schedule(schedule.Name));
                await console.Out.WriteLineAsync($"{schedule.Name}  {schedule.CronText}  {schedule.Zone.Id}  -> {schedule.Route.Target}{(pause is null ? string.Empty : $"  PAUSED since {pause.PausedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC (its ticks are skipped)")}").ConfigureAwait(false);
                var fire = (DateTimeOffset?)now;
                for (var n = 0; n < 3 && (fire = schedule.Next(fire!.Value)) is { } at; n++)
                {
                    var local = TimeZoneInfo.ConvertTime(at, schedule.Zone);
                    await console.Out.WriteLineAsync($"  next  {local:yyyy-MM-dd HH:mm:ss zzz}  ({at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC)").ConfigureAwait(false);
                }

                if (stored)
                {
                    var page = await relay.Relay.ListAsync(new RelayDeliveryQuery { Route = schedule.Route.Path, Limit = 1 }, cancellationToken).ConfigureAwait(false);
                    await console.Out.WriteLineAsync(page.Deliveries.Count == 0
                        ? "  last  (no tick yet)"
                        : $"  last  {schedule.FireTimeOf(page.Deliveries[0].DedupeKey)?.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC: {DeliveryStates.Name(page.Deliveries[0].State)} ({page.Deliveries[0].Id}){(page.Deliveries[0].LastError is { } error ? " " + error : string.Empty)}").ConfigureAwait(false);
                }
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
