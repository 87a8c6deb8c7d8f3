using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Tests.Relay;

/// <summary>
/// Only signed material decides identity: a copy of one signed request with fresh unsigned headers
/// is the same delivery; the same signed id with another body is a 409; an id no store can keep is
/// a 400; Slack's handshakes are answered and never stored; Slack's forms are stored as JSON.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class IdentityTests : PerStoreFixture
{
    public IdentityTests(string storeKind)
        : base(storeKind)
    {
    }

    private const string GitHubSecret = "github-identity-test-secret-0123";
    private const string StandardSecret = "whsec_aWRlbnRpdHktdGVzdC1zZWNyZXQtdmFsdWUtNDU2";
    private const string StripeSecret = "whsec_stripe_identity_test_secret_789";
    private const string SlackSecret = "slack-identity-test-signing-secret";

    private SandboxServer _sandbox = null!;
    private RelayHost _relay = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _sandbox = await SandboxServer.StartAsync();
        _relay = await StartRelayAsync(_sandbox.BaseUrl, o =>
        {
            o.Routes.Add(RelayHost.Route("/hooks/github", "triage-agent", "github", GitHubSecret));
            o.Routes.Add(RelayHost.Route("/hooks/forms", "lead-agent", "standard-webhooks", StandardSecret));
            o.Routes.Add(RelayHost.Route("/hooks/stripe", "billing-agent", "stripe", StripeSecret));
            var slack = RelayHost.Route("/hooks/slack", "ask-agent", "slack", SlackSecret);
            slack.Reply = "On it: I'll post the answer here.";
            o.Routes.Add(slack);
        });
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _relay.DisposeAsync();
        await _sandbox.DisposeAsync();
    }

    private static (string, string)[] Sign(WebhookSignature scheme, byte[] body, string id) => scheme.Sign(body, DateTimeOffset.UtcNow, id).Select(h => (h.Key, h.Value)).ToArray();

    [Test]
    public async Task ACopyOfOneSignedGitHubRequestWithFreshUnsignedHeadersRunsOnce()
    {
        var body = Encoding.UTF8.GetBytes("{\"action\":\"opened\",\"issue\":{\"number\":7}}");
        var signed = Sign(WebhookSignature.GitHub(GitHubSecret), body, "guid-original");
        var signature = signed.Single(h => h.Item1 == "X-Hub-Signature-256");

        var answers = new List<JsonElement>();
        for (var i = 0; i < 4; i++)
        {
            var (status, answer) = await _relay.PostAsync("/hooks/github", body, signature, ("X-GitHub-Delivery", i == 0 ? "guid-original" : $"guid-forged-{i}"), ("Idempotency-Key", $"fresh-{i}"));
            Assert.That(status, Is.EqualTo(202), _relay.Errors);
            answers.Add(answer);
        }

        var deliveries = await _relay.SettledAsync(1, TimeSpan.FromSeconds(10));
        await _relay.IdleAsync();
        Assert.That(deliveries, Has.Count.EqualTo(1));
        Assert.That(deliveries[0].DedupeKey, Does.StartWith("sha256:"));
        Assert.That(deliveries[0].SenderId, Is.EqualTo("guid-original"), "the sender's delivery id is kept as a label");
        Assert.That(answers.Skip(1).Select(a => a.GetProperty("duplicate").GetBoolean()), Is.All.True);
        Assert.That(_sandbox.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AnIdempotencyKeyOnASignedRouteCannotCreateASecondDelivery()
    {
        var body = Encoding.UTF8.GetBytes("{\"type\":\"form.submitted\",\"n\":1}");
        var headers = Sign(WebhookSignature.StandardWebhooks(StandardSecret), body, "msg_idem");

        var first = await _relay.PostAsync("/hooks/forms", body, headers.Append(("Idempotency-Key", "a")).ToArray());
        var second = await _relay.PostAsync("/hooks/forms", body, headers.Append(("Idempotency-Key", "b")).ToArray());

        Assert.That(second.Body.GetProperty("duplicate").GetBoolean(), Is.True);
        Assert.That(second.Body.GetProperty("delivery_id").GetString(), Is.EqualTo(first.Body.GetProperty("delivery_id").GetString()));
        Assert.That((await _relay.SettledAsync(1, TimeSpan.FromSeconds(10))).Single().DedupeKey, Is.EqualTo("id:msg_idem"));
    }

    [Test]
    public async Task TheSameSignedIdWithAnotherBodyIsA409AndNothingIsStoredOrRun()
    {
        var scheme = WebhookSignature.StandardWebhooks(StandardSecret);
        var small = Encoding.UTF8.GetBytes("{\"type\":\"invoice.paid\",\"amount\":10}");
        var large = Encoding.UTF8.GetBytes("{\"type\":\"invoice.paid\",\"amount\":99999}");

        var first = await _relay.PostAsync("/hooks/forms", small, Sign(scheme, small, "msg_same"));
        var conflict = await _relay.PostAsync("/hooks/forms", large, Sign(scheme, large, "msg_same"));

        Assert.That(first.Status, Is.EqualTo(202));
        Assert.That(conflict.Status, Is.EqualTo(409));
        Assert.That(conflict.Body.GetProperty("error").GetString(), Does.Contain("different body"));
        var deliveries = await _relay.SettledAsync(1, TimeSpan.FromSeconds(10));
        await _relay.IdleAsync();
        Assert.That(deliveries, Has.Count.EqualTo(1));
        Assert.That(_sandbox.Requests.Single().BodySha256, Is.EqualTo(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(small)).ToLowerInvariant()));
        Assert.That(_relay.Errors.Split('\n').Count(l => l.Contains("different body")), Is.EqualTo(1), "logged once");
    }

    [TestCase("{\"id\":\"evt_\\ud800\",\"type\":\"charge.succeeded\"}", "escaped lone surrogate", TestName = "AStripeEventIdWithALoneSurrogateIsA400")]
    [TestCase("{\"id\":\"evt_\\u0000x\",\"type\":\"charge.succeeded\"}", "NUL", TestName = "AStripeEventIdWithANulIsA400")]
    public async Task AValidlySignedEventWhoseIdNoStoreCanKeepIsA400(string json, string phrase)
    {
        var body = Encoding.UTF8.GetBytes(json);

        var (status, answer) = await _relay.PostAsync("/hooks/stripe", body, Sign(WebhookSignature.Stripe(StripeSecret), body, "ignored"));

        Assert.That(status, Is.EqualTo(400), _relay.Errors);
        Assert.That(answer.GetProperty("error").GetString(), Does.Contain(phrase));
        Assert.That(await _relay.Relay.ListAsync(), Is.Empty);
    }

    [Test]
    public async Task AVeryLongSignedIdIsStoredAsItsHash()
    {
        var id = "evt_" + new string('x', 3000);
        var body = Encoding.UTF8.GetBytes("{\"id\":\"" + id + "\",\"type\":\"charge.succeeded\"}");

        var first = await _relay.PostAsync("/hooks/stripe", body, Sign(WebhookSignature.Stripe(StripeSecret), body, "ignored"));
        var again = await _relay.PostAsync("/hooks/stripe", body, Sign(WebhookSignature.Stripe(StripeSecret), body, "ignored"));

        Assert.That(first.Status, Is.EqualTo(202), _relay.Errors);
        Assert.That(again.Body.GetProperty("duplicate").GetBoolean(), Is.True);
        Assert.That((await _relay.SettledAsync(1, TimeSpan.FromSeconds(10))).Single().DedupeKey, Does.StartWith("id:sha256:").And.Length.EqualTo(74));
    }

    [Test]
    public async Task AStripeEventIsIdentifiedByItsSignedIdAndSlackByItsEventId()
    {
        var stripe = Encoding.UTF8.GetBytes("{\"id\":\"evt_1\",\"type\":\"charge.succeeded\"}");
        var slack = Encoding.UTF8.GetBytes("{\"type\":\"event_callback\",\"event_id\":\"Ev01\",\"event\":{\"type\":\"app_mention\",\"text\":\"hi\"}}");

        Assert.That((await _relay.PostAsync("/hooks/stripe", stripe, Sign(WebhookSignature.Stripe(StripeSecret), stripe, "x"))).Status, Is.EqualTo(202));
        Assert.That((await _relay.PostAsync("/hooks/slack", slack, Sign(WebhookSignature.Slack(SlackSecret), slack, "x"))).Status, Is.EqualTo(202));

        var keys = (await _relay.SettledAsync(2, TimeSpan.FromSeconds(10))).Select(d => d.DedupeKey).OrderBy(k => k);
        Assert.That(keys, Is.EqualTo(new[] { "id:Ev01", "id:evt_1" }));
    }

    [Test]
    public async Task SlacksUrlVerificationIsAnsweredWithItsChallengeAndNeitherStoredNorRun()
    {
        var body = Encoding.UTF8.GetBytes("{\"token\":\"t\",\"challenge\":\"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P\",\"type\":\"url_verification\"}");

        var (status, answer) = await _relay.PostAsync("/hooks/slack", body, Sign(WebhookSignature.Slack(SlackSecret), body, "x"));
        var unsigned = await _relay.PostAsync("/hooks/slack", body);

        Assert.That(status, Is.EqualTo(200));
        Assert.That(answer.GetProperty("challenge").GetString(), Is.EqualTo("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"));
        Assert.That(unsigned.Status, Is.EqualTo(401), "the handshake is answered only after the signature check");
        Assert.That(await _relay.Relay.ListAsync(), Is.Empty, "stored or not when answered: nothing stored, nothing can run");
        Assert.That(_sandbox.Requests, Is.Empty);
    }

    private async Task<(int Status, string Body)> PostFormAsync(byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/slack") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-www-form-urlencoded");
        foreach (var (name, value) in Sign(WebhookSignature.Slack(SlackSecret), body, "x"))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _relay.Http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task SlacksSslCheckIsAnswered200AndNeitherStoredNorRun()
    {
        var (status, _) = await PostFormAsync(Encoding.UTF8.GetBytes("ssl_check=1&token=abc"));

        Assert.That(status, Is.EqualTo(200));
        Assert.That(await _relay.Relay.ListAsync(), Is.Empty, "stored or not when answered");
    }

    [Test]
    public async Task ASlashCommandIsVerifiedOverItsFormBytesAnsweredWithTheReplyAndStoredAsJson()
    {
        var form = "command=%2Fask&text=why+is+the+build+red%3F&user_name=ada&trigger_id=13345.2";

        var (status, answer) = await PostFormAsync(Encoding.UTF8.GetBytes(form));

        Assert.That(status, Is.EqualTo(200), _relay.Errors);
        Assert.That(JsonDocument.Parse(answer).RootElement.GetProperty("text").GetString(), Is.EqualTo("On it: I'll post the answer here."));
        var delivery = (await _relay.SettledAsync(1, TimeSpan.FromSeconds(10))).Single();
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded), delivery.LastError);
        var stored = ReceivedJson(delivery);
        Assert.That(stored.GetProperty("command").GetString(), Is.EqualTo("/ask"));
        Assert.That(stored.GetProperty("text").GetString(), Is.EqualTo("why is the build red?"));
        Assert.That(_sandbox.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AnInteractionsPayloadIsStoredAsAParsedObject()
    {
        var payload = "{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\"},\"actions\":[{\"action_id\":\"approve\"}]}";
        var form = "payload=" + Uri.EscapeDataString(payload);

        var (status, _) = await PostFormAsync(Encoding.UTF8.GetBytes(form));

        Assert.That(status, Is.EqualTo(200), _relay.Errors);
        var delivery = (await _relay.SettledAsync(1, TimeSpan.FromSeconds(10))).Single();
        var stored = ReceivedJson(delivery);
        Assert.That(stored.GetProperty("payload").GetProperty("actions")[0].GetProperty("action_id").GetString(), Is.EqualTo("approve"));
    }

    [Test]
    public async Task ThreeHundredTwentyDeliveriesWithPoisonAmongThemEachGetTheirOwnAnswer()
    {
        // 10% with a NUL in the signed id (no store can keep it), 10% with a 3 KB id (past the unique
        // index's entry limit), the rest ordinary; all validly signed and sent at once.
        var scheme = WebhookSignature.Stripe(StripeSecret);
        var sends = Enumerable.Range(0, 320).Select(async i =>
        {
            var id = (i % 10) switch
            {
                0 => "evt_nul_" + i + "\\u0000",
                1 => "evt_long_" + i + new string('x', 3000),
                _ => "evt_ok_" + i,
            };
            var body = Encoding.UTF8.GetBytes("{\"id\":\"" + id + "\",\"type\":\"charge.succeeded\",\"n\":" + i + "}");
            return (i, (await _relay.PostAsync("/hooks/stripe", body, Sign(scheme, body, "x"))).Status);
        });

        var answers = await Task.WhenAll(sends);

        TestContext.Out.WriteLine(string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{g.Count()} x {g.Key}")));
        Assert.That(answers.Where(a => a.i % 10 == 0).Select(a => a.Status), Is.All.EqualTo(400), "a NUL id: the sender's error");
        Assert.That(answers.Where(a => a.i % 10 != 0).Select(a => a.Status), Is.All.EqualTo(202), _relay.Errors);
        Assert.That(await _relay.Relay.ListAsync(), Has.Count.EqualTo(288));
    }

    /// <summary>The JSON the agent received, as the sandbox's reply quotes it (up to 200 characters).</summary>
    private static JsonElement ReceivedJson(RelayDelivery delivery)
    {
        var reply = delivery.FinalReply!;
        return JsonDocument.Parse(reply[(reply.IndexOf("): ", StringComparison.Ordinal) + 3)..]).RootElement;
    }
}
