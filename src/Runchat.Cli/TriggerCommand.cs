using System.Linq;
using System;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Runchat.Cli.Sandbox;

namespace Runchat.Cli;

public sealed record TriggerArguments(
    string JobId,
    string? Message,
    string? Payload,
    string? ApiKey,
    string? BaseUrl,
    string? Timeout,
    bool Json,
    bool Sandbox,
    bool Verbose = false,
    bool AllowInsecureHttp = false)
{
    /// <summary><c>trigger</c> (an agent job, or with <see cref="Flow"/> a flow job), <c>run</c> (a flow) or <c>schema</c>.</summary>
    public string Operation { get; init; } = "trigger";

    /// <summary><c>trigger --flow</c>: the job is a flow job, triggered with GET.</summary>
    public bool Flow { get; init; }

    /// <summary><c>run --input LABEL=VALUE</c>, in order.</summary>
    public System.Collections.Generic.IReadOnlyList<string> Inputs { get; init; } = Array.Empty<string>();

    /// <summary><c>run --instance ID</c>.</summary>
    public string? Instance { get; init; }
}

/// <summary><c>runchat-job trigger</c>: one library call, its output, and the official exit codes.</summary>
public sealed class TriggerCommand
{
    private const string SandboxKey = "sandbox-key";

    private readonly CliConsole _console;

    public TriggerCommand(CliConsole console) => _console = console;

