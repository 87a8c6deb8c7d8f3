using System;
using System.IO;
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
public class RawPayloadTests : WireMockTest
{
    /// <summary>Everything a re-serializing client would damage (<see cref="TestPayloads.FragileWebhook"/>).</summary>
    public const string FragileWebhook = TestPayloads.FragileWebhook;

    [Test]
    public async Task RawPayloadArrivesByteForByte()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        await client.TriggerAgentJobAsync("demo-agent", JobPayload.FromJson(FragileWebhook));

        var request = SingleRequest();
        Assert.That(request.BodyAsBytes, Is.EqualTo(Encoding.UTF8.GetBytes(FragileWebhook)));
        Assert.That(Header(request, "Content-Type"), Is.EqualTo("application/json; charset=utf-8"));
    }

    [Test]
    public async Task PayloadFromBytesIsSentExactly()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        var bytes = Encoding.UTF8.GetBytes(FragileWebhook);

        await client.TriggerAgentJobAsync("demo-agent", JobPayload.FromBytes(bytes));

        Assert.That(SingleRequest().BodyAsBytes, Is.EqualTo(bytes));
    }

    [Test]
    public async Task PayloadFromStreamIsSentExactly()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        var bytes = Encoding.UTF8.GetBytes(FragileWebhook);
        using var stream = new MemoryStream(bytes);

        await client.TriggerAgentJobAsync("demo-agent", await JobPayload.FromStreamAsync(stream));

        Assert.That(SingleRequest().BodyAsBytes, Is.EqualTo(bytes));
    }

    [Test]
    public async Task PayloadFromNonSeekableStreamIsSentExactly()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        var bytes = Encoding.UTF8.GetBytes(FragileWebhook);

        await client.TriggerAgentJobAsync("demo-agent", await JobPayload.FromStreamAsync(new NonSeekableStream(bytes)));

        Assert.That(SingleRequest().BodyAsBytes, Is.EqualTo(bytes));
    }

    [Test]
    public async Task LargePayloadFromNonSeekableStreamIsSentExactly()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        var bytes = Encoding.UTF8.GetBytes("{\"blob\":\"" + new string('x', 300_000) + "\u00e9\"}");

        var payload = await JobPayload.FromStreamAsync(new NonSeekableStream(bytes));
        await client.TriggerAgentJobAsync("demo-agent", payload);

        Assert.That(payload.Length, Is.EqualTo(bytes.Length));
        Assert.That(SingleRequest().BodyAsBytes, Is.EqualTo(bytes));
    }

    [Test]
    public async Task SeekableStreamIsReadFromItsCurrentPosition()
    {
        var bytes = Encoding.UTF8.GetBytes("garbage{\"a\":1}");
        using var stream = new MemoryStream(bytes) { Position = 7 };

        var payload = await JobPayload.FromStreamAsync(stream);

        Assert.That(payload.ToString(), Is.EqualTo("{\"a\":1}"));
    }

    [Test]
    public async Task PayloadFromObjectIsSerializedWithNewtonsoft()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        var payload = JobPayload.FromObject(new { @event = "alert.fired", severity = 2, tags = new[] { "db", "p1" } });

        await client.TriggerAgentJobAsync("demo-agent", payload);

        Assert.That(Encoding.UTF8.GetString(SingleRequest().BodyAsBytes!), Is.EqualTo("{\"event\":\"alert.fired\",\"severity\":2,\"tags\":[\"db\",\"p1\"]}"));
    }

    [Test]
    public async Task PayloadFromJObjectKeepsItsValues()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        var jobject = new JObject { ["type"] = "invoice.paid", ["amount"] = 1999, ["livemode"] = false };

        await client.TriggerAgentJobAsync("demo-agent", JobPayload.FromObject(jobject));

        Assert.That(Encoding.UTF8.GetString(SingleRequest().BodyAsBytes!), Is.EqualTo("{\"type\":\"invoice.paid\",\"amount\":1999,\"livemode\":false}"));
    }

    [Test]
    public async Task RawPayloadWithTopLevelMessageKeyIsDeliveredWhole()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        const string webhook = "{\"message\":\"only this would survive\",\"from\":\"ada@example.com\",\"amount\":1.10}";
        var payload = JobPayload.FromJson(webhook);

        await client.TriggerAgentJobAsync("demo-agent", payload);

        var body = Encoding.UTF8.GetString(SingleRequest().BodyAsBytes!);
        Assert.That(payload.HasTopLevelMessageKey, Is.True);
        Assert.That(body, Is.EqualTo("{\"message\":\"{\\\"message\\\":\\\"only this would survive\\\",\\\"from\\\":\\\"ada@example.com\\\",\\\"amount\\\":1.10}\"}"));
        Assert.That(JObject.Parse(body)["message"]!.Value<string>(), Is.EqualTo(webhook), "the agent's message is the entire payload text");
    }

    [Test]
    public async Task EscapedTopLevelMessageKeyIsRecognisedToo()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        const string webhook = "{\"m\\u0065ssage\":\"x\",\"other\":1}";

        await client.TriggerAgentJobAsync("demo-agent", JobPayload.FromJson(webhook));

        var body = Encoding.UTF8.GetString(SingleRequest().BodyAsBytes!);
        Assert.That(JObject.Parse(body)["message"]!.Value<string>(), Is.EqualTo(webhook));
    }

    [Test]
    public async Task NestedMessageKeyIsNotTopLevelAndIsSentAsIs()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        const string webhook = "{\"fields\":{\"message\":\"Hi\"},\"messages\":[1]}";
        var payload = JobPayload.FromJson(webhook);

        await client.TriggerAgentJobAsync("demo-agent", payload);

        Assert.That(payload.HasTopLevelMessageKey, Is.False);
        Assert.That(Encoding.UTF8.GetString(SingleRequest().BodyAsBytes!), Is.EqualTo(webhook));
    }

    [Test]
    public async Task SamePayloadCanBeSentTwiceIdentically()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        var payload = JobPayload.FromJson(FragileWebhook);

        await client.TriggerAgentJobAsync("a", payload);
        await client.TriggerAgentJobAsync("b", payload);

        Assert.That(Requests, Has.Count.EqualTo(2));
        Assert.That(Requests[0].BodyAsBytes, Is.EqualTo(Requests[1].BodyAsBytes));
    }

    private sealed class NonSeekableStream : MemoryStream
    {
        public NonSeekableStream(byte[] bytes) : base(bytes) { }

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
