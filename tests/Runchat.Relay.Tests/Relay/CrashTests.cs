using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// <c>runchat-job relay serve</c> as a real process, killed with SIGKILL: a pending delivery is sent
/// exactly once after the restart; one that was sending becomes unknown and is sent again only by replay.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[Platform(Exclude = "Win", Reason = "POSIX signals")]
[ProcessTest]
public class CrashTests : PerStoreFixture
{
    public CrashTests(string storeKind)
        : base(storeKind)
    {
    }

    private static Process Start(params string[] args) => ToolProcess.Start(args);

    private static string WriteConfig(string directory, TestStore store, Uri runchat, string jobId, int maxRunsPerMinute)
    {
        var path = Path.Combine(directory, "relay.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "sandbox-key", BaseUrl = runchat.ToString() },
            Relay = new
            {
                Store = store.Setting,
                MaxConcurrentRuns = 1,
                // A killed relay's claims pass on after this (PostgreSQL); SQLite frees them at the restart.
                ClaimLease = "00:00:02",
                MaxRunsPerMinute = maxRunsPerMinute,
                Routes = new[] { new { Path = "/hooks/open", JobId = jobId, Signature = "none" } },
            },
        }));
        return path;
    }

    private static async Task<int> PostAsync(Uri relay, string body)
    {
        using var http = new System.Net.Http.HttpClient();
        using var response = await http.PostAsync(new Uri(relay, "/hooks/open"), new System.Net.Http.StringContent(body));
        return (int)response.StatusCode;
    }


    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
            {
                Assert.Fail("timed out waiting until " + what);
            }

            await Task.Delay(50);
        }
    }

    [Test]
    public async Task KilledWithDeliveriesPendingEverySendHappensExactlyOnceAfterTheRestart()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        using var temp = new TempDirectory();
        await using var store = NewStore();
        var directory = temp.Path;
        var config = WriteConfig(directory, store, sandbox.BaseUrl, "demo-agent", maxRunsPerMinute: 2);
        using (var first = await RelayProcess.StartAsync(config))
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.That(await PostAsync(first.Url, $"{{\"n\":{i}}}"), Is.EqualTo(202));
            }

            await WaitUntilAsync(async () => (await store.ListAsync()).Count(d => d.State == RelayDeliveryState.Succeeded) == 2, TimeSpan.FromSeconds(20), "2 runs are done");
            first.Kill();
        }

        var atKill = await store.ListAsync();
        TestContext.Out.WriteLine("at SIGKILL: " + string.Join(", ", atKill.GroupBy(d => d.State).Select(g => $"{g.Count()} {g.Key}")));
        Assert.That(atKill.Count(d => d.State == RelayDeliveryState.Pending), Is.EqualTo(3));
        Assert.That(sandbox.Requests, Has.Count.EqualTo(2));

        WriteConfig(directory, store, sandbox.BaseUrl, "demo-agent", maxRunsPerMinute: 1000);
        using (await RelayProcess.StartAsync(config))
        {
            await WaitUntilAsync(async () => (await store.ListAsync()).All(d => d.State == RelayDeliveryState.Succeeded), TimeSpan.FromSeconds(30), "all 5 succeeded");
        }

        // The relay has exited: the sandbox has every request it will ever get.
        Assert.That(sandbox.Requests, Has.Count.EqualTo(5));
        Assert.That(sandbox.Requests.Select(r => r.BodySha256).Distinct().Count(), Is.EqualTo(5), "each delivery exactly once");
        Assert.That((await store.ListAsync()).All(d => d.Attempts == 1), Is.True);
    }

    [Test]
    public async Task KilledWhileSendingTheDeliveryIsUnknownAfterTheRestartAndOnlyReplaySendsItAgain()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        using var temp = new TempDirectory();
        await using var store = NewStore();
        var directory = temp.Path;
        var config = WriteConfig(directory, store, sandbox.BaseUrl, "slow-agent", maxRunsPerMinute: 1000);
        using (var first = await RelayProcess.StartAsync(config))
        {
            Assert.That(await PostAsync(first.Url, "{\"event\":\"deploy.failed\"}"), Is.EqualTo(202));
            await WaitUntilAsync(() => Task.FromResult(sandbox.Requests.Count == 1), TimeSpan.FromSeconds(20), "the slow run reached the agent");
            Assert.That((await store.ListAsync()).Single().State, Is.EqualTo(RelayDeliveryState.Sending), "sending is committed before the request leaves");
            first.Kill();
        }

        using var second = await RelayProcess.StartAsync(config);
        await WaitUntilAsync(async () => (await store.ListAsync()).Single().State == RelayDeliveryState.Unknown, TimeSpan.FromSeconds(10), "it is unknown");
        await Task.Delay(1000);
        var delivery = (await store.ListAsync()).Single();
        TestContext.Out.WriteLine($"after restart: {delivery.State}, attempts {delivery.Attempts}, sandbox requests {sandbox.Requests.Count}");
        Assert.That(sandbox.Requests, Has.Count.EqualTo(1), "not re-run by the restart");
        Assert.That(delivery.Attempts, Is.EqualTo(1));

        using var replay = Start("relay", "replay", "--config", config, delivery.Id);
        var replayOutput = await replay.StandardOutput.ReadToEndAsync();
        await replay.WaitForExitAsync();
        Assert.That(replay.ExitCode, Is.EqualTo(0), replayOutput + await replay.StandardError.ReadToEndAsync());

        await WaitUntilAsync(() => Task.FromResult(sandbox.Requests.Count == 2), TimeSpan.FromSeconds(10), "the replay is sent");
        Assert.That((await store.ListAsync()).Single().Attempts, Is.EqualTo(2));
    }
}
