using System;
using System.CommandLine;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Cli;

/// <summary>The <c>runchat-job</c> command line: its verbs (one class each, in Api/ and Relay/), parsed and invoked.</summary>
public static class RunchatCli
{
    public static async Task<int> InvokeAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        var root = Build(console);
        // Response files are off: "@file" and "@-" belong to --payload.
        var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await console.Error.WriteLineAsync("error: " + error.Message).ConfigureAwait(false);
            }

            // The whole command path ("relay list "), so the hint names a command that exists.
            var names = new System.Collections.Generic.List<string>();
            for (var result = parsed.CommandResult; result is not null && result.Command is not RootCommand; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            {
                names.Insert(0, result.Command.Name);
            }

            var command = names.Count == 0 ? "" : string.Join(" ", names) + " ";
            await console.Error.WriteLineAsync($"Run 'runchat-job {command}--help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // Signals are handled by Program.cs and arrive as cancellationToken; System.CommandLine's own
        // handler would end the process with 130 after 2 s, whatever the command was doing.
        var configuration = new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return await parsed.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // One clear line, never a stack trace; the commands map every failure they expect.
            await console.Error.WriteLineAsync($"error: {exception.GetType().Name}: {exception.Message}").ConfigureAwait(false);
            return ExitCodes.RunOrApiError;
        }
    }

    private static RootCommand Build(CliConsole console)
    {
        var root = new RootCommand("Trigger Runchat agent jobs, relay webhooks to them, or serve an offline sandbox of the Runchat API.");
        root.Subcommands.Add(Api.TriggerCommand.Build(console));
        root.Subcommands.Add(Api.RunCommand.Build(console));
        root.Subcommands.Add(Api.SchemaCommand.Build(console));
        root.Subcommands.Add(Api.SandboxCommand.Build(console));
        root.Subcommands.Add(Relay.RelayCommands.Build(console));
        return root;
    }
}