    public async Task<int> RunAsync(TriggerArguments arguments, CancellationToken cancellationToken)
    {
        try
        {
            return await RunCoreAsync(arguments, cancellationToken).ConfigureAwait(false);
        }
        catch (CliUsageException exception)
        {
            return await FailAsync(ExitCodes.Usage, exception.Message).ConfigureAwait(false);
        }
        catch (ArgumentException exception)
        {
            // The sentence is for a person at a shell, who never saw the C# parameter's name.
            return await FailAsync(ExitCodes.Usage, Runchat.Relay.Messages.WithoutParameter(exception)).ConfigureAwait(false);
        }
        catch (RunchatApiException exception) when (exception.StatusCode is 401 or 403)
        {
            return await FailAsync(ExitCodes.Authentication, FirstLine(exception.Message)).ConfigureAwait(false);
        }
        catch (RunchatApiException exception)
        {
            return await FailAsync(ExitCodes.RunOrApiError, FirstLine(exception.Message)).ConfigureAwait(false);
        }
        catch (TimeoutException exception)
        {
            return await FailAsync(ExitCodes.NetworkOrTimeout, exception.Message).ConfigureAwait(false);
        }
        catch (HttpRequestException exception)
        {
            // Only a failure to connect proves nothing ran; a connection dropped after the request left may
            // have started the run, and a person told "not reached" would run it again.
            return await FailAsync(ExitCodes.NetworkOrTimeout, RunchatRetry.IsSafeToResend(exception)
                ? "could not reach the Runchat API (nothing was sent): " + WithCauses(exception)
                : $"the request was sent; the run may have started: check the job's history before running it again ({WithCauses(exception)})").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return await FailAsync(ExitCodes.Interrupted, "interrupted; a run the server had already started may still be running.").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The message and its causes, in one line: "The SSL connection could not be established, see
    /// inner exception." says nothing by itself; the certificate's name mismatch or untrusted root is
    /// in the inner exception, which a person at a shell never sees otherwise.
    /// </summary>
    internal static string WithCauses(Exception exception)
    {
        var parts = new System.Collections.Generic.List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            var text = e.Message.Replace(", see inner exception", string.Empty, StringComparison.OrdinalIgnoreCase)
                .Replace(" See the inner exception for details.", string.Empty, StringComparison.OrdinalIgnoreCase).Trim().TrimEnd('.');
            if (text.Length > 0 && !parts.Exists(p => p.Contains(text, StringComparison.Ordinal)))
            {
                parts.Add(text);
            }
        }

        return string.Join(": ", parts) + ".";
    }

    private async Task<int> RunCoreAsync(TriggerArguments arguments, CancellationToken cancellationToken)
    {
        if (arguments.Message is not null && arguments.Payload is not null)
        {
            throw new CliUsageException("--message and --payload cannot be used together: a message is appended as text, a payload is forwarded as JSON.");
        }

        if (arguments.Flow && (arguments.Message is not null || arguments.Payload is not null))
        {
            throw new CliUsageException("--flow triggers a flow job as scheduled (GET): it takes no --message or --payload. To run a flow with inputs or a body, use: runchat-job run <runchat_id>.");
        }

        if (arguments.Operation == "run" && arguments.Payload is not null && arguments.Inputs.Count > 0)
        {
            throw new CliUsageException("--input and --payload cannot be used together: inputs are set by label, a payload is the Webhook node's whole body.");
        }

        var payload = arguments.Payload is null ? null : await ReadPayloadAsync(arguments.Payload, cancellationToken).ConfigureAwait(false);

        RunchatClientOptions options;
        try
        {
            options = RunchatClientOptions.FromEnvironment();
        }
        catch (InvalidOperationException exception)
        {
            throw new CliUsageException(exception.Message);
        }

        if (arguments.ApiKey is not null)
        {
            options.ApiKey = arguments.ApiKey;
        }

        if (arguments.BaseUrl is not null)
        {
            if (!Uri.TryCreate(arguments.BaseUrl, UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
            {
                throw new CliUsageException($"--base-url must be an absolute http or https URL such as https://runchat.com; got '{Runchat.Cli.Internal.UrlDisplay.Safe(arguments.BaseUrl)}'.");
            }

            options.BaseUrl = baseUrl;
        }

        if (arguments.AllowInsecureHttp)
        {
            options.AllowInsecureHttp = true;
        }
        else if (options.BaseUrl is { Scheme: "http", IsLoopback: false } insecure)
        {
            throw new CliUsageException(
                $"the base URL is plain http to '{insecure.Host}': the API key would cross the network unencrypted. Use https, or add --allow-insecure-http on a network you trust.");
        }

        if (arguments.Timeout is { } timeoutText)
        {
            options.Timeout = ParseTimeout(timeoutText);
        }

        if (arguments.Sandbox && payload is not null && payload.Length > SandboxServer.MaxRequestBytes)
        {
            // Said before sending: the sandbox would refuse it mid-upload, which reads as a network failure.
            throw new CliUsageException($"the payload is {payload.Length:N0} bytes; the sandbox accepts request bodies up to {SandboxServer.MaxRequestBytes:N0} bytes (the Runchat API documents no limit).");
        }

        await using var sandbox = arguments.Sandbox ? await SandboxServer.StartAsync(0, cancellationToken).ConfigureAwait(false) : null;
        if (sandbox is not null)
        {
            options.BaseUrl = sandbox.BaseUrl;
            options.ApiKey ??= SandboxKey;
        }

        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            return await FailAsync(ExitCodes.Authentication,
                $"no API key: pass --api-key or set {RunchatClientOptions.ApiKeyEnvironmentVariable} (or {RunchatClientOptions.ApiKeyAliasEnvironmentVariable}). Try --sandbox to run offline.").ConfigureAwait(false);
        }

        RunchatClient client;
        try
        {
            client = new RunchatClient(options);
        }
        catch (InvalidOperationException exception)
        {
            throw new CliUsageException(exception.Message);
        }

        using (client)
        {
            switch (arguments.Operation)
            {
                case "run":
                    return await RunFlowAsync(client, arguments, payload, cancellationToken).ConfigureAwait(false);
                case "schema":
                    return await ShowSchemaAsync(client, arguments, cancellationToken).ConfigureAwait(false);
                case "trigger" when arguments.Flow:
                    var job = await WithProgressAsync(client.TriggerFlowJobAsync(arguments.JobId, cancellationToken)).ConfigureAwait(false);
                    await WriteOutputsAsync(arguments.Json ? JsonConvert.SerializeObject(job, Formatting.Indented) : null, job.Data.Select(o => (o.Label ?? o.Id, o.Data))).ConfigureAwait(false);
                    return ExitCodes.Success;
            }

            var call = payload is not null ? client.TriggerAgentJobAsync(arguments.JobId, payload, cancellationToken)
                : arguments.Message is not null ? client.TriggerAgentJobAsync(arguments.JobId, arguments.Message, cancellationToken)
                : client.TriggerAgentJobAsync(arguments.JobId, cancellationToken);
            var started = System.Diagnostics.Stopwatch.StartNew();
            var response = await WithProgressAsync(call).ConfigureAwait(false);
            if (arguments.Verbose)
            {
                await _console.Error.WriteLineAsync(DescribeRun(response, started.Elapsed)).ConfigureAwait(false);
            }

            if (arguments.Json)
            {
                await _console.Out.WriteLineAsync(JsonConvert.SerializeObject(response, Formatting.Indented)).ConfigureAwait(false);
            }
            else if (response.IsSuccess)
            {
                if (response.FinalReply is { } reply)
                {
                    await _console.Out.WriteLineAsync(reply).ConfigureAwait(false);
                }
                else
                {
                    await _console.Error.WriteLineAsync("The run succeeded; the agent gave no text reply (use --json to see the transcript).").ConfigureAwait(false);
                }
            }

            if (!response.IsSuccess)
            {
                return await FailAsync(ExitCodes.RunOrApiError, new RunchatAgentRunException(response).Message).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }
    }

    /// <summary><c>run</c>: inputs by label, resolved through the flow's schema; or the payload for its Webhook node; or neither.</summary>
    private async Task<int> RunFlowAsync(RunchatClient client, TriggerArguments arguments, JobPayload? payload, CancellationToken cancellationToken)
    {
        FlowRunResponse run;
        if (payload is not null)
        {
            run = await WithProgressAsync(client.RunFlowAsync(arguments.JobId, payload, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        else
        {
            var inputs = FlowInputs.Create();
            if (arguments.Inputs.Count > 0)
            {
                // Labels are what a person sees in the editor; the API wants ids: the schema maps one to the other.
                inputs = FlowInputs.From(await client.GetFlowSchemaAsync(arguments.JobId, cancellationToken).ConfigureAwait(false));
                foreach (var input in arguments.Inputs)
                {
                    var equals = input.IndexOf('=');
                    if (equals <= 0)
                    {
                        throw new CliUsageException($"--input takes LABEL=VALUE (or LABEL=@file); got '{input}'.");
                    }

                    var raw = input.Substring(equals + 1);
                    var text = raw.StartsWith('@') ? System.Text.Encoding.UTF8.GetString(await CliInput.ReadAsync("--input " + input.Substring(0, equals), raw, _console, MaxInputBytes, cancellationToken).ConfigureAwait(false)) : raw;
                    inputs.Set(input.Substring(0, equals), InputValue(input.Substring(0, equals), text));
                }
            }

            run = await WithProgressAsync(client.RunFlowAsync(arguments.JobId, inputs, arguments.Instance, cancellationToken)).ConfigureAwait(false);
        }

        await WriteOutputsAsync(arguments.Json ? JsonConvert.SerializeObject(run, Formatting.Indented) : null, run.Outputs.Select(o => (o.Label ?? o.Id, o.Data))).ConfigureAwait(false);
        if (!arguments.Json && run.InstanceId is { } instance)
        {
            await _console.Error.WriteLineAsync($"instance {instance} (continue it with --instance {instance})").ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    /// <summary>The largest --input value read from a file.</summary>
    private const int MaxInputBytes = 30_000_000;

    /// <summary>The deepest JSON an --input value may nest.</summary>
    private const int MaxInputDepth = 256;

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

        var reader = new System.Text.Json.Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(text), new System.Text.Json.JsonReaderOptions { MaxDepth = MaxInputDepth });
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

    /// <summary><c>schema</c>: the flow's inputs and outputs, as a table or as JSON.</summary>
    private async Task<int> ShowSchemaAsync(RunchatClient client, TriggerArguments arguments, CancellationToken cancellationToken)
    {
        var schema = await client.GetFlowSchemaAsync(arguments.JobId, cancellationToken).ConfigureAwait(false);
        if (arguments.Json)
        {
            await _console.Out.WriteLineAsync(JsonConvert.SerializeObject(schema, Formatting.Indented)).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        var table = new System.Text.StringBuilder();
        table.AppendLine($"{schema.Name} ({arguments.JobId})");
        foreach (var (title, parameters) in new[] { ("inputs", schema.Inputs), ("outputs", schema.Outputs) })
        {
            table.AppendLine(title + ":");
            if (parameters.Count == 0)
            {
                table.AppendLine("  (none)");
            }

            var labelWidth = parameters.Select(p => (p.Label ?? string.Empty).Length).DefaultIfEmpty(0).Max();
            var typeWidth = parameters.Select(p => (p.Type ?? string.Empty).Length).DefaultIfEmpty(0).Max();
            foreach (var parameter in parameters)
            {
                table.AppendLine($"  {(parameter.Label ?? string.Empty).PadRight(labelWidth)}  {(parameter.Type ?? string.Empty).PadRight(typeWidth)}  {parameter.Id}{(string.IsNullOrWhiteSpace(parameter.Description) ? string.Empty : "  " + parameter.Description)}");
            }
        }

        await _console.Out.WriteAsync(table.ToString()).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    /// <summary>Each output as "Label: value" (one line per value), or the whole answer as JSON.</summary>
    private async Task WriteOutputsAsync(string? json, System.Collections.Generic.IEnumerable<(string? Label, Newtonsoft.Json.Linq.JArray Data)> outputs)
    {
        if (json is not null)
        {
            await _console.Out.WriteLineAsync(json).ConfigureAwait(false);
            return;
        }

        foreach (var (label, data) in outputs)
        {
            var values = data.Select(v => v.Type == Newtonsoft.Json.Linq.JTokenType.String ? (string?)v : v.ToString(Formatting.None));
            await _console.Out.WriteLineAsync($"{label}: {string.Join(", ", values)}").ConfigureAwait(false);
        }
    }

    /// <summary>--timeout: what RunchatClientOptions.Timeout accepts in configuration too (<see cref="RunchatClientOptions.TryParseTimeout"/>).</summary>
    internal static TimeSpan ParseTimeout(string text) =>
        RunchatClientOptions.TryParseTimeout(text, out var timeout)
            ? timeout
            : throw new CliUsageException($"--timeout takes a positive number of seconds (90, 1.5) or a time span (00:05:00), at most {RunchatClientOptions.MaxTimeout.TotalDays:0.#} days; got '{text}'.");

    /// <summary>The --verbose line: what the run cost, from its metadata (the names the sandbox and the API use).</summary>
    internal static string DescribeRun(AgentJobResponse response, TimeSpan elapsed)
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

    /// <summary>The largest --payload read from a file or standard input.</summary>
    private const int MaxPayloadBytes = 100 * 1024 * 1024;

    private async Task<JobPayload> ReadPayloadAsync(string source, CancellationToken cancellationToken) =>
        source.StartsWith('@')
            ? JobPayload.FromBytes(await CliInput.ReadAsync("--payload", source, _console, MaxPayloadBytes, cancellationToken).ConfigureAwait(false))
            : JobPayload.FromJson(source);

    // Elapsed time on stderr while the agent runs, only for a person watching a terminal.
    private async Task<T> WithProgressAsync<T>(Task<T> call)
    {
        if (!_console.IsErrorTerminal)
        {
            return await call.ConfigureAwait(false);
        }

        var watch = Stopwatch.StartNew();
        while (await Task.WhenAny(call, Task.Delay(1000)).ConfigureAwait(false) != call)
        {
            await _console.Error.WriteAsync($"\rWaiting for the agent… {watch.Elapsed.TotalSeconds:0}s ").ConfigureAwait(false);
        }

        if (watch.Elapsed >= TimeSpan.FromSeconds(1))
        {
            await _console.Error.WriteAsync("\r\u001b[K").ConfigureAwait(false);
        }

        return await call.ConfigureAwait(false);
    }

    private async Task<int> FailAsync(int exitCode, string message)
    {
        await _console.Error.WriteLineAsync("error: " + message).ConfigureAwait(false);
        return exitCode;
    }

    private static string FirstLine(string text)
    {
        var newline = text.IndexOf('\n');
        return newline < 0 ? text : text.Substring(0, newline);
    }
}
