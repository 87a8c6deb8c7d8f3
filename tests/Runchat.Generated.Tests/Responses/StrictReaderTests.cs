using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Responses;

/// <summary>
/// A 200 is read exactly as sent: one strict JSON value and nothing else, in the charset its
/// Content-Type names, with the transcript's numbers as written.
/// </summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class StrictReaderTests : WireMockTest
{
    private const string Run = "{\"status\":\"success\",\"messages\":[{\"role\":\"assistant\",\"content\":\"ok\"}]}";

    [TestCase(Run + "\n" + Run, "after a single JSON value", TestName = "TwoJsonValuesAreRefused")]
    [TestCase(Run + " <html></html>", "after a single JSON value", TestName = "TrailingHtmlIsRefused")]
    [TestCase("{\"status\":\"success\" /* note */, \"messages\":[]}", "'/'", TestName = "ACommentIsRefused")]
    [TestCase("{'status':'success'}", "'''", TestName = "SingleQuotesAreRefused")]
    [TestCase("{status:\"success\"}", "'s'", TestName = "AnUnquotedNameIsRefused")]
    [TestCase("{\"status\":\"success\",\"metadata\":NaN}", "'N'", TestName = "NaNIsRefused")]
    [TestCase("{\"status\":\"error\",\"error\":\"quota exceeded\",\"status\":\"success\"}", "\"status\" appears twice", TestName = "ARepeatedStatusKeyIsRefusedNotReadAsSuccess")]
    [TestCase("{\"status\":\"success\",\"messages\":[{\"role\":\"a\",\"role\":\"b\"}]}", "\"role\" appears twice", TestName = "ARepeatedKeyAtAnyDepthIsRefused")]
    public async Task A200ThatIsNotExactlyOneJsonValueIsAnApiExceptionNamingTheProblem(string body, string problem)
    {
        RespondWith(200, body);
        using var client = CreateClient();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception, Is.InstanceOf<RunchatApiException>(), exception?.ToString());
        var api = (RunchatApiException)exception!;
        Assert.That(api.StatusCode, Is.EqualTo(200));
        Assert.That(api.Message, Does.Contain("not exactly one JSON value").And.Contain(problem));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task TheTranscriptsNumbersAreKeptAsReceived()
    {
        RespondWith(200, "{\"status\":\"success\",\"messages\":[{\"role\":\"tool\",\"a\":1.10,\"b\":1e400,\"c\":-0,\"d\":123456789012345678901234567890,\"e\":-0.0,\"f\":42,\"g\":2.5}]}");
        using var client = CreateClient();

        var run = await client.TriggerAgentJobAsync("demo-agent");

        var raw = run.Transcript.Single().Raw;
        Assert.That(raw.ToString(Newtonsoft.Json.Formatting.None),
            Is.EqualTo("{\"role\":\"tool\",\"a\":1.10,\"b\":1e400,\"c\":-0,\"d\":123456789012345678901234567890,\"e\":-0.0,\"f\":42,\"g\":2.5}"));
        Assert.That(raw["f"]!.Value<long>(), Is.EqualTo(42));
    }

    [Test]
    public async Task PlainNumbersAreKeptAsReceivedOnTheStreamingPathToo()
    {
        // No exponent, no negative zero: read by Newtonsoft streaming, floats as decimals.
        RespondWith(200, "{\"status\":\"success\",\"messages\":[{\"role\":\"tool\",\"a\":1.10,\"b\":2.500,\"c\":42,\"d\":123456789012345678901234567890,\"e\":-3.0}]}");
        using var client = CreateClient();

        var run = await client.TriggerAgentJobAsync("demo-agent");

        Assert.That(run.Transcript.Single().Raw.ToString(Newtonsoft.Json.Formatting.None),
            Is.EqualTo("{\"role\":\"tool\",\"a\":1.10,\"b\":2.500,\"c\":42,\"d\":123456789012345678901234567890,\"e\":-3.0}"));
    }

    [Test]
    public async Task ARepeatedKeyInALargeObjectIsRefused()
    {
        var members = string.Join(",", Enumerable.Range(0, 40).Select(i => $"\"k{i}\":{i}"));
        RespondWith(200, "{\"status\":\"success\",\"messages\":[{" + members + ",\"k\\u0033\":3}]}");
        using var client = CreateClient();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception!.Message, Does.Contain("\"k3\" appears twice"));
    }

    [TestCase("iso-8859-1")]
    [TestCase("utf-16")]
    [TestCase("\"UTF-8\"")]
    public async Task TheCharsetOfTheContentTypeIsHonoured(string charset)
    {
        var body = "{\"status\":\"success\",\"messages\":[{\"role\":\"assistant\",\"content\":\"Grüße, café\"}]}";
        var encoding = Encoding.GetEncoding(charset.Trim('"'));
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json; charset=" + charset).WithBody(encoding.GetBytes(body)));
        using var client = CreateClient();

        var run = await client.TriggerAgentJobAsync("demo-agent");

        Assert.That(run.FinalReply, Is.EqualTo("Grüße, café"));
    }

    [Test]
    public async Task ACharsetTheClientCannotDecodeIsNamed()
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json; charset=x-klingon").WithBody(Run));
        using var client = CreateClient();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception!.Message, Does.Contain("x-klingon"));
    }

    [Test]
    public async Task AnEscapedLoneSurrogateInATranscriptBecomesAReplacementCharacterNotAnError()
    {
        RespondWith(200, "{\"status\":\"success\",\"messages\":[{\"role\":\"assistant\",\"content\":\"cut \\ud83d\"}]}");
        using var client = CreateClient();

        var run = await client.TriggerAgentJobAsync("demo-agent");

        Assert.That(run.FinalReply, Is.EqualTo("cut \uFFFD"));
    }

    [Test]
    public void AnEmptyObjectPayloadIsRefusedWithAPointerToTheNoBodyOverload()
    {
        var fromJson = Assert.Throws<ArgumentException>(() => JobPayload.FromJson(" { } "));
        var fromObject = Assert.Throws<ArgumentException>(() => JobPayload.FromObject(new { }));
        var fromBytes = Assert.Throws<ArgumentException>(() => JobPayload.FromBytes(Encoding.UTF8.GetBytes("{}")));

        foreach (var exception in new[] { fromJson, fromObject, fromBytes })
        {
            Assert.That(exception!.Message, Does.Contain("empty JSON object").And.Contain("TriggerAgentJobAsync(jobId) with no payload"));
        }
    }
}
