using System;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Tests.Relay;

/// <summary>
/// The HTTP table of a route: 202 only after the commit, a duplicate answered with the first id, and
/// every bad input a clear 4xx with {"error": ...}, nothing stored and no run.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class IngestTests : PerStoreFixture
{
    public IngestTests(string storeKind)
        : base(storeKind)
    {
    }

    private const string Secret = "whsec_aW5nZXN0LXRlc3Qtc2VjcmV0LXZhbHVlLTEyMw==";
    private const string Event = "{\"type\":\"form.submitted\",\"email\":\"ada@example.com\",\"amount\":1.10}";

    private SandboxServer _sandbox = null!;
    private RelayHost _relay = null!;
    private FakeTimeProvider _clock = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _sandbox = await SandboxServer.StartAsync();
        _clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        _relay = await StartRelayAsync(_sandbox.BaseUrl, o =>
        {
            o.MaxBodyBytes = 4096;
            o.Routes.Add(RelayHost.Route("/hooks/forms", "lead-agent", "standard-webhooks", Secret));
            o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent"));
        }, services: s => s.AddSingleton<TimeProvider>(_clock));
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _relay.DisposeAsync();
        await _sandbox.DisposeAsync();
    }

    private (string, string)[] Signed(string body, string id = "msg_1", DateTimeOffset? at = null) =>
        WebhookSignature.StandardWebhooks(Secret).Sign(Encoding.UTF8.GetBytes(body), at ?? _clock.GetUtcNow(), id).Select(h => (h.Key, h.Value)).ToArray();

    [Test]
    public async Task AValidDeliveryIsAcceptedStoredAndRunOnceWithItsExactBytes()
    {
        var (status, body) = await _relay.PostAsync("/hooks/forms", Event, Signed(Event));

        Assert.That(status, Is.EqualTo(202));
        Assert.That(body.GetProperty("duplicate").GetBoolean(), Is.False);
        var id = body.GetProperty("delivery_id").GetString()!;
        var delivery = (await _relay.SettledAsync(1, TimeSpan.FromSeconds(10))).Single();
        Assert.That(delivery.Id, Is.EqualTo(id));
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded));
        Assert.That(delivery.DedupeKey, Is.EqualTo("id:msg_1"));
        Assert.That(delivery.Attempts, Is.EqualTo(1));
        Assert.That(delivery.FinalReply, Does.Contain("Sandbox agent"));
        var run = _sandbox.Requests.Single();
        Assert.That(run.JobId, Is.EqualTo("lead-agent"));
        Assert.That(run.BodySha256, Is.EqualTo(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Event))).ToLowerInvariant()), "byte for byte");
    }

    [Test]
    public async Task TheSameDeliveryAgainIsAnsweredWithTheFirstIdAndDoesNotRunAgain()
    {
        var headers = Signed(Event, "msg_again");
        var first = await _relay.PostAsync("/hooks/forms", Event, headers);
        var second = await _relay.PostAsync("/hooks/forms", Event, headers);

        Assert.That(second.Status, Is.EqualTo(202));
        Assert.That(second.Body.GetProperty("duplicate").GetBoolean(), Is.True);
        Assert.That(second.Body.GetProperty("delivery_id").GetString(), Is.EqualTo(first.Body.GetProperty("delivery_id").GetString()));
        await _relay.SettledAsync(1, TimeSpan.FromSeconds(10));
        await _relay.IdleAsync();
        Assert.That(_sandbox.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task OnAnUnsignedRouteTheIdempotencyKeyThenTheBodyHashDedupe()
    {
        var first = await _relay.PostAsync("/hooks/open", Event, ("Idempotency-Key", "order-17"));
        var sameKey = await _relay.PostAsync("/hooks/open", Event, ("Idempotency-Key", "order-17"));
        var byBody = await _relay.PostAsync("/hooks/open", Event);
        var sameBody = await _relay.PostAsync("/hooks/open", Event);

        Assert.That(new[] { first.Status, sameKey.Status, byBody.Status, sameBody.Status }, Is.All.EqualTo(202), _relay.Errors);

        Assert.That(sameKey.Body.GetProperty("duplicate").GetBoolean(), Is.True);
        Assert.That(sameBody.Body.GetProperty("duplicate").GetBoolean(), Is.True);
        var keys = (await _relay.SettledAsync(2, TimeSpan.FromSeconds(10))).Select(d => d.DedupeKey).OrderBy(k => k).ToList();
        Assert.That(keys, Has.Count.EqualTo(2));
        Assert.That(keys[0], Is.EqualTo("idempotency-key:order-17"));
        Assert.That(keys[1], Does.StartWith("sha256:").And.Length.EqualTo(71));
    }

    public static object[] BadInputs =
    {
        new object[] { "a wrong signature", "/hooks/forms", Event, "wrong", 401, "signature" },
        new object[] { "a missing signature header", "/hooks/forms", Event, "none", 401, "missing" },
        new object[] { "a timestamp outside the tolerance", "/hooks/forms", Event, "old", 401, "tolerance" },
        new object[] { "a JSON array", "/hooks/open", "[1,2]", "", 400, "object" },
        new object[] { "a JSON string", "/hooks/open", "\"hi\"", "", 400, "object" },
        new object[] { "truncated JSON", "/hooks/open", "{\"a\":", "", 400, "JSON" },
        new object[] { "two objects", "/hooks/open", "{}{}", "", 400, "JSON" },
        new object[] { "an empty body", "/hooks/open", "", "", 400, "The body is empty; this route accepts one JSON object" },
        new object[] { "an empty object", "/hooks/open", " {} ", "", 400, "empty JSON object, which would give the agent nothing" },
        new object[] { "not JSON", "/hooks/open", "name=ada&plan=pro", "", 400, "JSON" },
        new object[] { "a body over the limit", "/hooks/open", "{\"pad\":\"" + new string('x', 5000) + "\"}", "", 413, "4096" },
    };

    [TestCaseSource(nameof(BadInputs))]
    public async Task BadInputIsAClear4xxAndNothingIsStoredOrRun(string what, string path, string body, string signing, int expected, string phrase)
    {
        var headers = signing switch
        {
            "wrong" => Signed(Event.Replace("1.10", "9.99")),
            "old" => Signed(body, at: _clock.GetUtcNow().AddMinutes(-6)),
            _ => Array.Empty<(string, string)>(),
        };

        var (status, answer) = await _relay.PostAsync(path, body, headers);

        Assert.That(status, Is.EqualTo(expected), what);
        Assert.That(answer.GetProperty("error").GetString(), Does.Contain(phrase), what);
        // Stored or not when the answer is written: nothing stored, nothing can run.
        Assert.That(await _relay.Relay.ListAsync(), Is.Empty, "nothing stored");
        Assert.That(_sandbox.Requests, Is.Empty, "no run");
    }

    [Test]
    public async Task InvalidUtf8IsRefused()
    {
        var body = new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}' };

        var (status, answer) = await _relay.PostAsync("/hooks/open", body);

        Assert.That(status, Is.EqualTo(400));
        Assert.That(answer.GetProperty("error").GetString(), Does.Contain("UTF-8"));
        Assert.That(await _relay.Relay.ListAsync(), Is.Empty);
    }

    [Test]
    public async Task AChunkedBodyOverTheLimitIsRefusedWithoutAContentLength()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/open")
        {
            Content = new StreamContent(new System.IO.MemoryStream(Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('y', 9000) + "\"}"))),
        };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _relay.Http.SendAsync(request);

        Assert.That((int)response.StatusCode, Is.EqualTo(413));
        Assert.That(await _relay.Relay.ListAsync(), Is.Empty);
    }

    [TestCase("GET")]
    [TestCase("PUT")]
    [TestCase("DELETE")]
    public async Task AnyOtherMethodIs405(string method)
    {
        using var response = await _relay.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/hooks/open"));

        Assert.That((int)response.StatusCode, Is.EqualTo(405));
        Assert.That(response.Content.Headers.Allow, Is.EquivalentTo(new[] { "POST" }));
        Assert.That(await _relay.Relay.ListAsync(), Is.Empty);
    }

    [Test]
    public async Task TheToleranceFollowsTheRelaysClock()
    {
        var headers = Signed(Event, "msg_clock");
        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.That((await _relay.PostAsync("/hooks/forms", Event, headers)).Status, Is.EqualTo(202), "4 minutes old: within 5");

        var later = Signed(Event, "msg_clock_2");
        _clock.Advance(TimeSpan.FromMinutes(5.5));
        Assert.That((await _relay.PostAsync("/hooks/forms", Event, later)).Status, Is.EqualTo(401), "5.5 minutes old");
    }
}
