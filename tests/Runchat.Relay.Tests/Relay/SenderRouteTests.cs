using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NSec.Cryptography;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Tests.Relay;

/// <summary>
/// The six senders and a scheme an app registers, over HTTP on a running relay: a request built as the sender's
/// documentation says is stored and runs once; a bad one is a 401 that says why, with nothing stored; Discord's
/// handshake and deferred answers; Twilio behind a proxy; the configuration each needs, refused at start-up when wrong.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class SenderRouteTests : PerStoreFixture
{
    public SenderRouteTests(string storeKind)
        : base(storeKind)
    {
    }

    private const string Secret = "a-sender-secret-of-32-characters";

    private SandboxServer _sandbox = null!;

    [SetUp]
    public async Task StartSandboxAsync() => _sandbox = await SandboxServer.StartAsync();

    [TearDown]
    public async Task StopSandboxAsync() => await _sandbox.DisposeAsync();

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private static byte[] HmacSha256(string body) => HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(body));

    /// <summary>One sender's request, signed as its documentation says, and the same request with its signature spoiled.</summary>
    public sealed record Sent(string Scheme, string Body, (string, string)[] Headers, (string, string)[] Spoiled, string Reason, string Event)
    {
        public override string ToString() => Scheme;
    }

    private static IEnumerable<Sent> Senders()
    {
        const string gitlab = "{\"object_kind\":\"merge_request\",\"object_attributes\":{\"iid\":5,\"title\":\"Add retries\",\"action\":\"open\"}}";
        yield return new Sent("gitlab", gitlab,
            new[] { ("X-Gitlab-Token", Secret), ("X-Gitlab-Event", "Merge Request Hook"), ("X-Gitlab-Event-UUID", "uuid-1") },
            new[] { ("X-Gitlab-Token", Secret + "!"), ("X-Gitlab-Event", "Merge Request Hook") },
            "X-Gitlab-Token is not the route's secret token", "merge_request.open");

        const string shopify = "{\"id\":820982911946154508,\"email\":\"jon@example.com\",\"line_items\":[{\"id\":1,\"quantity\":1}]}";
        yield return new Sent("shopify", shopify,
            new[] { ("X-Shopify-Hmac-Sha256", Convert.ToBase64String(HmacSha256(shopify))), ("X-Shopify-Topic", "orders/create"), ("X-Shopify-Webhook-Id", "wh-1") },
            new[] { ("X-Shopify-Hmac-Sha256", Convert.ToBase64String(HmacSha256(shopify + " "))), ("X-Shopify-Topic", "orders/create") },
            "X-Shopify-Hmac-Sha256 does not match the body", "orders/create");

        var linear = $"{{\"action\":\"create\",\"type\":\"Comment\",\"data\":{{\"body\":\"Please look\"}},\"webhookTimestamp\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}}}";
        yield return new Sent("linear", linear,
            new[] { ("Linear-Signature", Hex(HmacSha256(linear))), ("Linear-Delivery", "d-1"), ("Linear-Event", "Comment") },
            new[] { ("Linear-Signature", Hex(HmacSha256(linear + " "))) },
            "Linear-Signature does not match the body", "Comment.create");

        const string pagerduty = "{\"event\":{\"id\":\"01DEN4HPBQAAAG05V5QQYBRZMF\",\"event_type\":\"incident.acknowledged\",\"resource_type\":\"incident\",\"data\":{\"title\":\"Disk full\"}}}";
        yield return new Sent("pagerduty", pagerduty,
            new[] { ("X-PagerDuty-Signature", "v1=" + Hex(HmacSha256(pagerduty))), ("X-Webhook-Id", "pd-1") },
            new[] { ("X-PagerDuty-Signature", "v1=" + Hex(HmacSha256(pagerduty + " "))) },
            "no v1 signature in X-PagerDuty-Signature matches the body", "incident.acknowledged");
    }

    [TestCaseSource(nameof(Senders))]
    public async Task ASendersSignedRequestIsStoredAndRunsOnceAndASpoiledOneIs401WithItsReason(Sent sent)
    {
        await using var relay = await StartRelayAsync(_sandbox.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/" + sent.Scheme, "sender-agent", sent.Scheme, Secret)));

        var (refused, why) = await relay.PostAsync("/hooks/" + sent.Scheme, sent.Body, sent.Spoiled);
        var (status, answer) = await relay.PostAsync("/hooks/" + sent.Scheme, sent.Body, sent.Headers);
        var (again, second) = await relay.PostAsync("/hooks/" + sent.Scheme, sent.Body, sent.Headers);

        Assert.That(refused, Is.EqualTo(401));
        Assert.That(why.GetProperty("error").GetString(), Is.EqualTo($"The {sent.Scheme} signature was refused: {sent.Reason}."));
        Assert.That(status, Is.EqualTo(202), answer.ToString());
        Assert.That((again, second.GetProperty("duplicate").GetBoolean()), Is.EqualTo((202, true)), "the sender's retry is the same delivery");
        var delivery = (await relay.SettledAsync(1, TimeSpan.FromSeconds(15))).Single();
        Assert.That(delivery.Id, Is.EqualTo(answer.GetProperty("delivery_id").GetString()));
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded), relay.Errors);
        Assert.That(delivery.Event, Is.EqualTo(sent.Event));
        Assert.That(_sandbox.Requests, Has.Count.EqualTo(1), "one run, for one signed request sent twice; none for the spoiled one");
    }

    [Test]
    public async Task DiscordsPingIsAnsweredPongACommandIsDeferredStoredAndRunOnceAndAnIgnoredOneIsAnsweredQuietly()
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519);
        var publicKey = Hex(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        await using var relay = await StartRelayAsync(_sandbox.BaseUrl, o => o.Routes.Add(new RelayRouteOptions
        {
            Path = "/hooks/discord", JobId = "discord-agent", Signature = "discord", PublicKey = publicKey, Events = { "application_command.*" },
            Message = "{{ payload.member.user.username }} asks: {{ payload.data.options[0].value }}",
        }));
        (string, string)[] Signed(string body)
        {
            var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new[] { ("X-Signature-Ed25519", Hex(SignatureAlgorithm.Ed25519.Sign(key, Encoding.UTF8.GetBytes(timestamp + body)))), ("X-Signature-Timestamp", timestamp), ("Content-Type", "application/json") };
        }

        const string ping = "{\"id\":\"1\",\"application_id\":\"2\",\"type\":1,\"version\":1}";
        const string command = "{\"id\":\"1184311245427400715\",\"type\":2,\"token\":\"tok\",\"member\":{\"user\":{\"username\":\"ada\"}},\"data\":{\"name\":\"ask\",\"options\":[{\"name\":\"question\",\"type\":3,\"value\":\"Is the build green?\"}]}}";
        var (pingStatus, pong) = await relay.PostAsync("/hooks/discord", ping, Signed(ping));
        var (badStatus, bad) = await relay.PostAsync("/hooks/discord", ping, Signed(ping + " "));
        var (status, deferred) = await relay.PostAsync("/hooks/discord", command, Signed(command));
        var (againStatus, again) = await relay.PostAsync("/hooks/discord", command, Signed(command));
        const string button = "{\"id\":\"1184311245427400716\",\"type\":3,\"token\":\"tok\",\"data\":{\"custom_id\":\"approve\",\"component_type\":2}}";
        var (ignoredStatus, ignored) = await relay.PostAsync("/hooks/discord", button, Signed(button));

        Assert.That((pingStatus, pong.GetRawText()), Is.EqualTo((200, "{\"type\":1}")));
        Assert.That(badStatus, Is.EqualTo(401), "Discord checks that an endpoint refuses a bad signature before it saves it");
        Assert.That(bad.GetProperty("error").GetString(), Is.EqualTo("The discord signature was refused: X-Signature-Ed25519 does not verify the timestamp and body with the application's public key."));
        Assert.That((status, deferred.GetRawText()), Is.EqualTo((200, "{\"type\":5}")));
        Assert.That((againStatus, again.GetRawText()), Is.EqualTo((200, "{\"type\":5}")));
        Assert.That((ignoredStatus, ignored.GetRawText()), Is.EqualTo((200, "{\"type\":4,\"data\":{\"content\":\"Nothing runs for this here.\",\"flags\":64}}")),
            "an interaction the route does not run still gets an answer Discord accepts (a message only its user sees), naming nothing of the route");
        var settled = await relay.SettledAsync(2, TimeSpan.FromSeconds(15));
        Assert.That(settled.Single(d => d.State == RelayDeliveryState.Ignored).Event, Is.EqualTo("message_component.approve"));
        var delivery = settled.Single(d => d.State != RelayDeliveryState.Ignored);
        Assert.That(delivery.Event, Is.EqualTo("application_command.ask"));
        Assert.That(delivery.DedupeKey, Is.EqualTo("id:1184311245427400715"));
        Assert.That(delivery.Message, Is.EqualTo("ada asks: Is the build green?"));
        Assert.That(_sandbox.Requests, Has.Count.EqualTo(1), "the ping stored nothing, the button was ignored; the command ran once");
    }

    [Test]
    public async Task TwilioBehindAProxyVerifiesThePublicUrlAndTheFormIsTheTemplatesPayload()
    {
        const string publicUrl = "https://relay.example.com/hooks/twilio";
        await using var relay = await StartRelayAsync(_sandbox.BaseUrl, o => o.Routes.Add(new RelayRouteOptions
        {
            Path = "/hooks/twilio", JobId = "sms-agent", Signature = "twilio", Secret = Secret, PublicUrl = new Uri(publicUrl),
            Events = { "message.received" }, Message = "SMS from {{ payload.From }}: {{ payload.Body }}",
        }));
        const string form = "MessageSid=SM1a2b&SmsStatus=received&Body=Is+the+build+green%3F&From=%2B14155552671&To=%2B15005550006";
        var signature = WebhookSignature.Twilio(Secret, new Uri(publicUrl)).Sign(Encoding.UTF8.GetBytes(form), DateTimeOffset.UtcNow, "idem-1").Single(h => h.Key == "X-Twilio-Signature").Value;
        Assert.That(new Twilio.Security.RequestValidator(Secret).Validate(publicUrl, Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(form).ToDictionary(p => p.Key, p => p.Value.ToString()), signature), Is.True, "Twilio's validator agrees with the signature used here");

        var (status, _) = await relay.PostAsync("/hooks/twilio", form, ("X-Twilio-Signature", signature), ("Content-Type", "application/x-www-form-urlencoded"));
        var (wrongUrl, why) = await relay.PostAsync("/hooks/twilio?other=1", form, ("X-Twilio-Signature", signature), ("Content-Type", "application/x-www-form-urlencoded"));

        Assert.That(status, Is.EqualTo(202));
        Assert.That(wrongUrl, Is.EqualTo(401), "the query is signed too");
        Assert.That(why.GetProperty("error").GetString(), Does.Contain("the URL checked is https://relay.example.com/hooks/twilio"));
        var delivery = (await relay.SettledAsync(1, TimeSpan.FromSeconds(15))).Single();
        Assert.That(delivery.Message, Is.EqualTo("SMS from +14155552671: Is the build green?"));
        Assert.That(delivery.Event, Is.EqualTo("message.received"));
        Assert.That(_sandbox.Requests, Has.Count.EqualTo(1));
    }

    /// <summary>A scheme as an app would write one: a shared token in <c>X-Internal-Token</c>, the event in the body's <c>kind</c>.</summary>
    private sealed class InternalScheme : WebhookScheme
    {
        private readonly string _token;

        public InternalScheme(string? token) => _token = token is { Length: >= 16 } ? token : throw new ArgumentException("The internal scheme needs a Secret of 16 characters or more.");

        public override string Name => "internal";

        public override WebhookVerification Verify(WebhookRequest request) =>
            request.Header("X-Internal-Token") == _token ? WebhookVerification.Valid(label: request.Header("X-Request-Id")) : WebhookVerification.Invalid("X-Internal-Token is wrong");

        public override WebhookEvent Describe(WebhookRequest request, JsonElement payload) => WebhookEvent.Named(StringProperty(payload, "kind"));
    }

    [Test]
    public async Task ASchemeAnAppRegistersReceivesVerifiesAndRunsADelivery()
    {
        await using var relay = await StartRelayAsync(_sandbox.BaseUrl,
            o => o.Routes.Add(new RelayRouteOptions { Path = "/hooks/internal", JobId = "ops-agent", Signature = "internal", Secret = Secret, Events = { "deploy.*" } }),
            services: s => s.AddScheme("internal", settings => new InternalScheme(settings.Secret)));

        var (refused, why) = await relay.PostAsync("/hooks/internal", "{\"kind\":\"deploy.failed\"}", ("X-Internal-Token", "guess"));
        var (ignored, _) = await relay.PostAsync("/hooks/internal", "{\"kind\":\"audit.read\"}", ("X-Internal-Token", Secret));
        var (status, _) = await relay.PostAsync("/hooks/internal", "{\"kind\":\"deploy.failed\"}", ("X-Internal-Token", Secret), ("X-Request-Id", "req-7"));

        Assert.That(refused, Is.EqualTo(401));
        Assert.That(why.GetProperty("error").GetString(), Is.EqualTo("The internal signature was refused: X-Internal-Token is wrong."));
        Assert.That(ignored, Is.EqualTo(200), "the route's Events apply to a registered scheme's event names");
        Assert.That(status, Is.EqualTo(202));
        var deliveries = await relay.SettledAsync(2, TimeSpan.FromSeconds(15));
        var ran = deliveries.Single(d => d.State == RelayDeliveryState.Succeeded);
        Assert.That(ran.Event, Is.EqualTo("deploy.failed"));
        Assert.That(ran.SenderId, Is.EqualTo("req-7"));
        Assert.That(_sandbox.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public void ARegisteredSchemesRefusalNamesTheRouteAtStartUp()
    {
        var failure = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var relay = await StartRelayAsync(_sandbox.BaseUrl,
                o => o.Routes.Add(new RelayRouteOptions { Path = "/hooks/internal", JobId = "ops-agent", Signature = "internal", Secret = "short" }),
                services: s => s.AddScheme("internal", settings => new InternalScheme(settings.Secret)));
        });

        Assert.That(failure!.Failures, Has.Member("Relay:Routes:0 (/hooks/internal): The internal scheme needs a Secret of 16 characters or more."));
    }

    [Test]
    public void AnUnknownSchemeIsRefusedAtStartUpListingEveryOneIncludingThoseRegistered()
    {
        var failure = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var relay = await StartRelayAsync(_sandbox.BaseUrl,
                o => o.Routes.Add(new RelayRouteOptions { Path = "/hooks/x", JobId = "ops-agent", Signature = "intern", Secret = Secret }),
                services: s => s.AddScheme("internal", settings => new InternalScheme(settings.Secret)));
        });

        Assert.That(failure!.Failures.Single(), Is.EqualTo(
            "Relay:Routes:0 (/hooks/x): Signature 'intern' is not known: use standard-webhooks, stripe, github, slack, hmac-sha256, gitlab, shopify, linear, twilio, pagerduty, discord, none, internal (or register a scheme with AddScheme)."));
    }

    [TestCase("github", "The webhook scheme 'github' is built in; register yours under another name.")]
    [TestCase("internal", "The webhook scheme 'internal' is registered twice (AddScheme).")]
    public void ASchemeRegisteredUnderABuiltInNameOrTwiceFailsAtStartUp(string name, string message)
    {
        var failure = Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await using var relay = await StartRelayAsync(_sandbox.BaseUrl, o => { }, services: s => s
                .AddScheme("internal", settings => new InternalScheme(settings.Secret))
                .AddScheme(name, settings => new InternalScheme(settings.Secret)));
        });

        Assert.That(failure!.Message, Is.EqualTo(message));
    }

    [TestCase("Internal")]
    [TestCase("9lives")]
    [TestCase("with space")]
    [TestCase("")]
    public void ASchemeNameConfigurationCannotSpellPlainlyIsRefusedWhenRegistered(string name)
    {
        var services = new ServiceCollection();

        var refused = Assert.Throws<ArgumentException>(() => services.AddScheme(name, settings => new InternalScheme(settings.Secret)));

        Assert.That(refused!.Message, Does.StartWith("A webhook scheme's name is 1 to 40 lower-case letters, digits and hyphens"));
    }

    [TestCase("gitlab", null, null, "The gitlab scheme needs a Secret")]
    [TestCase("shopify", "fifteen-bytes!!", null, "The shopify Secret is 15 bytes; at least 16 are needed")]
    [TestCase("discord", null, null, "The discord scheme needs a PublicKey")]
    [TestCase("discord", null, "abc", "The discord PublicKey is not hex")]
    public void ASendersMissingOrWeakSettingIsRefusedAtStartUpNamingTheRoute(string scheme, string? secret, string? publicKey, string reason)
    {
        var failure = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var relay = await StartRelayAsync(_sandbox.BaseUrl,
                o => o.Routes.Add(new RelayRouteOptions { Path = "/hooks/" + scheme, JobId = "agent", Signature = scheme, Secret = secret, PublicKey = publicKey }));
        });

        Assert.That(failure!.Failures.Single(), Does.StartWith($"Relay:Routes:0 (/hooks/{scheme}): {reason}"));
    }
}
