using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Tests.TestSupport;

/// <summary>
/// A minimal HTTP/1.1 peer on a raw socket, for what WireMock cannot show or do: the exact
/// request line as sent, and a connection dropped after the request was read.
/// </summary>
public sealed class RawHttpPeer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<RawRequest, string?> _respond;
    private readonly TimeSpan _delay;
    private readonly TimeSpan _holdOpen;
    private int _connections;

    // Accepted connections whose request is not yet read in full (nor closed by the client).
    private int _unread;

    /// <param name="respond">The raw response to write for a request, or null to close the connection without answering.</param>
    /// <param name="delay">How long to wait after reading a request before answering (an agent that takes its time).</param>
    /// <param name="holdOpen">How long to keep the connection open after writing the response (a body that stalls).</param>
    /// <param name="port">The loopback port to listen on; 0 picks a free one.</param>
    public RawHttpPeer(Func<RawRequest, string?> respond, TimeSpan delay = default, TimeSpan holdOpen = default, int port = 0)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        _respond = respond;
        _delay = delay;
        _holdOpen = holdOpen;
        _listener.Start();
        _ = Task.Run(AcceptLoopAsync);
    }

    public Uri BaseUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/api/v1/");

    public int Connections => Volatile.Read(ref _connections);

    public ConcurrentQueue<RawRequest> Requests { get; } = new();

    /// <summary>
    /// The requests, once every connection a client opened is read to its end: none waiting in the listen backlog,
    /// none accepted and mid-request (seen so on two looks 10 ms apart). After a call has returned, every copy it
    /// sent is counted here, however slow the machine: a count that never depends on how long a test sleeps.
    /// </summary>
    public async Task<IReadOnlyCollection<RawRequest>> SettledRequestsAsync()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        for (var quiet = 0; quiet < 2; quiet = _listener.Pending() || Volatile.Read(ref _unread) > 0 ? 0 : quiet + 1)
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"the peer still had a connection unread after 10 s ({Volatile.Read(ref _unread)} accepted and unread).");
            }

            await Task.Delay(10);
        }

        return Requests.ToArray();
    }

    /// <summary>Headers promising a body of <paramref name="declaredLength"/> bytes, and only the start of it.</summary>
    public static string Truncated(string start, int declaredLength) =>
        $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {declaredLength}\r\n\r\n{start}";

    public static string Ok(string json) =>
        $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(json)}\r\nConnection: close\r\n\r\n{json}";

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient socket;
            try
            {
                socket = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref _unread);
            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(TcpClient socket)
    {
        using (socket)
        {
            var stream = socket.GetStream();
            RawRequest? request;
            try
            {
                request = await ReadRequestAsync(stream);
                if (request is not null)
                {
                    Requests.Enqueue(request);
                }
            }
            catch (IOException)
            {
                request = null; // the client reset the connection mid-request
            }
            finally
            {
                Interlocked.Decrement(ref _unread);
            }

            if (request is null)
            {
                return;
            }

            if (_delay > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(_delay, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            var response = _respond(request);
            if (response is null)
            {
                // Read the whole request, then hang up without a byte of response.
                socket.Client.LingerState = new LingerOption(true, 0);
                return;
            }

            var bytes = Encoding.UTF8.GetBytes(response);
            await stream.WriteAsync(bytes);
            await stream.FlushAsync();
            if (_holdOpen > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(_holdOpen, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    private static async Task<RawRequest?> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int headEnd;
        while ((headEnd = IndexOfHeadEnd(buffer)) < 0)
        {
            var read = await stream.ReadAsync(chunk);
            if (read == 0)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        var all = buffer.ToArray();
        var head = Encoding.ASCII.GetString(all, 0, headEnd);
        var lines = head.Split("\r\n");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < lines.Length; i++)
        {
            var colon = lines[i].IndexOf(':');
            if (colon > 0)
            {
                headers[lines[i][..colon].Trim()] = lines[i][(colon + 1)..].Trim();
            }
        }

        var length = headers.TryGetValue("Content-Length", out var value) ? int.Parse(value) : 0;
        var body = new MemoryStream();
        body.Write(all, headEnd + 4, all.Length - headEnd - 4);
        while (body.Length < length)
        {
            var read = await stream.ReadAsync(chunk);
            if (read == 0)
            {
                break;
            }

            body.Write(chunk, 0, read);
        }

        return new RawRequest(lines[0], headers, body.ToArray());
    }

    private static int IndexOfHeadEnd(MemoryStream buffer)
    {
        var bytes = buffer.GetBuffer();
        for (var i = 0; i + 3 < buffer.Length; i++)
        {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}

public sealed record RawRequest(string RequestLine, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Target => RequestLine.Split(' ')[1];
}
