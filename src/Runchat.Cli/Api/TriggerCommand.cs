using System.CommandLine;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Cli.Api;

/// <summary><c>runchat-job trigger &lt;jobId&gt;</c>: an agent job as-is, with a message or with a payload; or a flow job with <c>--flow</c>.</summary>
internal static class TriggerCommand
{
    public static Command Build(CliConsole console)
    {
        var jobId = new Argument<string>("jobId") { Description = "The job id from the Runchat Tasks dashboard." };
        var message = new Option<string?>("--message", "-m") { Description = "Append this text as the user message." };
        var payload = new Option<string?>("--payload", "-p") { Description = "Forward a JSON object as-is: inline JSON, @file, or @- for standard input.", HelpName = "JSON|@file|@-" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print the run's duration, tokens and credits on stderr." };
        var flow = new Option<bool>("--flow") { Description = "The job is a flow job: trigger it as scheduled (GET /job/{id}); it takes no message or payload." };
        var connection = new ApiConnection(" for the agent", "Print the whole response as JSON instead of the final reply.", "Start a local sandbox of the Runchat API and run against it (offline, no key needed).");
        var command = new Command("trigger", "Run a saved agent job: as-is, with a message, or with a raw JSON payload; or a flow job with --flow.") { jobId, message, payload };
        connection.AddTo(command);
        command.Options.Add(verbose);
        command.Options.Add(flow);
        command.SetAction((result, cancellationToken) => RunAsync(
            new ApiRunner(console),
            connection.Read(result),
            new Request(result.GetValue(jobId)!, result.GetValue(message), result.GetValue(payload), result.GetValue(verbose), result.GetValue(flow)),
            cancellationToken));
        return command;
    }

    private sealed record Request(string JobId, string? Message, string? Payload, bool Verbose, bool Flow);

    private static Task<int> RunAsync(ApiRunner runner, ApiSettings settings, Request request, CancellationToken cancellationToken) =>
        runner.RunAsync(async () =>
        {
            if (request.Message is not null && request.Payload is not null)
            {
                throw new CliUsageException("--message and --payload cannot be used together: a message is appended as text, a payload is forwarded as JSON.");
            }

            if (request.Flow && (request.Message is not null || request.Payload is not null))
            {
                throw new CliUsageException("--flow triggers a flow job as scheduled (GET): it takes no --message or --payload. To run a flow with inputs or a body, use: runchat-job run <runchat_id>.");
            }

            var payload = await runner.ReadPayloadAsync(request.Payload, cancellationToken).ConfigureAwait(false);
            settings.CheckSandboxCanTake(payload);
            return await runner.WithClientAsync(settings, client => request.Flow
                ? TriggerFlowJobAsync(runner, client, request.JobId, settings.Json, cancellationToken)
                : TriggerAgentJobAsync(runner, client, request, payload, settings.Json, cancellationToken), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    private static async Task<int> TriggerFlowJobAsync(ApiRunner runner, RunchatClient client, string jobId, bool json, CancellationToken cancellationToken)
    {
        var job = await runner.WithProgressAsync(client.TriggerFlowJobAsync(jobId, cancellationToken)).ConfigureAwait(false);
        await runner.WriteOutputsAsync(job, json, job.Data.Select(o => (o.Label ?? o.Id, o.Data))).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static async Task<int> TriggerAgentJobAsync(ApiRunner runner, RunchatClient client, Request request, JobPayload? payload, bool json, CancellationToken cancellationToken)
    {
        var call = payload is not null ? client.TriggerAgentJobAsync(request.JobId, payload, cancellationToken)
            : request.Message is not null ? client.TriggerAgentJobAsync(request.JobId, request.Message, cancellationToken)
            : client.TriggerAgentJobAsync(request.JobId, cancellationToken);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var response = await runner.WithProgressAsync(call).ConfigureAwait(false);
        var console = runner.Console;
        if (request.Verbose)
        {
            await console.Error.WriteLineAsync(DescribeRun(response, started.Elapsed)).ConfigureAwait(false);
        }

        if (json)
        {
            await runner.WriteJsonAsync(response).ConfigureAwait(false);
        }
        else if (response.IsSuccess && response.FinalReply is { } reply)
        {
            await console.Out.WriteLineAsync(reply).ConfigureAwait(false);
        }
        else if (response.IsSuccess)
        {
            await console.Error.WriteLineAsync("The run succeeded; the agent gave no text reply (use --json to see the transcript).").ConfigureAwait(false);
        }

        return response.IsSuccess
            ? ExitCodes.Success
            : await runner.FailAsync(ExitCodes.RunOrApiError, new RunchatAgentRunException(response).Message).ConfigureAwait(false);
    }

    /// <summary>The --verbose line: what the run cost, from its metadata (the names the sandbox and the API use).</summary>
    internal static string DescribeRun(AgentJobResponse response, System.TimeSpan elapsed)
    {
        var metadata = response.GetMetadata();
        string Value(string name) => metadata?[name] is Newtonsoft.Json.Linq.JValue { Value: not null } value ? value.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";
        return string.Format(System.Globalization.CultureInfo.InvariantCulture,
            "run {0}: status {1}, {2:0.###} s, input tokens {3}, output tokens {4}, credits {5}",
            response.RunchatId ?? response.JobId ?? "?",
            response.Status?.ToString().ToLowerInvariant() ?? "unknown",
            elapsed.TotalSeconds,
            Value("input_tokens"),
            Value("output_tokens"),
            Value("credits"));
    }
}
