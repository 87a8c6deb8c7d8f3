using System;
using System.Linq;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using Runchat.Cli.Sandbox;

namespace Runchat.Tests.Cli;

/// <summary>The library's contract, run against the sandbox: the stand-in must follow the spec too.</summary>
[TestFixture]
[Category("Cli")]
[Parallelizable(ParallelScope.Self)]
public class SandboxContractTests
{
    private SandboxServer _sandbox = null!;
    private RunchatClient _client = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _sandbox = await SandboxServer.StartAsync();
        _client = new RunchatClient(new RunchatClientOptions { ApiKey = "sandbox-key", BaseUrl = _sandbox.BaseUrl });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _client.Dispose();
        await _sandbox.DisposeAsync();
    }

    [Test]
    public async Task NoBodyRunsOnlyTheSavedTemplate()
    {
        var response = await _client.TriggerAgentJobAsync("nightly");

        Assert.That(response.Transcript.Select(m => m.Role), Is.EqualTo(new[] { "system", "user", "assistant" }));
        Assert.That(response.FinalReply, Is.EqualTo("Sandbox agent ran the saved template of job nightly."));
        Assert.That((int)response.GetMetadata()!["request_bytes"]!, Is.EqualTo(0));
    }

    [Test]
    public async Task ExplicitMessageIsAppendedVerbatim()
    {
        var response = await _client.TriggerAgentJobAsync("demo", "Caf\u00e9 \"digest\" \U0001F680\nline two");

        Assert.That(response.Transcript[2].Text, Is.EqualTo("Caf\u00e9 \"digest\" \U0001F680\nline two"));
        Assert.That(response.IsSuccess, Is.True);
    }

    [Test]
    public async Task RawPayloadIsAppendedAsItsExactText()
    {
        var response = await _client.TriggerAgentJobAsync("relay", JobPayload.FromJson(TestPayloads.FragileWebhook));

        Assert.That(response.Transcript[2].Text, Is.EqualTo(TestPayloads.FragileWebhook));
    }

    [Test]
    public async Task PayloadWithTopLevelMessageKeyReachesTheAgentWhole()
    {
        const string webhook = "{\"message\":\"Hi\",\"from\":\"ada@example.com\"}";

        var response = await _client.TriggerAgentJobAsync("relay", JobPayload.FromJson(webhook));

        Assert.That(response.Transcript[2].Text, Is.EqualTo(webhook), "without the wrapping the agent would only see \"Hi\"");
    }

    [TestCase("flow-report", 400)]
    [TestCase("missing-job", 404)]
    [TestCase("forbidden-job", 403)]
    public async Task SpecErrorsComeBackTyped(string jobId, int status)
    {
        var exception = Assert.ThrowsAsync<RunchatApiException<Error>>(() => _client.TriggerAgentJobAsync(jobId, "go"));

        Assert.That(exception!.StatusCode, Is.EqualTo(status));
        Assert.That(exception.ServerError, Is.Not.Empty);
        Assert.That(exception.Result.Message, Is.EqualTo(exception.ServerError));
    }

    [Test]
    public async Task FailingRunIsA200WithStatusError()
    {
        var response = await _client.TriggerAgentJobAsync("fail-digest");

        Assert.That(response.IsSuccess, Is.False);
        Assert.That(response.FinalReply, Is.Null);
        Assert.Throws<RunchatAgentRunException>(() => response.EnsureSuccess());
    }

    [Test]
    public async Task JobIdWithReservedCharactersStaysOneSegment()
    {
        var response = await _client.TriggerAgentJobAsync("team/a?b#c");

        Assert.That(response.JobId, Is.EqualTo("team/a?b#c"));
    }

    [Test]
    public async Task InvalidBodyIsA400()
    {
        using var http = new System.Net.Http.HttpClient();
        using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Post, new Uri(_sandbox.BaseUrl, "job/demo"))
        {
            Content = new System.Net.Http.StringContent("[1,2]"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "k");

        var response = await http.SendAsync(request);

        Assert.That((int)response.StatusCode, Is.EqualTo(400));
        Assert.That((string?)JObject.Parse(await response.Content.ReadAsStringAsync())["error"], Does.Contain("JSON object"));
    }

    [Test]
    public async Task ABodyOverTheLimitIsA413SayingTheLimitAndIsNotCountedAsARun()
    {
        using var http = new System.Net.Http.HttpClient();
        var size = SandboxServer.MaxRequestBytes + 1;
        using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Post, new Uri(_sandbox.BaseUrl, "job/oversized-raw"))
        {
            Content = new System.Net.Http.ByteArrayContent(new byte[size]),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "k");

        using var response = await http.SendAsync(request);

        Assert.That((int)response.StatusCode, Is.EqualTo(413));
        Assert.That((string?)JObject.Parse(await response.Content.ReadAsStringAsync())["error"], Does.Contain("up to 30000000 bytes").And.Contain($"this one is {size} bytes"));
        Assert.That(_sandbox.Requests.Where(r => r.JobId == "oversized-raw"), Is.Empty);
    }

    [Test]
    public void ThroughTheClientAnOversizedPayloadIsAnApiErrorSaying413NotANetworkFailure()
    {
        var payload = JobPayload.FromJson("{\"data\":\"" + new string('a', (int)SandboxServer.MaxRequestBytes) + "\"}");

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => _client.TriggerAgentJobAsync("oversized-client", payload));

        TestContext.Out.WriteLine(exception!.Message);
        Assert.That(exception.StatusCode, Is.EqualTo(413));
        Assert.That(exception.Message, Does.Contain("larger than the server accepts (413 Payload Too Large)").And.Contain("up to 30000000 bytes"));
        Assert.That(_sandbox.Requests.Where(r => r.JobId == "oversized-client"), Is.Empty);
    }
}
