using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Responses;

/// <summary>Models built for tests behave as real answers, whatever shape the test gives the messages.</summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class ModelFactoryTests : WireMockTest
{
    /// <summary>What a user's unit test looks like: their own code, a hand-written fake, the factory.</summary>
    private sealed class FakeRunchat : IRunchatClient
    {
        private readonly Func<string, AgentJobResponse> _answer;

        public FakeRunchat(Func<string, AgentJobResponse> answer) => _answer = answer;

        public List<string> Calls { get; } = new();

        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, CancellationToken cancellationToken = default) => Answer(jobId);

        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, string message, CancellationToken cancellationToken = default) => Answer(jobId);

        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, JobPayload payload, CancellationToken cancellationToken = default) => Answer(jobId);

        private Task<AgentJobResponse> Answer(string jobId)
        {
            Calls.Add(jobId);
            return Task.FromResult(_answer(jobId));
        }
    }

    /// <summary>The code under test: a user's ticket summarizer.</summary>
    private static async Task<string> SummarizeAsync(IRunchatClient runchat, string ticket)
    {
        try
        {
            var run = (await runchat.TriggerAgentJobAsync("support-agent", ticket)).EnsureSuccess();
            return run.FinalReply ?? "(no reply)";
        }
        catch (RunchatAgentRunException failed)
        {
            return "agent failed: " + failed.Error;
        }
        catch (RunchatApiException api) when (api.StatusCode == 404)
        {
            return "no such job: " + api.ServerError;
        }
    }

    [Test]
    public async Task AUnitTestWithOnlyTheModelFactoryAndAHandWrittenFake()
    {
        var fake = new FakeRunchat(_ => RunchatModelFactory.AgentJobResponse(
            messages: new object[]
            {
                RunchatModelFactory.AgentMessage("user", "Customer cannot log in"),
                new { role = "assistant", content = "Reset the password and confirmed by email." },
            },
            metadata: new { credits = 2, input_tokens = 120 }));

        Assert.That(await SummarizeAsync(fake, "Customer cannot log in"), Is.EqualTo("Reset the password and confirmed by email."));
        Assert.That(fake.Calls, Is.EqualTo(new[] { "support-agent" }));

        var failing = new FakeRunchat(_ => RunchatModelFactory.AgentJobResponse(AgentJobResponseStatus.Error, error: "tool timed out"));
        Assert.That(await SummarizeAsync(failing, "x"), Is.EqualTo("agent failed: tool timed out"));

        var missing = new FakeRunchat(_ => throw RunchatModelFactory.RunchatApiException(404, "Job not found"));
        Assert.That(await SummarizeAsync(missing, "x"), Is.EqualTo("no such job: Job not found"));
    }

    [Test]
    public void TranscriptAndFinalReplyReadDictionariesAnonymousObjectsAndJsonElements()
    {
        var element = System.Text.Json.JsonDocument.Parse("{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"from \"},{\"type\":\"text\",\"text\":\"JsonElement\"}]}").RootElement;
        var response = RunchatModelFactory.AgentJobResponse(messages: new object[]
        {
            new Dictionary<string, object?> { ["role"] = "system", ["content"] = "You are helpful." },
            new { role = "user", content = "hi" },
            element,
            "not an object",
            42,
        });

        Assert.That(response.Transcript, Has.Count.EqualTo(3), "the string and the number are skipped");
        Assert.That(response.Transcript[0].Role, Is.EqualTo("system"));
        Assert.That(response.Transcript[1].Text, Is.EqualTo("hi"));
        Assert.That(response.FinalReply, Is.EqualTo("from JsonElement"));
        Assert.That(response.IsSuccess, Is.True);
        Assert.That(response.GetMetadata(), Is.Null);
    }

    [Test]
    public void AnApiExceptionShowsTheBodyOnceAndNeverAPlaceholderForNone()
    {
        RespondWith(502, "<html>upstream down</html>", "text/html");
        using var client = CreateClient();
        var withBody = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent"))!;
        var handBuilt = new RunchatApiException("Went wrong.", 500, null, new Dictionary<string, IEnumerable<string>>(), null);

        Assert.That(CountOf(withBody.ToString(), "upstream down"), Is.EqualTo(1), "the body once in ToString()");
        Assert.That(withBody.Message, Does.Contain("Status: 502").And.Contain("upstream down"));
        Assert.That(handBuilt.Message, Is.EqualTo("Went wrong.\n\nStatus: 500"));
        Assert.That(handBuilt.ToString(), Does.Not.Contain("(null)"));
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [Test]
    public void AFactoryExceptionIsTheOneTheClientThrowsForTheSameAnswer()
    {
        RespondWith(404, "{\"error\":\"Job not found\"}");
        using var client = CreateClient();
        var real = Assert.ThrowsAsync<RunchatApiException<Error>>(() => client.TriggerAgentJobAsync("missing-job"))!;

        var built = RunchatModelFactory.RunchatApiException(404, "Job not found");

        Assert.That(built, Is.TypeOf(real.GetType()));
        Assert.That(built.Message, Is.EqualTo(real.Message));
        Assert.That(built.StatusCode, Is.EqualTo(404));
        Assert.That(built.ServerError, Is.EqualTo("Job not found"));
        Assert.That(((RunchatApiException<Error>)built).Result.Message, Is.EqualTo("Job not found"));
    }
}
