using System;
using System.Diagnostics;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Errors;

/// <summary>
/// Answers whose body stalls or breaks off, for every status: the deadline and the caller's token
/// reach the body of an error as they reach the body of a 200, and a body that breaks off is a
/// documented HttpRequestException, never a raw IO or decoder exception.
/// </summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class BrokenAndStalledBodyTests : WireMockTest
{
    private const string Html = "<html><body><h1>503 Service Unavailable</h1><p>The upstream server is not answering; this page goes on";

    public static object[] StalledErrors =
    {
        new object[] { "500", $"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{\"error\":\"the agent loop cra" },
        new object[] { "503", $"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nContent-Length: 4000\r\n\r\n{Html}" },
        new object[] { "200", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"status\":\"success\",\"messages\":[" },
    };

    private RawHttpPeer Peer(string response, TimeSpan holdOpen = default) => Track(new RawHttpPeer(_ => response, holdOpen: holdOpen));

    private RunchatClient Client(RawHttpPeer peer, TimeSpan? timeout = null) =>
        Track(new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = peer.BaseUrl, Timeout = timeout ?? TimeSpan.FromSeconds(30), MaxRetries = 2 }));

    [TestCaseSource(nameof(StalledErrors))]
    public async Task ABodyThatStallsTimesOutWithinTheTimeout(string status, string response)
    {
        var peer = Peer(response, holdOpen: TimeSpan.FromSeconds(30));
        var client = Client(peer, TimeSpan.FromSeconds(1));
        var watch = Stopwatch.StartNew();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "go"));

        TestContext.Out.WriteLine($"stalled {status}: {exception?.GetType().Name} after {watch.ElapsedMilliseconds} ms");
        Assert.That(exception, Is.InstanceOf<TimeoutException>());
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }

    [TestCaseSource(nameof(StalledErrors))]
    public async Task ABodyThatStallsStopsPromptlyWhenTheCallerCancels(string status, string response)
    {
        var peer = Peer(response, holdOpen: TimeSpan.FromSeconds(30));
        var client = Client(peer);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "go", cancellation.Token));

        TestContext.Out.WriteLine($"stalled {status}: {exception?.GetType().Name} after {watch.ElapsedMilliseconds} ms");
        Assert.That(exception, Is.InstanceOf<OperationCanceledException>());
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1.5)));
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }

    public static object[] BrokenBodies =
    {
        new object[] { "200 short of its Content-Length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{\"status\":\"succ" },
        new object[] { "200 with a broken chunked body", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n20\r\n{\"status\":\"succ" },
        new object[] { "200 with a bogus gzip body", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 19\r\nConnection: close\r\n\r\n{\"status\":\"success\"}"[..^1] },
        new object[] { "404 with a bogus gzip body", "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{\"error\":\"nope\"}" },
    };

    [TestCaseSource(nameof(BrokenBodies))]
    public async Task ABodyThatBreaksOffIsAnHttpRequestExceptionWithTheCauseInside(string what, string response)
    {
        var peer = Peer(response);
        var client = Client(peer);

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(exception, Is.TypeOf<HttpRequestException>(), what + ": " + exception);
        Assert.That(exception!.InnerException, Is.Not.Null, "the cause is inside");
        Assert.That(exception.Message, Does.Contain("broke off").And.Contain("not retried"));
        Assert.That(peer.Requests, Has.Count.EqualTo(1), "a body that broke off is never retried");
    }

    [Test]
    public async Task AnErrorBodyIsKeptUpToOneMebibyteAndTheRestIsDiscarded()
    {
        var page = "<html>" + new string('x', 8 * 1024 * 1024) + "</html>";
        var peer = Peer($"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {page.Length}\r\nConnection: close\r\n\r\n{page}");
        var client = Client(peer);

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(exception, Is.InstanceOf<RunchatApiException>());
        var api = (RunchatApiException)exception!;
        Assert.That(api.StatusCode, Is.EqualTo(502));
        Assert.That(api.Response!.Length, Is.EqualTo(1024 * 1024));
        Assert.That(api.Response, Does.StartWith("<html>xxx"));
    }

    [Test]
    public async Task A429ThatCannotBeWaitedOutWithinTheTimeoutIsReportedAsA429()
    {
        var peer = Peer("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        var client = Client(peer, TimeSpan.FromSeconds(2));
        var watch = Stopwatch.StartNew();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(exception, Is.TypeOf<RunchatApiException>(), "not a TimeoutException: a 429 means the agent did not run");
        Assert.That(((RunchatApiException)exception!).StatusCode, Is.EqualTo(429));
        Assert.That(exception.Message, Does.Contain("did not run"));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1.5)), "the 5 s wait was not started");
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }
}
