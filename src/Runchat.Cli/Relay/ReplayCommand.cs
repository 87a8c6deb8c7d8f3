using System;
using System.CommandLine;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary><c>relay replay</c>: a finished delivery runs again, on an operator's word.</summary>
internal static class ReplayCommand
{
    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var id = new Argument<string>("deliveryId") { Description = "A succeeded, failed, unknown or ignored delivery to send again." };
        var command = new Command("replay", "Send a finished delivery again (it can run the agent a second time: check the job's history first).") { config, id };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: true);
            RelayDelivery? delivery;
            try
            {
                // What a replay means (conditional on the state read, not twice within 10 s) is the
                // operator API's: the command only calls it.
                delivery = await relay.Relay.ReplayAsync(result.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException refused) when (!refused.Message.StartsWith("The relay store was written by a newer relay", StringComparison.Ordinal))
            {
                await console.Error.WriteLineAsync("error: " + refused.Message).ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            if (delivery is null)
            {
                await console.Error.WriteLineAsync($"error: there is no delivery {result.GetValue(id)}.").ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            await console.Out.WriteLineAsync($"{delivery.Id} is pending again; a running relay sends it within a few seconds.").ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}
