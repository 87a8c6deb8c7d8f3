using System.Net;
using System.Net.Sockets;

namespace Runchat.Tests.TestSupport;

/// <summary>Loopback ports for tests.</summary>
public static class Ports
{
    /// <summary>A loopback port nothing listens on right now: for a server to start on, or for "connection refused".</summary>
    public static int Free()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
