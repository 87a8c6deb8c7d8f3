using System;
using System.CommandLine;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Cli.Sandbox;

namespace Runchat.Cli;

/// <summary>The <c>runchat-job</c> command line: where arguments are declared and parsed.</summary>
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
        root.Subcommands.Add(BuildTrigger(console));
        root.Subcommands.Add(BuildRun(console));
        root.Subcommands.Add(BuildSchema(console));
        root.Subcommands.Add(BuildSandbox(console));
        root.Subcommands.Add(Relay.RelayCommands.Build(console));
        return root;
    }

    private static Command BuildTrigger(CliConsole console)
    {
        var jobId = new Argument<string>("jobId") { Description = "The job id from the Runchat Tasks dashboard." };
        var message = new Option<string?>("--message", "-m") { Description = "Append this text as the user message." };
        var payload = new Option<string?>("--payload", "-p")
        {
            Description = "Forward a JSON object as-is: inline JSON, @file, or @- for standard input.",
            HelpName = "JSON|@file|@-",
        };
        var apiKey = new Option<string?>("--api-key") { Description = "The API key (default: RUNCHAT_API_KEY, then RUNCHAT_TOKEN)." };
        var baseUrl = new Option<string?>("--base-url") { Description = "The API base URL (default: RUNCHAT_BASE_URL, then https://runchat.com/api/v1/)." };
        var timeout = new Option<string?>("--timeout") { Description = "How long to wait for the agent: seconds (90) or a time span (00:15:00). Default: 600 seconds.", HelpName = "SECONDS|hh:mm:ss" };
        var json = new Option<bool>("--json") { Description = "Print the whole response as JSON instead of the final reply." };
        var sandbox = new Option<bool>("--sandbox") { Description = "Start a local sandbox of the Runchat API and run against it (offline, no key needed)." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print the run's duration, tokens and credits on stderr." };
        var allowInsecureHttp = new Option<bool>("--allow-insecure-http") { Description = "Allow a plain http:// base URL to a host that is not this machine (the key travels unencrypted)." };
        var flow = new Option<bool>("--flow") { Description = "The job is a flow job: trigger it as scheduled (GET /job/{id}); it takes no message or payload." };

        var command = new Command("trigger", "Run a saved agent job: as-is, with a message, or with a raw JSON payload; or a flow job with --flow.")
        {
            jobId, message, payload, apiKey, baseUrl, timeout, json, sandbox, verbose, allowInsecureHttp, flow,
        };
        command.SetAction((result, cancellationToken) => new TriggerCommand(console).RunAsync(
            new TriggerArguments(
                result.GetValue(jobId)!,
                result.GetValue(message),
                result.GetValue(payload),
                result.GetValue(apiKey),
                result.GetValue(baseUrl),
                result.GetValue(timeout),
                result.GetValue(json),
                result.GetValue(sandbox),
                result.GetValue(verbose),
                result.GetValue(allowInsecureHttp)) { Flow = result.GetValue(flow) },
            cancellationToken));
        return command;
    }

    /// <summary>The connection options every API command takes.</summary>
    private sealed record Connection(Option<string?> ApiKey, Option<string?> BaseUrl, Option<string?> Timeout, Option<bool> Json, Option<bool> Sandbox, Option<bool> AllowInsecureHttp)
    {
        public static Connection Create() => new(
            new Option<string?>("--api-key") { Description = "The API key (default: RUNCHAT_API_KEY, then RUNCHAT_TOKEN)." },
            new Option<string?>("--base-url") { Description = "The API base URL (default: RUNCHAT_BASE_URL, then https://runchat.com/api/v1/)." },
            new Option<string?>("--timeout") { Description = "How long to wait: seconds (90) or a time span (00:15:00). Default: 600 seconds.", HelpName = "SECONDS|hh:mm:ss" },
            new Option<bool>("--json") { Description = "Print the whole response as JSON." },
            new Option<bool>("--sandbox") { Description = "Start a local sandbox of the Runchat API and run against it (offline, no key needed; flow demo-flow)." },
            new Option<bool>("--allow-insecure-http") { Description = "Allow a plain http:// base URL to a host that is not this machine (the key travels unencrypted)." });

        public void AddTo(Command command)
        {
            command.Options.Add(ApiKey);
            command.Options.Add(BaseUrl);
            command.Options.Add(Timeout);
            command.Options.Add(Json);
            command.Options.Add(Sandbox);
            command.Options.Add(AllowInsecureHttp);
        }

        public TriggerArguments Arguments(ParseResult result, string id, string? payload) => new(
            id, null, payload, result.GetValue(ApiKey), result.GetValue(BaseUrl), result.GetValue(Timeout), result.GetValue(Json), result.GetValue(Sandbox), false, result.GetValue(AllowInsecureHttp));
    }

    private static Command BuildRun(CliConsole console)
    {
        var runchatId = new Argument<string>("runchatId") { Description = "The flow's id (the id in the editor's URL)." };
        var input = new Option<string[]>("--input", "-i") { Description = "An input by its label: LABEL=VALUE, or LABEL=@file. Repeat for more. A value that is JSON (3, true, [1,2]) is sent as JSON.", HelpName = "LABEL=VALUE", AllowMultipleArgumentsPerToken = false };
        var payload = new Option<string?>("--payload", "-p") { Description = "Run the flow's Webhook node with this body: inline JSON, @file, or @- for standard input.", HelpName = "JSON|@file|@-" };
        var instance = new Option<string?>("--instance") { Description = "Continue this flow instance (as the last run printed)." };
        var connection = Connection.Create();
        var command = new Command("run", "Run a flow: with inputs by label (resolved through its schema), or with a body for its Webhook node.") { runchatId, input, payload, instance };
        connection.AddTo(command);
        command.SetAction((result, cancellationToken) => new TriggerCommand(console).RunAsync(
            connection.Arguments(result, result.GetValue(runchatId)!, result.GetValue(payload)) with
            {
                Operation = "run",
                Inputs = result.GetValue(input) ?? Array.Empty<string>(),
                Instance = result.GetValue(instance),
            },
            cancellationToken));
        return command;
    }

    private static Command BuildSchema(CliConsole console)
    {
        var runchatId = new Argument<string>("runchatId") { Description = "The flow's id (the id in the editor's URL)." };
        var connection = Connection.Create();
        var command = new Command("schema", "Show a flow's inputs and outputs (labels, types, ids); runs nothing.") { runchatId };
        connection.AddTo(command);
        command.SetAction((result, cancellationToken) => new TriggerCommand(console).RunAsync(
            connection.Arguments(result, result.GetValue(runchatId)!, null) with { Operation = "schema" },
            cancellationToken));
        return command;
    }

    private static Command BuildSandbox(CliConsole console)
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
        command.SetAction(async (result, cancellationToken) =>
        {
            await using var server = await SandboxServer.StartAsync(result.GetValue(port), cancellationToken).ConfigureAwait(false);
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
        });
        return command;
    }
}
