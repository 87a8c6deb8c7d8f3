using System.CommandLine;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary>
/// <c>relay pause|resume</c>: a route keeps acknowledging and storing while paused, and sends what waited once resumed;
/// a paused schedule's ticks are skipped. Shared by every relay on the store, at once.
/// </summary>
internal static class PauseCommand
{
    public static Command Build(CliConsole console, bool pause)
    {
        var config = RelayCommands.ConfigOption();
        var route = new Option<string?>("--route") { Description = "The route's path (/hooks/github)." };
        var schedule = new Option<string?>("--schedule") { Description = "The schedule's name." };
        var command = pause
            ? new Command("pause", "Pause a route (its deliveries are still acknowledged and stored, and wait) or a schedule (its ticks are skipped).") { config, route, schedule }
            : new Command("resume", "Resume a paused route (what waited is sent, oldest first, within the limits) or schedule.") { config, route, schedule };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            var (path, name) = (result.GetValue(route), result.GetValue(schedule));
            if ((path is null) == (name is null))
            {
                throw new CliUsageException("name one: --route PATH or --schedule NAME.");
            }

            var target = path is not null ? RelayPauseTarget.Route(path) : RelayPauseTarget.Schedule(name!);
            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: false);
            var changed = pause
                ? await relay.Relay.PauseAsync(target, cancellationToken).ConfigureAwait(false)
                : await relay.Relay.ResumeAsync(target, cancellationToken).ConfigureAwait(false);
            await console.Out.WriteLineAsync((pause, changed, target.Kind) switch
            {
                (true, true, RelayPauseKind.Route) => $"{target} is paused: its deliveries are acknowledged and stored, and wait until it is resumed.",
                (true, true, _) => $"{target} is paused: its ticks are skipped until it is resumed.",
                (true, false, _) => $"{target} was paused already.",
                (false, true, RelayPauseKind.Route) => $"{target} is resumed: what waited is sent, oldest first, within the relay's limits.",
                (false, true, _) => $"{target} is resumed: its next tick runs.",
                _ => $"{target} was not paused.",
            }).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}
