using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Responses;

/// <summary>
/// <c>TriggerAgentJobWithResponseAsync</c>: a successful answer's status code and headers, with the
/// same request on the wire as <c>TriggerAgentJobAsync</c>, through the interface too.
/// </summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class ResponseDetailsTests : WireMockTest
{
    private void AnswerWithHeaders()
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost()).RespondWith(Response.Create()
            .WithStatusCode(200)
            .WithHeader("Content-Type", "application/json")
            .WithHeader("X-Request-Id", "req_8f2a")
            .WithHeader("X-RateLimit-Remaining", "9")
            .WithHeader("X-Echo", "Bearer " + ApiKey)
            .WithBody(ResponseBodies.Success("Summary ready.")));
    }

    [Test]
    public async Task TheStatusAndHeadersOfASuccessAreReachableAndTheRequestIsTheSameAsThePlainCall()
    {
        AnswerWithHeaders();
        var client = CreateClient();

        var plain = await client.TriggerAgentJobAsync("support-agent", "Summarize ticket 42");
        var detailed = await client.TriggerAgentJobWithResponseAsync("support-agent", "Summarize ticket 42");

        Assert.That(detailed.StatusCode, Is.EqualTo(200));
        Assert.That(detailed.GetHeader("x-request-id"), Is.EqualTo("req_8f2a"), "looked up in any case");
        Assert.That(detailed.Headers["X-RATELIMIT-REMAINING"], Is.EqualTo(new[] { "9" }));
        Assert.That(detailed.GetHeader("Content-Type"), Does.StartWith("application/json"), "content headers too");
        Assert.That(detailed.GetHeader("X-Missing"), Is.Null);
        Assert.That(detailed.Value.FinalReply, Is.EqualTo(plain.FinalReply).And.EqualTo("Summary ready."));

        var requests = Server.LogEntries.Select(e => e.RequestMessage!).ToList();
        Assert.That(requests, Has.Count.EqualTo(2));
        Assert.That(requests[1].Body, Is.EqualTo(requests[0].Body).And.EqualTo("{\"message\":\"Summarize ticket 42\"}"));
        Assert.That(requests[1].Path, Is.EqualTo(requests[0].Path));
    }

    [Test]
    public async Task AnEchoOfTheKeyInAHeaderIsRedacted()
    {
        AnswerWithHeaders();

        var detailed = await CreateClient().TriggerAgentJobWithResponseAsync("support-agent");

        Assert.That(detailed.GetHeader("X-Echo"), Does.Not.Contain(ApiKey).And.StartWith("Bearer "));
        Assert.That(detailed.ToString(), Does.Not.Contain(ApiKey));
    }

    [Test]
    public async Task ThroughTheInterfaceFromDependencyInjectionTheHeadersAreThere()
    {
        AnswerWithHeaders();
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });
        using var provider = services.BuildServiceProvider();
        IRunchatClient client = provider.GetRequiredService<IRunchatClient>();

        var detailed = await client.TriggerAgentJobWithResponseAsync("form-agent", JobPayload.FromJson("{\"email\":\"ada@example.com\"}"));

        Assert.That(detailed.GetHeader("X-Request-Id"), Is.EqualTo("req_8f2a"));
        Assert.That(Server.LogEntries.Single().RequestMessage!.Body, Is.EqualTo("{\"email\":\"ada@example.com\"}"));
    }

    [Test]
    public void ArgumentsAreCheckedBeforeAnythingIsSentAsForThePlainCall()
    {
        AnswerWithHeaders();
        var client = CreateClient();

        Assert.Throws<ArgumentException>(() => client.TriggerAgentJobWithResponseAsync("..", "hi"));
        Assert.Throws<ArgumentException>(() => client.TriggerAgentJobWithResponseAsync("support-agent", "  "));
        Assert.Throws<ArgumentNullException>(() => client.TriggerAgentJobWithResponseAsync("support-agent", (JobPayload)null!));
        Assert.That(Server.LogEntries, Is.Empty);
    }

    private sealed class Fake : IRunchatClient
    {
        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, CancellationToken cancellationToken = default) =>
            Task.FromResult(RunchatModelFactory.AgentJobResponse(messages: new object[] { new { role = "assistant", content = "from the fake" } }));

        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, string message, CancellationToken cancellationToken = default) => TriggerAgentJobAsync(jobId, cancellationToken);

        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, JobPayload payload, CancellationToken cancellationToken = default) => TriggerAgentJobAsync(jobId, cancellationToken);
    }

    [Test]
    public async Task AHandWrittenFakeNeedsNoNewMembersAndAnswersWithStatus200AndNoHeaders()
    {
        IRunchatClient fake = new Fake();

        var detailed = await fake.TriggerAgentJobWithResponseAsync("support-agent", "hi");

        Assert.That(detailed.Value.FinalReply, Is.EqualTo("from the fake"));
        Assert.That(detailed.StatusCode, Is.EqualTo(200));
        Assert.That(detailed.Headers, Is.Empty);
    }

    [Test]
    public void TheModelFactoryBuildsOneForAFakeWithCaseInsensitiveHeaders()
    {
        var response = RunchatModelFactory.RunchatResponse(
            RunchatModelFactory.AgentJobResponse(),
            headers: new Dictionary<string, IEnumerable<string>> { ["X-Request-Id"] = new[] { "req_1" } });

        Assert.That(response.StatusCode, Is.EqualTo(200));
        Assert.That(response.GetHeader("x-request-id"), Is.EqualTo("req_1"));
        Assert.That(response.Value.IsSuccess, Is.True);
    }
}
