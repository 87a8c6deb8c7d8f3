using System;
using System.CommandLine;
using Runchat.Relay.Signatures;

namespace Runchat.Cli.Relay;

/// <summary><c>relay sign</c>: the headers a sender would send with a body, to try a route by hand.</summary>
internal static class SignCommand
{
    /// <summary>The largest body it signs.</summary>
    private const int MaxBytes = 100 * 1024 * 1024;

    public static Command Build(CliConsole console)
    {
        var scheme = new Option<string>("--scheme") { Description = "standard-webhooks, stripe, github, slack or hmac-sha256.", Required = true };
        scheme.AcceptOnlyFromAmong("standard-webhooks", "stripe", "github", "slack", "hmac-sha256");
        var secret = new Option<string>("--secret") { Description = "The route's secret.", Required = true };
        var header = new Option<string?>("--header") { Description = "For hmac-sha256: the signature header." };
        var payload = new Option<string>("--payload", "-p") { Description = "The body to sign: @file, @- for standard input, or inline JSON.", Required = true, HelpName = "JSON|@file|@-" };
        var command = new Command("sign", "Print the headers a sender would send with a body (for curl -H @file), to try a route by hand.") { scheme, secret, header, payload };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            var signature = WebhookSignature.FromConfiguration(result.GetValue(scheme), result.GetValue(secret), result.GetValue(header));
            var body = await CliInput.ReadAsync("--payload", result.GetValue(payload)!, console, MaxBytes, cancellationToken).ConfigureAwait(false);
            foreach (var (name, value) in signature.Sign(body, DateTimeOffset.UtcNow, "msg_" + Guid.NewGuid().ToString("N")))
            {
                await console.Out.WriteLineAsync($"{name}: {value}").ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
