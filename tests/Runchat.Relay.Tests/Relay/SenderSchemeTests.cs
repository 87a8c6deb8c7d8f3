using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using NSec.Cryptography;
using NUnit.Framework;
using Runchat.Relay.Signatures;

namespace Runchat.Tests.Relay;

/// <summary>
/// The six senders' schemes, each against requests built as its documentation describes (and, where the sender
/// publishes one, its own library as the oracle: Twilio's RequestValidator; Discord's Ed25519 signed by libsodium
/// through NSec), and each refusal with its reason: a wrong signature, a tampered body, a stale timestamp where the
/// scheme has one, a missing header.
/// </summary>
[TestFixture]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
public class SenderSchemeTests
{
    private const string Form = "application/x-www-form-urlencoded";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_795_000_000);
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    private static WebhookRequest Request(string body, HeaderDictionary headers, string url = "http://relay.test/hooks", DateTimeOffset? now = null) =>
        new(headers, Encoding.UTF8.GetBytes(body), new Uri(url), now ?? Now, Tolerance);

    /// <summary>The payload as the scheme reads it, and what it says of it, as the ingest asks.</summary>
    private static (JsonElement Payload, WebhookEvent Event) Read(WebhookScheme scheme, WebhookRequest request)
    {
        using var document = JsonDocument.Parse(scheme.ReadPayload(request));
        var payload = document.RootElement.Clone();
        return (payload, scheme.Describe(request, payload));
    }

    private static string HexHmacSha256(string secret, string body) =>
        Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body))).ToLowerInvariant();

    // GitLab ---------------------------------------------------------------------------------------------------------

    private const string GitLabToken = "gl-webhook-token-0123456789";
    private const string GitLabIssue = "{\"object_kind\":\"issue\",\"event_type\":\"issue\",\"user\":{\"name\":\"Ada\"},\"project\":{\"path_with_namespace\":\"acme/api\"},\"object_attributes\":{\"iid\":23,\"title\":\"Crash on save\",\"action\":\"open\"}}";

    [Test]
    public void GitLabAcceptsItsSecretTokenAndKeepsTheEventUuidAsALabelOnly()
    {
        var headers = new HeaderDictionary { ["X-Gitlab-Token"] = GitLabToken, ["X-Gitlab-Event"] = "Issue Hook", ["X-Gitlab-Event-UUID"] = "2d1e3a7c-0000-4000-8000-000000000001" };
        var scheme = WebhookSignature.GitLab(GitLabToken);
        var request = Request(GitLabIssue, headers);

        var verification = scheme.Verify(request);
        var (_, named) = Read(scheme, request);

        Assert.That(verification.IsValid, Is.True, verification.Error);
        Assert.That(verification.Label, Is.EqualTo("2d1e3a7c-0000-4000-8000-000000000001"));
        Assert.That(verification.SignedId ?? named.SignedId, Is.Null, "the token signs nothing: the body's hash tells deliveries apart");
        Assert.That(named.Name, Is.EqualTo("issue.open"));
    }

    [TestCase(GitLabToken + "x", "X-Gitlab-Token is not the route's secret token")]
    [TestCase("gl-webhook-token-012345678", "X-Gitlab-Token is not the route's secret token")]
    [TestCase("", "the X-Gitlab-Token header is missing")]
    [TestCase(null, "the X-Gitlab-Token header is missing")]
    public void GitLabRefusesAnyOtherTokenAndNoToken(string? token, string reason)
    {
        var headers = new HeaderDictionary();
        if (token is not null)
        {
            headers["X-Gitlab-Token"] = token;
        }

        var verification = WebhookSignature.GitLab(GitLabToken).Verify(Request(GitLabIssue, headers));

        Assert.That(verification.IsValid, Is.False);
        Assert.That(verification.Error, Is.EqualTo(reason));
        Assert.That(verification.Error, Does.Not.Contain(GitLabToken));
    }

    [TestCase("{\"object_kind\":\"merge_request\",\"object_attributes\":{\"iid\":5,\"action\":\"merge\"}}", "merge_request.merge")]
    [TestCase("{\"object_kind\":\"push\",\"ref\":\"refs/heads/main\",\"commits\":[]}", "push")]
    [TestCase("{\"object_kind\":\"note\",\"object_attributes\":{\"note\":\"LGTM\",\"noteable_type\":\"MergeRequest\"}}", "note")]
    [TestCase("{\"object_kind\":\"pipeline\",\"object_attributes\":{\"status\":\"failed\",\"action\":\"\"}}", "pipeline")]
    [TestCase("{\"object_kind\":\"issue\",\"object_attributes\":\"not an object\"}", "issue")]
    [TestCase("{\"event_name\":\"project_create\"}", null)]
    [TestCase("{\"event_name\":\"project_create\",\"object_attributes\":{\"action\":\"open\"}}", null, Description = "an action without an object_kind names nothing")]
    public void GitLabNamesEventsByObjectKindAndAction(string body, string? expected)
    {
        var (_, named) = Read(WebhookSignature.GitLab(GitLabToken), Request(body, new HeaderDictionary()));

        Assert.That(named.Name, Is.EqualTo(expected));
    }

    // Shopify --------------------------------------------------------------------------------------------------------

    private const string ShopifySecret = "shpss_0123456789abcdef0123456789abcdef";
    private const string ShopifyOrder = "{\"id\":820982911946154508,\"email\":\"jon@example.com\",\"total_price\":\"403.00\",\"line_items\":[{\"id\":866550311766439020,\"quantity\":1}]}";

    /// <summary>Shopify's documented recipe: base64 of the HMAC-SHA256 of the raw body with the app's client secret.</summary>
    private static HeaderDictionary ShopifyHeaders(string body, string topic = "orders/create", string secret = ShopifySecret) => new()
    {
        ["X-Shopify-Hmac-Sha256"] = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body))),
        ["X-Shopify-Topic"] = topic,
        ["X-Shopify-Shop-Domain"] = "acme.myshopify.com",
        ["X-Shopify-Webhook-Id"] = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ["X-Shopify-API-Version"] = "2025-10",
    };

    [Test]
    public void ShopifyVerifiesTheBase64HmacAndNamesTheEventByItsTopic()
    {
        var scheme = WebhookSignature.Shopify(ShopifySecret);
        var request = Request(ShopifyOrder, ShopifyHeaders(ShopifyOrder));

        var verification = scheme.Verify(request);
        var (_, named) = Read(scheme, request);

        Assert.That(verification.IsValid, Is.True, verification.Error);
        Assert.That(verification.Label, Is.EqualTo("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"));
        Assert.That(verification.SignedId ?? named.SignedId, Is.Null, "X-Shopify-Webhook-Id is not signed");
        Assert.That(named.Name, Is.EqualTo("orders/create"));
        Assert.That(scheme.EventHeader, Is.EqualTo("X-Shopify-Topic"));
    }

    [Test]
    public void ShopifyRefusesATamperedBodyAnotherSecretAHexSignatureAndNoSignature()
    {
        var scheme = WebhookSignature.Shopify(ShopifySecret);
        var tampered = ShopifyOrder.Replace("403.00", "403.01");

        Assert.That(scheme.Verify(Request(tampered, ShopifyHeaders(ShopifyOrder))).Error, Is.EqualTo("X-Shopify-Hmac-Sha256 does not match the body"));
        Assert.That(scheme.Verify(Request(ShopifyOrder, ShopifyHeaders(ShopifyOrder, secret: ShopifySecret + "0"))).IsValid, Is.False);
        var hex = ShopifyHeaders(ShopifyOrder);
        hex["X-Shopify-Hmac-Sha256"] = HexHmacSha256(ShopifySecret, ShopifyOrder);
        Assert.That(scheme.Verify(Request(ShopifyOrder, hex)).IsValid, Is.False, "hex is not what Shopify sends");
        var missing = ShopifyHeaders(ShopifyOrder);
        missing.Remove("X-Shopify-Hmac-Sha256");
        Assert.That(scheme.Verify(Request(ShopifyOrder, missing)).Error, Is.EqualTo("the X-Shopify-Hmac-Sha256 header is missing"));
    }

    [TestCase("products/update", "variants")]
    [TestCase("carts/create", "line_items")]
    [TestCase("app/uninstalled", "myshopify_domain")]
    [TestCase("customers/delete", "id")]
    public void AShopifyTopicTheBodyCannotBeIsRefused(string topic, string member)
    {
        const string body = "{\"email\":\"a@example.com\",\"total_price\":\"1.00\"}";
        var (_, named) = Read(WebhookSignature.Shopify(ShopifySecret), Request(body, ShopifyHeaders(body, topic)));

        Assert.That(named.Refusal, Is.EqualTo($"X-Shopify-Topic says '{topic}', but the body has no '{member}', which every {topic} payload has"));
    }

    [TestCase("orders/delete", "{\"id\":820982911946154508}")]
    [TestCase("customers/update", "{\"id\":1,\"email\":null}")]
    [TestCase("orders/paid", ShopifyOrder)]
    [TestCase("bulk_operations", "{\"admin_graphql_api_id\":\"gid://shopify/BulkOperation/1\"}", Description = "a topic without a slash is its own resource")]
    public void AShopifyTopicTheBodyFitsIsNamed(string topic, string body)
    {
        var (_, named) = Read(WebhookSignature.Shopify(ShopifySecret), Request(body, ShopifyHeaders(body, topic)));

        Assert.That(named.Refusal, Is.Null);
        Assert.That(named.Name, Is.EqualTo(topic));
    }

    [TestCase("")]
    [TestCase("  ")]
    [TestCase(null)]
    public void AShopifyDeliveryWithoutATopicNamesNoEventAndIsNotRefused(string? topic)
    {
        var headers = ShopifyHeaders(ShopifyOrder);
        headers.Remove("X-Shopify-Topic");
        if (topic is not null)
        {
            headers["X-Shopify-Topic"] = topic;
        }

        var (_, named) = Read(WebhookSignature.Shopify(ShopifySecret), Request(ShopifyOrder, headers));

        Assert.That(named.Refusal, Is.Null);
        Assert.That(named.Name, Is.Null, "a route with Events then ignores it, one without runs it");
    }

    // Linear ---------------------------------------------------------------------------------------------------------

    private const string LinearSecret = "lin_wh_0123456789abcdef0123456789abcdef";

    private static string LinearIssue(DateTimeOffset at) =>
        "{\"action\":\"create\",\"type\":\"Issue\",\"data\":{\"id\":\"2174add1\",\"title\":\"Crash on save\",\"webhookTimestamp\":1},\"url\":\"https://linear.app/acme/issue/ENG-7\"," +
        $"\"createdAt\":\"{at:yyyy-MM-ddTHH:mm:ss.fffZ}\",\"webhookTimestamp\":{at.ToUnixTimeMilliseconds()},\"webhookId\":\"000042e3\"}}";

    private static HeaderDictionary LinearHeaders(string body) => new()
    {
        ["Linear-Signature"] = HexHmacSha256(LinearSecret, body),
        ["Linear-Delivery"] = "234d1a4e-b617-4388-90fe-adc3633d6b72",
        ["Linear-Event"] = "Issue",
    };

    [Test]
    public void LinearVerifiesTheHexHmacAndATimestampInsideTheSignedBody()
    {
        var body = LinearIssue(Now.AddSeconds(-3));
        var scheme = WebhookSignature.Linear(LinearSecret);
        var request = Request(body, LinearHeaders(body));

        var verification = scheme.Verify(request);
        var (_, named) = Read(scheme, request);

        Assert.That(verification.IsValid, Is.True, verification.Error);
        Assert.That(verification.Label, Is.EqualTo("234d1a4e-b617-4388-90fe-adc3633d6b72"));
        Assert.That(named.Name, Is.EqualTo("Issue.create"));
    }

    [TestCase("{\"type\":\"Issue\",\"action\":\"create\"}", "Issue.create")]
    [TestCase("{\"type\":\"Issue\"}", "Issue")]
    [TestCase("{\"type\":\"Issue\",\"action\":\"\"}", "Issue")]
    [TestCase("{\"action\":\"create\"}", null, Description = "an action without a type names nothing")]
    [TestCase("{\"type\":7,\"action\":\"create\"}", null)]
    public void LinearNamesEventsByTypeAndAction(string body, string? expected)
    {
        var (_, named) = Read(WebhookSignature.Linear(LinearSecret), Request(body, new HeaderDictionary()));

        Assert.That(named.Name, Is.EqualTo(expected));
    }

    [Test]
    public void ALinearTimestampAfterMembersNestedAsDeepAsTheRelayAllowsIsRead()
    {
        // The deepest body the relay can be configured to take (MaxBodyDepth up to 1,000): the signed timestamp is read
        // past it, so the depth limit, not the signature check, is what refuses deeper bodies.
        var depth = Runchat.Relay.RunchatRelayOptions.MaxBodyDepthLimit;
        var nested = new string('[', depth - 1) + new string(']', depth - 1);
        var body = $"{{\"type\":\"Issue\",\"data\":{nested},\"webhookTimestamp\":{Now.ToUnixTimeMilliseconds()}}}";

        var verification = WebhookSignature.Linear(LinearSecret).Verify(Request(body, LinearHeaders(body)));

        Assert.That(verification.IsValid, Is.True, verification.Error);
    }

    [TestCase(-301, false)]
    [TestCase(-300, true)]
    [TestCase(300, true)]
    [TestCase(301, false)]
    public void ALinearTimestampOutsideTheToleranceIsRefused(int offsetSeconds, bool valid)
    {
        var body = LinearIssue(Now.AddSeconds(offsetSeconds));

        var verification = WebhookSignature.Linear(LinearSecret).Verify(Request(body, LinearHeaders(body)));

        Assert.That(verification.IsValid, Is.EqualTo(valid), verification.Error);
        if (!valid)
        {
            Assert.That(verification.Error, Is.EqualTo($"the signed timestamp is {Math.Abs(offsetSeconds)} s from the relay's clock, more than the 300 s tolerance"));
        }
    }

    [TestCase("{\"type\":\"Issue\",\"data\":{\"webhookTimestamp\":1795000000000}}", Description = "only nested")]
    [TestCase("{\"type\":\"Issue\",\"webhookTimestamp\":\"1795000000000\"}", Description = "a string")]
    [TestCase("{\"type\":\"Issue\",\"webhookTimestamp\":1795000000000.5}", Description = "not whole")]
    [TestCase("[1795000000000]", Description = "not an object")]
    [TestCase("{\"type\":\"Issue\",", Description = "cut short")]
    public void ALinearBodyWithoutATopLevelTimestampIsRefusedEvenWhenSigned(string body)
    {
        var verification = WebhookSignature.Linear(LinearSecret).Verify(Request(body, LinearHeaders(body)));

        Assert.That(verification.IsValid, Is.False);
        Assert.That(verification.Error, Is.EqualTo("the body's webhookTimestamp is missing or not a number of milliseconds"));
    }

    [Test]
    public void LinearRefusesATamperedBodyAnUppercaseOrPrefixedSignatureFromAnotherSecretAndNoSignature()
    {
        var body = LinearIssue(Now);
        var scheme = WebhookSignature.Linear(LinearSecret);

        Assert.That(scheme.Verify(Request(body.Replace("Crash", "Crush"), LinearHeaders(body))).Error, Is.EqualTo("Linear-Signature does not match the body"));
        var upper = LinearHeaders(body);
        upper["Linear-Signature"] = upper["Linear-Signature"].ToString().ToUpperInvariant();
        Assert.That(scheme.Verify(Request(body, upper)).IsValid, Is.True, "hex is hex, whatever its case");
        var other = LinearHeaders(body);
        other["Linear-Signature"] = HexHmacSha256(LinearSecret + "!", body);
        Assert.That(scheme.Verify(Request(body, other)).IsValid, Is.False);
        var prefixed = LinearHeaders(body);
        prefixed["Linear-Signature"] = "sha256=" + prefixed["Linear-Signature"];
        Assert.That(scheme.Verify(Request(body, prefixed)).IsValid, Is.False, "Linear sends the bare hex");
        Assert.That(scheme.Verify(Request(body, new HeaderDictionary())).Error, Is.EqualTo("the Linear-Signature header is missing"));
    }

    // Twilio ---------------------------------------------------------------------------------------------------------

    private const string TwilioToken = "12345678901234567890123456789012";
    private const string TwilioSms = "ToCountry=US&ToState=CA&SmsMessageSid=SM1a2b&NumMedia=0&SmsSid=SM1a2b&SmsStatus=received&Body=Is+the+build+green%3F&To=%2B15005550006&MessageSid=SM1a2b&AccountSid=AC0123&From=%2B14155552671&ApiVersion=2010-04-01";

    private static Dictionary<string, string> FormOf(string body) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(body).ToDictionary(p => p.Key, p => p.Value.ToString());

    /// <summary>Twilio's documented recipe, written here from the docs: the URL, then each parameter name and value sorted by name, HMAC-SHA1, base64.</summary>
    private static string TwilioRecipe(string url, string body, string token = TwilioToken)
    {
        var text = new StringBuilder(url);
        foreach (var (name, value) in FormOf(body).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(name).Append(value);
        }

        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static HeaderDictionary TwilioHeaders(string signature) =>
        new() { ["X-Twilio-Signature"] = signature, ["Content-Type"] = Form, ["I-Twilio-Idempotency-Token"] = "b6e7f0c9-idem" };

    [Test]
    public void TwilioVerifiesTheDocumentedRecipeAndStoresTheFormAsJson()
    {
        const string url = "https://relay.example.com/hooks/twilio?route=sms";
        var scheme = WebhookSignature.Twilio(TwilioToken);
        var request = Request(TwilioSms, TwilioHeaders(TwilioRecipe(url, TwilioSms)), url);

        var verification = scheme.Verify(request);
        var (payload, named) = Read(scheme, request);

        Assert.That(verification.IsValid, Is.True, verification.Error);
        Assert.That(verification.Label, Is.EqualTo("b6e7f0c9-idem"));
        Assert.That(payload.GetProperty("Body").GetString(), Is.EqualTo("Is the build green?"));
        Assert.That(payload.GetProperty("From").GetString(), Is.EqualTo("+14155552671"));
        Assert.That(named.Name, Is.EqualTo("message.received"));
    }

    [Test]
    public void TwilioSignaturesOfTheRelayVerifyWithTwiliosOwnRequestValidator()
    {
        const string url = "https://relay.example.com/hooks/twilio";
        var headers = WebhookSignature.Twilio(TwilioToken, new Uri(url)).Sign(Encoding.UTF8.GetBytes(TwilioSms), Now, "idem-1");
        var signature = headers.Single(h => h.Key == "X-Twilio-Signature").Value;

        var oracle = new Twilio.Security.RequestValidator(TwilioToken);

        Assert.That(oracle.Validate(url, FormOf(TwilioSms), signature), Is.True);
        Assert.That(oracle.Validate(url, FormOf(TwilioSms.Replace("green", "red")), signature), Is.False, "the oracle refuses another body: it is not accepting everything");
    }

    [Test]
    public void TwilioBehindAProxyChecksThePublicUrlWithTheRequestsQuery()
    {
        const string seen = "http://10.0.0.7:5080/hooks/twilio?route=sms";
        var signature = TwilioRecipe("https://relay.example.com/hooks/twilio?route=sms", TwilioSms);

        var behind = WebhookSignature.Twilio(TwilioToken, new Uri("https://relay.example.com/hooks/twilio")).Verify(Request(TwilioSms, TwilioHeaders(signature), seen));
        var unaware = WebhookSignature.Twilio(TwilioToken).Verify(Request(TwilioSms, TwilioHeaders(signature), seen));

        Assert.That(behind.IsValid, Is.True, behind.Error);
        Assert.That(unaware.IsValid, Is.False);
        Assert.That(unaware.Error, Is.EqualTo("X-Twilio-Signature does not match the URL and the form (the URL checked is http://10.0.0.7:5080/hooks/twilio; behind a proxy, set the route's PublicUrl to the one Twilio posts to)"));
    }

    [Test]
    public void APublicUrlWithItsOwnQueryIsCheckedWholeWhateverTheProxyForwards()
    {
        // The URL configured in Twilio carries a query; the proxy strips or rewrites it on the way in.
        const string publicUrl = "https://relay.example.com/hooks/twilio?route=sms";
        var signature = TwilioRecipe(publicUrl, TwilioSms);
        var scheme = WebhookSignature.Twilio(TwilioToken, new Uri(publicUrl));

        var verification = scheme.Verify(Request(TwilioSms, TwilioHeaders(signature), "http://10.0.0.7:5080/hooks/twilio?proxied=1"));
        var forged = scheme.Verify(Request(TwilioSms, TwilioHeaders(TwilioRecipe("https://relay.example.com/hooks/twilio?proxied=1", TwilioSms)), "http://10.0.0.7:5080/hooks/twilio?proxied=1"));

        Assert.That(verification.IsValid, Is.True, verification.Error);
        Assert.That(forged.IsValid, Is.False, "the forwarded query is not what Twilio signed");
    }

    [TestCase("https://relay.example.com/hooks/twilio", "https://relay.example.com:443/hooks/twilio")]
    [TestCase("https://relay.example.com:443/hooks/twilio", "https://relay.example.com/hooks/twilio")]
    public void TwilioAcceptsTheUrlWithOrWithoutItsDefaultPortAsItsValidatorsDo(string publicUrl, string signedUrl)
    {
        var verification = WebhookSignature.Twilio(TwilioToken, new Uri(publicUrl)).Verify(Request(TwilioSms, TwilioHeaders(TwilioRecipe(signedUrl, TwilioSms)), "http://127.0.0.1/hooks/twilio"));

        Assert.That(verification.IsValid, Is.True, verification.Error);
    }

    [Test]
    public void TwilioRefusesATamperedFormAnotherTokenAnotherPathAndNoSignature()
    {
        const string url = "https://relay.example.com/hooks/twilio";
        var scheme = WebhookSignature.Twilio(TwilioToken);
        var signature = TwilioRecipe(url, TwilioSms);

        Assert.That(scheme.Verify(Request(TwilioSms, TwilioHeaders(signature), url)).IsValid, Is.True);
        Assert.That(scheme.Verify(Request(TwilioSms.Replace("green", "red"), TwilioHeaders(signature), url)).IsValid, Is.False, "one form value changed");
        Assert.That(scheme.Verify(Request(TwilioSms + "&Extra=1", TwilioHeaders(signature), url)).IsValid, Is.False, "a parameter added");
        Assert.That(scheme.Verify(Request(TwilioSms, TwilioHeaders(TwilioRecipe(url, TwilioSms, TwilioToken.Replace('1', '9'))), url)).IsValid, Is.False, "another token");
        Assert.That(scheme.Verify(Request(TwilioSms, TwilioHeaders(signature), url + "2")).IsValid, Is.False, "another URL");
        var missing = TwilioHeaders(signature);
        missing.Remove("X-Twilio-Signature");
        Assert.That(scheme.Verify(Request(TwilioSms, missing, url)).Error, Is.EqualTo("the X-Twilio-Signature header is missing"));
    }

    [Test]
    public void TwilioJsonBodiesAreSignedThroughTheUrlsBodySha256()
    {
        const string body = "{\"specversion\":\"1.0\",\"type\":\"com.twilio.messaging.message.delivered\",\"id\":\"EZ1\"}";
        var url = "https://relay.example.com/hooks/twilio?bodySHA256=" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(body))).ToLowerInvariant();
        var signature = TwilioRecipe(url, string.Empty);
        var headers = new HeaderDictionary { ["X-Twilio-Signature"] = signature, ["Content-Type"] = "application/json" };
        var scheme = WebhookSignature.Twilio(TwilioToken);

        var verification = scheme.Verify(Request(body, headers, url));

        Assert.That(verification.IsValid, Is.True, verification.Error);
        Assert.That(new Twilio.Security.RequestValidator(TwilioToken).Validate(url, body, signature), Is.True, "Twilio's validator agrees");
        Assert.That(Read(scheme, Request(body, headers, url)).Event.Name, Is.EqualTo("com.twilio.messaging.message.delivered"));
        Assert.That(scheme.Verify(Request(body.Replace("EZ1", "EZ2"), headers, url)).Error, Is.EqualTo("the URL's bodySHA256 is not the body's SHA-256"));
        Assert.That(scheme.Verify(Request(body, headers, "https://relay.example.com/hooks/twilio")).Error, Is.EqualTo("the body is not a form, and the URL has no bodySHA256 parameter that would sign it"));
    }

    [TestCase("CallSid=CA1&CallStatus=ringing&From=%2B1", "call.ringing")]
    [TestCase("MessageSid=SM1&MessageStatus=delivered", "message.delivered")]
    [TestCase("AccountSid=AC1", null)]
    [TestCase("MessageSid=SM1&SmsStatus=received", "message.received")]
    [TestCase("MessageSid=SM1&SmsStatus=sent&MessageStatus=delivered", "message.delivered", Description = "MessageStatus is the current name, SmsStatus the deprecated one")]
    public void TwilioNamesMessagesAndCallsByTheirStatus(string body, string? expected)
    {
        var (_, named) = Read(WebhookSignature.Twilio(TwilioToken), Request(body, TwilioHeaders("x")));

        Assert.That(named.Name, Is.EqualTo(expected));
    }

    [Test]
    public void ATwilioFormWithARepeatedNameKeepsEveryValueAndIsSignedOverEach()
    {
        const string url = "https://relay.example.com/hooks/twilio";
        const string body = "MessageSid=SM1&MediaUrl=b&MediaUrl=a";
        var signature = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(TwilioToken), Encoding.UTF8.GetBytes(url + "MediaUrla" + "MediaUrlb" + "MessageSidSM1")));
        var scheme = WebhookSignature.Twilio(TwilioToken);

        var verification = scheme.Verify(Request(body, TwilioHeaders(signature), url));
        var (payload, _) = Read(scheme, Request(body, TwilioHeaders(signature), url));

        Assert.That(verification.IsValid, Is.True, verification.Error);
        Assert.That(payload.GetProperty("MediaUrl").EnumerateArray().Select(v => v.GetString()), Is.EqualTo(new[] { "b", "a" }));
    }

    [TestCase("relay.example.com/hooks")]
    [TestCase("ftp://relay.example.com/hooks")]
    public void ATwilioPublicUrlThatIsNotAnAbsoluteHttpUrlIsRefused(string url)
    {
        var refused = Assert.Throws<ArgumentException>(() => WebhookSignature.Twilio(TwilioToken, new Uri(url, UriKind.RelativeOrAbsolute)));

        Assert.That(refused!.Message, Does.StartWith("The twilio PublicUrl must be an absolute http(s) URL"));
    }

    // PagerDuty ------------------------------------------------------------------------------------------------------

    private const string PagerDutySecret = "pd_whsec_0123456789abcdef0123456789";
    private const string PagerDutyIncident = "{\"event\":{\"id\":\"01DEN4HPBQAAAG05V5QQYBRZMF\",\"event_type\":\"incident.triggered\",\"resource_type\":\"incident\",\"occurred_at\":\"2026-12-06T10:00:00.000Z\",\"agent\":null,\"client\":null,\"data\":{\"id\":\"PGR0VU2\",\"type\":\"incident\",\"title\":\"Disk full on db-1\",\"status\":\"triggered\"}}}";

    [Test]
    public void PagerDutyAcceptsAnyOfItsV1SignaturesAndTheSignedEventIdTellsDeliveriesApart()
    {
        var header = $"v1={HexHmacSha256("the-old-secret-being-rotated-out", PagerDutyIncident)},v1={HexHmacSha256(PagerDutySecret, PagerDutyIncident)}";
        var headers = new HeaderDictionary { ["X-PagerDuty-Signature"] = header, ["X-Webhook-Id"] = "wh-delivery-1", ["User-Agent"] = "PagerDuty-Webhook/V3.0" };
        var scheme = WebhookSignature.PagerDuty(PagerDutySecret);
        var request = Request(PagerDutyIncident, headers);

        var verification = scheme.Verify(request);
        var (_, named) = Read(scheme, request);

        Assert.That(verification.IsValid, Is.True, verification.Error);
        Assert.That(verification.Label, Is.EqualTo("wh-delivery-1"));
        Assert.That(named.SignedId, Is.EqualTo("01DEN4HPBQAAAG05V5QQYBRZMF"));
        Assert.That(named.Name, Is.EqualTo("incident.triggered"));
        headers["X-PagerDuty-Signature"] = $"v1={HexHmacSha256(PagerDutySecret, PagerDutyIncident)}";
        Assert.That(scheme.Verify(Request(PagerDutyIncident, headers)).IsValid, Is.True, "one signature, as PagerDuty sends most of the time");
        headers["X-PagerDuty-Signature"] = $" v1={HexHmacSha256("another-secret-of-enough-bytes!", PagerDutyIncident)}, v1={HexHmacSha256(PagerDutySecret, PagerDutyIncident)} ";
        Assert.That(scheme.Verify(Request(PagerDutyIncident, headers)).IsValid, Is.True, "spaces around each");
    }

    [TestCase("v1=0000", "no v1 signature in X-PagerDuty-Signature matches the body")]
    [TestCase("v2=abcd", "X-PagerDuty-Signature has no v1=<hex> signature")]
    [TestCase("", "the X-PagerDuty-Signature header is missing")]
    public void PagerDutyRefusesASignatureThatDoesNotMatchAndNoSignature(string header, string reason)
    {
        var verification = WebhookSignature.PagerDuty(PagerDutySecret).Verify(Request(PagerDutyIncident, new HeaderDictionary { ["X-PagerDuty-Signature"] = header }));

        Assert.That(verification.Error, Is.EqualTo(reason));
    }

    [Test]
    public void PagerDutyRefusesATamperedBodyAndAnotherSecret()
    {
        var headers = new HeaderDictionary { ["X-PagerDuty-Signature"] = "v1=" + HexHmacSha256(PagerDutySecret, PagerDutyIncident) };
        var scheme = WebhookSignature.PagerDuty(PagerDutySecret);

        Assert.That(scheme.Verify(Request(PagerDutyIncident.Replace("db-1", "db-2"), headers)).IsValid, Is.False);
        Assert.That(WebhookSignature.PagerDuty(PagerDutySecret + "0").Verify(Request(PagerDutyIncident, headers)).IsValid, Is.False);
    }

    // Discord --------------------------------------------------------------------------------------------------------

    /// <summary>An application's key pair, made and used by libsodium (NSec), as Discord signs.</summary>
    private sealed class DiscordApp : IDisposable
    {
        private readonly Key _key = Key.Create(SignatureAlgorithm.Ed25519);

        public string PublicKeyHex => Convert.ToHexString(_key.PublicKey.Export(KeyBlobFormat.RawPublicKey)).ToLowerInvariant();

        public HeaderDictionary Sign(string body, DateTimeOffset at)
        {
            var timestamp = at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            var signature = SignatureAlgorithm.Ed25519.Sign(_key, Encoding.UTF8.GetBytes(timestamp + body));
            return new HeaderDictionary { ["X-Signature-Ed25519"] = Convert.ToHexString(signature).ToLowerInvariant(), ["X-Signature-Timestamp"] = timestamp };
        }

        public void Dispose() => _key.Dispose();
    }

    private const string DiscordPing = "{\"id\":\"1184311045427400714\",\"application_id\":\"1184310000000000000\",\"type\":1,\"version\":1}";
    private const string DiscordCommand = "{\"id\":\"1184311245427400715\",\"application_id\":\"1184310000000000000\",\"type\":2,\"token\":\"aW50ZXJhY3Rpb24\",\"version\":1,\"guild_id\":\"613425648685547541\",\"channel_id\":\"645027906669510667\",\"member\":{\"user\":{\"id\":\"53908232506183680\",\"username\":\"ada\"}},\"data\":{\"id\":\"771825006014889984\",\"name\":\"ask\",\"type\":1,\"options\":[{\"name\":\"question\",\"type\":3,\"value\":\"Is the build green?\"}]}}";

    [Test]
    public void DiscordAnswersPingWithPongAndStoresNothing()
    {
        using var app = new DiscordApp();
        var scheme = WebhookSignature.Discord(app.PublicKeyHex);
        var request = Request(DiscordPing, app.Sign(DiscordPing, Now));

        var verification = scheme.Verify(request);
        var (_, named) = Read(scheme, request);

        Assert.That(verification.IsValid, Is.True, verification.Error);
        Assert.That(named.Handshake, Is.Not.Null);
        Assert.That(named.Handshake!.StatusCode, Is.EqualTo(200));
        Assert.That(named.Handshake.Body!.ToJsonString(), Is.EqualTo("{\"type\":1}"));
    }

    [TestCase(DiscordCommand, "application_command.ask", "1184311245427400715", "{\"type\":5}")]
    [TestCase("{\"id\":\"77\",\"type\":3,\"data\":{\"custom_id\":\"approve\",\"component_type\":2}}", "message_component.approve", "77", "{\"type\":6}")]
    [TestCase("{\"id\":\"78\",\"type\":5,\"data\":{\"custom_id\":\"feedback\",\"components\":[]}}", "modal_submit.feedback", "78", "{\"type\":5}")]
    [TestCase("{\"id\":\"79\",\"type\":2}", "application_command", "79", "{\"type\":5}")]
    [TestCase("{\"id\":\"80\",\"type\":2,\"data\":{\"name\":\"\"}}", "application_command", "80", "{\"type\":5}")]
    [TestCase("{\"id\":\"84\",\"type\":3,\"data\":\"approve\"}", "message_component", "84", "{\"type\":6}")]
    public void DiscordStoresACommandAComponentOrAModalAndDefersItsAnswer(string body, string name, string id, string answer)
    {
        using var app = new DiscordApp();
        var scheme = WebhookSignature.Discord(app.PublicKeyHex);
        var request = Request(body, app.Sign(body, Now));

        Assert.That(scheme.Verify(request).IsValid, Is.True);
        var (_, named) = Read(scheme, request);

        Assert.That(named.Handshake, Is.Null);
        Assert.That(named.Name, Is.EqualTo(name));
        Assert.That(named.SignedId, Is.EqualTo(id), "the interaction's id is inside the signed body");
        Assert.That(named.Answer!.Body!.ToJsonString(), Is.EqualTo(answer));
    }

    [Test]
    public void DiscordAnswersAutocompleteWithNoChoicesAndStoresNothing()
    {
        const string body = "{\"id\":\"80\",\"type\":4,\"data\":{\"name\":\"ask\",\"options\":[{\"name\":\"question\",\"value\":\"Is\",\"focused\":true}]}}";
        using var app = new DiscordApp();

        var (_, named) = Read(WebhookSignature.Discord(app.PublicKeyHex), Request(body, app.Sign(body, Now)));

        Assert.That(named.Handshake!.Body!.ToJsonString(), Is.EqualTo("{\"type\":8,\"data\":{\"choices\":[]}}"));
    }

    [TestCase("{\"id\":\"81\",\"type\":9}", "'type' is 9, not an interaction type Discord sends (1 to 5)")]
    [TestCase("{\"id\":\"82\"}", "'type' is missing, not an interaction type Discord sends (1 to 5)")]
    [TestCase("{\"id\":\"83\",\"type\":\"2\"}", "'type' is missing, not an interaction type Discord sends (1 to 5)")]
    public void ADiscordBodyThatIsNoInteractionIsRefused(string body, string reason)
    {
        using var app = new DiscordApp();

        var (_, named) = Read(WebhookSignature.Discord(app.PublicKeyHex), Request(body, app.Sign(body, Now)));

        Assert.That(named.Refusal, Is.EqualTo(reason));
    }

    [Test]
    public void DiscordRefusesATamperedBodyAnotherTimestampAnotherKeyAndMissingHeaders()
    {
        using var app = new DiscordApp();
        using var other = new DiscordApp();
        var scheme = WebhookSignature.Discord(app.PublicKeyHex);
        var headers = app.Sign(DiscordCommand, Now);

        Assert.That(scheme.Verify(Request(DiscordCommand.Replace("green", "red"), headers)).Error, Is.EqualTo("X-Signature-Ed25519 does not verify the timestamp and body with the application's public key"));
        var moved = app.Sign(DiscordCommand, Now);
        moved["X-Signature-Timestamp"] = (Now.ToUnixTimeSeconds() + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(scheme.Verify(Request(DiscordCommand, moved)).IsValid, Is.False, "the timestamp is signed");
        Assert.That(scheme.Verify(Request(DiscordCommand, other.Sign(DiscordCommand, Now))).IsValid, Is.False, "another application's key");
        var noSignature = app.Sign(DiscordCommand, Now);
        noSignature.Remove("X-Signature-Ed25519");
        Assert.That(scheme.Verify(Request(DiscordCommand, noSignature)).Error, Is.EqualTo("the X-Signature-Ed25519 header is missing"));
        var noTimestamp = app.Sign(DiscordCommand, Now);
        noTimestamp.Remove("X-Signature-Timestamp");
        Assert.That(scheme.Verify(Request(DiscordCommand, noTimestamp)).Error, Is.EqualTo("the X-Signature-Timestamp header is missing"));
        var notHex = app.Sign(DiscordCommand, Now);
        notHex["X-Signature-Ed25519"] = new string('z', 128);
        Assert.That(scheme.Verify(Request(DiscordCommand, notHex)).Error, Is.EqualTo("X-Signature-Ed25519 is not hex"));
        var cut = app.Sign(DiscordCommand, Now);
        cut["X-Signature-Ed25519"] = cut["X-Signature-Ed25519"].ToString()[..126];
        Assert.That(scheme.Verify(Request(DiscordCommand, cut)).Error, Is.EqualTo("X-Signature-Ed25519 is 63 bytes, not an Ed25519 signature's 64"));
    }

    [TestCase(-301, false)]
    [TestCase(-300, true)]
    [TestCase(301, false)]
    public void ADiscordTimestampOutsideTheToleranceIsRefused(int offsetSeconds, bool valid)
    {
        using var app = new DiscordApp();

        var verification = WebhookSignature.Discord(app.PublicKeyHex).Verify(Request(DiscordCommand, app.Sign(DiscordCommand, Now.AddSeconds(offsetSeconds))));

        Assert.That(verification.IsValid, Is.EqualTo(valid), verification.Error);
        if (!valid)
        {
            Assert.That(verification.Error, Does.Contain("tolerance"));
        }
    }

    [Test]
    public void DiscordCannotSignItVerifiesWithAPublicKey()
    {
        using var app = new DiscordApp();

        Assert.Throws<NotSupportedException>(() => WebhookSignature.Discord(app.PublicKeyHex).Sign(Encoding.UTF8.GetBytes(DiscordPing), Now, "x"));
    }

    [TestCase("", "The discord scheme needs a PublicKey")]
    [TestCase("not-hex-at-all", "The discord PublicKey is not hex")]
    [TestCase("00112233", "The discord PublicKey is not an Ed25519 public key (4 bytes;")]
    public void ADiscordPublicKeyThatIsNotOneIsRefused(string key, string reason)
    {
        var refused = Assert.Throws<ArgumentException>(() => WebhookSignature.Discord(key));

        Assert.That(refused!.Message, Does.StartWith(reason));
    }

    [Test]
    public void A32ByteDiscordPublicKeyOffTheCurveIsRefused()
    {
        // y = 2 has no x on edwards25519: 32 bytes of the right length that no key pair has.
        var offCurve = "02" + new string('0', 62);

        var refused = Assert.Throws<ArgumentException>(() => WebhookSignature.Discord(offCurve));

        Assert.That(refused!.Message, Does.Contain("a point on the curve"));
    }

    // Every HMAC sender ----------------------------------------------------------------------------------------------

    [TestCase("gitlab")]
    [TestCase("shopify")]
    [TestCase("linear")]
    [TestCase("twilio")]
    [TestCase("pagerduty")]
    public void ASecretShorterThan16BytesIsRefusedWithoutShowingIt(string scheme)
    {
        const string secret = "short-secret-15";

        var refused = Assert.Throws<ArgumentException>(() => WebhookSchemes.BuiltIn.Create(scheme, new WebhookSchemeSettings("/hooks/x", secret)));

        Assert.That(refused!.Message, Does.StartWith($"The {scheme} Secret is 15 bytes; at least 16 are needed"));
        Assert.That(refused.Message, Does.Not.Contain(secret));
        Assert.DoesNotThrow(() => WebhookSchemes.BuiltIn.Create(scheme, new WebhookSchemeSettings("/hooks/x", secret + "!")), "16 bytes are enough");
    }

    [TestCase("gitlab")]
    [TestCase("shopify")]
    [TestCase("linear")]
    [TestCase("pagerduty")]
    public void WhatTheRelaySignsForASenderItVerifies(string name)
    {
        var scheme = WebhookSchemes.BuiltIn.Create(name, new WebhookSchemeSettings("/hooks/x", "a-sender-secret-of-32-characters"));
        var body = name == "linear" ? LinearIssue(Now) : PagerDutyIncident;
        var headers = new HeaderDictionary();
        foreach (var (header, value) in scheme.Sign(Encoding.UTF8.GetBytes(body), Now, "delivery-1"))
        {
            headers[header] = value;
        }

        Assert.That(scheme.Verify(Request(body, headers)).IsValid, Is.True);
        Assert.That(scheme.ToString(), Is.EqualTo(name), "ToString names the scheme, never its secret");
    }

    [TestCase("linear", "Linear-Signature", "")]
    [TestCase("pagerduty", "X-PagerDuty-Signature", "v1=")]
    public void TheHexSignatureTheRelayWritesIsLowerCaseAsTheSenderWritesIt(string name, string header, string prefix)
    {
        // Linear's and PagerDuty's own verifiers compare the hex text as sent (lower case, Node's digest("hex")).
        const string secret = "a-sender-secret-of-32-characters";
        var scheme = WebhookSchemes.BuiltIn.Create(name, new WebhookSchemeSettings("/hooks/x", secret));

        var signed = scheme.Sign(Encoding.UTF8.GetBytes(PagerDutyIncident), Now, "delivery-1").Single(h => h.Key == header).Value;

        Assert.That(signed, Is.EqualTo(prefix + HexHmacSha256(secret, PagerDutyIncident)));
    }

    [TestCase("standardwebhooks", "standard-webhooks")]
    [TestCase("Standard-Webhooks", "standard-webhooks")]
    [TestCase("hmacsha256", "hmac-sha256")]
    [TestCase(" GitHub ", "github")]
    public void ASignatureIsReadAsConfigurationMaySpellIt(string configured, string scheme)
    {
        var settings = new WebhookSchemeSettings("/hooks/x", "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("a-sender-secret-of-32-characters")), "X-Signature");

        Assert.That(WebhookSchemes.BuiltIn.Create(configured, settings).Name, Is.EqualTo(scheme));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("   ")]
    public void ARouteWithoutASignatureIsToldEveryNameItMayGive(string? configured)
    {
        var refused = Assert.Throws<ArgumentException>(() => WebhookSchemes.BuiltIn.Create(configured, new WebhookSchemeSettings("/hooks/x", "a-sender-secret-of-32-characters")));

        Assert.That(refused!.Message, Is.EqualTo("Signature is required: " + string.Join(", ", WebhookSchemes.BuiltIn.Names) + "."));
        Assert.That(WebhookSchemes.BuiltIn.Names, Does.Contain("github").And.Contain("discord").And.Contain("standard-webhooks"));
    }
}
