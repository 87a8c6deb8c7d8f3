using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Runchat.Cli.Sandbox;

namespace Runchat.Cli.Api;

/// <summary>
/// What the API verbs (<c>trigger</c>, <c>run</c>, <c>schema</c>) share: the one place a failure becomes a line on
/// stderr and an exit code, the client (or the sandbox) they call, the progress line, and how outputs are printed.
/// </summary>
internal sealed class ApiRunner
{
    private const string SandboxKey = "sandbox-key";

    /// <summary>The largest --payload read from a file or standard input.</summary>
    private const int MaxPayloadBytes = 100 * 1024 * 1024;

    public ApiRunner(CliConsole console) => Console = console;

    public CliConsole Console { get; }

    /// <summary>Runs a verb, mapping every failure it can meet to its exit code and one line.</summary>
    public async Task<int> RunAsync(Func<Task<int>> verb, CancellationToken cancellationToken)
    {
        try
        {
            return await verb().ConfigureAwait(false);
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

    /// <summary>Calls <paramref name="use"/> with a client for <paramref name="settings"/>: against a sandbox started for it with <c>--sandbox</c>.</summary>
    public async Task<int> WithClientAsync(ApiSettings settings, Func<RunchatClient, Task<int>> use, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions();
        await using var sandbox = settings.Sandbox ? await SandboxServer.StartAsync(0, cancellationToken).ConfigureAwait(false) : null;
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
            return await use(client).ConfigureAwait(false);
        }
    }

    /// <summary>--payload: inline JSON, @file or @- (bounded).</summary>
    public async Task<JobPayload?> ReadPayloadAsync(string? source, CancellationToken cancellationToken) =>
        source is null ? null
        : source.StartsWith('@') ? JobPayload.FromBytes(await CliInput.ReadAsync("--payload", source, Console, MaxPayloadBytes, cancellationToken).ConfigureAwait(false))
        : JobPayload.FromJson(source);

    /// <summary>Elapsed time on stderr while the agent runs, only for a person watching a terminal.</summary>
    public async Task<T> WithProgressAsync<T>(Task<T> call)
    {
        if (!Console.IsErrorTerminal)
        {
            return await call.ConfigureAwait(false);
        }

        var watch = Stopwatch.StartNew();
        while (await Task.WhenAny(call, Task.Delay(1000)).ConfigureAwait(false) != call)
        {
            await Console.Error.WriteAsync($"\rWaiting for the agent… {watch.Elapsed.TotalSeconds:0}s ").ConfigureAwait(false);
        }

        if (watch.Elapsed >= TimeSpan.FromSeconds(1))
        {
            await Console.Error.WriteAsync("\r\u001b[K").ConfigureAwait(false);
        }

        return await call.ConfigureAwait(false);
    }

    /// <summary>The whole answer as indented JSON.</summary>
    public Task WriteJsonAsync(object value) => Console.Out.WriteLineAsync(JsonConvert.SerializeObject(value, Formatting.Indented));

    /// <summary>Each output as "Label: value" (one line per value), or the whole answer as JSON.</summary>
    public async Task WriteOutputsAsync(object answer, bool json, IEnumerable<(string? Label, JArray Data)> outputs)
    {
        if (json)
        {
            await WriteJsonAsync(answer).ConfigureAwait(false);
            return;
        }

        foreach (var (label, data) in outputs)
        {
            var values = data.Select(v => v.Type == JTokenType.String ? (string?)v : v.ToString(Formatting.None));
            await Console.Out.WriteLineAsync($"{label}: {string.Join(", ", values)}").ConfigureAwait(false);
        }
    }

    public async Task<int> FailAsync(int exitCode, string message)
    {
        await Console.Error.WriteLineAsync("error: " + message).ConfigureAwait(false);
        return exitCode;
    }

    /// <summary>
    /// The message and its causes, in one line: "The SSL connection could not be established, see
    /// inner exception." says nothing by itself; the certificate's name mismatch or untrusted root is
    /// in the inner exception, which a person at a shell never sees otherwise.
    /// </summary>
    internal static string WithCauses(Exception exception)
    {
        var parts = new List<string>();
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

    private static string FirstLine(string text)
    {
        var newline = text.IndexOf('\n');
        return newline < 0 ? text : text.Substring(0, newline);
    }
}
