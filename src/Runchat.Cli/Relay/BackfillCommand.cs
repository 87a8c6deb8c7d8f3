using System;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Text;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary>
/// <c>relay backfill</c>: what a sender sent while the relay was away, read from the sender's own API (GitHub's webhook
/// deliveries, Stripe's events) and stored once each, as the webhook would have been.
/// </summary>
internal static class BackfillCommand
{
    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var route = new Option<string>("--route") { Description = "The route to backfill: a github route with GitHub (Repository, HookId, Token, or an App), or a stripe route with Stripe (ApiKey).", Required = true };
        var since = new Option<string>("--since") { Description = "How far back, such as 24h or 3d (GitHub keeps deliveries 3 days, Stripe events 30).", Required = true, HelpName = "DURATION" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be stored; store nothing." };
        var command = new Command("backfill", "Store what a sender sent while the relay was down or misconfigured, read from the sender's API; each once, as the webhook would have been stored.") { config, route, since, dryRun };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            var period = RelayCommands.ParseDuration(result.GetValue(since)!, "--since");
            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: false);
            var path = result.GetValue(route)!;
            var options = relay.Options.Routes.FirstOrDefault(r => r.Path is not null && string.Equals(RelayRoute.Normalize(r.Path), RelayRoute.Normalize(path), StringComparison.OrdinalIgnoreCase))
                ?? throw new RelayConfigurationException($"there is no route {path} in Relay:Routes (there are: {string.Join(", ", relay.Options.Routes.Select(r => r.Path))}).");
            var source = (object?)options.GitHub ?? options.Stripe
                ?? throw new RelayConfigurationException($"the route {options.Path} has no source to backfill from: give it GitHub (Repository, HookId and Token, or AppId and PrivateKey) or Stripe (ApiKey); see docs/relay.md, \"When the relay was down\".");
            var from = relay.Time.GetUtcNow() - period;
            var dry = result.GetValue(dryRun);
            await console.Out.WriteLineAsync($"Backfill of {options.Path} from {source} since {from:yyyy-MM-dd HH:mm} UTC{(dry ? " (dry run: nothing is stored)" : string.Empty)}:").ConfigureAwait(false);

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) };
            var backfill = new RelayBackfill(relay.Ingest, relay.Store, http, relay.Time);
            System.Collections.Generic.IReadOnlyList<BackfillLine> lines;
            try
            {
                lines = await backfill.RunAsync(relay.Routes.Find(options.Path!)!, options, from, dry, cancellationToken).ConfigureAwait(false);
            }
            catch (BackfillException failed)
            {
                await console.Error.WriteLineAsync("error: " + failed.Message).ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }
            catch (HttpRequestException unreachable)
            {
                await console.Error.WriteLineAsync($"error: {source} could not be reached: {unreachable.Message}").ConfigureAwait(false);
                return ExitCodes.NetworkOrTimeout;
            }

            var text = new StringBuilder();
            foreach (var (candidate, outcome) in lines)
            {
                var id = outcome.DeliveryId is { } delivery && outcome.Stored ? $" ({delivery})" : string.Empty;
                text.AppendLine(CultureInfo.InvariantCulture, $"  {candidate.At:yyyy-MM-dd HH:mm:ss}  {outcome.Event ?? candidate.Event ?? "(no event)"}  {candidate.Id}  {outcome.Outcome}{id}");
            }

            var stored = lines.Count(l => l.Result.Stored);
            text.AppendLine(CultureInfo.InvariantCulture, $"{(dry ? "Would store" : "Stored")} {stored}, skipped {lines.Count - stored}, of {lines.Count} the sender lists since then.");
            await console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}
