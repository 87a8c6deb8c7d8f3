using System;
using System.Diagnostics;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Cli;

/// <summary>
/// A real <c>runchat-job</c> process, stopped by a real SIGTERM or SIGINT: the sandbox stops
/// (exit 0) and an interrupted trigger says the run may go on (exit 130), within 5 s.
/// </summary>
[TestFixture]
[Category("Cli")]
[Parallelizable(ParallelScope.All)]
[Platform(Exclude = "Win", Reason = "POSIX signals")]
[ProcessTest]
public class SignalTests
{
    private static Process Start(params string[] args) => ToolProcess.Start(args);

    private static Task<TimeSpan> ExitTimeAfter(Process process, string signal) => ToolProcess.StopWithAsync(process, signal);

    [TestCase("TERM")]
    [TestCase("INT")]
    public async Task TheSandboxStopsOnASignalWithExitCode0(string signal)
    {
        using var process = Start("sandbox", "--port", "0");
        var first = await process.StandardOutput.ReadLineAsync();
        Assert.That(first, Does.Contain("listening on http://127.0.0.1:"));

        var elapsed = await ExitTimeAfter(process, signal);

        TestContext.Out.WriteLine($"sandbox SIG{signal}: exit {process.ExitCode} after {elapsed.TotalMilliseconds:0} ms");
        Assert.That(process.ExitCode, Is.EqualTo(0));
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }

    [TestCase("TERM")]
    [TestCase("INT")]
    public async Task AnInterruptedTriggerExits130AndSaysTheRunMayGoOn(string signal)
    {
        // slow- jobs take 30 s in the sandbox: the signal arrives while the agent "runs" (the sandbox has the request).
        await using var sandbox = await Runchat.Cli.Sandbox.SandboxServer.StartAsync();
        using var process = Start("trigger", "slow-job", "--message", "hello", "--base-url", sandbox.BaseUrl.ToString(), "--api-key", "sandbox-key");
        var error = process.StandardError.ReadToEndAsync();
        await Eventually.HoldsAsync(() => sandbox.Requests.Count == 1, TimeSpan.FromSeconds(20), "the trigger reached the agent");

        var elapsed = await ExitTimeAfter(process, signal);

        TestContext.Out.WriteLine($"trigger SIG{signal}: exit {process.ExitCode} after {elapsed.TotalMilliseconds:0} ms");
        Assert.That(process.ExitCode, Is.EqualTo(130));
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(await error, Does.Contain("interrupted").And.Contain("may still be running"));
    }

    [TestCase("TERM")]
    [TestCase("INT")]
    public async Task RelayServeStopsOnASignalWithExitCode0(string signal)
    {
        var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "runchat-relay-signal-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        try
        {
            var config = System.IO.Path.Combine(directory, "relay.json");
            await System.IO.File.WriteAllTextAsync(config, "{\"Relay\":{\"Store\":\"sqlite:relay.db\",\"Routes\":[{\"Path\":\"/hooks/open\",\"JobId\":\"demo-agent\",\"Signature\":\"none\"}]}}");
            using var relay = await Relay.RelayProcess.StartAsync(config, "--sandbox");

            var (exitCode, elapsed) = await relay.StopWithAsync(signal);

            TestContext.Out.WriteLine($"relay serve SIG{signal}: exit {exitCode} after {elapsed.TotalMilliseconds:0} ms");
            Assert.That(exitCode, Is.EqualTo(0), relay.Output);
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        }
        finally
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
    }
}
