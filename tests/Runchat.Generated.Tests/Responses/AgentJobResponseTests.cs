using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Responses;

[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class AgentJobResponseTests : WireMockTest
{
    private async Task<AgentJobResponse> TriggerWith(string responseBody)
    {
        RespondWith(200, responseBody);
        using var client = CreateClient();
        var response = await client.TriggerAgentJobAsync("demo-agent", "go");
        Assert.That(Requests, Has.Count.EqualTo(1));
        return response;
    }

    [Test]
    public async Task SnakeCaseWireNamesMapToDotNetProperties()
    {
        var response = await TriggerWith(ResponseBodies.Success("All done.", jobId: "job-42"));

        Assert.Multiple(() =>
        {
            Assert.That(response.JobId, Is.EqualTo("job-42"));
            Assert.That(response.RunchatId, Is.EqualTo("rc-9"));
            Assert.That(response.Status, Is.EqualTo(AgentJobResponseStatus.Success));
            Assert.That(response.IsSuccess, Is.True);
            Assert.That(response.EnsureSuccess(), Is.SameAs(response));
            Assert.That(response.Error, Is.Null);
            Assert.That(response.FinalReply, Is.EqualTo("All done."));
        });
    }

    [Test]
    public async Task MetadataIsParsedWithNumbersKeptAsWritten()
    {
        var response = await TriggerWith(ResponseBodies.Success());

        var metadata = response.GetMetadata();
        Assert.That(metadata, Is.Not.Null);
        Assert.That((int)metadata!["input_tokens"]!, Is.EqualTo(12));
        Assert.That(metadata["credits"]!.ToString(), Is.EqualTo("0.10"));
    }

    [TestCase("1e29", 1e29)]
    [TestCase("1.5e300", 1.5e300)]
    [TestCase("1e-30", 1e-30)]
    [TestCase("123456789012345678901234567890", 1.2345678901234568e29)]
    [TestCase("0.000000000000000000000000000001", 1e-30)]
    [TestCase("2.50", 2.5)]
    public void MetadataKeepsBigTinyAndPreciseNumbersAsWritten(string number, double approximately)
    {
        var response = RunchatModelFactory.AgentJobResponse(metadata: "{\"credits\":" + number + ",\"other\":\"kept\"}");

        var metadata = response.GetMetadata();

        Assert.That(metadata, Is.Not.Null, "one odd number never loses the whole object");
        Assert.That(metadata!["credits"]!.ToString(Newtonsoft.Json.Formatting.None), Is.EqualTo(number), "as written");
        Assert.That(metadata.Value<double>("credits"), Is.EqualTo(approximately).Within(1e-9).Percent);
        Assert.That((string?)metadata["other"], Is.EqualTo("kept"));
    }

    [TestCase("{\"status\":\"success\"}", TestName = "AbsentMetadataGivesNull")]
    [TestCase("{\"status\":\"success\",\"metadata\":\"not json\"}", TestName = "MetadataThatIsNotJsonGivesNull")]
    [TestCase("{\"status\":\"success\",\"metadata\":\"[1,2]\"}", TestName = "MetadataThatIsAnArrayGivesNull")]
    [TestCase("{\"status\":\"success\",\"metadata\":\"{\\\"a\\\":1\"}", TestName = "TruncatedMetadataGivesNull")]
    [TestCase("{\"status\":\"success\",\"metadata\":\"{} {}\"}", TestName = "MetadataWithTrailingDataGivesNull")]
    [TestCase("{\"status\":\"success\",\"metadata\":\"\"}", TestName = "EmptyMetadataGivesNull")]
    public async Task UnusableMetadataNeverThrows(string body)
    {
        var response = await TriggerWith(body);
        Assert.That(response.GetMetadata(), Is.Null);
    }

    [Test]
    public async Task StatusErrorInsideA200IsReportedByEnsureSuccess()
    {
        var response = await TriggerWith("{\"job_id\":\"job-7\",\"status\":\"error\",\"error\":\"Tool 'slack.post' failed: channel not found\",\"messages\":[]}");

        Assert.That(response.IsSuccess, Is.False);
        var exception = Assert.Throws<RunchatAgentRunException>(() => response.EnsureSuccess());
        Assert.Multiple(() =>
        {
            Assert.That(exception!.JobId, Is.EqualTo("job-7"));
            Assert.That(exception.Error, Is.EqualTo("Tool 'slack.post' failed: channel not found"));
            Assert.That(exception.Response, Is.SameAs(response));
            Assert.That(exception.Message, Does.Contain("job-7").And.Contain("channel not found"));
        });
    }

    [Test]
    public async Task UnknownStatusValueDoesNotThrowAndIsNotSuccess()
    {
        var response = await TriggerWith("{\"job_id\":\"j\",\"status\":\"queued\",\"messages\":[]}");

        Assert.That(response.Status, Is.Null);
        Assert.That(response.IsSuccess, Is.False);
        Assert.That(response.AdditionalProperties["status"]?.ToString(), Is.EqualTo("queued"), "the raw value stays readable");
        Assert.Throws<RunchatAgentRunException>(() => response.EnsureSuccess());
    }

    [TestCase("0", "0")]
    [TestCase("42", "42")]
    [TestCase("\"0\"", "0")]
    [TestCase("\"SUCCESS\"", "SUCCESS")]
    [TestCase("\" success\"", " success")]
    [TestCase("\"Success\"", "Success")]
    [TestCase("\"error \"", "error ")]
    public async Task OnlyTheExactStringsSuccessAndErrorAreAStatus(string wire, string raw)
    {
        var response = await TriggerWith("{\"job_id\":\"j\",\"status\":" + wire + ",\"messages\":[]}");

        Assert.That(response.Status, Is.Null, "no integers, no case folding, no trimming");
        Assert.That(response.IsSuccess, Is.False);
        Assert.That(response.AdditionalProperties["status"]?.ToString(), Is.EqualTo(raw), "the raw value stays readable");
    }

    [Test]
    public async Task StatusOfTheWrongShapeDoesNotThrow()
    {
        var response = await TriggerWith("{\"status\":{\"code\":\"success\"},\"job_id\":\"after\"}");

        Assert.That(response.Status, Is.Null);
        Assert.That(response.JobId, Is.EqualTo("after"), "the properties after a skipped value still read");
    }

    [Test]
    public async Task AbsentStatusIsNotSuccess()
    {
        var response = await TriggerWith("{\"job_id\":\"j\"}");

        Assert.That(response.Status, Is.Null, "NSwag's default would have read a missing status as Success");
        Assert.That(response.IsSuccess, Is.False);
    }

    [Test]
    public async Task UnknownPropertiesDoNotThrowAndAreKept()
    {
        var response = await TriggerWith("{\"status\":\"success\",\"duration_ms\":1234,\"trace\":{\"id\":\"t\"}}");

        Assert.That(response.IsSuccess, Is.True);
        Assert.That(response.AdditionalProperties.Keys, Is.EquivalentTo(new[] { "duration_ms", "trace" }));
    }

    [Test]
    public async Task TranscriptReadsStringContentPartsToolMessagesAndOddShapes()
    {
        var response = await TriggerWith(@"{""status"":""success"",""messages"":[
            {""role"":""system"",""content"":""template""},
            {""role"":""user"",""content"":[{""type"":""text"",""text"":""Hello ""},{""type"":""image_url"",""image_url"":{""url"":""x""}},{""type"":""text"",""text"":""world""}]},
            {""role"":""assistant"",""content"":""First answer.""},
            {""role"":""assistant"",""content"":null,""tool_calls"":[{""id"":""c1"",""function"":{""name"":""search""}}]},
            {""role"":""tool"",""tool_call_id"":""c1"",""content"":""{\""hits\"":3}""},
            ""a bare string"",
            42,
            null,
            {""content"":{""type"":""text"",""text"":""part as object""}},
            {""role"":""assistant"",""content"":[{""type"":""tool_use"",""id"":""t""}]},
            {""role"":7,""content"":[""plain"",""strings""]}
        ]}");

        var transcript = response.Transcript;
        Assert.That(transcript.Select(m => m.Role), Is.EqualTo(new[] { "system", "user", "assistant", "assistant", "tool", null, "assistant", null }));
        Assert.That(transcript.Select(m => m.Text), Is.EqualTo(new[] { "template", "Hello world", "First answer.", null, "{\"hits\":3}", "part as object", null, "plainstrings" }));
        Assert.That(transcript[3].Raw["tool_calls"], Is.Not.Null, "Raw is the message as received");
        Assert.That(response.FinalReply, Is.EqualTo("First answer."), "assistant messages without text are skipped");
    }

    [Test]
    public async Task MissingMessagesGiveAnEmptyTranscriptAndNoReply()
    {
        var response = await TriggerWith("{\"status\":\"success\"}");

        Assert.That(response.Transcript, Is.Empty);
        Assert.That(response.FinalReply, Is.Null);
    }

    [Test]
    public async Task TranscriptWithoutAssistantHasNoFinalReply()
    {
        var response = await TriggerWith("{\"status\":\"success\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"\"}]}");

        Assert.That(response.Transcript, Has.Count.EqualTo(2));
        Assert.That(response.FinalReply, Is.Null);
    }

    [Test]
    public async Task RawMessagesKeepDateLikeStringsAsReceived()
    {
        var response = await TriggerWith("{\"status\":\"success\",\"messages\":[{\"role\":\"tool\",\"content\":\"2026-11-28T09:15:00.000+01:00\",\"at\":\"2026-11-28\"}]}");

        var raw = response.Transcript[0].Raw;
        Assert.That(raw["content"]!.Type, Is.EqualTo(Newtonsoft.Json.Linq.JTokenType.String));
        Assert.That(response.Transcript[0].Text, Is.EqualTo("2026-11-28T09:15:00.000+01:00"));
        Assert.That(raw.ToString(Newtonsoft.Json.Formatting.None), Is.EqualTo("{\"role\":\"tool\",\"content\":\"2026-11-28T09:15:00.000+01:00\",\"at\":\"2026-11-28\"}"));
    }
}
