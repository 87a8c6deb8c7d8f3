using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace Runchat.Tests.TestSupport;

/// <summary>Loopback ports for servers the tests start (a relay process, the sandbox) or for "connection refused".</summary>
/// <remarks>
/// Never from the kernel's ephemeral range (32768–60999 on Linux): a port found free there can be taken a moment
/// later by any outgoing connection (a test's HTTP client, Npgsql), and a server started on it fails with "address
/// already in use". These come from 10000–32767, each process starting at its own random point and moving on, and
/// each is checked free by binding it.
/// </remarks>
public static class Ports
{
    private const int Low = 10_000;
    private const int High = 32_767;
    private static int _next = Low + System.Random.Shared.Next(High - Low);

    /// <summary>A loopback port nothing listens on right now, outside the ephemeral range.</summary>
    public static int Free()
    {
        for (var tries = 0; tries < 1000; tries++)
        {
            var port = Low + ((Interlocked.Increment(ref _next) - Low) % (High - Low));
            var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: the next one.
            }
            finally
            {
                listener.Stop();
            }
        }

        throw new System.InvalidOperationException("no free loopback port between 10000 and 32767");
    }
}
