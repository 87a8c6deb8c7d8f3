using System;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Cli.Internal;

namespace Runchat.Cli;

/// <summary>
/// What a command reads from an argument that takes <c>TEXT|@file|@-</c>: the text itself, a file, or standard
/// input; bounded, so <c>@/dev/zero</c> is an error and not the end of the machine's memory. A file that is
/// missing, a folder, or unreadable is a usage error (exit 2) in one line.
/// </summary>
internal static class CliInput
{
    /// <exception cref="CliUsageException">The file is missing or unreadable, or what was read is larger than <paramref name="limit"/>.</exception>
    public static async Task<byte[]> ReadAsync(string option, string source, CliConsole console, int limit, CancellationToken cancellationToken)
    {
        if (source == "@-")
        {
            using var input = console.OpenInput();
            return await ReadBoundedAsync(option, "standard input", input, limit, cancellationToken).ConfigureAwait(false);
        }

        if (!source.StartsWith('@'))
        {
            var text = Encoding.UTF8.GetBytes(source);
            return text.Length <= limit ? text : throw new CliUsageException($"{option} is larger than {limit:N0} bytes.");
        }

        var path = source.Substring(1);
        if (Directory.Exists(path))
        {
            throw new CliUsageException($"{option} @{path} is a directory; give a file, such as @payload.json.");
        }

        if (!File.Exists(path))
        {
            throw new CliUsageException($"{option} file '{path}' does not exist.");
        }

        try
        {
            using var file = File.OpenRead(path);
            return await ReadBoundedAsync(option, $"file '{path}'", file, limit, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new CliUsageException($"{option} file '{path}' cannot be read: {exception.Message}");
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(string option, string what, Stream stream, int limit, CancellationToken cancellationToken)
    {
        var (buffer, length, total) = await BoundedRead.ReadAsync(stream, null, trustExpectedLength: false, limit, countPastLimit: false, cancellationToken).ConfigureAwait(false);
        if (total > limit)
        {
            throw new CliUsageException($"{option}: the {what} is larger than {limit:N0} bytes.");
        }

        return length == buffer.Length ? buffer : buffer.AsSpan(0, length).ToArray();
    }
}

/// <summary>Bad usage, said in one line: the command exits 2.</summary>
internal sealed class CliUsageException : Exception
{
    public CliUsageException(string message)
        : base(message)
    {
    }
}
