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
        github.Given(Request.Create().WithPath(Comments).UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            // GitHub made the comment; its answer never comes back (the relay is killed meanwhile).
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
            Assert.That((await store.ListAsync()).Single().ReplyState, Is.EqualTo(RelayReplyState.Posting), "posting is committed before the post leaves");
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
}
