using System;
using System.CommandLine;
using System.Linq;
using Runchat.Relay.Signatures;

namespace Runchat.Cli.Relay;

/// <summary><c>relay sign</c>: the headers a sender would send with a body, to try a route by hand.</summary>
internal static class SignCommand
{
    /// <summary>The largest body it signs.</summary>
    private const int MaxBytes = 100 * 1024 * 1024;

    public static Command Build(CliConsole console)
    {
        var signing = WebhookSchemes.BuiltIn.Names.Where(n => n is not "none" and not "discord").ToArray();
        var scheme = new Option<string>("--scheme") { Description = string.Join(", ", signing) + ". (discord verifies with a public key: only Discord can sign.)", Required = true };
        scheme.AcceptOnlyFromAmong(signing);
        var secret = new Option<string>("--secret") { Description = "The route's secret (for twilio, the auth token).", Required = true };
        var header = new Option<string?>("--header") { Description = "For hmac-sha256: the signature header." };
        var publicUrl = new Option<string?>("--public-url") { Description = "For twilio: the URL Twilio posts to (it signs the URL)." };
        var payload = new Option<string>("--payload", "-p") { Description = "The body to sign: @file, @- for standard input, or inline JSON.", Required = true, HelpName = "JSON|@file|@-" };
        var command = new Command("sign", "Print the headers a sender would send with a body (for curl -H @file), to try a route by hand.") { scheme, secret, header, publicUrl, payload };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            Uri? url = null;
            if (result.GetValue(publicUrl) is { } given && !Uri.TryCreate(given, UriKind.Absolute, out url))
            {
                throw new CliUsageException($"--public-url '{given}' is not an absolute URL, such as https://relay.example.com/hooks/twilio.");
            }

            if (result.GetValue(scheme) == "twilio" && url is null)
            {
                throw new CliUsageException("--public-url is required for twilio: Twilio signs the URL it posts to, such as https://relay.example.com/hooks/twilio.");
            }

            var settings = new WebhookSchemeSettings("relay sign", result.GetValue(secret), result.GetValue(header), publicUrl: url);
            var signature = WebhookSchemes.BuiltIn.Create(result.GetValue(scheme), settings);
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
