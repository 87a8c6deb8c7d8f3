using System;
using System.IO;

namespace Runchat.Cli;

/// <summary>The streams the tool talks to, so tests can run it in-process.</summary>
public sealed record CliConsole(TextWriter Out, TextWriter Error, Func<Stream> OpenInput, bool IsErrorTerminal)
{
    public static CliConsole System { get; } = new(Console.Out, Console.Error, Console.OpenStandardInput, !Console.IsErrorRedirected);
}
