using System;
using System.CommandLine;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Cli.Relay;

/// <summary>
/// <c>relay test</c>: a dry run of one route on one payload, exactly as <c>serve</c> would take it (the same route
/// built the same way, the same limits, the same event naming), storing and sending nothing.
/// </summary>
internal static class TestCommand
{
    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var route = new Option<string?>("--route") { Description = "The route's path, such as /hooks/github (with --against-store: only this route's deliveries)." };
        var eventName = new Option<string?>("--event") { Description = "What the sender puts in its event header (GitHub's X-GitHub-Event: issues; the relay adds the body's action as serve does); for schemes that name the event in the body, the event name itself." };
        var payload = new Option<string?>("--payload", "-p") { Description = "The body: @file, @- for standard input, or inline JSON.", HelpName = "JSON|@file|@-" };
        var againstStore = new Option<bool>("--against-store") { Description = "Instead of one payload: every delivery stored in the period (received, ignored, replayed) through this configuration's routes, before and after." };
        var since = new Option<string?>("--since") { Description = "With --against-store: the period, such as 7d (the default), 24h or 30m.", HelpName = "DURATION" };
        var diff = new Option<bool>("--diff") { Description = "With --against-store: show each changed message, line by line." };
        var command = new Command("test", "Dry-run a route: print whether a delivery would run, and the exact text the agent would receive; or, with --against-store, what this configuration does to the stored deliveries of a period. Stores and sends nothing.") { config, route, eventName, payload, againstStore, since, diff };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            if (result.GetValue(againstStore))
            {
                if (result.GetValue(payload) is not null || result.GetValue(eventName) is not null)
                {
                    throw new CliUsageException("--against-store reads the stored deliveries: it takes no --payload or --event.");
                }

                var period = RelayCommands.ParseDuration(result.GetValue(since) ?? "7d", "--since");
                await using var stored = RelayCommands.Open(result.GetValue(config)!, storeMustExist: true);
                return await BacktestOutput.RunAsync(console, stored, result.GetValue(config)!, period, result.GetValue(route), result.GetValue(diff), cancellationToken).ConfigureAwait(false);
            }

            if (result.GetValue(since) is not null || result.GetValue(diff))
            {
                throw new CliUsageException("--since and --diff go with --against-store.");
            }

            var path = result.GetValue(route) ?? throw new CliUsageException("--route is required: the route to try, such as /hooks/github.");
            if (result.GetValue(payload) is null)
            {
                throw new CliUsageException("--payload is required (or --against-store, for the stored deliveries).");
            }

            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: false);
            return await OnePayloadAsync(console, relay, path, result.GetValue(payload)!, result.GetValue(eventName), cancellationToken).ConfigureAwait(false);
        }));
        return command;
    }

    /// <summary>One payload through one route, as <c>serve</c> would take it.</summary>
    private static async Task<int> OnePayloadAsync(CliConsole console, RelayServices relay, string path, string payload, string? given, CancellationToken cancellationToken)
    {
        var rules = relay.Routes.Configured.FirstOrDefault(r => string.Equals(RelayRoute.Normalize(r.Path), RelayRoute.Normalize(path), StringComparison.OrdinalIgnoreCase))
            ?? throw new RelayConfigurationException($"there is no route {path} in Relay:Routes (there are: {string.Join(", ", relay.Routes.Configured.Select(r => r.Path))}).");
        var body = await CliInput.ReadAsync("--payload", payload, console, relay.Options.MaxBodyBytes, cancellationToken).ConfigureAwait(false);

        // The event is named as serve names it: from the header the sender would send, or from the body.
        var headers = new HeaderDictionary { ["Content-Type"] = "application/json" };
        if (given is not null && rules.Scheme.EventHeader is { } eventHeader)
        {
            headers[eventHeader] = given;
        }

        var request = new WebhookRequest(headers, body, new Uri("http://relay.test" + rules.Path), DateTimeOffset.UtcNow, relay.Options.SignatureTolerance);
        ReadOnlyMemory<byte> bytes;
        try
        {
            bytes = rules.Scheme.ReadPayload(request);
        }
        catch (WebhookRefusedException refused)
        {
            await console.Out.WriteLineAsync($"would be refused (400): {refused.Message}").ConfigureAwait(false);
            return ExitCodes.RunOrApiError;
        }

        if (!WebhookPayload.TryParse(bytes, relay.Options.MaxBodyDepth, out var parsed, out var refusal))
        {
            await console.Out.WriteLineAsync($"would be refused (400): {refusal}").ConfigureAwait(false);
            return ExitCodes.RunOrApiError;
        }

        using var document = parsed!;
        var described = rules.Scheme.Describe(request, document.Root);
        if (described.Refusal is { } contradiction)
        {
            await console.Out.WriteLineAsync($"would be refused (400): {contradiction}").ConfigureAwait(false);
            return ExitCodes.RunOrApiError;
        }

        var name = given is not null && rules.Scheme.EventHeader is null ? given : described.Name;
        var verdict = await RouteRules.RunAsync(rules, name, document.Root, DateTimeOffset.UtcNow).ConfigureAwait(false);
        await console.Out.WriteLineAsync($"{verdict.Headline} ({rules.Path} -> {rules.Target}, event {name ?? "(none)"})").ConfigureAwait(false);
        if (verdict.Message is { } message)
        {
            await console.Out.WriteLineAsync($"--- the agent receives this message ({Encoding.UTF8.GetByteCount(message)} bytes) ---").ConfigureAwait(false);
            await console.Out.WriteLineAsync(message).ConfigureAwait(false);
        }
        else if (verdict.Runs)
        {
            var sent = JobPayload.FromBytes(document.Bytes.ToArray());
            await console.Out.WriteLineAsync(rules.FlowId is not null
                ? $"--- the flow's Webhook node receives the payload whole ({sent.Length} bytes) ---"
                : $"--- the agent receives the payload whole ({sent.Length} bytes{(sent.HasTopLevelMessageKey ? ", wrapped as {\"message\": …}" : string.Empty)}) ---").ConfigureAwait(false);
            await console.Out.WriteLineAsync(sent.ToString()).ConfigureAwait(false);
        }

        return verdict.Failed ? ExitCodes.RunOrApiError : ExitCodes.Success;
    }
}
