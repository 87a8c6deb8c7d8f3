using System;
using System.CommandLine;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary>
/// <c>relay list</c>: the deliveries, newest first, a page at a time from the store (memory does not grow with it):
/// a table, a JSON array, or one JSON object per line.
/// </summary>
internal static class ListCommand
{
    /// <summary>How many rows one query to the store reads.</summary>
    private const int PageSize = 500;

    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var state = new Option<string?>("--state") { Description = "Only deliveries in this state." };
        state.AcceptOnlyFromAmong("pending", "sending", "succeeded", "failed", "unknown", "ignored");
        var route = new Option<string?>("--route") { Description = "Only deliveries of this route (/hooks/github, schedule:<name>)." };
        var eventName = new Option<string?>("--event") { Description = "Only deliveries of this event (issues.opened)." };
        var limit = new Option<int>("--limit") { Description = "How many to print at most (default 100; 0 for all).", DefaultValueFactory = _ => 100 };
        var before = new Option<string?>("--before") { Description = "Start after this cursor (the last line of a previous list names it)." };
        var json = new Option<bool>("--json") { Description = "Print a JSON array (snake_case fields)." };
        var jsonl = new Option<bool>("--jsonl") { Description = "Print one JSON object per line, as it is read." };
        var command = new Command("list", "List the stored deliveries, newest first.") { config, state, route, eventName, limit, before, json, jsonl };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            if (result.GetValue(json) && result.GetValue(jsonl))
            {
                throw new CliUsageException("--json and --jsonl: choose one.");
            }

            var wanted = result.GetValue(limit);
            if (wanted < 0)
            {
                throw new CliUsageException($"--limit is 0 (all) or more; got {wanted}.");
            }

            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: true);
            var query = new RelayDeliveryQuery
            {
                State = result.GetValue(state) is { } name ? DeliveryStates.Parse(name) : null,
                Route = result.GetValue(route),
                Event = result.GetValue(eventName),
                Before = result.GetValue(before),
            };
            var format = result.GetValue(jsonl) ? Format.Lines : result.GetValue(json) ? Format.Array : Format.Table;
            await PrintAsync(console, relay.Relay, query, wanted == 0 ? long.MaxValue : wanted, format, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }

    private enum Format
    {
        Table,
        Array,
        Lines,
    }

    private static async Task PrintAsync(CliConsole console, IRunchatRelay relay, RelayDeliveryQuery first, long wanted, Format format, CancellationToken cancellationToken)
    {
        var output = console.Out;
        if (format == Format.Table)
        {
            await output.WriteLineAsync($"{"ID",-29} {"STATE",-9} {"TRIES",5}  {"RECEIVED (UTC)",-19}  {"ROUTE",-18} {"EVENT",-24} {"SENDER ID",-36} LAST ERROR").ConfigureAwait(false);
        }
        else if (format == Format.Array)
        {
            await output.WriteAsync('[').ConfigureAwait(false);
        }

        long printed = 0;
        string? next = null;
        var query = first;
        while (printed < wanted)
        {
            var page = await relay.ListAsync(query.From(query.Before, (int)Math.Min(PageSize, wanted - printed)), cancellationToken).ConfigureAwait(false);
            foreach (var delivery in page.Deliveries)
            {
                await output.WriteAsync(format switch
                {
                    Format.Table => Row(delivery) + Environment.NewLine,
                    Format.Array => (printed == 0 ? string.Empty : ",") + Environment.NewLine + "  " + JsonSerializer.Serialize(delivery, RelayJson.Options),
                    _ => JsonSerializer.Serialize(delivery, RelayJson.Options) + Environment.NewLine,
                }).ConfigureAwait(false);
                printed++;
            }

            next = page.NextCursor;
            if (next is null)
            {
                break;
            }

            query = query.From(next);
        }

        if (format == Format.Array)
        {
            await output.WriteLineAsync(printed == 0 ? "]" : Environment.NewLine + "]").ConfigureAwait(false);
        }
        else if (format == Format.Table && next is not null)
        {
            await output.WriteLineAsync($"(more: --before {next})").ConfigureAwait(false);
        }

        if (format == Format.Table)
        {
            // Why pending deliveries may not move: said under the table, never inside the JSON.
            foreach (var pause in await relay.ListPausedAsync(cancellationToken).ConfigureAwait(false))
            {
                await output.WriteLineAsync($"(paused: {pause.Target} since {pause.PausedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC)").ConfigureAwait(false);
            }
        }
    }

    private static string Row(RelayDelivery d)
    {
        var error = d.LastError is null ? string.Empty : d.LastError.Length > 60 ? d.LastError.Substring(0, 59) + "…" : d.LastError;
        return $"{d.Id,-29} {DeliveryStates.Name(d.State),-9} {d.Attempts,5}  {d.ReceivedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {d.Route,-18} {d.Event ?? "-",-24} {d.SenderId ?? "-",-36} {error}";
    }
}
