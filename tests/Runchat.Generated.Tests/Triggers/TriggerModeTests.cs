using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Triggers;

[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class TriggerModeTests : WireMockTest
{
    [Test]
    public async Task TemplateRunSendsNoBodyAtAll()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        var response = await client.TriggerAgentJobAsync("demo-agent");

        var request = SingleRequest();
        Assert.Multiple(() =>
        {
            Assert.That(request.Method, Is.EqualTo("POST"));
            Assert.That(request.AbsolutePath, Is.EqualTo("/api/v1/job/demo-agent"));
            Assert.That(request.BodyAsBytes ?? Array.Empty<byte>(), Is.Empty);
            Assert.That(Header(request, "Content-Length") ?? "0", Is.EqualTo("0"));
            Assert.That(Header(request, "Content-Type"), Is.Null, "no body means no Content-Type");
            Assert.That(response.FinalReply, Is.EqualTo("Done."));
        });
    }

    [Test]
    public async Task EveryRequestCarriesBearerKeyAcceptAndUserAgent()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        await client.TriggerAgentJobAsync("demo-agent", "hello");

        var request = SingleRequest();
        Assert.Multiple(() =>
        {
            Assert.That(Header(request, "Authorization"), Is.EqualTo("Bearer " + ApiKey));
            Assert.That(Header(request, "Accept"), Is.EqualTo("application/json"));
            Assert.That(Header(request, "User-Agent"), Does.Match(@"^Runchat\.Generated/\d+\.\d+\.\d+\S* \(.+; .+\)$"));
        });
    }

    [Test]
    public async Task ExplicitMessageIsSentAsExactlyOneMessageProperty()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        await client.TriggerAgentJobAsync("demo-agent", "Summarize today's support tickets and post the digest to #support.");

        var request = SingleRequest();
        Assert.That(Encoding.UTF8.GetString(request.BodyAsBytes!), Is.EqualTo("{\"message\":\"Summarize today's support tickets and post the digest to #support.\"}"));
        Assert.That(Header(request, "Content-Type"), Is.EqualTo("application/json; charset=utf-8"));
        Assert.That(Header(request, "Content-Length"), Is.EqualTo(request.BodyAsBytes!.Length.ToString()));
    }

    [Test]
    public async Task ExplicitMessageKeepsUnicodeAndEscapesControlCharactersAndQuotes()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        const string message = "h\u00e9llo \"quoted\" back\\slash\nnew line\ttab \U0001F600 <b>&amp; \u2028";

        await client.TriggerAgentJobAsync("demo-agent", message);

        var body = SingleRequest().BodyAsBytes!;
        var expected = Encoding.UTF8.GetBytes("{\"message\":\"h\u00e9llo \\\"quoted\\\" back\\\\slash\\nnew line\\ttab \U0001F600 <b>&amp; \\u2028\"}");
        Assert.That(body, Is.EqualTo(expected));
        Assert.That(JObject.Parse(Encoding.UTF8.GetString(body))["message"]!.Value<string>(), Is.EqualTo(message));
    }

    [Test]
    public void GeneratedOperationForTheTriggerEndpointIsNotPublic()
    {
        // Its AgentJobRequest parameter cannot express "no body" or "these exact bytes"; the three
        // TriggerAgentJobAsync overloads are the public face of POST /job/{id}.
        var publicMethods = typeof(RunchatClient).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Concat(typeof(IRunchatClient).GetMethods())
            .Select(m => m.Name)
            .ToList();
        Assert.That(publicMethods, Has.None.StartsWith("TriggerAgentJobWithMessage"));
        Assert.That(publicMethods, Has.Some.EqualTo("TriggerAgentJobAsync"));
        Assert.That(typeof(RunchatClient).GetConstructors().Select(c => c.GetParameters().Single().ParameterType),
            Has.None.EqualTo(typeof(System.Net.Http.HttpClient)), "no public constructor builds a client around an arbitrary HttpClient");
    }

    [Test]
    public async Task ConcurrentTriggersOfDifferentModesNeverSwapBodies()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        var calls = Enumerable.Range(0, 60).Select(i => (i % 3) switch
        {
            0 => client.TriggerAgentJobAsync("none-" + i),
            1 => client.TriggerAgentJobAsync("message-" + i, "m" + i),
            _ => client.TriggerAgentJobAsync("payload-" + i, JobPayload.FromJson("{\"n\":" + i + "}")),
        });
        await Task.WhenAll(calls);

        var requests = Requests;
        Assert.That(requests, Has.Count.EqualTo(60));
        foreach (var request in requests)
        {
            var id = request.AbsolutePath.Substring(JobPath.Length);
            var n = id.Substring(id.IndexOf('-') + 1);
            var body = request.BodyAsBytes is null ? "" : Encoding.UTF8.GetString(request.BodyAsBytes);
            var expected = id.StartsWith("none-") ? "" : id.StartsWith("message-") ? "{\"message\":\"m" + n + "\"}" : "{\"n\":" + n + "}";
            Assert.That(body, Is.EqualTo(expected), id);
        }
    }
}
