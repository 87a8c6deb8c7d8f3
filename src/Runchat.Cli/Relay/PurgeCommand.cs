using System.CommandLine;
using System.Linq;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary><c>relay purge</c>: deletes finished deliveries older than a period, as retention does, on an operator's word.</summary>
internal static class PurgeCommand
{
    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var olderThan = new Option<string>("--older-than") { Description = "Delete deliveries that arrived and last changed longer ago than this (30d, 12h).", Required = true };
        var state = new Option<string?>("--state") { Description = "Only this state (default: succeeded, failed, unknown and ignored; pending and sending never)." };
        state.AcceptOnlyFromAmong("succeeded", "failed", "unknown", "ignored");
        var dryRun = new Option<bool>("--dry-run") { Description = "Count what would be deleted; delete nothing." };
        var command = new Command("purge", "Delete finished deliveries older than a period (their counts on the dashboard stay).") { config, olderThan, state, dryRun };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            var period = RelayCommands.ParseDuration(result.GetValue(olderThan)!, "--older-than");
            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: true);
            var purged = await relay.Relay.PurgeAsync(period, result.GetValue(state) is { } name ? DeliveryStates.Parse(name) : null, result.GetValue(dryRun), cancellationToken).ConfigureAwait(false);
            var counts = string.Join(", ", purged.Deleted.Select(each => $"{each.Value} {DeliveryStates.Name(each.Key)}"));
            await console.Out.WriteLineAsync(purged.DryRun
                ? $"Would delete {purged.Total} deliveries older than {period} ({counts}); nothing was deleted (--dry-run)."
                : $"Deleted {purged.Total} deliveries older than {period} ({counts}).").ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}
