using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Runchat.Tests.Relay;

/// <summary>
/// Replies (a route's PostReply) against WireMock fakes of GitHub's REST API, Slack's response_url and Web API, and a
/// webhook receiver; the run against the sandbox. Requests are counted and read as sent: bytes, headers, order.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
public class ReplyTests : PerStoreFixture
{
    private const string GitHubSecret = "a-github-webhook-secret-for-tests";
    private const string SlackSecret = "a-slack-signing-secret-for-tests";
    private const string GitHubToken = "ghp_reply_test_token_0123456789";
    private static readonly string ReplySecret = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("a webhook reply secret, 32 bytes"));

    private WireMockServer _target = null!;

    public ReplyTests(string storeKind)
        : base(storeKind)
    {
    }

    [SetUp]
    public void StartTarget() => _target = WireMockServer.Start();

    [TearDown]
    public void StopTarget() => _target.Stop();

    private static byte[] Fixture(params string[] path) =>
        File.ReadAllBytes(Path.Combine(new[] { TestContext.CurrentContext.TestDirectory, "Fixtures", "webhooks" }.Concat(path).ToArray()));

    private static RelayRouteOptions GitHubRoute(string jobId, Action<RelayReplyOptions> reply)
    {
        var route = RelayHost.Route("/hooks/github", jobId, "github", GitHubSecret);
        route.PostReply = new RelayReplyOptions { To = "github-comment" };
        reply(route.PostReply);
        return route;
    }

    /// <summary>A relay whose /hooks/forms route (no signature) runs <paramref name="jobId"/> and posts its reply to the fake's /agent-replies.</summary>
    private Task<RelayHost> StartWebhookReplyRelayAsync(Uri runchat, string jobId) => StartRelayAsync(runchat, o =>
    {
        var route = RelayHost.Route("/hooks/forms", jobId);
        route.PostReply = new RelayReplyOptions { To = "webhook", Url = _target.Url + "/agent-replies", Secret = ReplySecret };
        o.Routes.Add(route);
    });

    /// <summary>A relay whose /hooks/slack route (Slack's signature) runs ask-agent and replies as <paramref name="reply"/> says.</summary>
    private Task<RelayHost> StartSlackReplyRelayAsync(Uri runchat, RelayReplyOptions reply) => StartRelayAsync(runchat, o =>
    {
        var route = RelayHost.Route("/hooks/slack", "ask-agent", "slack", SlackSecret);
        route.PostReply = reply;
        o.Routes.Add(route);
    });

    private static Task<(int Status, JsonElement Body)> PostGitHubAsync(RelayHost relay, byte[] body, string eventName, string delivery) =>
        relay.PostAsync("/hooks/github", body, WebhookSignature.GitHub(GitHubSecret).Sign(body, DateTimeOffset.UtcNow, delivery).Append(new("X-GitHub-Event", eventName)));

    /// <summary>Waits until the delivery's reply is in one of <paramref name="states"/>.</summary>
    private static async Task<RelayDelivery> ReplyAsync(RelayHost relay, string id, params RelayReplyState[] states)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var delivery = await relay.Relay.GetAsync(id);
            if (delivery?.ReplyState is { } state && states.Contains(state))
            {
                return delivery;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"the reply of {id} did not reach {string.Join(" or ", states)}: it is {delivery?.ReplyState?.ToString() ?? "none"} ({delivery?.ReplyError}); {relay.Errors}");
            }

            await Task.Delay(50);
        }
    }

    private WireMock.Logging.ILogEntry[] Requests(string method, string path) =>
        _target.LogEntries.Where(e => e.RequestMessage!.Method == method && e.RequestMessage!.Path == path).OrderBy(e => e.RequestMessage!.DateTime).ToArray();

    [Test]
    public async Task AWebhookReplyIsSignedAsStandardWebhooksWithTheDeliveryIdAndCarriesTheRun()
    {
        _target.Given(Request.Create().WithPath("/agent-replies").UsingPost()).RespondWith(Response.Create().WithStatusCode(204));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartWebhookReplyRelayAsync(sandbox.BaseUrl, "lead-agent");

        var (status, answer) = await relay.PostAsync("/hooks/forms", "{\"type\":\"form.submitted\",\"email\":\"ada@example.com\"}");
        Assert.That(status, Is.EqualTo(202));
        var id = answer.GetProperty("delivery_id").GetString()!;

        var delivery = await ReplyAsync(relay, id, RelayReplyState.Posted, RelayReplyState.Failed);
        Assert.That(delivery.ReplyState, Is.EqualTo(RelayReplyState.Posted), delivery.ReplyError);
        Assert.That(delivery.ReplyUrl, Is.EqualTo(_target.Url + "/agent-replies"));
        var posts = Requests("POST", "/agent-replies");
        Assert.That(posts, Has.Length.EqualTo(1));

        var request = posts[0].RequestMessage!;
        var headers = new HeaderDictionary();
        foreach (var name in new[] { "webhook-id", "webhook-timestamp", "webhook-signature" })
        {
            headers[name] = request.Headers![name].Single();
        }

        Assert.That(headers["webhook-id"].ToString(), Is.EqualTo(id + ".reply"));
        Assert.DoesNotThrow(() => new StandardWebhooks.StandardWebhook(ReplySecret).Verify(request.Body!, headers), "the reference package verifies the relay's signature");
        using var body = JsonDocument.Parse(request.Body!);
        Assert.That(body.RootElement.GetProperty("delivery_id").GetString(), Is.EqualTo(id));
        Assert.That(body.RootElement.GetProperty("event").GetString(), Is.EqualTo("form.submitted"));
        Assert.That(body.RootElement.GetProperty("status").GetString(), Is.EqualTo("succeeded"));
        Assert.That(body.RootElement.GetProperty("final_reply").GetString(), Does.StartWith("Sandbox agent received your message"));
        Assert.That(body.RootElement.GetProperty("job_id").GetString(), Is.EqualTo("lead-agent"));
        Assert.That(body.RootElement.GetProperty("runchat_id").GetString(), Is.EqualTo("sandbox-lead-agent"));
        Assert.That(Encoding.UTF8.GetString(request.BodyAsBytes!), Does.Not.Contain(ReplySecret.Substring(6)));
    }

    [Test]
    public async Task AFailedRunIsAnsweredWithItsErrorAndTheRunsStateIsUntouched()
    {
        _target.Given(Request.Create().WithPath("/agent-replies").UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartWebhookReplyRelayAsync(sandbox.BaseUrl, "fail-agent");

        var (_, answer) = await relay.PostAsync("/hooks/forms", "{\"type\":\"alert\"}");
        var delivery = await ReplyAsync(relay, answer.GetProperty("delivery_id").GetString()!, RelayReplyState.Posted);

        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Failed), "the reply does not change the run's state");
        using var body = JsonDocument.Parse(Requests("POST", "/agent-replies").Single().RequestMessage!.Body!);
        Assert.That(body.RootElement.GetProperty("status").GetString(), Is.EqualTo("failed"));
        Assert.That(body.RootElement.GetProperty("error").GetString(), Does.Contain("tool call failed"));
    }

    [Test]
    public async Task AnUnknownRunPostsNoReplyAndSaysWhy()
    {
        // Runchat answers 502: the run may or may not have happened.
        using var runchat = WireMockServer.Start();
        runchat.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(502).WithBody("{\"error\":\"bad gateway\"}"));
        _target.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithStatusCode(200));
        await using var relay = await StartWebhookReplyRelayAsync(new Uri(runchat.Url + "/"), "lead-agent");

        var (_, answer) = await relay.PostAsync("/hooks/forms", "{\"type\":\"alert\"}");
        var id = answer.GetProperty("delivery_id").GetString()!;
        await relay.SettledAsync(1, TimeSpan.FromSeconds(30));
        await Task.Delay(1500); // the poster polls each second: it would have posted by now

        var delivery = await relay.Relay.GetAsync(id);
        Assert.That(delivery!.State, Is.EqualTo(RelayDeliveryState.Unknown));
        Assert.That(delivery.ReplyState, Is.Null);
        Assert.That(delivery.ReplyError, Is.EqualTo(ReplyStates.WithheldForUnknown));
        Assert.That(_target.LogEntries, Is.Empty, "nothing was posted");
    }

    [Test]
    public async Task AGitHubCommentIsPostedOnceWithItsHiddenMarkerAndItsUrlIsKept()
    {
        _target.Given(Request.Create().WithPath("/repos/Codertocat/Hello-World/issues/1/comments").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"id\":99,\"html_url\":\"https://github.com/Codertocat/Hello-World/issues/1#issuecomment-99\"}"));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o => o.Routes.Add(GitHubRoute("triage-agent", r =>
        {
            r.Template = "Triage of #{{ payload.issue.number }} ({{ run.status }}, {{ run.credits }} credit): {{ run.final_reply }}";
            r.GitHub = new RelayGitHubOptions { Token = GitHubToken, ApiUrl = new Uri(_target.Url + "/") };
        })));

        var (status, answer) = await PostGitHubAsync(relay, Fixture("github", "issue_comment", "created.payload.json"), "issue_comment", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        Assert.That(status, Is.EqualTo(202));
        var id = answer.GetProperty("delivery_id").GetString()!;

        var delivery = await ReplyAsync(relay, id, RelayReplyState.Posted, RelayReplyState.Failed);
        Assert.That(delivery.ReplyState, Is.EqualTo(RelayReplyState.Posted), delivery.ReplyError);
        Assert.That(delivery.ReplyUrl, Is.EqualTo("https://github.com/Codertocat/Hello-World/issues/1#issuecomment-99"));
        var post = Requests("POST", "/repos/Codertocat/Hello-World/issues/1/comments").Single().RequestMessage!;
        Assert.That(post.Headers!["Authorization"].Single(), Is.EqualTo("Bearer " + GitHubToken));
        Assert.That(post.Headers["X-GitHub-Api-Version"].Single(), Is.EqualTo("2022-11-28"));
        Assert.That(post.Headers["Accept"].Single(), Is.EqualTo("application/vnd.github+json"));
        using var body = JsonDocument.Parse(post.Body!);
        Assert.That(body.RootElement.GetProperty("body").GetString(), Is.EqualTo(
            $"Triage of #1 (succeeded, 1 credit): {delivery.FinalReply}\n\n<!-- runchat-relay:{id} -->"));
        Assert.That(_target.LogEntries.Count(), Is.EqualTo(1), "one request: no lookup on a first attempt");
        Assert.That(relay.Errors, Does.Not.Contain(GitHubToken));
    }

    [TestCase(true, 1, TestName = "A 502 after the comment was made: found by its marker, not posted again")]
    [TestCase(false, 2, TestName = "A 502 before the comment was made: not found, posted once more")]
    public async Task AGitHubPostWhoseOutcomeIsUnknownIsLookedForBeforeAnySecondPost(bool madeBeforeThe502, int posts)
    {
        await using var sandbox = await SandboxServer.StartAsync();
        RelayHost? relay = null;
        var comments = "/repos/Codertocat/Hello-World/issues/1/comments";
        _target.Given(Request.Create().WithPath(comments).UsingPost()).InScenario("post").WillSetStateTo("502 sent")
            .RespondWith(Response.Create().WithStatusCode(502));
        _target.Given(Request.Create().WithPath(comments).UsingPost()).InScenario("post").WhenStateIs("502 sent")
            .RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"html_url\":\"https://github.com/Codertocat/Hello-World/issues/1#issuecomment-2\"}"));
        _target.Given(Request.Create().WithPath(comments).UsingGet()).RespondWith(Response.Create().WithCallback(request =>
        {
            // The relay's own marker, as GitHub would return the comment the 502 hid.
            var id = relay!.Relay.ListAsync().GetAwaiter().GetResult().Single().Id;
            var found = madeBeforeThe502
                ? $"[{{\"html_url\":\"https://github.com/Codertocat/Hello-World/issues/1#issuecomment-1\",\"body\":\"An answer\\n\\n<!-- runchat-relay:{id} -->\"}}]"
                : "[{\"html_url\":\"https://github.com/Codertocat/Hello-World/issues/1#issuecomment-0\",\"body\":\"Someone else's comment\"}]";
            return new WireMock.ResponseMessage { StatusCode = 200, BodyData = new WireMock.Util.BodyData { BodyAsString = found, DetectedBodyType = WireMock.Types.BodyType.String } };
        }));
        relay = await StartRelayAsync(sandbox.BaseUrl, o => o.Routes.Add(GitHubRoute("triage-agent", r => r.GitHub = new RelayGitHubOptions { Token = GitHubToken, ApiUrl = new Uri(_target.Url + "/") })));
        await using var _ = relay;

        var (_, answer) = await PostGitHubAsync(relay, Fixture("github", "issue_comment", "created.payload.json"), "issue_comment", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        var delivery = await ReplyAsync(relay, answer.GetProperty("delivery_id").GetString()!, RelayReplyState.Posted, RelayReplyState.Failed);

        Assert.That(delivery.ReplyState, Is.EqualTo(RelayReplyState.Posted), delivery.ReplyError);
        Assert.That(Requests("POST", comments), Has.Length.EqualTo(posts));
        var lookups = Requests("GET", comments);
        Assert.That(lookups, Has.Length.EqualTo(1));
        Assert.That(lookups[0].RequestMessage!.DateTime, Is.GreaterThan(Requests("POST", comments)[0].RequestMessage!.DateTime), "looked for after the unknown post");
        Assert.That(lookups[0].RequestMessage!.Query!["per_page"].Single(), Is.EqualTo("100"));
        Assert.That(delivery.ReplyUrl, Is.EqualTo(madeBeforeThe502 ? "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-1" : "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-2"));
    }

    [Test]
    public async Task AGitHubRateLimitIsWaitedOutAsRetryAfterSays()
    {
        var comments = "/repos/Codertocat/Hello-World/issues/1/comments";
        _target.Given(Request.Create().WithPath(comments).UsingPost()).InScenario("limit").WillSetStateTo("limited")
            .RespondWith(Response.Create().WithStatusCode(403).WithHeader("Retry-After", "1").WithBody("{\"message\":\"You have exceeded a secondary rate limit.\"}"));
        _target.Given(Request.Create().WithPath(comments).UsingPost()).InScenario("limit").WhenStateIs("limited")
            .RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"html_url\":\"https://github.com/x\"}"));
        _target.Given(Request.Create().WithPath(comments).UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("[]"));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o => o.Routes.Add(GitHubRoute("triage-agent", r => r.GitHub = new RelayGitHubOptions { Token = GitHubToken, ApiUrl = new Uri(_target.Url + "/") })));

        var (_, answer) = await PostGitHubAsync(relay, Fixture("github", "issue_comment", "created.payload.json"), "issue_comment", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        var delivery = await ReplyAsync(relay, answer.GetProperty("delivery_id").GetString()!, RelayReplyState.Posted);

        var attempts = Requests("POST", comments);
        Assert.That(attempts, Has.Length.EqualTo(2));
        Assert.That(attempts[1].RequestMessage!.DateTime - attempts[0].RequestMessage!.DateTime, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(950)), "Retry-After: 1");
    }

    [Test]
    public async Task AGitHubCommentWhoseAnswerNeverComesIsFoundByItsMarkerNotPostedTwice()
    {
        // GitHub makes the comment, and its answer never reaches the relay within the reply's time (4/5 of a 2 s lease).
        var comments = "/repos/Codertocat/Hello-World/issues/1/comments";
        string? made = null;
        var posts = 0;
        _target.Given(Request.Create().WithPath(comments).UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            System.Threading.Interlocked.Increment(ref posts);
            made = JsonDocument.Parse(request.Body!).RootElement.GetProperty("body").GetString();
            System.Threading.Thread.Sleep(TimeSpan.FromSeconds(4));
            return new WireMock.ResponseMessage { StatusCode = 201 };
        }));
        _target.Given(Request.Create().WithPath(comments).UsingGet()).RespondWith(Response.Create().WithCallback(_ => new WireMock.ResponseMessage
        {
            StatusCode = 200,
            BodyData = new WireMock.Util.BodyData { BodyAsString = JsonSerializer.Serialize(new[] { new { html_url = "https://github.com/c#1", body = made } }), DetectedBodyType = WireMock.Types.BodyType.String },
        }));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o =>
        {
            o.ClaimLease = TimeSpan.FromSeconds(2);
            o.Routes.Add(GitHubRoute("triage-agent", r => r.GitHub = new RelayGitHubOptions { Token = GitHubToken, ApiUrl = new Uri(_target.Url + "/") }));
        });

        var (_, answer) = await PostGitHubAsync(relay, Fixture("github", "issue_comment", "created.payload.json"), "issue_comment", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        var delivery = await ReplyAsync(relay, answer.GetProperty("delivery_id").GetString()!, RelayReplyState.Posted, RelayReplyState.Failed);

        Assert.That(delivery.ReplyState, Is.EqualTo(RelayReplyState.Posted), delivery.ReplyError);
        Assert.That(delivery.ReplyUrl, Is.EqualTo("https://github.com/c#1"));
        Assert.That(posts, Is.EqualTo(1), "one comment");
        Assert.That(Requests("GET", comments), Has.Length.EqualTo(1));
    }

    [Test]
    public async Task AGitHubPrimaryRateLimitWaitsForItsReset()
    {
        var comments = "/repos/Codertocat/Hello-World/issues/1/comments";
        long reset = 0;
        _target.Given(Request.Create().WithPath(comments).UsingPost()).InScenario("limit").WillSetStateTo("limited")
            .RespondWith(Response.Create().WithCallback(_ =>
            {
                // The window opens again two whole seconds from now, as GitHub says it: a Unix second.
                reset = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2;
                return new WireMock.ResponseMessage
                {
                    StatusCode = 403,
                    Headers = new System.Collections.Generic.Dictionary<string, WireMock.Types.WireMockList<string>>
                    {
                        ["x-ratelimit-remaining"] = new("0"),
                        ["x-ratelimit-reset"] = new(reset.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    },
                    BodyData = new WireMock.Util.BodyData { BodyAsString = "{\"message\":\"API rate limit exceeded\"}", DetectedBodyType = WireMock.Types.BodyType.String },
                };
            }));
        _target.Given(Request.Create().WithPath(comments).UsingPost()).InScenario("limit").WhenStateIs("limited")
            .RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"html_url\":\"https://github.com/x\"}"));
        _target.Given(Request.Create().WithPath(comments).UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("[]"));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o => o.Routes.Add(GitHubRoute("triage-agent", r => r.GitHub = new RelayGitHubOptions { Token = GitHubToken, ApiUrl = new Uri(_target.Url + "/") })));

        var (_, answer) = await PostGitHubAsync(relay, Fixture("github", "issue_comment", "created.payload.json"), "issue_comment", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        await ReplyAsync(relay, answer.GetProperty("delivery_id").GetString()!, RelayReplyState.Posted);

        var attempts = Requests("POST", comments);
        Assert.That(attempts, Has.Length.EqualTo(2));
        Assert.That(attempts[1].RequestMessage!.DateTime, Is.GreaterThanOrEqualTo(DateTimeOffset.FromUnixTimeSeconds(reset).UtcDateTime.AddMilliseconds(-50)), "not before the reset");
        Assert.That(attempts[1].RequestMessage!.DateTime - attempts[0].RequestMessage!.DateTime, Is.GreaterThan(TimeSpan.FromSeconds(1)), "more than the relay's own 200 ms backoff");
    }

    [Test]
    public async Task AGitHubAppSignsAJwtGetsItsInstallationTokenOnceAndCommentsWithIt()
    {
        using var key = RSA.Create(2048);
        _target.Given(Request.Create().WithPath("/app/installations/1/access_tokens").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"token\":\"ghs_installation_token\",\"expires_at\":\"2099-01-01T00:00:00Z\"}"));
        _target.Given(Request.Create().WithPath("/repos/Codertocat/Hello-World/issues/1/comments").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"html_url\":\"https://github.com/c\"}"));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o => o.Routes.Add(GitHubRoute("triage-agent", r =>
            r.GitHub = new RelayGitHubOptions { AppId = 123456, PrivateKey = key.ExportRSAPrivateKeyPem(), ApiUrl = new Uri(_target.Url + "/") })));

        var payload = Fixture("github", "issue_comment", "created.with-installation.payload.json");
        var (_, first) = await PostGitHubAsync(relay, payload, "issue_comment", "delivery-1");
        await ReplyAsync(relay, first.GetProperty("delivery_id").GetString()!, RelayReplyState.Posted);
        var second = JsonSerializer.SerializeToUtf8Bytes(JsonSerializer.Deserialize<JsonElement>(payload), new JsonSerializerOptions { WriteIndented = true });
        var (_, next) = await PostGitHubAsync(relay, second, "issue_comment", "delivery-2");
        await ReplyAsync(relay, next.GetProperty("delivery_id").GetString()!, RelayReplyState.Posted);

        var tokens = Requests("POST", "/app/installations/1/access_tokens");
        Assert.That(tokens, Has.Length.EqualTo(1), "the installation token is cached");
        var jwt = tokens[0].RequestMessage!.Headers!["Authorization"].Single().Substring("Bearer ".Length).Split('.');
        static byte[] Decode(string part) => Convert.FromBase64String(part.Replace('-', '+').Replace('_', '/').PadRight(part.Length + ((4 - (part.Length % 4)) % 4), '='));
        Assert.That(key.VerifyData(Encoding.ASCII.GetBytes(jwt[0] + "." + jwt[1]), Decode(jwt[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), Is.True, "RS256 with the App's key");
        using var claims = JsonDocument.Parse(Decode(jwt[1]));
        Assert.That(claims.RootElement.GetProperty("iss").GetString(), Is.EqualTo("123456"));
        Assert.That(claims.RootElement.GetProperty("exp").GetInt64() - claims.RootElement.GetProperty("iat").GetInt64(), Is.EqualTo(600), "issued a minute back, nine minutes ahead");
        Assert.That(Requests("POST", "/repos/Codertocat/Hello-World/issues/1/comments").Select(r => r.RequestMessage!.Headers!["Authorization"].Single()),
            Is.EqualTo(new[] { "Bearer ghs_installation_token", "Bearer ghs_installation_token" }));
    }

    [Test]
    public async Task ADiscussionIsAnsweredThroughGraphQlWithTheSameMarker()
    {
        _target.Given(Request.Create().WithPath("/graphql").UsingPost()).RespondWith(Response.Create().WithStatusCode(200)
            .WithBody("{\"data\":{\"addDiscussionComment\":{\"comment\":{\"url\":\"https://github.com/Codertocat/Hello-World/discussions/4#discussioncomment-1\"}}}}"));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o => o.Routes.Add(GitHubRoute("triage-agent", r => r.GitHub = new RelayGitHubOptions { Token = GitHubToken, ApiUrl = new Uri(_target.Url + "/") })));

        var (_, answer) = await PostGitHubAsync(relay, Fixture("github", "discussion", "created.payload.json"), "discussion", "delivery-discussion");
        var id = answer.GetProperty("delivery_id").GetString()!;
        var delivery = await ReplyAsync(relay, id, RelayReplyState.Posted, RelayReplyState.Failed);

        Assert.That(delivery.ReplyState, Is.EqualTo(RelayReplyState.Posted), delivery.ReplyError);
        Assert.That(delivery.ReplyUrl, Is.EqualTo("https://github.com/Codertocat/Hello-World/discussions/4#discussioncomment-1"));
        var post = Requests("POST", "/graphql").Single().RequestMessage!;
        Assert.That(post.Headers!["Authorization"].Single(), Is.EqualTo("Bearer " + GitHubToken));
        using var body = JsonDocument.Parse(post.Body!);
        Assert.That(body.RootElement.GetProperty("query").GetString(), Does.Contain("addDiscussionComment"));
        Assert.That(body.RootElement.GetProperty("variables").GetProperty("id").GetString(), Is.EqualTo("MDEwOkRpc2N1c3Npb24zMjk5NjE0"));
        Assert.That(body.RootElement.GetProperty("variables").GetProperty("body").GetString(), Does.EndWith($"\n\n<!-- runchat-relay:{id} -->"));
    }

    [Test]
    public async Task AReplayedDeliveryRunsAgainButPostsNoSecondReply()
    {
        _target.Given(Request.Create().WithPath("/agent-replies").UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartWebhookReplyRelayAsync(sandbox.BaseUrl, "lead-agent");
        var (_, answer) = await relay.PostAsync("/hooks/forms", "{\"type\":\"form.submitted\"}");
        var id = answer.GetProperty("delivery_id").GetString()!;
        var first = await ReplyAsync(relay, id, RelayReplyState.Posted);

        await relay.Relay.ReplayAsync(id);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (sandbox.Requests.Count < 2 || (await relay.Relay.GetAsync(id))!.State != RelayDeliveryState.Succeeded)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the replay ran");
            await Task.Delay(50);
        }

        await Task.Delay(1500); // the poster polls each second: a second reply would be out by now
        var replayed = await relay.Relay.GetAsync(id);
        Assert.That(replayed!.ReplyState, Is.EqualTo(RelayReplyState.Posted));
        Assert.That(replayed.ReplyUrl, Is.EqualTo(first.ReplyUrl));
        Assert.That(Requests("POST", "/agent-replies"), Has.Length.EqualTo(1), "one reply per delivery");
    }

    [Test]
    public async Task AReplyTheTargetRefusedIsPostedByAReplayOfItsDelivery()
    {
        // The receiver refused the first reply (404: not deployed yet); an operator replays the delivery once it is.
        _target.Given(Request.Create().WithPath("/agent-replies").UsingPost()).InScenario("deploy").WillSetStateTo("deployed")
            .RespondWith(Response.Create().WithStatusCode(404));
        _target.Given(Request.Create().WithPath("/agent-replies").UsingPost()).InScenario("deploy").WhenStateIs("deployed")
            .RespondWith(Response.Create().WithStatusCode(200));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartWebhookReplyRelayAsync(sandbox.BaseUrl, "lead-agent");
        var (_, answer) = await relay.PostAsync("/hooks/forms", "{\"type\":\"form.submitted\"}");
        var id = answer.GetProperty("delivery_id").GetString()!;
        var refused = await ReplyAsync(relay, id, RelayReplyState.Failed, RelayReplyState.Posted);
        Assert.That(refused.ReplyState, Is.EqualTo(RelayReplyState.Failed));
        Assert.That(refused.ReplyError, Does.Contain("the webhook refused the reply: 404"));

        await relay.Relay.ReplayAsync(id);
        var posted = await ReplyAsync(relay, id, RelayReplyState.Posted);

        Assert.That(posted.ReplyError, Is.Null);
        Assert.That(Requests("POST", "/agent-replies"), Has.Length.EqualTo(2));
        Assert.That(sandbox.Requests, Has.Count.EqualTo(2), "the replay ran the agent again");
    }

    [Test]
    public async Task ASlashCommandIsAnsweredThroughItsResponseUrl()
    {
        _target.Given(Request.Create().WithPath("/commands/T1/123/abc").UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartSlackReplyRelayAsync(sandbox.BaseUrl, new RelayReplyOptions { To = "slack-thread", Template = "{{ payload.user_name }} asked: {{ payload.text }}\n{{ run.final_reply }}" });

        var form = "command=%2Fask&text=why+is+the+build+red&user_name=ada&response_url=" + Uri.EscapeDataString(_target.Url + "/commands/T1/123/abc");
        var bytes = Encoding.UTF8.GetBytes(form);
        var headers = WebhookSignature.Slack(SlackSecret).Sign(bytes, DateTimeOffset.UtcNow, "unused").Append(new("Content-Type", "application/x-www-form-urlencoded"));
        var (status, answer) = await relay.PostAsync("/hooks/slack", bytes, headers);
        Assert.That(status, Is.EqualTo(200), answer.ToString());
        var id = (await relay.SettledAsync(1, TimeSpan.FromSeconds(30))).Single().Id;

        var delivery = await ReplyAsync(relay, id, RelayReplyState.Posted, RelayReplyState.Failed);
        Assert.That(delivery.ReplyState, Is.EqualTo(RelayReplyState.Posted), delivery.ReplyError);
        var post = Requests("POST", "/commands/T1/123/abc").Single().RequestMessage!;
        using var body = JsonDocument.Parse(post.Body!);
        Assert.That(body.RootElement.GetProperty("text").GetString(), Does.StartWith("ada asked: why is the build red\nSandbox agent"));
        Assert.That(body.RootElement.GetProperty("response_type").GetString(), Is.EqualTo("in_channel"));
        Assert.That(post.Headers!.ContainsKey("Authorization"), Is.False, "a response_url takes no token");
    }

    [Test]
    public async Task AnEventsApiMessageIsAnsweredInItsThreadWithTheDeliveryInItsMetadata()
    {
        _target.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{\"ok\":true,\"ts\":\"1700000001.000200\"}"));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartSlackReplyRelayAsync(sandbox.BaseUrl, new RelayReplyOptions { To = "slack-thread", Slack = new RelaySlackOptions { BotToken = "xoxb-reply-test-token", ApiUrl = new Uri(_target.Url + "/api/") } });

        var body = Encoding.UTF8.GetBytes("{\"type\":\"event_callback\",\"event_id\":\"Ev1\",\"event\":{\"type\":\"app_mention\",\"channel\":\"C42\",\"ts\":\"1700000000.000100\",\"text\":\"<@U1> help\"}}");
        var (status, _) = await relay.PostAsync("/hooks/slack", body, WebhookSignature.Slack(SlackSecret).Sign(body, DateTimeOffset.UtcNow, "unused"));
        Assert.That(status, Is.EqualTo(202));
        var id = (await relay.SettledAsync(1, TimeSpan.FromSeconds(30))).Single().Id;

        var delivery = await ReplyAsync(relay, id, RelayReplyState.Posted, RelayReplyState.Failed);
        Assert.That(delivery.ReplyState, Is.EqualTo(RelayReplyState.Posted), delivery.ReplyError);
        Assert.That(delivery.ReplyUrl, Is.EqualTo("Slack channel C42, thread 1700000000.000100, message 1700000001.000200"));
        var post = Requests("POST", "/api/chat.postMessage").Single().RequestMessage!;
        Assert.That(post.Headers!["Authorization"].Single(), Is.EqualTo("Bearer xoxb-reply-test-token"));
        using var sent = JsonDocument.Parse(post.Body!);
        Assert.That(sent.RootElement.GetProperty("channel").GetString(), Is.EqualTo("C42"));
        Assert.That(sent.RootElement.GetProperty("thread_ts").GetString(), Is.EqualTo("1700000000.000100"));
        Assert.That(sent.RootElement.GetProperty("metadata").GetProperty("event_payload").GetProperty("delivery_id").GetString(), Is.EqualTo(id));
        Assert.That(sent.RootElement.GetProperty("text").GetString(), Does.StartWith("Sandbox agent"));
    }

    [Test]
    public async Task APostCutOffByARelayThatDiedIsRecoveredAsUnknownAndFoundByItsMarkerNotPostedTwice()
    {
        // A relay claimed the reply (posting) and died mid-post; its lease has run out. The comment had been made.
        var comments = "/repos/Codertocat/Hello-World/issues/1/comments";
        await using var store = TestStore.Create(StoreKind);
        var id = "dlv_0000000000aa000000000001";
        var now = DateTimeOffset.UtcNow;
        using (var seed = (IDisposable)store.Open())
        {
            var db = (IDeliveryStore)seed;
            await db.AddAsync(new NewDelivery(id, "/hooks/github", "triage-agent", "sha256:seed", Fixture("github", "issue_comment", "created.payload.json"), now.AddMinutes(-10), Event: "issue_comment.created"), default);
            await db.ClaimAsync(new ClaimRequest("dead-relay", now.AddMinutes(-10), now.AddMinutes(-9), 1), default);
            await db.StartSendAsync(new StartRequest(id, "dead-relay", now.AddMinutes(-10), now.AddMinutes(-9), 10, 1000), default);
            await db.CompleteAsync(id, "dead-relay", RelayDeliveryState.Succeeded, new RunResult("success", "The answer.", null), ReplyPlan.Post, now.AddMinutes(-9), default);
            Assert.That(await db.ClaimRepliesAsync("dead-relay", now.AddMinutes(-9), now.AddMinutes(-8), 1, default), Has.Count.EqualTo(1));
        }

        _target.Given(Request.Create().WithPath(comments).UsingGet()).RespondWith(Response.Create().WithStatusCode(200)
            .WithBody($"[{{\"html_url\":\"https://github.com/Codertocat/Hello-World/issues/1#issuecomment-7\",\"body\":\"The answer.\\n\\n<!-- runchat-relay:{id} -->\"}}]"));
        _target.Given(Request.Create().WithPath(comments).UsingPost()).RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"html_url\":\"https://github.com/twice\"}"));
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await RelayHost.StartAsync(sandbox.BaseUrl, o => o.Routes.Add(GitHubRoute("triage-agent", r => r.GitHub = new RelayGitHubOptions { Token = GitHubToken, ApiUrl = new Uri(_target.Url + "/") })), store: store);

        var delivery = await ReplyAsync(relay, id, RelayReplyState.Posted);

        Assert.That(delivery.ReplyUrl, Is.EqualTo("https://github.com/Codertocat/Hello-World/issues/1#issuecomment-7"));
        Assert.That(Requests("POST", comments), Is.Empty, "never posted twice");
        Assert.That(Requests("GET", comments), Has.Length.EqualTo(1));
        Assert.That(sandbox.Requests, Is.Empty, "the run is not run again either");
    }

    [TestCase("{\"To\":\"github-comment\",\"GitHub\":{\"Token\":\"t\",\"AppId\":1,\"PrivateKey\":\"k\"}}", "set either Token, or AppId and PrivateKey")]
    [TestCase("{\"To\":\"github-comment\",\"GitHub\":{\"AppId\":1,\"PrivateKey\":\"-----BEGIN RSA PRIVATE KEY-----\\nnot-a-key-secret-material\\n-----END RSA PRIVATE KEY-----\"}}", "is not a PEM RSA private key")]
    [TestCase("{\"To\":\"slack-thread\"}", "slack-thread answers Slack deliveries; this route's Signature is github")]
    [TestCase("{\"To\":\"carrier-pigeon\"}", "PostReply.To 'carrier-pigeon' is not a reply target")]
    [TestCase("{\"GitHub\":{\"Token\":\"t\"}}", "PostReply.To is missing")]
    [TestCase("{\"To\":\"webhook\",\"Url\":\"http://example.com/x\",\"Secret\":\"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3\"}", "PostReply.Url must be an absolute https URL")]
    [TestCase("{\"To\":\"webhook\",\"Url\":\"https://example.com/x\",\"Secret\":\"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3\",\"Template\":\"x\"}", "PostReply.Template is for github-comment and slack-thread")]
    [TestCase("{\"To\":\"github-comment\",\"GitHub\":{\"Token\":\"t\"},\"Template\":\"{{ run.final_reply \"}", "PostReply.Template is not a Liquid template")]
    [TestCase("{\"To\":\"github-comment\",\"GitHub\":{\"Tokn\":\"t\"}}", "PostReply:GitHub:Tokn is not a setting; did you mean Token?")]
    public void APostReplyThatCannotWorkIsRefusedAtStartNamingTheRouteAndKey(string reply, string phrase)
    {
        var json = $"{{\"Relay\":{{\"Store\":\"sqlite:{Path.Combine(Path.GetTempPath(), "replies-config.db").Replace("\\", "/")}\",\"Routes\":[{{\"Path\":\"/hooks/github\",\"JobId\":\"triage-agent\",\"Signature\":\"github\",\"Secret\":\"{GitHubSecret}\",\"PostReply\":{reply}}}]}}}}";
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.RunchatRelayServiceCollectionExtensions.AddRunchatRelay(services, configuration.GetSection("Relay"));
        using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);

        var refused = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => _ = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<Microsoft.Extensions.Options.IOptions<RunchatRelayOptions>>(provider).Value)!;

        Assert.That(refused.Message, Does.Contain(phrase));
        Assert.That(refused.Message, Does.Contain("/hooks/github"));
        Assert.That(refused.Message, Does.Not.Contain("not-a-key-secret-material"), "a key's text is never shown");
    }
}
