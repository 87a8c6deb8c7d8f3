using System.CommandLine;

namespace Runchat.Cli.Relay;

/// <summary><c>relay forget</c>: an erasure request: every delivery of one sender id goes, body and all.</summary>
internal static class ForgetCommand
{
    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var sender = new Option<string>("--sender") { Description = "The sender id (relay show and list print it).", Required = true };
        var command = new Command("forget", "Delete every delivery of one sender id, bodies included (an erasure request).") { config, sender };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: true);
            var id = result.GetValue(sender)!;
            var (deleted, inFlight) = await relay.Relay.ForgetSenderAsync(id, cancellationToken).ConfigureAwait(false);
            await console.Out.WriteLineAsync($"Deleted {deleted} deliveries of sender {id}.").ConfigureAwait(false);
            if (inFlight > 0)
            {
                // Not an error to shrug off: the erasure is incomplete until it is run again.
                await console.Error.WriteLineAsync($"error: {inFlight} of its deliveries are being sent now and were kept; run forget again once their runs end.").ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
