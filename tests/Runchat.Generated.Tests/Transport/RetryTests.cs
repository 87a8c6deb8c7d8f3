using System;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Transport;

[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class RetryTests : WireMockTest
{
    private void RespondWith429Then200(string retryAfter)
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .InScenario("rate").WillSetStateTo("open")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", retryAfter).WithBody("{\"error\":\"slow down\"}"));
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .InScenario("rate").WhenStateIs("open")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));
    }

    [Test]
    public async Task TooManyRequestsIsRetriedAfterTheDelayItAsksFor()
    {
        RespondWith429Then200("1");
        using var client = CreateClient();
        var payload = JobPayload.FromJson(RawPayloadFixture.Text);

        var response = await client.TriggerAgentJobAsync("demo-agent", payload);

        Assert.That(response.IsSuccess, Is.True);
        var requests = Requests.OrderBy(r => r.DateTime).ToList();
        Assert.That(requests, Has.Count.EqualTo(2));
        Assert.That(requests[1].DateTime - requests[0].DateTime, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900)), "Retry-After: 1 was honoured");
        Assert.That(requests[1].BodyAsBytes, Is.EqualTo(requests[0].BodyAsBytes), "the retry carries the identical body");
        Assert.That(Header(requests[1], "Authorization"), Is.EqualTo("Bearer " + ApiKey));
        Assert.That(Header(requests[1], "Content-Type"), Is.EqualTo("application/json; charset=utf-8"));
    }

    [Test]
    public async Task TooManyRequestsIsNotRetriedWhenRetriesAreOff()
    {
        RespondWith429Then200("0");
        using var client = CreateClient(o => o.MaxRetries = 0);

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(exception!.StatusCode, Is.EqualTo(429));
        Assert.That(exception.Message, Does.Contain("did not run"));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task TooManyRequestsAskingForMoreThanTheCapIsReportedNotWaited()
    {
        RespondWith429Then200("3600");
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(exception!.StatusCode, Is.EqualTo(429));
        Assert.That(exception.Message, Does.Contain("3600 s"));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task RetriesStopAtMaxRetries()
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "0"));
        using var client = CreateClient(o => o.MaxRetries = 2);

        Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(Requests, Has.Count.EqualTo(3), "one request and two retries");
    }

    [TestCase(500)]
    [TestCase(502)]
    [TestCase(503)]
    [TestCase(504)]
    [TestCase(408)]
    public async Task ServerFailuresAreNeverRetried(int status)
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Retry-After", "0").WithBody("{\"error\":\"upstream\"}"));
        using var client = CreateClient(o => o.MaxRetries = 5);

        var exception = Assert.CatchAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(exception!.StatusCode, Is.EqualTo(status));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ConnectionDroppedAfterSendIsNeverRetried()
    {
        using var peer = new RawHttpPeer(_ => null);
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = peer.BaseUrl, MaxRetries = 5 });

        Assert.ThrowsAsync<HttpRequestException>(() => client.TriggerAgentJobAsync("demo-agent", JobPayload.FromJson("{\"a\":1}")));

        Assert.That(await peer.SettledRequestsAsync(), Has.Count.EqualTo(1));
        Assert.That(peer.Connections, Is.EqualTo(1));
        Assert.That(peer.Requests.Single().Body, Is.EqualTo("{\"a\":1}"u8.ToArray()), "the server did receive the whole request");
    }

    [Test]
    public async Task RefusedConnectionIsRetriedThenReported()
    {
        var (client, attempts, provider) = ClientOnClosedPort(maxRetries: 2);
        using (provider)
        {
            var exception = Assert.ThrowsAsync<HttpRequestException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

            Assert.That(attempts.Count, Is.EqualTo(3), "nothing was sent, so both retries were made");
            Assert.That(exception!.Message, Does.Contain("refused").IgnoreCase.Or.Contain("connect").IgnoreCase);
        }
    }

    [Test]
    public async Task RefusedConnectionIsNotRetriedWhenRetriesAreOff()
    {
        var (client, attempts, provider) = ClientOnClosedPort(maxRetries: 0);
        using (provider)
        {
            Assert.ThrowsAsync<HttpRequestException>(() => client.TriggerAgentJobAsync("demo-agent"));

            Assert.That(attempts.Count, Is.EqualTo(1));
        }
    }

    // A handler of the user's own sits inside the retry handler, so it sees every attempt.
    private static (IRunchatClient Client, CountingHandler Attempts, ServiceProvider Provider) ClientOnClosedPort(int maxRetries)
    {
        var port = Ports.Free();
        var attempts = new CountingHandler();
        var services = new ServiceCollection();
        services.AddRunchatClient(o =>
        {
            o.ApiKey = ApiKey;
            o.BaseUrl = new Uri($"http://127.0.0.1:{port}/");
            o.MaxRetries = maxRetries;
        }).AddHttpMessageHandler(() => attempts);
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<IRunchatClient>(), attempts, provider);
    }

    [Test]
    public async Task FourHundredConcurrentTriggersGiveExactlyFourHundredRequests()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        var results = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => client.TriggerAgentJobAsync("job-" + i, "message " + i)));

        Assert.That(results.All(r => r.IsSuccess), Is.True);
        var requests = Requests;
        Assert.That(requests, Has.Count.EqualTo(400));
        Assert.That(requests.Select(r => r.AbsolutePath).Distinct().Count(), Is.EqualTo(400));
        Assert.That(requests.All(r => r.Body == "{\"message\":\"message " + r.AbsolutePath.Substring((JobPath + "job-").Length) + "\"}"), Is.True);
    }

    private sealed class CountingHandler : DelegatingHandler
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return base.SendAsync(request, cancellationToken);
        }
    }
}

internal static class RawPayloadFixture
{
    public const string Text = "{\"event\":\"stripe.invoice.paid\",\"amount\":1.10,\"id\":123456789012345678901234567890}";
}
