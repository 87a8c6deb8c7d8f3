using System;
using System.Diagnostics;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Triggers;

/// <summary>
/// The generated operation, called as any operation upstream adds later would be (generated code,
/// no handwritten wrapper): it goes through the same pipeline and response hook as the handwritten
/// triggers, so it gets the key, the whole-call deadline on headers and body, the caller's token and
/// the one error mapper without code of its own.
/// </summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class GeneratedOperationTests : WireMockTest
{
    private static readonly AgentJobRequest Body = new() { Message = "go" };

    private RawHttpPeer Peer(string response, TimeSpan holdOpen = default) => Track(new RawHttpPeer(_ => response, holdOpen: holdOpen));

    private GeneratedOperationClient Client(RawHttpPeer peer, TimeSpan? timeout = null) =>
        Track(new GeneratedOperationClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = peer.BaseUrl, Timeout = timeout ?? TimeSpan.FromSeconds(30), MaxRetries = 2 }));

    [Test]
    public async Task ItSendsTheKeyAndReadsTheAnswer()
    {
        var peer = Peer(RawHttpPeer.Ok(ResponseBodies.Success("From the generated path.")));

        var response = await Client(peer).CallAsync(Body, "demo-agent", CancellationToken.None);

        Assert.That(response.FinalReply, Is.EqualTo("From the generated path."));
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
        Assert.That(peer.Requests.TryPeek(out var request), Is.True);
        Assert.That(request!.RequestLine, Does.StartWith("POST /api/v1/job/demo-agent "));
        Assert.That(request.Headers["Authorization"], Is.EqualTo("Bearer " + ApiKey));
    }

    [Test]
    public async Task AnErrorIsMappedByTheOneErrorMapperWithTheKeyRedacted()
    {
        var body = $"{{\"error\":\"bad key {ApiKey}\"}}";
        var peer = Peer($"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {body.Length}\r\n\r\n{body}");

        var exception = await Caught(Client(peer).CallAsync(Body, "demo-agent", CancellationToken.None));

        Assert.That(exception, Is.InstanceOf<RunchatApiException>(), exception?.ToString());
        var api = (RunchatApiException)exception!;
        Assert.That(api.StatusCode, Is.EqualTo(401));
        Assert.That(api.ServerError, Does.StartWith("bad key "));
        Assert.That(api.ToString() + api.Response + api.ServerError, Does.Not.Contain("TESTKEY"));
        Assert.That(peer.Requests, Has.Count.EqualTo(1), "a 401 is not retried");
    }

    [Test]
    public async Task AnErrorBodyThatStallsEndsAtTheDeadline()
    {
        var peer = Peer("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nContent-Length: 4000\r\n\r\n<html><body>the upstream is not answ", holdOpen: TimeSpan.FromSeconds(30));
        var watch = Stopwatch.StartNew();

        var exception = await Caught(Client(peer, TimeSpan.FromSeconds(1)).CallAsync(Body, "demo-agent", CancellationToken.None));

        Assert.That(exception, Is.InstanceOf<TimeoutException>(), exception?.ToString());
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task TheCallersTokenReachesABodyThatStalls()
    {
        var peer = Peer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"status\":\"success\",\"messages\":[", holdOpen: TimeSpan.FromSeconds(30));
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        var exception = await Caught(Client(peer).CallAsync(Body, "demo-agent", cancellation.Token));

        Assert.That(exception, Is.InstanceOf<OperationCanceledException>(), exception?.ToString());
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1.5)));
    }

    [Test]
    public async Task ABodyThatBreaksOffIsAnHttpRequestException()
    {
        var peer = Peer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 19\r\nConnection: close\r\n\r\n{\"status\":\"success\"");

        var exception = await Caught(Client(peer).CallAsync(Body, "demo-agent", CancellationToken.None));

        Assert.That(exception, Is.TypeOf<HttpRequestException>(), exception?.ToString());
        Assert.That(exception!.InnerException, Is.Not.Null);
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }
}
