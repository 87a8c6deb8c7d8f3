using System;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using NUnit.Framework;
using Runchat.Relay.Signatures;

namespace Runchat.Tests.Relay;

/// <summary>
/// What each scheme reads from a verified request as its sender sends it: Slack's forms (slash commands,
/// interactions), GitHub's form-encoded deliveries, the event a body names, the answer Slack gets at once, and the
/// headers each scheme needs, missing or malformed.
/// </summary>
[TestFixture]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
public class SchemeReadingTests
{
    private const string Form = "application/x-www-form-urlencoded";
    private const string SlackSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string GitHubSecret = "a-github-webhook-secret";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_795_000_000);

    private static WebhookRequest Request(string body, string? contentType, HeaderDictionary? headers = null)
    {
        headers ??= new HeaderDictionary();
        if (contentType is not null)
        {
            headers["Content-Type"] = contentType;
        }

        return new WebhookRequest(headers, Encoding.UTF8.GetBytes(body), new Uri("http://relay.test/hooks"), Now, TimeSpan.FromMinutes(5));
    }

    /// <summary>The payload as the scheme reads it, and the event it names, as the ingest asks for them.</summary>
    private static (JsonElement Payload, WebhookEvent Event) Read(WebhookScheme scheme, WebhookRequest request)
    {
        using var document = JsonDocument.Parse(scheme.ReadPayload(request));
        var payload = document.RootElement.Clone();
        return (payload, scheme.Describe(request, payload));
    }

    [Test]
    public void ASlackFormIsOneJsonObjectWithARepeatedFieldJoinedAndAContentTypeWithItsCharset()
    {
        var request = Request("command=%2Fdeploy&text=prod&channel=C1&channel=C2", Form + "; charset=utf-8");

        var (payload, named) = Read(WebhookSignature.Slack(SlackSecret), request);

        Assert.That(request.IsForm, Is.True, "a form with a charset parameter is still a form");
        Assert.That(payload.GetRawText(), Is.EqualTo("{\"command\":\"/deploy\",\"text\":\"prod\",\"channel\":\"C1,C2\"}"));
        Assert.That(named.Name, Is.EqualTo("/deploy"), "a slash command is named by its command");
    }

    [TestCase("payload=%7B%22type%22%3A%22block_actions%22%7D", "{\"payload\":{\"type\":\"block_actions\"}}", "block_actions")]
    [TestCase("payload=&type=form", "{\"payload\":\"\",\"type\":\"form\"}", "form")]
    [TestCase("payload=not%20json&type=form", "{\"payload\":\"not json\",\"type\":\"form\"}", "form")]
    [TestCase("payload=%5B1%5D&type=form", "{\"payload\":\"[1]\",\"type\":\"form\"}", "form")]
    public void ASlackInteractionsPayloadFieldIsItsJsonObjectAndAnythingElseStaysText(string body, string json, string name)
    {
        var (payload, named) = Read(WebhookSignature.Slack(SlackSecret), Request(body, Form));

        Assert.That(payload.GetRawText(), Is.EqualTo(json));
        Assert.That(named.Name, Is.EqualTo(name));
    }

    [TestCase("{\"event\":{\"type\":\"app_mention\"},\"type\":\"event_callback\",\"event_id\":\"Ev1\"}", "app_mention", "Ev1")]
    [TestCase("{\"event\":\"not an object\",\"type\":\"event_callback\"}", "event_callback", null)]
    [TestCase("{\"payload\":\"{\\\"type\\\":\\\"view_submission\\\"}\"}", "view_submission", null)]
    [TestCase("{\"payload\":5,\"type\":\"other\"}", "other", null)]
    [TestCase("{\"payload\":{\"type\":\"shortcut\"}}", "shortcut", null)]
    public void ASlackJsonBodyIsNamedByItsEventItsInteractionOrItsType(string body, string name, string? signedId)
    {
        var (_, named) = Read(WebhookSignature.Slack(SlackSecret), Request(body, "application/json"));

        Assert.That(named.Name, Is.EqualTo(name));
        Assert.That(named.SignedId, Is.EqualTo(signedId));
        Assert.That(named.Refusal, Is.Null);
    }

    [TestCase("Ship it", "{\"text\":\"Ship it\"}")]
    [TestCase("", null)]
    [TestCase(null, null)]
    public void ASlackFormIsAnsweredAtOnceWithTheRoutesReplyAndJsonIsLeftToTheRelay(string? reply, string? body)
    {
        var scheme = WebhookSignature.Slack(SlackSecret);

        var answer = scheme.Acknowledge(Request("command=%2Fdeploy", Form), reply);

        Assert.That(answer!.StatusCode, Is.EqualTo(200));
        Assert.That(answer.Body?.ToJsonString(), Is.EqualTo(body));
        Assert.That(scheme.Acknowledge(Request("{\"type\":\"event_callback\"}", "application/json"), reply), Is.Null, "the Events API gets the relay's 202");
    }

    [TestCase("v1=")]
    [TestCase("V0=")]
    [TestCase("")]
    public void ASlackSignatureWithAnotherVersionPrefixIsRefusedEvenWithTheRightMac(string prefix)
    {
        const string body = "command=%2Fdeploy";
        var mac = Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(SlackSecret), Encoding.UTF8.GetBytes($"v0:{Now.ToUnixTimeSeconds()}:{body}"))).ToLowerInvariant();
        var headers = new HeaderDictionary { ["X-Slack-Request-Timestamp"] = Now.ToUnixTimeSeconds().ToString(), ["X-Slack-Signature"] = "v0=" + mac };
        var scheme = WebhookSignature.Slack(SlackSecret);
        Assert.That(scheme.Verify(Request(body, Form, headers)).IsValid, Is.True, "the control: v0= verifies");

        headers["X-Slack-Signature"] = prefix + mac;
        var verification = scheme.Verify(Request(body, Form, headers));

        Assert.That(verification.IsValid, Is.False);
        Assert.That(verification.Error, Is.EqualTo("the X-Slack-Signature header is missing or not v0=<hex>"));
    }

    [TestCase(null, "the X-Slack-Request-Timestamp header is missing")]
    [TestCase("soon", "the X-Slack-Request-Timestamp header is not a unix timestamp")]
    [TestCase("-5", "the X-Slack-Request-Timestamp header is not a unix timestamp")]
    [TestCase("1795000000.5", "the X-Slack-Request-Timestamp header is not a unix timestamp")]
    public void ATimestampHeaderThatIsMissingOrNotAUnixTimestampIsRefusedSayingWhich(string? timestamp, string error)
    {
        var headers = new HeaderDictionary { ["X-Slack-Signature"] = "v0=" + new string('0', 64) };
        if (timestamp is not null)
        {
            headers["X-Slack-Request-Timestamp"] = timestamp;
        }

        var verification = WebhookSignature.Slack(SlackSecret).Verify(Request("{}", "application/json", headers));

        Assert.That(verification.Error, Is.EqualTo(error));
    }

    [Test]
    public void AFormEncodedGitHubDeliveryIsReadFromItsPayloadField()
    {
        var scheme = WebhookSignature.GitHub(GitHubSecret);
        var headers = new HeaderDictionary { ["X-GitHub-Event"] = "issues" };

        var (payload, named) = Read(scheme, Request("payload=" + Uri.EscapeDataString("{\"action\":\"opened\",\"issue\":{\"number\":7}}"), Form, headers));

        Assert.That(payload.GetRawText(), Is.EqualTo("{\"action\":\"opened\",\"issue\":{\"number\":7}}"));
        Assert.That(named.Name, Is.EqualTo("issues.opened"));
    }

    [TestCase("other=1")]
    [TestCase("payload=%7B%7D&payload=%7B%7D")]
    public void AFormEncodedGitHubDeliveryWithoutExactlyOnePayloadFieldIsRefused(string body)
    {
        var scheme = WebhookSignature.GitHub(GitHubSecret);

        var refused = Assert.Throws<WebhookRefusedException>(() => scheme.ReadPayload(Request(body, Form)));

        Assert.That(refused!.Message, Does.Contain("carries its JSON in one payload field"));
    }

    [TestCase("issues", "{\"action\":\"opened\",\"pull_request\":{}}", null, "X-GitHub-Event says 'issues', but the body has no 'issue', which every issues event has")]
    [TestCase("issues", "{\"action\":\"opened\",\"issue\":{}}", "issues.opened", null)]
    [TestCase("a_future_event", "{\"x\":1}", "a_future_event", null)]
    [TestCase("issues", "{\"action\":\"\",\"issue\":{}}", "issues", null)]
    [TestCase(" ", "{\"action\":\"opened\"}", null, null)]
    public void AGitHubEventIsItsHeaderAndActionWhenTheBodyIsOneOfThatEvent(string header, string body, string? name, string? refusal)
    {
        var scheme = WebhookSignature.GitHub(GitHubSecret);
        var headers = new HeaderDictionary { ["X-GitHub-Event"] = header };

        var (_, named) = Read(scheme, Request(body, "application/json", headers));

        Assert.That(named.Name, Is.EqualTo(name));
        Assert.That(named.Refusal, Is.EqualTo(refusal));
    }

    [Test]
    public void ARequestIsReadFromItsFirstHeaderValueAndNoneIsNull()
    {
        var request = Request("{}", null, new HeaderDictionary { ["X-Many"] = new Microsoft.Extensions.Primitives.StringValues(new[] { "first", "second" }), ["X-None"] = Microsoft.Extensions.Primitives.StringValues.Empty });

        Assert.That(request.Header("X-Many"), Is.EqualTo("first"));
        Assert.That(request.Header("x-many"), Is.EqualTo("first"), "header names ignore case");
        Assert.That(request.Header("X-None"), Is.Null);
        Assert.That(request.Header("X-Absent"), Is.Null);
        Assert.That(request.IsForm, Is.False, "no Content-Type is not a form");
        Assert.That(Request("a=1", "text/plain; x=application/x-www-form-urlencoded").IsForm, Is.False, "a form is named first");
    }

    [TestCase("")]
    [TestCase("  ")]
    [TestCase(null)]
    public void EverySchemeWithASecretRefusesToBeMadeWithoutOne(string? secret)
    {
        Assert.Throws<ArgumentException>(() => WebhookSignature.StandardWebhooks(secret!));
        Assert.Throws<ArgumentException>(() => WebhookSignature.Stripe(secret!));
        Assert.Throws<ArgumentException>(() => WebhookSignature.GitHub(secret!));
        Assert.Throws<ArgumentException>(() => WebhookSignature.Slack(secret!));
        Assert.Throws<ArgumentException>(() => WebhookSignature.HmacSha256("X-Signature", secret!));
    }

    [TestCase(null)]
    [TestCase("")]
    public void AStripeRequestWithoutItsSignatureHeaderIsRefusedSayingSo(string? header)
    {
        var headers = new HeaderDictionary();
        if (header is not null)
        {
            headers["Stripe-Signature"] = header;
        }

        var verification = WebhookSignature.Stripe("whsec_stripe_endpoint_secret").Verify(Request("{}", "application/json", headers));

        Assert.That(verification.IsValid, Is.False);
        Assert.That(verification.Error, Is.EqualTo("the Stripe-Signature header is missing"));
    }

    [Test]
    public void ASchemeThatReadsTheBodyAsItCameRefusesNoRequest()
    {
        var scheme = WebhookSignature.HmacSha256("X-Signature", "generic-shared-secret");
        var request = Request("a=1", Form);

        Assert.That(scheme.ReadPayload(request).ToArray(), Is.EqualTo(Encoding.UTF8.GetBytes("a=1")), "the body as it came, a form included");
        Assert.Throws<ArgumentNullException>(() => scheme.ReadPayload(null!));
    }

    [Test]
    public void ASecretOfSixteenBytesIsEnoughAndFifteenAreNot()
    {
        Assert.That(WebhookSignature.HmacSha256("X-Signature", new string('k', 16)), Is.Not.Null);
        Assert.That(WebhookSignature.Slack(new string('k', 16)), Is.Not.Null);
        Assert.That(Assert.Throws<ArgumentException>(() => WebhookSignature.HmacSha256("X-Signature", new string('k', 15)))!.Message, Does.Contain("is 15 bytes; at least 16"));
    }

    [TestCase(300, true)]
    [TestCase(-300, true)]
    [TestCase(301, false)]
    [TestCase(-301, false)]
    public void ATimestampExactlyAtTheToleranceIsAccepted(int ageSeconds, bool valid)
    {
        const string body = "command=%2Fdeploy";
        var signedAt = Now.ToUnixTimeSeconds() - ageSeconds;
        var mac = Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(SlackSecret), Encoding.UTF8.GetBytes($"v0:{signedAt}:{body}"))).ToLowerInvariant();
        var headers = new HeaderDictionary { ["X-Slack-Request-Timestamp"] = signedAt.ToString(), ["X-Slack-Signature"] = "v0=" + mac };

        var verification = WebhookSignature.Slack(SlackSecret).Verify(Request(body, Form, headers));

        Assert.That(verification.IsValid, Is.EqualTo(valid), verification.Error);
    }
}
