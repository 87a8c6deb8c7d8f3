using System.Diagnostics;
using System.IO;
using NUnit.Framework;

namespace Runchat.Tests.TestSupport;

/// <summary>The built <c>runchat-job</c> as a real process, and real POSIX signals for it.</summary>
public static class ToolProcess
{
    private static readonly string Tool = Path.Combine(TestContext.CurrentContext.TestDirectory, "runchat-job.dll");

    /// <summary>Starts <c>runchat-job</c> with these arguments, its output redirected.</summary>
    public static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo(Repository.DotNet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Tool);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    /// <summary>Sends a signal by name (TERM, INT, KILL) with kill(1).</summary>
    public static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {process.Id}")!;
        kill.WaitForExit();
        Assert.That(kill.ExitCode, Is.EqualTo(0), "kill -" + signal);
    }
}
