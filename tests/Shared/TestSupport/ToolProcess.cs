using System.Diagnostics;
using System.IO;
using NUnit.Framework;

namespace Runchat.Tests.TestSupport;

/// <summary>The built <c>runchat-job</c> as a real process, and real POSIX signals for it.</summary>
public static class ToolProcess
{
    private static readonly string Tool = Path.Combine(TestContext.CurrentContext.TestDirectory, "runchat-job.dll");

    /// <summary>Starts <c>runchat-job</c> with these arguments, its output redirected.</summary>
    public static Process Start(params string[] args) => Start(null, null, args);

    /// <summary>
    /// Starts <c>runchat-job</c> with extra environment variables, and optionally under a file-size
    /// limit (<c>ulimit -f</c>, in KiB, set by bash before it execs the tool).
    /// </summary>
    public static Process Start(System.Collections.Generic.IDictionary<string, string>? environment, int? fileSizeLimitKiB, params string[] args)
    {
        ProcessStartInfo start;
        if (fileSizeLimitKiB is { } limit)
        {
            start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"ulimit -f {limit} && exec \"$0\" \"$@\"");
            start.ArgumentList.Add(Repository.DotNet);
        }
        else
        {
            start = new ProcessStartInfo(Repository.DotNet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        }

        start.ArgumentList.Add(Tool);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new System.Collections.Generic.Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }

    /// <summary>Sends <paramref name="signal"/> and waits up to 10 s for the exit; fails the test (killing the process) if it ignores it.</summary>
    /// <returns>How long the exit took after the signal.</returns>
    public static async System.Threading.Tasks.Task<System.TimeSpan> StopWithAsync(Process process, string signal)
    {
        var watch = Stopwatch.StartNew();
        Signal(process, signal);
        var exited = process.WaitForExitAsync();
        if (await System.Threading.Tasks.Task.WhenAny(exited, System.Threading.Tasks.Task.Delay(System.TimeSpan.FromSeconds(10))) != exited)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"runchat-job ignored SIG{signal}");
        }

        return watch.Elapsed;
    }

    /// <summary>Sends a signal by name (TERM, INT, KILL) with kill(1).</summary>
    public static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {process.Id}")!;
        kill.WaitForExit();
        Assert.That(kill.ExitCode, Is.EqualTo(0), "kill -" + signal);
    }
}
