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
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = agent.BaseUrl, Timeout = TimeSpan.FromSeconds(1.5), MaxRetries = 5 });
        var watch = Stopwatch.StartNew();

        var exception = Assert.ThrowsAsync<TimeoutException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(6)), "the 30 s agent was not waited for");
        Assert.That(exception!.Message, Does.Contain("1.5 s").And.Contain("may still be running"));
        Assert.That(await agent.SettledRequestsAsync(), Has.Count.EqualTo(1), "a timeout is never retried");
        Assert.That(agent.Connections, Is.EqualTo(1));
    }

    [Test]
    public async Task CallerCancellationIsPromptAndIsNotATimeout()
    {
        var agent = SlowAgent();
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = agent.BaseUrl });

        await AssertCancelsWithinASecond(client, agent);
    }

    // Cancels once the agent has the request (not at a fixed time, which a loaded machine could
    // reach before the request is even sent) and measures from the cancellation.
    private static async Task AssertCancelsWithinASecond(RunchatClient client, RawHttpPeer agent, TimeSpan settle = default)
    {
        using var cancellation = new CancellationTokenSource();
        var call = client.TriggerAgentJobAsync("demo-agent", "go", cancellation.Token);
        await Eventually.HoldsAsync(() => !agent.Requests.IsEmpty, TimeSpan.FromSeconds(10), "the agent has the request");

        Assert.That(agent.Requests, Has.Count.EqualTo(1), "the request reached the agent");
        await Task.Delay(settle);
        var watch = Stopwatch.StartNew();
        cancellation.Cancel();

        // Awaited, not Assert.CatchAsync: a blocked test thread would measure thread-pool starvation.
        Exception? thrown = null;
        try
        {
            await call;
        }
        catch (Exception exception)
        {
            thrown = exception;
        }

        var elapsed = watch.Elapsed;
        Assert.That(thrown, Is.InstanceOf<OperationCanceledException>());
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), "within a second of the cancellation");
        Assert.That(agent.Requests, Has.Count.EqualTo(1), "never retried");
    }

    // The agent answered, then the body stalls half-way: the deadline and the caller's token must
    // still reach a read that the generated code makes synchronously.
    private RawHttpPeer StallingBody() => Track(new RawHttpPeer(
        _ => RawHttpPeer.Truncated("{\"job_id\":\"j\",\"messages\":[{\"role\":\"assistant\",\"content\":\"par", declaredLength: 100_000),
        holdOpen: TimeSpan.FromSeconds(30)));

    [Test]
    public async Task TimeoutAlsoCoversABodyThatStalls()
    {
        var agent = StallingBody();
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = agent.BaseUrl, Timeout = TimeSpan.FromSeconds(1.5) });
        var watch = Stopwatch.StartNew();

        var exception = Assert.ThrowsAsync<TimeoutException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(6)), "the stalled body was not waited for");
        Assert.That(exception!.Message, Does.Contain("may still be running"));
        Assert.That(agent.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task CallerCancellationAlsoReachesABodyThatStalls()
    {
        var agent = StallingBody();
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = agent.BaseUrl });

        await AssertCancelsWithinASecond(client, agent, settle: TimeSpan.FromMilliseconds(300));
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
