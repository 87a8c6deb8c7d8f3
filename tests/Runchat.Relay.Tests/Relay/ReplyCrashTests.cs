using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Runchat.Tests.Relay;

/// <summary>
/// <c>runchat-job relay serve</c> as a real process, killed with SIGKILL while its GitHub comment is in flight (the
/// fake GitHub made the comment and has not answered): the restarted relay finds the comment by its marker and posts
/// nothing again; the agent is not run again either.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Platform(Exclude = "Win", Reason = "POSIX signals")]
[ProcessTest]
public class ReplyCrashTests : PerStoreFixture
{
    private const string Secret = "a-github-webhook-secret-for-tests";
    private const string Comments = "/repos/Codertocat/Hello-World/issues/1/comments";

    public ReplyCrashTests(string storeKind)
        : base(storeKind)
    {
    }

    [Test]
    public async Task KilledWhilePostingItsCommentTheRestartedRelayFindsItAndPostsNothingTwice()
    {
        using var github = WireMockServer.Start();
        using var posted = new ManualResetEventSlim();
        string? made = null;
        var posts = 0;
        RelayReplyState? whenPosted = null;
        TestStore? seen = null;
        github.Given(Request.Create().WithPath(Comments).UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            // GitHub made the comment; its answer never comes back (the relay is killed meanwhile).
            whenPosted ??= seen!.ListAsync().GetAwaiter().GetResult().Single().ReplyState;
            Interlocked.Increment(ref posts);
            made = JsonDocument.Parse(request.Body!).RootElement.GetProperty("body").GetString();
            posted.Set();
            Thread.Sleep(TimeSpan.FromSeconds(20));
            return new WireMock.ResponseMessage { StatusCode = 201 };
        }));
        github.Given(Request.Create().WithPath(Comments).UsingGet()).RespondWith(Response.Create().WithCallback(_ => new WireMock.ResponseMessage
        {
            StatusCode = 200,
            BodyData = new WireMock.Util.BodyData
            {
                BodyAsString = JsonSerializer.Serialize(new[] { new { html_url = "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-1", body = made } }),
                DetectedBodyType = WireMock.Types.BodyType.String,
            },
        }));

        await using var sandbox = await SandboxServer.StartAsync();
        using var temp = new TempDirectory();
        await using var store = NewStore();
        seen = store;
        var config = Path.Combine(temp.Path, "relay.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "sandbox-key", BaseUrl = sandbox.BaseUrl.ToString() },
            Relay = new
            {
                Store = store.Setting,
                // A killed relay's reply lease passes on after this (PostgreSQL); SQLite recovers at the restart.
                ClaimLease = "00:00:05",
                Routes = new[]
                {
                    new
                    {
                        Path = "/hooks/github", JobId = "triage-agent", Signature = "github", Secret,
                        PostReply = new { To = "github-comment", GitHub = new { Token = "ghp_crash_test_token", ApiUrl = github.Url + "/" } },
                    },
                },
            },
        }));

        var body = File.ReadAllBytes(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "webhooks", "github", "issue_comment", "created.payload.json"));
        using (var first = await RelayProcess.StartAsync(config))
        {
            using var http = new System.Net.Http.HttpClient();
            using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Post, new Uri(first.Url, "/hooks/github")) { Content = new System.Net.Http.ByteArrayContent(body) };
            foreach (var (name, value) in WebhookSignature.GitHub(Secret).Sign(body, DateTimeOffset.UtcNow, "72d3162e-cc78-11e3-81ab-4c9367dc0958"))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            request.Headers.TryAddWithoutValidation("X-GitHub-Event", "issue_comment");
            using var accepted = await http.SendAsync(request);
            Assert.That((int)accepted.StatusCode, Is.EqualTo(202));
            Assert.That(posted.Wait(TimeSpan.FromSeconds(30)), Is.True, "the comment reached GitHub");
            Assert.That(whenPosted, Is.EqualTo(RelayReplyState.Posting), "posting is committed before the post leaves");
            first.Kill();
        }

        using var second = await RelayProcess.StartAsync(config);
        var waited = Stopwatch.StartNew();
        RelayDelivery delivery;
        while ((delivery = (await store.ListAsync()).Single()).ReplyState != RelayReplyState.Posted && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        Assert.That(delivery.ReplyState, Is.EqualTo(RelayReplyState.Posted), $"{delivery.ReplyState}: {delivery.ReplyError}");
        Assert.That(delivery.ReplyUrl, Is.EqualTo("https://github.com/Codertocat/Hello-World/issues/1#issuecomment-1"), "found by its marker");
        Assert.That(made, Does.EndWith($"<!-- runchat-relay:{delivery.Id} -->"));
        Assert.That(Volatile.Read(ref posts), Is.EqualTo(1), "the comment is posted once");
        Assert.That(github.LogEntries.Count(e => e.RequestMessage!.Method == "GET"), Is.EqualTo(1), "looked for once");
        Assert.That(sandbox.Requests, Has.Count.EqualTo(1), "the agent ran once");
        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded));
    }

    [Test]
    [Category("Postgres")]
    public async Task TwoInstancesPostEachReplyOnceAndTheSurvivorFindsTheKilledOnesComment()
    {
        if (StoreKind != TestStore.Postgres)
        {
            Assert.Ignore("several instances share a PostgreSQL store");
        }

        using var github = WireMockServer.Start();
        var posts = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        string? made = null;
        using var hanging = new ManualResetEventSlim();
        github.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/repos/Codertocat/Hello-World/issues/[0-9]+/comments$")).UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            var issue = int.Parse(request.Path.Split('/')[5], System.Globalization.CultureInfo.InvariantCulture);
            posts.AddOrUpdate(issue, 1, (_, n) => n + 1);
            if (issue == 99)
            {
                // This comment is made; its answer never reaches the instance that posted it.
                made = JsonDocument.Parse(request.Body!).RootElement.GetProperty("body").GetString();
                hanging.Set();
                Thread.Sleep(TimeSpan.FromSeconds(20));
            }

            return new WireMock.ResponseMessage
            {
                StatusCode = 201,
                BodyData = new WireMock.Util.BodyData { BodyAsString = $"{{\"html_url\":\"https://github.com/c/{issue}\"}}", DetectedBodyType = WireMock.Types.BodyType.String },
            };
        }));
        github.Given(Request.Create().WithPath("/repos/Codertocat/Hello-World/issues/99/comments").UsingGet()).RespondWith(Response.Create().WithCallback(_ => new WireMock.ResponseMessage
        {
            StatusCode = 200,
            BodyData = new WireMock.Util.BodyData { BodyAsString = JsonSerializer.Serialize(new[] { new { html_url = "https://github.com/c/99-found", body = made } }), DetectedBodyType = WireMock.Types.BodyType.String },
        }));

        await using var sandbox = await SandboxServer.StartAsync();
        using var temp = new TempDirectory();
        await using var store = NewStore();
        var config = WriteConfig(temp.Path, store, sandbox.BaseUrl, github.Url!);
        var template = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "webhooks", "github", "issue_comment", "created.payload.json"))).RootElement;

        using var a = await RelayProcess.StartAsync(config);
        using (var b = await RelayProcess.StartAsync(config))
        {
            // 30 deliveries, one issue each, half to each instance: both posters claim from one store.
            for (var issue = 1; issue <= 30; issue++)
            {
                Assert.That(await PostAsync(issue % 2 == 0 ? a.Url : b.Url, Issue(template, issue)), Is.EqualTo(202));
            }

            await UntilAsync(async () => (await store.ListAsync()).Count(d => d.ReplyState == RelayReplyState.Posted) == 30, "30 replies posted");
            Assert.That(Enumerable.Range(1, 30).Select(i => posts.TryGetValue(i, out var n) ? n : 0), Is.All.EqualTo(1), "each issue got one comment");
        }

        // One instance is left (a); its comment on #99 hangs; a second instance starts, and a is killed.
        Assert.That(await PostAsync(a.Url, Issue(template, 99)), Is.EqualTo(202));
        Assert.That(hanging.Wait(TimeSpan.FromSeconds(30)), Is.True, "a posted the comment on #99");
        using var survivor = await RelayProcess.StartAsync(config);
        a.Kill();

        await UntilAsync(async () => (await store.ListAsync()).Any(d => d.ReplyUrl == "https://github.com/c/99-found"), "the survivor finds #99's comment by its marker");
        var delivery = (await store.ListAsync()).Single(d => d.ReplyUrl == "https://github.com/c/99-found");
        Assert.That(delivery.ReplyState, Is.EqualTo(RelayReplyState.Posted));
        Assert.That(posts[99], Is.EqualTo(1), "not posted twice");
        Assert.That(sandbox.Requests, Has.Count.EqualTo(31), "each delivery ran once");
    }

    private static byte[] Issue(JsonElement template, int number)
    {
        var payload = System.Text.Json.Nodes.JsonNode.Parse(template.GetRawText())!;
        payload["issue"]!["number"] = number;
        return Encoding.UTF8.GetBytes(payload.ToJsonString());
    }

    private static string WriteConfig(string directory, TestStore store, Uri runchat, string github)
    {
        var config = Path.Combine(directory, "relay.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "sandbox-key", BaseUrl = runchat.ToString() },
            Relay = new
            {
                Store = store.Setting,
                MaxRunsPerMinute = 100_000,
                // Long enough that the instance to be killed is still posting when it is (its post gets 16 s).
                ClaimLease = "00:00:20",
                Routes = new[]
                {
                    new
                    {
                        Path = "/hooks/github", JobId = "triage-agent", Signature = "github", Secret,
                        PostReply = new { To = "github-comment", GitHub = new { Token = "ghp_crash_test_token", ApiUrl = github + "/" } },
                    },
                },
            },
        }));
        return config;
    }

    private static async Task<int> PostAsync(Uri relay, byte[] body)
    {
        using var http = new System.Net.Http.HttpClient();
        using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Post, new Uri(relay, "/hooks/github")) { Content = new System.Net.Http.ByteArrayContent(body) };
        foreach (var (name, value) in WebhookSignature.GitHub(Secret).Sign(body, DateTimeOffset.UtcNow, Guid.NewGuid().ToString()))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        request.Headers.TryAddWithoutValidation("X-GitHub-Event", "issue_comment");
        using var response = await http.SendAsync(request);
        return (int)response.StatusCode;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (waited.Elapsed > TimeSpan.FromSeconds(60))
            {
                Assert.Fail("timed out waiting until " + what);
            }

            await Task.Delay(100);
        }
    }
}
