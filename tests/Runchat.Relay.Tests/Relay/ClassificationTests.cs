using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Runchat.Tests.Relay;

/// <summary>
/// How each way a send can end becomes a state, with the number of requests that reached Runchat:
/// only what provably did not run the agent is sent again.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class ClassificationTests : PerStoreFixture
{
    public ClassificationTests(string storeKind)
        : base(storeKind)
    {
    }

    private WireMockServer _runchat = null!;

    [SetUp]
    public void Start() => _runchat = WireMockServer.Start();

    [TearDown]
    public void Stop()
    {
        _runchat.Stop();
        _runchat.Dispose();
    }

    private Uri RunchatUrl => new(_runchat.Url! + "/api/v1/");

    private void Answer(int status, string body, int delayMs = 0, string? retryAfter = null)
    {
        var response = Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);
        if (retryAfter is not null) response = response.WithHeader("Retry-After", retryAfter);
        if (delayMs > 0) response = response.WithDelay(delayMs);
        _runchat.Given(Request.Create().WithPath("/api/v1/job/*").UsingPost()).RespondWith(response);
    }

    private static async Task<RelayDelivery> DeliverOnceAsync(RelayHost relay)
    {
        var (status, _) = await relay.PostAsync("/hooks/open", "{\"event\":\"x\"}");
        Assert.That(status, Is.EqualTo(202), relay.Errors);
        return (await relay.SettledAsync(1, TimeSpan.FromSeconds(20))).Single();
    }

    public static object[] Outcomes =
    {
        new object[] { 200, ResponseBodies.Success(), RelayDeliveryState.Succeeded, "success" },
        new object[] { 200, "{\"status\":\"error\",\"error\":\"the tool failed\",\"messages\":[]}", RelayDeliveryState.Failed, "error" },
        new object[] { 200, "{\"status\":\"queued\",\"messages\":[]}", RelayDeliveryState.Unknown, "queued" },
        new object[] { 400, "{\"error\":\"flow job\"}", RelayDeliveryState.Failed, null! },
        new object[] { 401, "{\"error\":\"bad key\"}", RelayDeliveryState.Failed, null! },
        new object[] { 404, "{\"error\":\"no such job\"}", RelayDeliveryState.Failed, null! },
        new object[] { 302, "", RelayDeliveryState.Failed, null! },
        new object[] { 500, "{\"error\":\"boom\"}", RelayDeliveryState.Unknown, null! },
        new object[] { 502, "<html>bad gateway</html>", RelayDeliveryState.Unknown, null! },
        new object[] { 503, "", RelayDeliveryState.Unknown, null! },
    };

    [TestCaseSource(nameof(Outcomes))]
    public async Task EachAnswerBecomesItsStateAfterExactlyOneRequest(int status, string body, RelayDeliveryState expected, string? runStatus)
    {
        Answer(status, body);
        await using var relay = await StartRelayAsync(RunchatUrl, o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")));

        var delivery = await DeliverOnceAsync(relay);
        await relay.IdleAsync();

        Assert.That(delivery.State, Is.EqualTo(expected));
        Assert.That((await relay.Relay.GetAsync(delivery.Id))!.State, Is.EqualTo(expected), "and stays so");
        Assert.That(delivery.Status, Is.EqualTo(runStatus));
        Assert.That(delivery.Attempts, Is.EqualTo(1));
        Assert.That(_runchat.LogEntries.Count(), Is.EqualTo(1), "never sent again");
        if (expected != RelayDeliveryState.Succeeded)
        {
            Assert.That(delivery.LastError, Is.Not.Null.And.Not.Contain(RelayHost.ApiKey));
        }
    }

    [Test]
    public async Task ATimeoutIsUnknownAndNotSentAgain()
    {
        Answer(200, ResponseBodies.Success(), delayMs: 3000);
        await using var relay = await StartRelayAsync(RunchatUrl, o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")), client: c => c.Timeout = TimeSpan.FromSeconds(1));

        var delivery = await DeliverOnceAsync(relay);
        // WireMock logs the request once its (3 s) answer is written; the relay gave up on it at 1 s.
        await Eventually.HoldsAsync(() => _runchat.LogEntries.Any(), TimeSpan.FromSeconds(10), "the server logged the request");
        await relay.IdleAsync();

        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Unknown));
        Assert.That(delivery.LastError, Does.Contain("may still be running"));
        Assert.That(_runchat.LogEntries.Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task AConnectionDroppedAfterSendingIsUnknownAfterOneConnection()
    {
        using var peer = new RawHttpPeer(_ => null);
        await using var relay = await StartRelayAsync(peer.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")));

        var delivery = await DeliverOnceAsync(relay);
        await relay.IdleAsync();

        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Unknown));
        Assert.That(await peer.SettledRequestsAsync(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AFailureToConnectGoesBackToPendingAndIsSentOnceTheServerIsUp()
    {
        var port = Ports.Free();
        await using var relay = await StartRelayAsync(new Uri($"http://127.0.0.1:{port}/api/v1/"), o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")), client: c => c.MaxRetries = 0);

        await relay.PostAsync("/hooks/open", "{\"event\":\"x\"}");
        var waited = Stopwatch.StartNew();
        RelayDelivery delivery;
        do
        {
            await Task.Delay(100);
            delivery = (await relay.Relay.ListAsync()).Single();
        }
        while (delivery.Attempts < 2 && waited.Elapsed < TimeSpan.FromSeconds(10));

        Assert.That(delivery.State, Is.AnyOf(RelayDeliveryState.Pending, RelayDeliveryState.Sending));
        Assert.That(delivery.Attempts, Is.GreaterThanOrEqualTo(2), "Attempts counts each refused connection");
        Assert.That(delivery.LastError, Does.Contain("nothing was sent"));

        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()), port: port);
        var settled = (await relay.SettledAsync(1, TimeSpan.FromSeconds(15))).Single();
        Assert.That(settled.State, Is.EqualTo(RelayDeliveryState.Succeeded));
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A429IsSentAgainAfterItsRetryAfter()
    {
        _runchat.Given(Request.Create().WithPath("/api/v1/job/*").UsingPost()).InScenario("busy").WillSetStateTo("free")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "1"));
        _runchat.Given(Request.Create().WithPath("/api/v1/job/*").UsingPost()).InScenario("busy").WhenStateIs("free")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));
        await using var relay = await StartRelayAsync(RunchatUrl, o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")), client: c => c.MaxRetries = 0);

        var delivery = await DeliverOnceAsync(relay);

        var times = _runchat.LogEntries.Select(e => e.RequestMessage!.DateTime).OrderBy(t => t).ToList();
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded));
        Assert.That(delivery.Attempts, Is.EqualTo(2));
        Assert.That(times, Has.Count.EqualTo(2));
        Assert.That(times[1] - times[0], Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public async Task ARunCutOffByShutdownIsUnknownNeverPending()
    {
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()), delay: TimeSpan.FromSeconds(30));
        await using var store = NewStore();
        var relay = await StartRelayAsync(peer.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")), store: store, shutdownTimeout: TimeSpan.FromSeconds(1));
        await relay.PostAsync("/hooks/open", "{\"event\":\"x\"}");
        var waited = Stopwatch.StartNew();
        while (peer.Requests.IsEmpty && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        var stopping = Stopwatch.StartNew();
        await relay.StopAsync();
        var stopped = stopping.Elapsed;
        var delivery = (await store.ListAsync()).Single();
        await relay.DisposeAsync();

        Assert.That(stopped, Is.LessThan(TimeSpan.FromSeconds(5)), "the shutdown timeout bounds the wait");
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Unknown));
        Assert.That(delivery.LastError, Does.Contain("shut down"));
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }
}
