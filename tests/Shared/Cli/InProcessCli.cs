using System;
using System.IO;
using System.Threading.Tasks;
using Runchat.Cli;

namespace Runchat.Tests.Cli;

/// <summary>Runs <c>runchat-job</c> in this process (in Cli/, which the netstandard test project does not compile), with its output, errors and standard input in memory.</summary>
internal static class InProcessCli
{
    /// <summary>The exit code and what the command wrote to standard output and standard error.</summary>
    /// <param name="stdin">What standard input holds (empty when null).</param>
    /// <param name="isErrorTerminal">Whether standard error claims to be a terminal.</param>
    public static async Task<(int ExitCode, string Out, string Error)> RunAsync(byte[]? stdin, bool isErrorTerminal, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new CliConsole(output, error, () => new MemoryStream(stdin ?? Array.Empty<byte>()), isErrorTerminal);
        var exitCode = await RunchatCli.InvokeAsync(args, console);
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <inheritdoc cref="RunAsync(byte[], bool, string[])"/>
    public static Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args) => RunAsync(null, isErrorTerminal: false, args);
}
