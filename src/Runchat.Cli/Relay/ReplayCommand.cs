using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Threading.Tasks;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary>
/// <c>relay replay</c>: a finished delivery runs again, on an operator's word; or, with <c>--state</c>, every failed or
/// unknown delivery a filter selects (after an outage), listed first, and replayed only with <c>--yes</c>.
/// </summary>
internal static class ReplayCommand
{
    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var id = new Argument<string?>("deliveryId") { Description = "A succeeded, failed, unknown or ignored delivery to send again.", Arity = ArgumentArity.ZeroOrOne };
        var state = new Option<string?>("--state") { Description = "Replay every delivery in this state (failed or unknown) that the filters select." };
        state.AcceptOnlyFromAmong("failed", "unknown");
        var route = new Option<string?>("--route") { Description = "With --state: only this route's." };
        var eventName = new Option<string?>("--event") { Description = "With --state: only this event's." };
        var since = new Option<string?>("--since") { Description = "With --state: only those received in this past period (30m, 1h, 7d)." };
        var yes = new Option<bool>("--yes") { Description = "With --state: replay them (without it, the deliveries are listed and nothing changes)." };
        var command = new Command("replay", "Send a finished delivery again, or every failed or unknown one a filter selects (each can run the agent a second time: check the job's history first).")
        {
            config, id, state, route, eventName, since, yes,
        };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            var one = result.GetValue(id);
            var many = result.GetValue(state);
            if ((one is null) == (many is null))
            {
                throw new CliUsageException("name a delivery id, or --state failed|unknown (with --route, --event, --since) for a bulk replay; not both.");
            }

            if (one is not null && (result.GetValue(route) is not null || result.GetValue(eventName) is not null || result.GetValue(since) is not null || result.GetValue(yes)))
            {
                throw new CliUsageException("--route, --event, --since and --yes go with --state (a bulk replay); a delivery id is replayed alone.");
            }

            var window = result.GetValue(since) is { } text ? RelayCommands.ParseDuration(text, "--since") : (TimeSpan?)null;
            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: true);
            if (many is not null)
            {
                var query = new RelayDeliveryQuery
                {
                    State = DeliveryStates.Parse(many),
                    Route = result.GetValue(route),
                    Event = result.GetValue(eventName),
                    Since = window is { } w ? DateTimeOffset.UtcNow - w : null,
                    Limit = 200,
                };
                return result.GetValue(yes)
                    ? await ReplayManyAsync(console, relay.Relay, query, cancellationToken).ConfigureAwait(false)
                    : await ListOnlyAsync(console, relay.Relay, query, cancellationToken).ConfigureAwait(false);
            }

            RelayDelivery? delivery;
            try
            {
                // What a replay means (conditional on the state read, not twice within 10 s) is the
                // operator API's: the command only calls it.
                delivery = await relay.Relay.ReplayAsync(one!, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException refused) when (!refused.Message.StartsWith("The relay store was written by a newer relay", StringComparison.Ordinal))
            {
                await console.Error.WriteLineAsync("error: " + refused.Message).ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            if (delivery is null)
            {
                await console.Error.WriteLineAsync($"error: there is no delivery {one}.").ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            await console.Out.WriteLineAsync($"{delivery.Id} is pending again; a running relay sends it within a few seconds.").ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static async System.Threading.Tasks.Task<int> ReplayManyAsync(CliConsole console, IRunchatRelay relay, RelayDeliveryQuery query, System.Threading.CancellationToken cancellationToken)
    {
        int replayed = 0, refused = 0;
        await foreach (var each in relay.ReplayManyAsync(query, cancellationToken).ConfigureAwait(false))
        {
            if (each.Replayed)
            {
                replayed++;
                await console.Out.WriteLineAsync($"replayed  {Line(each.Delivery)}").ConfigureAwait(false);
            }
            else
            {
                refused++;
                await console.Out.WriteLineAsync($"kept      {Line(each.Delivery)}  ({each.Reason})").ConfigureAwait(false);
            }
        }

        await console.Out.WriteLineAsync($"{replayed} replayed, {refused} not (changed since they were read); a running relay sends them at its own pace (MaxConcurrentRuns, MaxRunsPerMinute).").ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static async System.Threading.Tasks.Task<int> ListOnlyAsync(CliConsole console, IRunchatRelay relay, RelayDeliveryQuery query, System.Threading.CancellationToken cancellationToken)
    {
        long count = 0;
        var page = query;
        while (true)
        {
            var read = await relay.ListAsync(page, cancellationToken).ConfigureAwait(false);
            foreach (var delivery in read.Deliveries)
            {
                count++;
                await console.Out.WriteLineAsync($"would replay  {Line(delivery)}").ConfigureAwait(false);
            }

            if (read.NextCursor is null)
            {
                break;
            }

            page = query.From(read.NextCursor);
        }

        if (count == 0)
        {
            await console.Out.WriteLineAsync($"No {DeliveryStates.Name(query.State!.Value)} deliveries match.").ConfigureAwait(false);
            return ExitCodes.Success;
        }

        await console.Error.WriteLineAsync($"error: nothing was replayed: {count} deliveries match; add --yes to replay them (each can run the agent again).").ConfigureAwait(false);
        return ExitCodes.Usage;
    }

    private static string Line(RelayDelivery d) => $"{d.Id}  {DeliveryStates.Name(d.State)}  {d.ReceivedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {d.Route}  {d.Event ?? "-"}";
}
