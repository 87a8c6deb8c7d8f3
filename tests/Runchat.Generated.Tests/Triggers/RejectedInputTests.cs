using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Triggers;

[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class RejectedInputTests : WireMockTest
{
    public static IEnumerable<TestCaseData> InvalidJsonTexts()
    {
        yield return new TestCaseData("", "empty").SetName("EmptyPayloadIsRejected");
        yield return new TestCaseData("   ", "empty").SetName("WhitespacePayloadIsRejected");
        yield return new TestCaseData("not json", "not valid JSON").SetName("TextThatIsNotJsonIsRejected");
        yield return new TestCaseData("[1,2]", "an array").SetName("ArrayPayloadIsRejected");
        yield return new TestCaseData("\"text\"", "a string").SetName("StringPayloadIsRejected");
        yield return new TestCaseData("42", "a number").SetName("NumberPayloadIsRejected");
        yield return new TestCaseData("true", "a boolean").SetName("BooleanPayloadIsRejected");
        yield return new TestCaseData("null", "null").SetName("NullLiteralPayloadIsRejected");
        yield return new TestCaseData("{\"a\":1} {\"b\":2}", "not valid JSON").SetName("TwoObjectsAreRejected");
        yield return new TestCaseData("{\"a\":1}}", "not valid JSON").SetName("TrailingGarbageIsRejected");
        yield return new TestCaseData("{\"a\":1", "the JSON ends early at byte 6").SetName("TruncatedObjectIsRejected");
        yield return new TestCaseData("{", "the JSON ends early at byte 1").SetName("AnOpenBraceAloneEndsEarly");
        yield return new TestCaseData("{\"name\":", "the JSON ends early at byte 8").SetName("AMissingValueEndsEarly");
        yield return new TestCaseData("{\"a\":[", "the JSON ends early at byte 6").SetName("AnOpenArrayEndsEarly");
        yield return new TestCaseData("{\"a\":\"unterminated", "the JSON ends early at byte 18").SetName("AnOpenStringEndsEarly");
        yield return new TestCaseData("{'a':1}", "not valid JSON").SetName("SingleQuotedJsonIsRejected");
        yield return new TestCaseData("{a:1}", "not valid JSON").SetName("UnquotedKeysAreRejected");
        yield return new TestCaseData("{\"a\":1,}", "not valid JSON").SetName("TrailingCommaIsRejected");
        yield return new TestCaseData("{\"a\":1 /* c */}", "not valid JSON").SetName("CommentsAreRejected");
        yield return new TestCaseData("{\"a\":NaN}", "not valid JSON").SetName("NaNIsRejected");
    }

    [TestCaseSource(nameof(InvalidJsonTexts))]
    public void InvalidPayloadTextFailsAtCreationWithAClearMessage(string json, string expectedReason)
    {
        var exception = Assert.Throws<ArgumentException>(() => JobPayload.FromJson(json));
        Assert.That(exception!.Message, Does.Contain(expectedReason));
        Assert.That(exception.ParamName, Is.EqualTo("json"));
        Assert.That(exception.Message, Does.Not.Contain("depth").And.Not.Contain("reader options").And.Not.Contain("BytePositionInLine").And.Not.Contain("LineNumber"),
            "our words, not the parser's internals");
    }

    [Test]
    public void InvalidUtf8BytesAreRejected()
    {
        var bytes = new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}' };
        var exception = Assert.Throws<ArgumentException>(() => JobPayload.FromBytes(bytes));
        Assert.That(exception!.Message, Does.Contain("not valid JSON"));
    }

    [Test]
    public void ByteOrderMarkIsRejected()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("{}")).ToArray();
        var exception = Assert.Throws<ArgumentException>(() => JobPayload.FromBytes(bytes));
        Assert.That(exception!.Message, Does.Contain("byte-order mark"));
    }

    [Test]
    public void UnpairedSurrogateInTextIsRejected()
    {
        Assert.Throws<ArgumentException>(() => JobPayload.FromJson("{\"a\":\"\uD800\"}"));
    }

    [Test]
    public void HostileNestingIsRejectedWithoutCrashing()
    {
        var deep = "{\"a\":" + new string('[', 200_000) + new string(']', 200_000) + "}";
        var exception = Assert.Throws<ArgumentException>(() => JobPayload.FromJson(deep));
        Assert.That(exception!.Message, Does.Contain("nested deeper than"));
    }

    [Test]
    public void ModerateNestingIsAccepted()
    {
        var nested = "{\"a\":" + new string('[', 500) + new string(']', 500) + "}";
        Assert.That(JobPayload.FromJson(nested).Length, Is.EqualTo(nested.Length));
    }

    [Test]
    public void FromObjectRejectsValuesThatAreNotObjects()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentException>(() => JobPayload.FromObject("{\"a\":1}"))!.Message, Does.Contain("FromJson"));
            Assert.That(Assert.Throws<ArgumentException>(() => JobPayload.FromObject(new[] { 1, 2 }))!.Message, Does.Contain("an array"));
            Assert.That(Assert.Throws<ArgumentException>(() => JobPayload.FromObject(42))!.Message, Does.Contain("a number"));
            Assert.Throws<ArgumentNullException>(() => JobPayload.FromObject(null!));
        });
    }

    [Test]
    public void NullSourcesAreRejected()
    {
        Assert.Throws<ArgumentNullException>(() => JobPayload.FromJson(null!));
        Assert.Throws<ArgumentNullException>(() => JobPayload.FromBytes(null!));
        Assert.ThrowsAsync<ArgumentNullException>(() => JobPayload.FromStreamAsync(null!));
    }

    [Test]
    public void InvalidStreamContentIsRejected()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("[\"not an object\"]"));
        Assert.ThrowsAsync<ArgumentException>(() => JobPayload.FromStreamAsync(stream));
    }

    public static IEnumerable<TestCaseData> InvalidJobIds()
    {
        yield return new TestCaseData("").SetName("EmptyJobIdIsRejected");
        yield return new TestCaseData("   ").SetName("WhitespaceJobIdIsRejected");
        yield return new TestCaseData(".").SetName("DotJobIdIsRejected");
        yield return new TestCaseData("..").SetName("DotDotJobIdIsRejected");
        yield return new TestCaseData("job\n1").SetName("JobIdWithNewlineIsRejected");
        yield return new TestCaseData("job\u00001").SetName("JobIdWithNulIsRejected");
        yield return new TestCaseData("job\u007f").SetName("JobIdWithDeleteIsRejected");
        yield return new TestCaseData("job\uD800").SetName("JobIdWithUnpairedSurrogateIsRejected");
    }

    [TestCaseSource(nameof(InvalidJobIds))]
    public void InvalidJobIdFailsBeforeAnyRequestInEveryMode(string jobId)
    {
        RespondWithSuccess();
        using var client = CreateClient();
        var payload = JobPayload.FromJson("{\"a\":1}");

        Assert.ThrowsAsync<ArgumentException>(() => client.TriggerAgentJobAsync(jobId));
        Assert.ThrowsAsync<ArgumentException>(() => client.TriggerAgentJobAsync(jobId, "hello"));
        Assert.ThrowsAsync<ArgumentException>(() => client.TriggerAgentJobAsync(jobId, payload));
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public void NullJobIdFailsBeforeAnyRequest()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        Assert.ThrowsAsync<ArgumentNullException>(() => client.TriggerAgentJobAsync(null!));
        Assert.ThrowsAsync<ArgumentNullException>(() => client.TriggerAgentJobAsync(null!, "hello"));
        Assert.ThrowsAsync<ArgumentNullException>(() => client.TriggerAgentJobAsync(null!, JobPayload.FromJson("{\"a\":1}")));
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public void NullMessageFailsBeforeAnyRequest()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<ArgumentNullException>(() => client.TriggerAgentJobAsync("demo", (string)null!));
        Assert.That(exception!.ParamName, Is.EqualTo("message"));
        Assert.That(Requests, Is.Empty);
    }

    [TestCase(" demo-agent")]
    [TestCase("demo-agent ")]
    [TestCase("demo-agent\u00a0")]
    public void AJobIdWithLeadingOrTrailingWhitespaceFailsBeforeAnyRequestAndIsQuoted(string jobId)
    {
        RespondWithSuccess();
        using var client = CreateClient();

        var exception = Assert.Throws<ArgumentException>(() => client.TriggerAgentJobAsync(jobId));

        Assert.That(exception!.ParamName, Is.EqualTo("jobId"));
        Assert.That(exception.Message, Does.Contain("\"" + jobId + "\"").And.Contain("leading or trailing whitespace"));
        Assert.That(Requests, Is.Empty);
    }

    [TestCase("")]
    [TestCase(" ")]
    [TestCase("\n\t ")]
    public void BlankMessageFailsBeforeAnyRequest(string message)
    {
        RespondWithSuccess();
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<ArgumentException>(() => client.TriggerAgentJobAsync("demo", message));
        Assert.That(exception!.ParamName, Is.EqualTo("message"));
        Assert.That(exception.Message, Does.Contain("without a message"));
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public void NullPayloadFailsBeforeAnyRequest()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        Assert.ThrowsAsync<ArgumentNullException>(() => client.TriggerAgentJobAsync("demo", (JobPayload)null!));
        Assert.That(Requests, Is.Empty);
    }

    [TestCase("a/b?c#d", "a%2Fb%3Fc%23d")]
    [TestCase("100%", "100%25")]
    [TestCase("sp ace", "sp%20ace")]
    [TestCase("caf\u00e9", "caf%C3%A9")]
    [TestCase("%2e%2e", "%252e%252e")]
    [TestCase("...", "...")]
    [TestCase("a\\b", "a%5Cb")]
    public async Task JobIdIsOnePercentEncodedPathSegment(string jobId, string expectedSegment)
    {
        // The exact request line, as sent: WireMock reports a decoded path.
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()));
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = peer.BaseUrl });

        await client.TriggerAgentJobAsync(jobId);

        Assert.That(peer.Requests, Has.Count.EqualTo(1));
        Assert.That(peer.Requests.Single().RequestLine, Is.EqualTo("POST /api/v1/job/" + expectedSegment + " HTTP/1.1"));
    }
}
