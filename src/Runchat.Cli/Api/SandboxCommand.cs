using System;
using System.CommandLine;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Cli.Sandbox;

namespace Runchat.Cli.Api;

/// <summary><c>runchat-job sandbox</c>: a local stand-in of the Runchat API until Ctrl+C.</summary>
internal static class SandboxCommand
{
    public static Command Build(CliConsole console)
    {
        var port = new Option<int>("--port") { Description = "The port to listen on (127.0.0.1), 1 to 65535, or 0 for a free one. Default: 5123.", DefaultValueFactory = _ => 5123 };
        port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 65535)
            {
                result.AddError($"--port must be between 0 and 65535; got {result.GetValueOrDefault<int>()}.");
            }
        });
        var command = new Command("sandbox", "Serve a local stand-in of the Runchat API until Ctrl+C.") { port };
        command.SetAction((result, cancellationToken) => ServeAsync(console, result.GetValue(port), cancellationToken));
        return command;
    }

    private static async Task<int> ServeAsync(CliConsole console, int port, CancellationToken cancellationToken)
    {
        await using var server = await SandboxServer.StartAsync(port, cancellationToken).ConfigureAwait(false);
        await console.Out.WriteLineAsync($"Runchat sandbox listening on {server.BaseUrl} (Ctrl+C to stop).").ConfigureAwait(false);
        await console.Out.WriteLineAsync($"Try: RUNCHAT_BASE_URL={server.BaseUrl} RUNCHAT_API_KEY=sandbox-key runchat-job trigger demo-agent --message \"hello\"").ConfigureAwait(false);
        await console.Out.WriteLineAsync($"Your app: Runchat__BaseUrl={server.BaseUrl} Runchat__ApiKey=sandbox-key (AddRunchatClient(configuration) reads these), or RUNCHAT_BASE_URL/RUNCHAT_API_KEY for RunchatClientOptions.FromEnvironment(). Any key works.").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        return ExitCodes.Success;
    }
}
