using System;
using System.Diagnostics;
using System.Text;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary><c>runchat-job relay serve</c> as a real process on a real port; killable with SIGKILL.</summary>
internal sealed class RelayProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private RelayProcess(Process process, Uri url, StringBuilder output)
    {
        _process = process;
        Url = url;
        _output = output;
    }

    public Uri Url { get; }

    /// <summary>The relay's own process id (the tool runs in the dotnet host itself).</summary>
    public int Id => _process.Id;

    /// <summary>The most memory the relay has held so far (Linux's VmHWM: its peak resident set), in bytes.</summary>
    public long PeakWorkingSet => ReadStatus("VmHWM:");

    /// <summary>The memory the relay holds now (Linux's VmRSS), in bytes.</summary>
    public long WorkingSet => ReadStatus("VmRSS:");

    /// <summary>
    /// Starts <see cref="PeakWorkingSet"/> again from what the relay holds now (Linux's <c>clear_refs</c> 5), so
    /// that a test measures its own peak rather than the largest of every test before it.
    /// </summary>
    public void ResetPeakWorkingSet() => System.IO.File.WriteAllText($"/proc/{_process.Id}/clear_refs", "5");

    public bool HasExited => _process.HasExited;

    private long ReadStatus(string field)
    {
        foreach (var line in System.IO.File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line.Substring(field.Length).Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"no {field} in /proc/{_process.Id}/status");
    }

    /// <summary>What it printed so far (stdout and stderr), for assertions and failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts it and waits until it says it is listening.</summary>
    public static Task<RelayProcess> StartAsync(string config, params string[] extra) => StartAsync(config, null, null, extra);

    /// <summary>Starts it with extra environment variables (a heap limit) and an optional file-size limit (KiB).</summary>
    public static async Task<RelayProcess> StartAsync(string config, System.Collections.Generic.IDictionary<string, string>? environment, int? fileSizeLimitKiB, params string[] extra)
    {
        var port = Ports.Free();
        var process = ToolProcess.Start(environment, fileSizeLimitKiB, ["relay", "serve", "--config", config, "--urls", $"http://127.0.0.1:{port}", .. extra]);
        var output = new StringBuilder();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Append(string? line)
        {
            if (line is null)
            {
                listening.TrySetException(new InvalidOperationException("relay serve exited before listening"));
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            if (line.Contains("listening", StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        }

        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Append(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception exception)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit();
            Assert.Fail($"relay serve did not start ({exception.Message}): {output}");
        }

        return new RelayProcess(process, new Uri($"http://127.0.0.1:{port}"), output);
    }

    /// <summary>Sends <paramref name="signal"/> (TERM, INT) and waits up to 10 s for the exit.</summary>
    public async Task<(int ExitCode, TimeSpan Elapsed)> StopWithAsync(string signal)
    {
        var elapsed = await ToolProcess.StopWithAsync(_process, signal);
        return (_process.ExitCode, elapsed);
    }

    /// <summary>Sends <paramref name="signal"/> (STOP, CONT) and returns at once.</summary>
    public void Signal(string signal) => ToolProcess.Signal(_process, signal);

    public void Kill()
    {
        ToolProcess.Signal(_process, "KILL");
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
