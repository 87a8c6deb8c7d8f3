using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Triggers;

/// <summary>The flow operations on the wire: method, path, headers, exact bodies, one request each, and the answers read.</summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class FlowContractTests : WireMockTest
{
    private const string FlowJobAnswer = "{\"metadata\":\"{\\\"credits\\\":0.25}\",\"data\":[{\"id\":\"n1\",\"label\":\"Summary\",\"description\":\"The digest\",\"data\":[\"All quiet.\"]}],\"job_id\":\"flow-job-1\",\"runchat_id\":\"rc_9\"}";
    private const string RunAnswer = "{\"metadata\":\"{}\",\"runchat_instance_id\":\"inst_7\",\"data\":[{\"id\":\"out_n9\",\"label\":\"Summary\",\"type\":\"string\",\"description\":\"\",\"data\":[\"3 items\"]}]}";
    private const string SchemaAnswer = "{\"name\":\"Demo flow\",\"inputs\":[{\"id\":\"p1_n1\",\"label\":\"Prompt\",\"type\":\"string\",\"description\":\"What to do\",\"data\":[]},{\"id\":\"p2_n1\",\"label\":\"Count\",\"type\":\"number\",\"description\":\"\",\"data\":[3]}],\"outputs\":[{\"id\":\"out_n9\",\"label\":\"Summary\",\"type\":\"string\",\"description\":\"\",\"data\":[]}]}";

    private void Answer(string method, string path, string body, int status = 200) =>
        Server.Given(Request.Create().WithPath(path).UsingMethod(method))
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));

    [Test]
    public async Task TriggerFlowJobIsOneGetWithTheKeyAndReadsTheNodeOutputs()
    {
        Answer("GET", "/api/v1/job/flow-job-1", FlowJobAnswer);
        using var client = CreateClient();

        var run = await client.TriggerFlowJobAsync("flow-job-1");

        var request = SingleRequest();
        Assert.That(request.Method, Is.EqualTo("GET"));
        Assert.That(request.Path, Is.EqualTo("/api/v1/job/flow-job-1"));
        Assert.That(Header(request, "Authorization"), Is.EqualTo("Bearer " + ApiKey));
        Assert.That(Header(request, "Accept"), Is.EqualTo("application/json"));
        Assert.That(Header(request, "Content-Type"), Is.Null);
        Assert.That(request.BodyAsBytes ?? Array.Empty<byte>(), Is.Empty);
        Assert.That(run.JobId, Is.EqualTo("flow-job-1"));
        Assert.That(run.RunchatId, Is.EqualTo("rc_9"));
        Assert.That(run.Data.Single().Label, Is.EqualTo("Summary"));
        Assert.That((string?)run.Data.Single().Data[0], Is.EqualTo("All quiet."));
        Assert.That((decimal)run.GetMetadata()!["credits"]!, Is.EqualTo(0.25m));
    }

    [Test]
    public async Task RunFlowWithInputsSendsExactlyTheInputsObject()
    {
        Answer("POST", "/api/v1/demo-flow", RunAnswer);
        using var client = CreateClient();

        var run = await client.RunFlowAsync("demo-flow", FlowInputs.Create().Set("p1_n1", "Summarize ünïcode").Set("p2_n1", 3).Set("tree_n2", new JObject { ["0"] = new JArray(1, 2) }));

        var request = SingleRequest();
        Assert.That(request.Method, Is.EqualTo("POST"));
        Assert.That(Encoding.UTF8.GetString(request.BodyAsBytes!), Is.EqualTo("{\"inputs\":{\"p1_n1\":\"Summarize ünïcode\",\"p2_n1\":3,\"tree_n2\":{\"0\":[1,2]}}}"));
        Assert.That(Header(request, "Content-Type"), Is.EqualTo("application/json; charset=utf-8"));
        Assert.That(run.InstanceId, Is.EqualTo("inst_7"));
        Assert.That(run.Outputs.Single().Label, Is.EqualTo("Summary"));
        Assert.That((string?)run.Outputs.Single().Data[0], Is.EqualTo("3 items"));
    }

    [Test]
    public async Task RunFlowContinuesAnInstance()
    {
        Answer("POST", "/api/v1/demo-flow", RunAnswer);
        using var client = CreateClient();

        await client.RunFlowAsync("demo-flow", FlowInputs.Create().Set("p1_n1", "again"), instanceId: "inst_7");

        Assert.That(Encoding.UTF8.GetString(SingleRequest().BodyAsBytes!), Is.EqualTo("{\"inputs\":{\"p1_n1\":\"again\"},\"runchat_instance_id\":\"inst_7\"}"));
    }

    [Test]
    public async Task RunFlowWithAPayloadSendsItByteForByteEvenWithAMessageKey()
    {
        Answer("POST", "/api/v1/demo-flow", RunAnswer);
        using var client = CreateClient();
        const string Body = "{ \"message\" : \"kept as is\", \"amount\": 1.10 }";

        await client.RunFlowAsync("demo-flow", JobPayload.FromJson(Body));

        Assert.That(Encoding.UTF8.GetString(SingleRequest().BodyAsBytes!), Is.EqualTo(Body), "a flow's Webhook node takes the body whole: nothing is wrapped");
        Assert.ThrowsAsync<ArgumentException>(() => client.RunFlowAsync("demo-flow", JobPayload.FromJson(Body), instanceId: "inst_7"));
        Assert.That(Requests, Has.Count.EqualTo(1), "refused before anything was sent");
    }

    [Test]
    public async Task TheSchemaResolvesLabelsToIds()
    {
        Answer("GET", "/api/v1/demo-flow/schema", SchemaAnswer);
        using var client = CreateClient();

        var schema = await client.GetFlowSchemaAsync("demo-flow");

        Assert.That(SingleRequest().Method, Is.EqualTo("GET"));
        Assert.That(schema.Name, Is.EqualTo("Demo flow"));
        Assert.That(schema.Inputs.Select(i => i.Label), Is.EqualTo(new[] { "Prompt", "Count" }));
        var inputs = FlowInputs.From(schema).Set("Prompt", "hello").Set("count", 5);
        Assert.That(Encoding.UTF8.GetString(inputs.ToBody(null)), Is.EqualTo("{\"inputs\":{\"p1_n1\":\"hello\",\"p2_n1\":5}}"));
        var unknown = Assert.Throws<ArgumentException>(() => FlowInputs.From(schema).Set("Topic", "x"));
        Assert.That(unknown!.Message, Does.Contain("no input labelled 'Topic'").And.Contain("'Prompt' (p1_n1)").And.Contain("'Count' (p2_n1)"));
    }

    [Test]
    public void ALabelTwoInputsShareIsRefused()
    {
        var schema = RunchatModelFactory.FlowSchema("Twins", new[] { RunchatModelFactory.FlowParameter("a_n1", "Text"), RunchatModelFactory.FlowParameter("a_n2", "Text") });

        var exception = Assert.Throws<ArgumentException>(() => FlowInputs.From(schema).Set("Text", "x"));

        Assert.That(exception!.Message, Does.Contain("a_n1, a_n2").And.Contain("set it by id"));
        Assert.That(FlowInputs.From(schema).Set("a_n2", "x").Count, Is.EqualTo(1), "by id it is unambiguous");
    }

    [TestCase("a/b", "/api/v1/a%2Fb")]
    [TestCase("flow?x#y", "/api/v1/flow%3Fx%23y")]
    public async Task ARunchatIdIsOnePathSegment(string runchatId, string path)
    {
        // A raw peer: the request line exactly as sent (WireMock shows the path decoded).
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(SchemaAnswer));
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = peer.BaseUrl });

        await client.GetFlowSchemaAsync(runchatId);

        Assert.That(peer.Requests.TryPeek(out var request), Is.True);
        Assert.That(request!.RequestLine, Does.StartWith($"GET {path}/schema "));
    }

    [TestCase("..")]
    [TestCase(".")]
    [TestCase(" demo-flow")]
    public void AnIdThatCannotBeOneSegmentIsRefusedBeforeSending(string runchatId)
    {
        using var client = CreateClient();

        Assert.Throws<ArgumentException>(() => client.GetFlowSchemaAsync(runchatId));
        Assert.Throws<ArgumentException>(() => client.RunFlowAsync(runchatId, FlowInputs.Create()));
        Assert.Throws<ArgumentException>(() => client.TriggerFlowJobAsync(runchatId));
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public async Task ErrorsGoThroughTheOneErrorMapperWithTheKeyRedacted()
    {
        Answer("POST", "/api/v1/missing-flow", "{\"error\":\"Runchat not found for key " + ApiKey + "\"}", status: 404);
        using var client = CreateClient();

        var exception = await Caught(client.RunFlowAsync("missing-flow", FlowInputs.Create().Set("p", 1)));

        var api = exception as RunchatApiException<Error>;
        Assert.That(api, Is.Not.Null, exception?.ToString());
        Assert.That(api!.StatusCode, Is.EqualTo(404));
        Assert.That(api.ToString() + api.Response + api.ServerError, Does.Not.Contain("TESTKEY"));
    }

    [Test]
    public void AFakeWithoutFlowsSaysSoAndOneWithThemAnswers()
    {
        IRunchatClient fake = new AgentOnlyFake();
        var refused = Assert.ThrowsAsync<NotSupportedException>(() => fake.GetFlowSchemaAsync("demo-flow"));
        Assert.That(refused!.Message, Does.Contain("implements IRunchatFlowClient"));
    }

    private sealed class AgentOnlyFake : IRunchatClient
    {
        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, System.Threading.CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, string message, System.Threading.CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, JobPayload payload, System.Threading.CancellationToken cancellationToken = default) => throw new NotImplementedException();
    }
}
