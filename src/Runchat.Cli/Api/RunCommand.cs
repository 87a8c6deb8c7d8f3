using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Cli.Api;

/// <summary><c>runchat-job run &lt;runchatId&gt;</c>: a flow, with inputs by label (resolved through its schema), or a body for its Webhook node.</summary>
internal static class RunCommand
{
    /// <summary>The largest --input value read from a file.</summary>
    private const int MaxInputBytes = 30_000_000;

    /// <summary>The deepest JSON an --input value may nest.</summary>
    private const int MaxInputDepth = 256;

    public static Command Build(CliConsole console)
    {
        var runchatId = new Argument<string>("runchatId") { Description = "The flow's id (the id in the editor's URL)." };
        var input = new Option<string[]>("--input", "-i") { Description = "An input by its label: LABEL=VALUE, or LABEL=@file. Repeat for more. A value that is JSON (3, true, [1,2]) is sent as JSON.", HelpName = "LABEL=VALUE", AllowMultipleArgumentsPerToken = false };
        var payload = new Option<string?>("--payload", "-p") { Description = "Run the flow's Webhook node with this body: inline JSON, @file, or @- for standard input.", HelpName = "JSON|@file|@-" };
        var instance = new Option<string?>("--instance") { Description = "Continue this flow instance (as the last run printed)." };
        var connection = new ApiConnection(string.Empty, "Print the whole response as JSON.", "Start a local sandbox of the Runchat API and run against it (offline, no key needed; flow demo-flow).");
        var command = new Command("run", "Run a flow: with inputs by label (resolved through its schema), or with a body for its Webhook node.") { runchatId, input, payload, instance };
        connection.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(
            new ApiRunner(console),
            connection.Read(result),
            new Request(result.GetValue(runchatId)!, result.GetValue(input) ?? Array.Empty<string>(), result.GetValue(payload), result.GetValue(instance)),
            cancellationToken));
        return command;
    }

    private sealed record Request(string FlowId, IReadOnlyList<string> Inputs, string? Payload, string? Instance);

    private static Task<int> RunAsync(ApiRunner runner, ApiSettings settings, Request request, CancellationToken cancellationToken) =>
        runner.RunAsync(async () =>
        {
            if (request.Payload is not null && request.Inputs.Count > 0)
            {
                throw new CliUsageException("--input and --payload cannot be used together: inputs are set by label, a payload is the Webhook node's whole body.");
            }

            var payload = await runner.ReadPayloadAsync(request.Payload, cancellationToken).ConfigureAwait(false);
            settings.CheckSandboxCanTake(payload);
            return await runner.WithClientAsync(settings, client => RunFlowAsync(runner, client, request, payload, settings.Json, cancellationToken), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    private static async Task<int> RunFlowAsync(ApiRunner runner, RunchatClient client, Request request, JobPayload? payload, bool json, CancellationToken cancellationToken)
    {
        var run = payload is not null
            ? await runner.WithProgressAsync(client.RunFlowAsync(request.FlowId, payload, cancellationToken: cancellationToken)).ConfigureAwait(false)
            : await runner.WithProgressAsync(client.RunFlowAsync(request.FlowId, await InputsAsync(runner, client, request, cancellationToken).ConfigureAwait(false), request.Instance, cancellationToken)).ConfigureAwait(false);

        await runner.WriteOutputsAsync(run, json, run.Outputs.Select(o => (o.Label ?? o.Id, o.Data))).ConfigureAwait(false);
        if (!json && run.InstanceId is { } instance)
        {
            await runner.Console.Error.WriteLineAsync($"instance {instance} (continue it with --instance {instance})").ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    /// <summary>The inputs by id: labels are what a person sees in the editor; the API wants ids, and the schema maps one to the other.</summary>
    private static async Task<FlowInputs> InputsAsync(ApiRunner runner, RunchatClient client, Request request, CancellationToken cancellationToken)
    {
        if (request.Inputs.Count == 0)
        {
            return FlowInputs.Create();
        }

        var inputs = FlowInputs.From(await client.GetFlowSchemaAsync(request.FlowId, cancellationToken).ConfigureAwait(false));
        foreach (var input in request.Inputs)
        {
            var equals = input.IndexOf('=');
            if (equals <= 0)
            {
                throw new CliUsageException($"--input takes LABEL=VALUE (or LABEL=@file); got '{input}'.");
            }

            var (label, raw) = (input.Substring(0, equals), input.Substring(equals + 1));
            var text = raw.StartsWith('@') ? Encoding.UTF8.GetString(await CliInput.ReadAsync("--input " + label, raw, runner.Console, MaxInputBytes, cancellationToken).ConfigureAwait(false)) : raw;
            inputs.Set(label, InputValue(label, text));
        }

        return inputs;
    }

    /// <summary>
    /// A value as JSON, sent exactly as written, when it is JSON (3, 1e400, true, [1,2], {"a":1}, "quoted"); else the text
    /// itself, as a string. JSON nested deeper than <see cref="MaxInputDepth"/> is refused, never sent as a string.
    /// </summary>
    private static object InputValue(string label, string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return text;
        }

        var reader = new System.Text.Json.Utf8JsonReader(Encoding.UTF8.GetBytes(text), new System.Text.Json.JsonReaderOptions { MaxDepth = MaxInputDepth });
        try
        {
            while (reader.Read())
            {
            }

            return new Newtonsoft.Json.Linq.JRaw(text.Trim());
        }
        catch (System.Text.Json.JsonException) when (reader.CurrentDepth >= MaxInputDepth - 1)
        {
            throw new CliUsageException($"--input {label} is JSON nested deeper than {MaxInputDepth} levels; it is not sent as text either.");
        }
        catch (System.Text.Json.JsonException)
        {
            return text;
        }
    }
}
