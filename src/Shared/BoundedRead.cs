using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

// Source shared at compile time (src/Shared/), never across assemblies at run time: each assembly
// that needs it compiles its own copy, in its own namespace, so a release of one package cannot
// break an installed other (no InternalsVisibleTo between shipped packages).
#if RUNCHAT_RELAY
namespace Runchat.Relay.Internal;
#elif RUNCHAT_CLI
namespace Runchat.Cli.Internal;
#else
namespace Runchat.Internal;
#endif

/// <summary>The one loop that reads a body to its end into one array, with a limit.</summary>
internal static class BoundedRead
{
    private const int InitialCapacity = 16 * 1024;

    /// <summary>
    /// Reads <paramref name="stream"/> to its end, keeping at most <paramref name="limit"/> bytes.
    /// </summary>
    /// <param name="stream">The body.</param>
    /// <param name="expectedLength">What the sender declared (Content-Length, a seekable stream's length), if anything.</param>
    /// <param name="trustExpectedLength">
    /// True to allocate the declared length at once (an exact-size array: a 10 MB answer is not copied
    /// while growing). False where the sender is not trusted: the buffer then grows as bytes arrive, so
    /// a connection that declares a megabyte and trickles bytes costs what it sent.
    /// </param>
    /// <param name="limit">The most bytes kept; at most <c>int.MaxValue - 64</c>.</param>
    /// <param name="countPastLimit">True to read on past the limit, discarding, to count the whole body; false to stop there.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>
    /// The buffer and how many of its bytes are the body (the first <paramref name="limit"/> when it is
    /// longer), and <c>Total</c>, the bytes read: more than <paramref name="limit"/> when the body is too long.
    /// </returns>
    public static async Task<(byte[] Buffer, int Length, long Total)> ReadAsync(
        Stream stream, long? expectedLength, bool trustExpectedLength, int limit, bool countPastLimit, CancellationToken cancellationToken)
    {
        var capacity = expectedLength is > 0 && trustExpectedLength
            ? Math.Min(expectedLength.Value, limit)
            : Math.Min(Math.Min(expectedLength ?? InitialCapacity, InitialCapacity), limit);
        var buffer = new byte[Math.Max(capacity, 1)];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                // Full: one byte tells whether the body ends here (no larger array, no trimming copy) or goes on.
                var probe = new byte[1];
                if (await stream.ReadAsync(probe, 0, 1, cancellationToken).ConfigureAwait(false) == 0)
                {
                    return (buffer, length, length);
                }

                if (length == limit)
                {
                    var total = length + 1L;
                    return (buffer, length, countPastLimit ? total + await CountAsync(stream, cancellationToken).ConfigureAwait(false) : total);
                }

                var grown = new byte[(int)Math.Min((long)buffer.Length * 2, limit)];
                Buffer.BlockCopy(buffer, 0, grown, 0, length);
                grown[length++] = probe[0];
                buffer = grown;
                continue;
            }

            var read = await stream.ReadAsync(buffer, length, buffer.Length - length, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return (buffer, length, length);
            }

            length += read;
        }
    }

    private static async Task<long> CountAsync(Stream stream, CancellationToken cancellationToken)
    {
        var scratch = new byte[81920];
        long count = 0;
        int read;
        while ((read = await stream.ReadAsync(scratch, 0, scratch.Length, cancellationToken).ConfigureAwait(false)) > 0)
        {
            count += read;
        }

        return count;
    }
}
