using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Transport;

/// <summary>
/// At most one send per attempt the library's retry policy authorized, whatever the application
/// puts above the client: .NET Aspire's ServiceDefaults (a standard resilience or hedging handler
/// on every client), the same handlers on the Runchat builder itself, a handler of its own that
/// re-sends, and the runtime's own re-send of a request without content.
/// </summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class NeverTwiceTests : WireMockTest
{
    private const string Refused = "refused to send this request again";

    // What .NET Aspire's ServiceDefaults do to every HttpClient of the application.
    private static void AspireResilience(IServiceCollection services) =>
        services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler());

    // The standard handler cuts attempts at 10 s; 1 s keeps the slow-agent tests short.
    private static void OneSecondAttempts(HttpStandardResilienceOptions options)
    {
        options.AttemptTimeout.Timeout = TimeSpan.FromSeconds(1);
        options.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(2);
    }

    private static void AspireHedging(IServiceCollection services) =>
        services.ConfigureHttpClientDefaults(http => http.AddStandardHedgingHandler());

    private IRunchatClient Build(Uri baseUrl, Action<IServiceCollection>? defaults = null, Action<IHttpClientBuilder>? onRunchat = null)
    {
        var services = new ServiceCollection();
        defaults?.Invoke(services);
        var builder = services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = baseUrl; o.Timeout = TimeSpan.FromSeconds(30); });
        onRunchat?.Invoke(builder);
        return Track(services.BuildServiceProvider()).GetRequiredService<IRunchatClient>();
    }

    private IRunchatClient BuildForWireMock(Action<IServiceCollection>? defaults = null, Action<IHttpClientBuilder>? onRunchat = null) =>
        Build(new Uri(Server.Url!), defaults, onRunchat);

    // ---- The flow job's GET starts a run too: no "GET is safe" rule anywhere in the chain ----

    [Test]
    public async Task AFlowJobsGetIsSentOnceOnA500EvenUnderAspireDefaults()
    {
        RespondWith(500, "{\"error\":\"boom\"}");
        var client = BuildForWireMock(AspireResilience);

        var exception = await Caught(client.TriggerFlowJobAsync("flow-job"));

        Assert.That(((RunchatApiException)exception!).StatusCode, Is.EqualTo(500));
        Assert.That(Requests, Has.Count.EqualTo(1));
        Assert.That(Requests[0].Method, Is.EqualTo("GET"));
    }

    [Test]
    public async Task AFlowJobsGetDroppedAfterItWasReadIsSentOnceEvenUnderAspireDefaults()
    {
        using var peer = new RawHttpPeer(_ => null);
        var client = Build(peer.BaseUrl, AspireResilience);

        var exception = await Caught(client.TriggerFlowJobAsync("flow-job"));

        Assert.That(exception, Is.InstanceOf<HttpRequestException>(), exception?.ToString());
        Assert.That(await peer.SettledRequestsAsync(), Has.Count.EqualTo(1), "neither a resilience handler nor the runtime's own re-send of a body-less request sent it again");
        Assert.That(peer.Requests.TryPeek(out var request) && request.RequestLine.StartsWith("GET /api/v1/job/flow-job ", StringComparison.Ordinal), Is.True);
    }

    [Test]
    public async Task AFlowJobsGetThatStallsPastTheDeadlineIsSentOnce()
    {
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok("{}"), delay: TimeSpan.FromSeconds(3));
        var client = Build(peer.BaseUrl, services => services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler(OneSecondAttempts)), onRunchat: b => b.Services.Configure<RunchatClientOptions>(o => o.Timeout = TimeSpan.FromMilliseconds(800)));

        var exception = await Caught(client.TriggerFlowJobAsync("flow-job"));

        Assert.That(exception, Is.InstanceOf<TimeoutException>(), exception?.ToString());
        Assert.That(await peer.SettledRequestsAsync(), Has.Count.EqualTo(1));
    }

    // ---- .NET Aspire's ServiceDefaults: ConfigureHttpClientDefaults(AddStandardResilienceHandler) ----

    [Test]
    public async Task UnderAspireDefaultsA500ReachesTheServerOnceAndIsReportedAsThe500()
    {
        RespondWith(500, "{\"error\":\"boom\"}");
        var client = BuildForWireMock(AspireResilience);

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "hi"));

        Assert.That(exception, Is.InstanceOf<RunchatApiException>());
        Assert.That(((RunchatApiException)exception!).StatusCode, Is.EqualTo(500));
        Assert.That(exception.Message, Does.Contain("not retried"));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task UnderAspireDefaultsAConnectionDroppedAfterTheRequestWasReadReachesTheServerOnce()
    {
        using var peer = new RawHttpPeer(_ => null);
        var client = Build(peer.BaseUrl, AspireResilience);

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "hi"));

        Assert.That(exception, Is.InstanceOf<HttpRequestException>());
        Assert.That(await peer.SettledRequestsAsync(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task UnderAspireDefaultsAnAgentSlowerThanTheStandardAttemptTimeoutRunsOnceAndItsAnswerArrives()
    {
        // The agent takes 2.5 s, longer than the (shortened) attempt timeout.
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success("slow but done")), delay: TimeSpan.FromSeconds(2.5));
        var client = Build(peer.BaseUrl, services => services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler(OneSecondAttempts)));

        var run = await client.TriggerAgentJobAsync("demo-agent", "hi");

        Assert.That(run.FinalReply, Is.EqualTo("slow but done"));
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task UnderAspireDefaultsA429IsRetriedOnlyByTheLibrarysPolicy()
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost()).InScenario("busy").WillSetStateTo("free")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "0"));
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost()).InScenario("busy").WhenStateIs("free")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));
        var client = BuildForWireMock(AspireResilience);

        var run = await client.TriggerAgentJobAsync("demo-agent", "hi");

        Assert.That(run.IsSuccess, Is.True);
        Assert.That(Requests, Has.Count.EqualTo(2), "the 429, then the one retry the library's policy authorized");
    }

    [Test]
    public async Task UnderAspireHedgingDefaultsASlowAgentRunsOnce()
    {
        // The standard hedging handler sends a second copy after 2 s without an answer.
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success("one run")), delay: TimeSpan.FromSeconds(3));
        var client = Build(peer.BaseUrl, AspireHedging);

        var run = await client.TriggerAgentJobAsync("demo-agent", "hi");

        Assert.That(run.FinalReply, Is.EqualTo("one run"));
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task UnderAspireHedgingDefaultsA500ReachesTheServerOnce()
    {
        RespondWith(500, "{\"error\":\"boom\"}");
        var client = BuildForWireMock(AspireHedging);

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That((exception as RunchatApiException)?.StatusCode, Is.EqualTo(500));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    // ---- The same handlers added on the Runchat builder itself: they stay, and the guard refuses their second send ----

    [Test]
    public async Task AStandardResilienceHandlerOnTheRunchatBuilderCannotResendA500()
    {
        RespondWith(500, "{\"error\":\"boom\"}");
        var client = BuildForWireMock(onRunchat: b => b.AddStandardResilienceHandler());

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "hi"));

        Assert.That(exception, Is.InstanceOf<InvalidOperationException>());
        Assert.That(exception!.Message, Does.Contain(Refused).And.Contain("answered 500").And.Contain("Nothing was sent again"));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AStandardResilienceHandlerOnTheRunchatBuilderCannotResendADroppedConnection()
    {
        using var peer = new RawHttpPeer(_ => null);
        var client = Build(peer.BaseUrl, onRunchat: b => b.AddStandardResilienceHandler());

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "hi"));

        Assert.That(exception!.Message, Does.Contain(Refused).And.Contain("HttpRequestException"));
        Assert.That(await peer.SettledRequestsAsync(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AStandardResilienceHandlerOnTheRunchatBuilderCannotRestartASlowAgent()
    {
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()), delay: TimeSpan.FromSeconds(2.5));
        var client = Build(peer.BaseUrl, onRunchat: b => b.AddStandardResilienceHandler(OneSecondAttempts));

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "hi"));

        Assert.That(exception!.Message, Does.Contain(Refused).And.Contain("cut off"));
        Assert.That(await peer.SettledRequestsAsync(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AStandardResilienceHandlerOnTheRunchatBuilderCannotResendA429ThatTheLibraryDidNotRetry()
    {
        RespondWith(429, "{\"error\":\"slow down\"}");
        var client = BuildForWireMock(onRunchat: b => b.AddStandardResilienceHandler());

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "hi"));

        Assert.That(exception!.Message, Does.Contain(Refused).And.Contain("answered 429"));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AHedgingHandlerOnTheRunchatBuilderCannotSendASecondCopy()
    {
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()), delay: TimeSpan.FromSeconds(3));
        var client = Build(peer.BaseUrl, onRunchat: b => b.AddStandardHedgingHandler());

        // The hedge fires after 2 s, while the first send waits for its answer: the guard refuses it, and the hedging
        // handler takes that refusal as the outcome. The caller is told the agent may have run, never a silent copy.
        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "hi"));

        Assert.That(exception, Is.InstanceOf<InvalidOperationException>());
        Assert.That(exception!.Message, Does.Contain(Refused).And.Contain("still waiting for its answer").And.Contain("the agent may have run"));
        Assert.That(await peer.SettledRequestsAsync(), Has.Count.EqualTo(1));
    }

    // ---- Any handler, not only Polly's ----

    [Test]
    public async Task AHandlerOfTheApplicationsThatResendsIsRefusedAtTheSecondSend()
    {
        RespondWith(502, "<html>Bad gateway</html>", "text/html");
        var client = BuildForWireMock(onRunchat: b => b.AddHttpMessageHandler(() => new ResendOnceHandler()));

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception, Is.InstanceOf<InvalidOperationException>());
        Assert.That(exception!.Message, Does.Contain(Refused).And.Contain("answered 502").And.Not.Contain(ApiKey));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AHandlerThatSendsARequestOfItsOwnMakingIsRefusedAndNothingIsSent()
    {
        RespondWithSuccess();
        var client = BuildForWireMock(onRunchat: b => b.AddHttpMessageHandler(() => new ReplaceRequestHandler()));

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception, Is.InstanceOf<InvalidOperationException>());
        Assert.That(exception!.Message, Does.Contain("without passing through the Runchat client"));
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public async Task TheLibrarysOwnRetryOfAFailureToConnectIsAuthorized()
    {
        // Nothing listens on the first port; the retry policy retries a failure to connect, and the guard lets it through.
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()));
        var refused = new Uri($"http://127.0.0.1:{Ports.Free()}/api/v1/");
        var client = Build(refused, onRunchat: b => b.AddHttpMessageHandler(() => new RedirectToPortOnSecondAttempt(peer.BaseUrl)));

        var run = await client.TriggerAgentJobAsync("demo-agent");

        Assert.That(run.IsSuccess, Is.True);
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task TheSettledCountIncludesACopyStillOnItsWay()
    {
        // The count the tests above rely on: a second copy whose connection is open and whose bytes are late is waited for, not missed.
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok("{}"));
        var request = Encoding.ASCII.GetBytes("POST /api/v1/job/demo-agent HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
        using var first = new TcpClient();
        await first.ConnectAsync(IPAddress.Loopback, peer.BaseUrl.Port);
        await first.GetStream().WriteAsync(request);
        using var late = new TcpClient();
        await late.ConnectAsync(IPAddress.Loopback, peer.BaseUrl.Port);
        await late.GetStream().WriteAsync(request.AsMemory(0, 20));
        var rest = Task.Run(async () =>
        {
            await Task.Delay(300); // the late copy's remaining bytes
            await late.GetStream().WriteAsync(request.AsMemory(20));
        });

        var settled = await peer.SettledRequestsAsync();
        await rest;

        Assert.That(settled, Has.Count.EqualTo(2));
    }

    // ---- The runtime's own re-send ----

    [Test]
    public async Task TheNoBodyTriggerIsNotResentByTheRuntimeWhenAKeptAliveConnectionClosesAfterReadingIt()
    {
        using var peer = new KeepAlivePeer();
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = peer.BaseUrl, MaxRetries = 0 });

        var first = await client.TriggerAgentJobAsync("demo-agent");
        var second = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(first.IsSuccess, Is.True);
        Assert.That(second, Is.InstanceOf<HttpRequestException>(), "the second call ends as a dropped connection, not a silent second run");
        Assert.That(await peer.SettledRequestsAsync(), Has.Count.EqualTo(2), "call 1, and call 2 read in full by the server; no third, re-sent copy");
        Assert.That(peer.Connections, Is.EqualTo(1));
        foreach (var head in peer.Requests)
        {
            Assert.That(head, Does.Contain("Content-Length: 0\r\n").IgnoreCase);
            Assert.That(head, Does.Not.Contain("Content-Type").IgnoreCase);
        }
    }

    /// <summary>Sends the request, and whatever the answer, sends it once more (a hand-written retry).</summary>
    private sealed class ResendOnceHandler : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            (await base.SendAsync(request, cancellationToken)).Dispose();
            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Builds a new request from the old one, without its options (a careless clone).</summary>
    private sealed class ReplaceRequestHandler : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            base.SendAsync(new HttpRequestMessage(request.Method, request.RequestUri) { Content = request.Content }, cancellationToken);
    }

    /// <summary>The first attempt goes to a closed port (a failure to connect); the retry goes to the peer.</summary>
    private sealed class RedirectToPortOnSecondAttempt : DelegatingHandler
    {
        private readonly Uri _target;
        private int _attempts;

        public RedirectToPortOnSecondAttempt(Uri target) => _target = target;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _attempts) > 1)
            {
                request.RequestUri = new Uri(_target, "job/demo-agent");
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>
    /// Answers the first request on a connection and keeps it alive; reads the second request on it
    /// in full and closes without a byte of answer. Any later connection is answered normally.
    /// </summary>
    private sealed class KeepAlivePeer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private int _connections;

        // Connections accepted and not yet read to their first request's end, and later requests begun and not yet read in full.
        private int _unread;

        public KeepAlivePeer()
        {
            _listener.Start();
            _ = Task.Run(AcceptAsync);
        }

        public Uri BaseUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/api/v1/");

        public ConcurrentQueue<string> Requests { get; } = new();

        public int Connections => Volatile.Read(ref _connections);

        /// <summary>The requests once nothing is waiting to be accepted or half read (as <see cref="RawHttpPeer.SettledRequestsAsync"/>).</summary>
        public async Task<IReadOnlyCollection<string>> SettledRequestsAsync()
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            for (var quiet = 0; quiet < 2; quiet = _listener.Pending() || Volatile.Read(ref _unread) > 0 ? 0 : quiet + 1)
            {
                if (waited.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new TimeoutException("the peer still had a request half read after 10 s.");
                }

                await Task.Delay(10);
            }

            return Requests.ToArray();
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient socket;
                try
                {
                    socket = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception)
                {
                    return;
                }

                Interlocked.Increment(ref _unread);
                var number = Interlocked.Increment(ref _connections);
                _ = Task.Run(() => ServeAsync(socket, number));
            }
        }

        private async Task ServeAsync(TcpClient socket, int connection)
        {
            using (socket)
            {
                var stream = socket.GetStream();
                for (var onThisConnection = 1; ; onThisConnection++)
                {
                    string? head;
                    var counted = onThisConnection == 1; // the accept counted the first request
                    try
                    {
                        head = await ReadHeadAsync(stream, onFirstByte: () =>
                        {
                            if (!counted)
                            {
                                counted = true;
                                Interlocked.Increment(ref _unread);
                            }
                        });
                        if (head is not null)
                        {
                            Requests.Enqueue(head);
                        }
                    }
                    catch (IOException)
                    {
                        head = null;
                    }
                    finally
                    {
                        if (counted)
                        {
                            Interlocked.Decrement(ref _unread);
                        }
                    }

                    if (head is null)
                    {
                        return;
                    }

                    if (connection == 1 && onThisConnection == 2)
                    {
                        socket.Client.LingerState = new LingerOption(true, 0);
                        return;
                    }

                    var body = ResponseBodies.Success();
                    var answer = Encoding.UTF8.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}");
                    await stream.WriteAsync(answer);
                    await stream.FlushAsync();
                }
            }
        }

        // The triggers here have no body, so a request is its head.
        private static async Task<string?> ReadHeadAsync(NetworkStream stream, Action onFirstByte)
        {
            var head = new StringBuilder();
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await stream.ReadAsync(one) == 0)
                {
                    return null;
                }

                onFirstByte();
                head.Append((char)one[0]);
            }

            return head.ToString();
        }
    }
}
