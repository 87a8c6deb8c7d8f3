using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Transport;

[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class TimeoutAndCancellationTests : WireMockTest
{
    private void RespondSlowly(TimeSpan delay) =>
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(Response.Create().WithDelay(delay).WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));

    // WireMock logs a request only once it has answered it, so the slow agent here is a raw peer
    // that records each request as soon as it has read it.
    private RawHttpPeer SlowAgent() => Track(new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()), delay: TimeSpan.FromSeconds(30)));

    [Test]
    public async Task TimeoutThrowsTimeoutExceptionThatSaysTheJobMayStillRun()
    {
        var agent = SlowAgent();
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = agent.BaseUrl, Timeout = TimeSpan.FromMilliseconds(500), MaxRetries = 5 });
        var watch = Stopwatch.StartNew();

        var exception = Assert.ThrowsAsync<TimeoutException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(exception!.Message, Does.Contain("0.5 s").And.Contain("may still be running"));
        await Task.Delay(300);
        Assert.That(agent.Requests, Has.Count.EqualTo(1), "a timeout is never retried");
        Assert.That(agent.Connections, Is.EqualTo(1));
    }

    [Test]
    public async Task CallerCancellationIsPromptAndIsNotATimeout()
    {
        var agent = SlowAgent();
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = agent.BaseUrl });
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();

        Assert.CatchAsync<OperationCanceledException>(() => client.TriggerAgentJobAsync("demo-agent", "go", cancellation.Token));

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1.2)));
        Assert.That(agent.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AlreadyCancelledTokenSendsNothing()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        Assert.CatchAsync<OperationCanceledException>(() => client.TriggerAgentJobAsync("demo-agent", "go", new CancellationToken(canceled: true)));

        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public async Task LongRunsAreNotCutAtHttpClientsHundredSecondDefault()
    {
        // The timeout is ours alone: HttpClient.Timeout is infinite, so only Options.Timeout applies.
        RespondSlowly(TimeSpan.FromMilliseconds(300));
        using var client = CreateClient(o => o.Timeout = System.Threading.Timeout.InfiniteTimeSpan);

        var response = await client.TriggerAgentJobAsync("demo-agent", "go");

        Assert.That(response.IsSuccess, Is.True);
    }
}
