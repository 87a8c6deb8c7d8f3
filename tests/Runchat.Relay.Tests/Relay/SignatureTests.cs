using System;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using NUnit.Framework;
using Runchat.Relay.Signatures;

namespace Runchat.Tests.Relay;

/// <summary>
/// Every scheme against signatures made by an independent implementation (the StandardWebhooks and
/// Stripe.net packages; GitHub's and Slack's documented recipes), and a 1-byte change of the body,
/// the timestamp or the secret refused.
/// </summary>
[TestFixture]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
public class SignatureTests
{
    private const string Body = "{\"id\":\"evt_1Q2w3E\",\"type\":\"invoice.paid\",\"amount\":1.10,\"when\":\"2026-11-28T10:00:00Z\"}";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_795_000_000);
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);
    private static readonly string StandardSecret = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("a standard webhooks test secret!"));

    /// <summary>A request through the scheme as the ingest calls it: verified, then (when valid) described, for its signed id.</summary>
    private static Check Verify(WebhookScheme scheme, HeaderDictionary headers, string body, DateTimeOffset? now = null)
    {
        var request = new WebhookRequest(headers, Encoding.UTF8.GetBytes(body), new Uri("http://relay.test/hooks"), now ?? Now, Tolerance);
        var verification = scheme.Verify(request);
        if (!verification.IsValid)
        {
            return new Check(false, verification.Error, null, null);
        }

        string? bodyId = null;
        try
        {
            using var payload = System.Text.Json.JsonDocument.Parse(scheme.ReadPayload(request));
            bodyId = scheme.Describe(request, payload.RootElement).SignedId;
        }
        catch (System.Text.Json.JsonException)
        {
            // Documented test vectors sign bodies that are not JSON ("Hello, World!"): verification alone.
        }

        return new Check(true, null, verification.SignedId ?? bodyId, verification.Label);
    }

    private sealed record Check(bool IsValid, string? Error, string? SignedId, string? Label);

    private static string Tamper(string body) => body.Replace("1.10", "1.11");

    [Test]
    public void StandardWebhooksSignaturesFromTheReferencePackageVerify()
    {
        var oracle = new StandardWebhooks.StandardWebhook(StandardSecret);
        var signature = oracle.Sign("msg_2Kx", Now, Body);
        var headers = new HeaderDictionary { ["webhook-id"] = "msg_2Kx", ["webhook-timestamp"] = Now.ToUnixTimeSeconds().ToString(), ["webhook-signature"] = signature };
        var scheme = WebhookSignature.StandardWebhooks(StandardSecret);

        var check = Verify(scheme, headers, Body);

        Assert.That(check.IsValid, Is.True, check.Error);
        Assert.That(check.SignedId, Is.EqualTo("msg_2Kx"));
        Assert.That(Verify(scheme, headers, Tamper(Body)).IsValid, Is.False, "1 byte of the body changed");
        headers["webhook-timestamp"] = (Now.ToUnixTimeSeconds() + 1).ToString();
        Assert.That(Verify(scheme, headers, Body).IsValid, Is.False, "the timestamp changed by 1 s");
        headers["webhook-timestamp"] = Now.ToUnixTimeSeconds().ToString();
        var otherSecret = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("a standard webhooks test secret?"));
        Assert.That(Verify(WebhookSignature.StandardWebhooks(otherSecret), headers, Body).IsValid, Is.False, "1 byte of the secret changed");
    }

    [Test]
    public void StandardWebhooksAcceptsAnyOfSeveralSignaturesSoKeysCanRotate()
    {
        var oldKey = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("the old key, being rotated out.."));
        var headers = new HeaderDictionary
        {
            ["webhook-id"] = "msg_rot",
            ["webhook-timestamp"] = Now.ToUnixTimeSeconds().ToString(),
            ["webhook-signature"] = new StandardWebhooks.StandardWebhook(oldKey).Sign("msg_rot", Now, Body) + " " + new StandardWebhooks.StandardWebhook(StandardSecret).Sign("msg_rot", Now, Body),
        };

        Assert.That(Verify(WebhookSignature.StandardWebhooks(StandardSecret), headers, Body).IsValid, Is.True);
        Assert.That(Verify(WebhookSignature.StandardWebhooks(oldKey), headers, Body).IsValid, Is.True);
    }

    [Test]
    public void StandardWebhooksSignaturesOfTheRelayVerifyWithTheReferencePackage()
    {
        var headers = new HeaderDictionary();
        foreach (var (name, value) in WebhookSignature.StandardWebhooks(StandardSecret).Sign(Encoding.UTF8.GetBytes(Body), DateTimeOffset.UtcNow, "msg_ours"))
        {
            headers[name] = value;
        }

        Assert.DoesNotThrow(() => new StandardWebhooks.StandardWebhook(StandardSecret).Verify(Body, headers));
    }

    [TestCase(-301)]
    [TestCase(301)]
    public void AStandardWebhooksTimestampOutsideTheToleranceIsRefused(int offsetSeconds)
    {
        var at = Now.AddSeconds(offsetSeconds);
        var headers = new HeaderDictionary
        {
            ["webhook-id"] = "msg_old",
            ["webhook-timestamp"] = at.ToUnixTimeSeconds().ToString(),
            ["webhook-signature"] = new StandardWebhooks.StandardWebhook(StandardSecret).Sign("msg_old", at, Body),
        };

        var check = Verify(WebhookSignature.StandardWebhooks(StandardSecret), headers, Body);

        Assert.That(check.IsValid, Is.False);
        Assert.That(check.Error, Does.Contain("tolerance"));
    }

    [Test]
    public void StripeSignaturesFromStripeNetVerifyAndTheEventIdIsTheDeliveryId()
    {
        const string secret = "whsec_test_stripe_endpoint_secret";
        var header = Stripe.EventUtility.GenerateSignatureHeader(Body, secret, Now.ToUnixTimeSeconds());
        var scheme = WebhookSignature.Stripe(secret);

        var check = Verify(scheme, new HeaderDictionary { ["Stripe-Signature"] = header }, Body);

        Assert.That(check.IsValid, Is.True, check.Error);
        Assert.That(check.SignedId, Is.EqualTo("evt_1Q2w3E"));
        Assert.That(Verify(scheme, new HeaderDictionary { ["Stripe-Signature"] = header }, Tamper(Body)).IsValid, Is.False, "1 byte of the body changed");
        var shifted = header.Replace("t=" + Now.ToUnixTimeSeconds(), "t=" + (Now.ToUnixTimeSeconds() + 1));
        Assert.That(Verify(scheme, new HeaderDictionary { ["Stripe-Signature"] = shifted }, Body).IsValid, Is.False, "the timestamp changed by 1 s");
        Assert.That(Verify(WebhookSignature.Stripe(secret + "x"), new HeaderDictionary { ["Stripe-Signature"] = header }, Body).IsValid, Is.False, "the secret changed");
        Assert.That(Verify(scheme, new HeaderDictionary { ["Stripe-Signature"] = header }, Body, Now.AddMinutes(6)).Error, Does.Contain("tolerance"));
    }

    [Test]
    public void StripeSignaturesOfTheRelayVerifyWithStripeNet()
    {
        const string secret = "whsec_test_stripe_endpoint_secret";
        var (_, header) = WebhookSignature.Stripe(secret).Sign(Encoding.UTF8.GetBytes(Body), DateTimeOffset.UtcNow, "ignored")[0];

        Assert.DoesNotThrow(() => Stripe.EventUtility.ValidateSignature(Body, header, secret, 300));
    }

    [Test]
    public void GitHubSignaturesMadeByItsDocumentedRecipeVerify()
    {
        const string secret = "It's a Secret to Everybody";
        // GitHub's documented test vector: this secret, the body "Hello, World!".
        var headers = new HeaderDictionary
        {
            ["X-Hub-Signature-256"] = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            ["X-GitHub-Delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        };
        var scheme = WebhookSignature.GitHub(secret);

        var check = Verify(scheme, headers, "Hello, World!");

        Assert.That(check.IsValid, Is.True, check.Error);
        Assert.That(check.SignedId, Is.Null, "X-GitHub-Delivery is not signed");
        Assert.That(check.Label, Is.EqualTo("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
        Assert.That(Verify(scheme, headers, "Hello, World?").IsValid, Is.False, "1 byte of the body changed");
        Assert.That(Verify(WebhookSignature.GitHub(secret + "!"), headers, "Hello, World!").IsValid, Is.False, "the secret changed");
        Assert.That(Verify(scheme, new HeaderDictionary(), "Hello, World!").Error, Does.Contain("missing"));
    }

    [Test]
    public void SlackSignaturesMadeByItsDocumentedRecipeVerify()
    {
        // Slack's documented example: signing secret, timestamp and body from its "Verifying requests" page.
        const string secret = "8f742231b10e8888abcd99yyyzzz85a5";
        const string body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        var at = DateTimeOffset.FromUnixTimeSeconds(1531420618);
        var headers = new HeaderDictionary
        {
            ["X-Slack-Request-Timestamp"] = "1531420618",
            ["X-Slack-Signature"] = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        };
        var scheme = WebhookSignature.Slack(secret);

        Assert.That(Verify(scheme, headers, body, at).IsValid, Is.True);
        Assert.That(Verify(scheme, headers, body + "x", at).IsValid, Is.False, "1 byte of the body changed");
        Assert.That(Verify(scheme, headers, body, at.AddMinutes(6)).Error, Does.Contain("tolerance"));
        headers["X-Slack-Request-Timestamp"] = "1531420619";
        Assert.That(Verify(scheme, headers, body, at).IsValid, Is.False, "the timestamp changed by 1 s");
    }

    [Test]
    public void GenericHmacSignaturesVerifyInHexWithOrWithoutAPrefix()
    {
        const string secret = "generic-shared-secret";
        var mac = Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(Body))).ToLowerInvariant();
        var scheme = WebhookSignature.HmacSha256("X-Signature", secret);

        Assert.That(Verify(scheme, new HeaderDictionary { ["X-Signature"] = mac }, Body).IsValid, Is.True);
        Assert.That(Verify(scheme, new HeaderDictionary { ["X-Signature"] = "sha256=" + mac.ToUpperInvariant() }, Body).IsValid, Is.True);
        Assert.That(Verify(scheme, new HeaderDictionary { ["X-Signature"] = mac }, Tamper(Body)).IsValid, Is.False);
        Assert.That(Verify(WebhookSignature.HmacSha256("X-Signature", secret + "!"), new HeaderDictionary { ["X-Signature"] = mac }, Body).IsValid, Is.False);
        Assert.That(Verify(scheme, new HeaderDictionary { ["X-Other"] = mac }, Body).Error, Does.Contain("X-Signature"));
    }

    [Test]
    public void NoSchemeShowsItsSecret()
    {
        const string secret = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1zaG93";
        foreach (var scheme in new[] { WebhookSignature.StandardWebhooks(secret), WebhookSignature.Stripe(secret), WebhookSignature.GitHub(secret), WebhookSignature.Slack(secret), WebhookSignature.HmacSha256("X-Sig", secret) })
        {
            Assert.That(scheme.ToString(), Does.Not.Contain(secret).And.Not.Contain("c2VjcmV0"));
        }
    }

    private static WebhookScheme HexScheme(string name) => name switch
    {
        "github" => WebhookSignature.GitHub("a github webhook secret"),
        "stripe" => WebhookSignature.Stripe("whsec_a_stripe_endpoint_secret"),
        "slack" => WebhookSignature.Slack("a slack signing secret 0123456789"),
        _ => WebhookSignature.HmacSha256("X-Signature", "a generic shared secret"),
    };

    /// <summary>The scheme's own headers for <see cref="Body"/> at <see cref="Now"/>, with its 64 hex digits replaced by <paramref name="hex"/>.</summary>
    private static HeaderDictionary WithHex(WebhookScheme scheme, string hex)
    {
        var headers = new HeaderDictionary();
        foreach (var (name, value) in scheme.Sign(Encoding.UTF8.GetBytes(Body), Now, "evt_1Q2w3E"))
        {
            headers[name] = System.Text.RegularExpressions.Regex.Replace(value, "[0-9a-f]{64}", hex);
        }

        return headers;
    }

    [TestCase("github")]
    [TestCase("stripe")]
    [TestCase("slack")]
    [TestCase("hmac-sha256")]
    public void ASignatureOfTheRightLengthThatIsNotHexIsRefused(string name)
    {
        var scheme = HexScheme(name);
        var genuine = WithHex(scheme, "$0");

        Assert.That(Verify(scheme, genuine, Body).IsValid, Is.True, "the scheme's own signature verifies");
        foreach (var forged in new[] { new string('z', 64), "0x" + new string('0', 62), new string(' ', 64), "g" + new string('0', 63) })
        {
            Check check = null!;
            Assert.DoesNotThrow(() => check = Verify(scheme, WithHex(scheme, forged), Body), $"'{forged}' is an answer, never an exception");
            Assert.That(check.IsValid, Is.False, $"{name}: '{forged}' (64 characters, not hex) is not a signature");
        }
    }

    [TestCase("github")]
    [TestCase("stripe")]
    [TestCase("slack")]
    [TestCase("hmac-sha256")]
    public void ASignatureOneHexDigitShortOrLongIsRefused(string name)
    {
        var scheme = HexScheme(name);
        var genuine = WithHex(scheme, "$0");
        var signature = System.Text.RegularExpressions.Regex.Match(string.Join(" ", genuine.Values), "[0-9a-f]{64}").Value;

        Assert.That(Verify(scheme, WithHex(scheme, signature[..63]), Body).IsValid, Is.False, "63 digits");
        Assert.That(Verify(scheme, WithHex(scheme, signature + "0"), Body).IsValid, Is.False, "65 digits");
        Assert.That(Verify(scheme, WithHex(scheme, signature[..62]), Body).IsValid, Is.False, "62 digits (31 bytes)");
    }

    [TestCase("webhook-id")]
    [TestCase("webhook-signature")]
    [TestCase("webhook-timestamp")]
    public void AStandardWebhooksRequestWithoutOneOfItsHeadersIsRefusedNeverThrown(string missing)
    {
        var scheme = WebhookSignature.StandardWebhooks(StandardSecret);
        var headers = new HeaderDictionary();
        foreach (var (name, value) in scheme.Sign(Encoding.UTF8.GetBytes(Body), Now, "msg_2Kx"))
        {
            if (name != missing)
            {
                headers[name] = value;
            }
        }

        Check check = null!;
        Assert.DoesNotThrow(() => check = Verify(scheme, headers, Body));
        Assert.That(check.IsValid, Is.False);
        Assert.That(check.Error, Does.Contain(missing == "webhook-timestamp" ? "webhook-timestamp" : "missing"));
    }

    [Test]
    public void AStandardWebhooksSecretWithoutItsPrefixIsTheSameKey()
    {
        // Some senders show the key as bare base64; the relay documents that both spellings work.
        var oracle = new StandardWebhooks.StandardWebhook(StandardSecret);
        var headers = new HeaderDictionary { ["webhook-id"] = "msg_bare", ["webhook-timestamp"] = Now.ToUnixTimeSeconds().ToString(), ["webhook-signature"] = oracle.Sign("msg_bare", Now, Body) };
        var bare = WebhookSignature.StandardWebhooks(StandardSecret["whsec_".Length..]);

        Assert.That(Verify(bare, headers, Body).IsValid, Is.True);
        Assert.Throws<ArgumentException>(() => WebhookSignature.StandardWebhooks("whsec_" + StandardSecret), "a prefix twice is not base64");
    }

    [Test]
    public void StripesEventIdIsTheTopLevelIdNotOneNestedBeforeIt()
    {
        const string secret = "whsec_test_stripe_endpoint_secret";
        const string nested = "{\"data\":{\"object\":{\"id\":\"in_nested\",\"object\":\"invoice\"}},\"type\":\"invoice.paid\",\"id\":\"evt_top\"}";
        var header = Stripe.EventUtility.GenerateSignatureHeader(nested, secret, Now.ToUnixTimeSeconds());

        var check = Verify(WebhookSignature.Stripe(secret), new HeaderDictionary { ["Stripe-Signature"] = header }, nested);

        Assert.That(check.IsValid, Is.True, check.Error);
        Assert.That(check.SignedId, Is.EqualTo("evt_top"));
    }
}
