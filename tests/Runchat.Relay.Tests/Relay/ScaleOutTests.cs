using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// Several real <c>runchat-job relay serve</c> processes on one PostgreSQL database and one sandbox:
/// exactly one run per delivery across instances, failover after SIGKILL, global limits, and a
/// concurrent first start.
/// </summary>
[TestFixture]
[Category("Relay")]
[Category("Postgres")]
[Parallelizable(ParallelScope.All)]
[Platform(Exclude = "Win", Reason = "POSIX signals")]
[ProcessTest]
public class ScaleOutTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private const string StorePassword = "pg-Relay-Secret-4410";

    private sealed class Setup : IAsyncDisposable
    {
        private readonly List<RelayProcess> _relays = new();

        private Setup(SandboxServer sandbox, TestStore store, string directory)
        {
            Sandbox = sandbox;
            Store = store;
            Directory = directory;
        }

        public SandboxServer Sandbox { get; }

        public TestStore Store { get; }

        public string Directory { get; }

        public static async Task<Setup> CreateAsync()
        {
            PostgresServer.Require();
            var directory = Path.Combine(Path.GetTempPath(), "runchat-scale-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(directory);
            return new Setup(await SandboxServer.StartAsync(), TestStore.Create(TestStore.Postgres), directory);
        }

        /// <summary>A relay.json for this store and sandbox; routes are (path, job).</summary>
        public string WriteConfig(int maxConcurrentRuns, string claimLease = "00:00:30", params (string Path, string JobId)[] routes)
        {
            var path = Path.Combine(Directory, $"relay-{Guid.NewGuid():N}.json");
            File.WriteAllText(path, JsonSerializer.Serialize(new
            {
                Runchat = new { ApiKey = "sandbox-key", BaseUrl = Sandbox.BaseUrl.ToString() },
                Relay = new
                {
                    // The test server trusts loopback, so any password works; it must never be printed.
                    Store = Store.Setting + ";Password=" + StorePassword,
                    MaxConcurrentRuns = maxConcurrentRuns,
                    MaxRunsPerMinute = 1_000_000,
                    ClaimLease = claimLease,
                    Routes = routes.Select(r => new { r.Path, r.JobId, Signature = "none" }).ToArray(),
                },
            }));
            return path;
        }

        public async Task<RelayProcess> StartRelayAsync(string config)
        {
            var relay = await RelayProcess.StartAsync(config);
            lock (_relays)
            {
                _relays.Add(relay);
            }

            return relay;
        }

        public string Outputs => string.Join(Environment.NewLine + "----" + Environment.NewLine, _relays.Select(r => r.Output));

        public async ValueTask DisposeAsync()
        {
            foreach (var relay in _relays)
            {
                relay.Dispose();
            }

            await Sandbox.DisposeAsync();
            await Store.DisposeAsync();
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<(int Status, string Id, bool Duplicate)> PostAsync(Uri relay, string path, string body)
    {
        using var response = await Http.PostAsync(new Uri(relay, path), new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != 202)
        {
            return ((int)response.StatusCode, text, false);
        }

        var json = JsonDocument.Parse(text).RootElement;
        return (202, json.GetProperty("delivery_id").GetString()!, json.GetProperty("duplicate").GetBoolean());
    }

    private static string Sha256(string body) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(body))).ToLowerInvariant();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
            {
                Assert.Fail("timed out waiting until " + what());
            }

            await Task.Delay(100);
        }
    }

    [Test]
    public async Task TwoInstancesOnOneDatabaseRunEachOfSevenHundredDeliveriesExactlyOnceThoughThirtyPercentAreRepeatedAtEitherInstance()
    {
        await using var setup = await Setup.CreateAsync();
        var config = setup.WriteConfig(maxConcurrentRuns: 16, routes: ("/hooks/open", "demo-agent"));
        var relays = await Task.WhenAll(setup.StartRelayAsync(config), setup.StartRelayAsync(config));

        // 700 distinct events, each first sent to one instance; 300 repeats of them, each to the other
        // instance: 150 at the same moment as the first send (a race on the unique index), 150 later.
        var bodies = Enumerable.Range(0, 700).Select(i => $"{{\"event\":\"order.paid\",\"n\":{i}}}").ToArray();
        var random = new Random(12);
        var repeated = Enumerable.Range(0, 700).OrderBy(_ => random.Next()).Take(300).ToArray();
        var racing = repeated.Take(150).ToHashSet();
        var later = repeated.Skip(150).ToArray();

        var answers = new ConcurrentBag<(int Event, int Instance, int Status, string Id, bool Duplicate)>();
        async Task SendAsync(int e, int instance)
        {
            var (status, id, duplicate) = await PostAsync(relays[instance].Url, "/hooks/open", bodies[e]);
            answers.Add((e, instance, status, id, duplicate));
        }

        var work = new List<Func<Task>>();
        for (var e = 0; e < bodies.Length; e++)
        {
            var first = e % 2;
            var n = e;
            work.Add(racing.Contains(n) ? () => Task.WhenAll(SendAsync(n, first), SendAsync(n, 1 - first)) : () => SendAsync(n, first));
        }

        foreach (var e in later)
        {
            work.Add(() => SendAsync(e, 1 - (e % 2)));
        }

        using (var senders = new SemaphoreSlim(16))
        {
            await Task.WhenAll(work.Select(async send =>
            {
                await senders.WaitAsync();
                try
                {
                    await send();
                }
                finally
                {
                    senders.Release();
                }
            }));
        }

        Assert.That(answers, Has.Count.EqualTo(1000));
        Assert.That(answers.Where(a => a.Status != 202).Select(a => a.Id), Is.Empty, "every send was accepted: " + setup.Outputs);
        Assert.That(answers.Count(a => !a.Duplicate), Is.EqualTo(700), "one new delivery per event");
        Assert.That(answers.GroupBy(a => a.Event).All(g => g.Select(a => a.Id).Distinct().Count() == 1), Is.True, "a repeat answers with the first delivery's id");
        Assert.That(answers.Where(a => a.Duplicate).Select(a => a.Instance).Distinct().Count(), Is.EqualTo(2), "repeats were recognised at both instances");

        await WaitUntilAsync(async () => (await setup.Store.ListAsync()).Count(d => d.State == RelayDeliveryState.Succeeded) == 700, TimeSpan.FromSeconds(120),
            () => $"700 succeeded (sandbox has {setup.Sandbox.Requests.Count}): {setup.Outputs}");
        await Task.Delay(1000);

        var stored = await setup.Store.ListAsync();
        var requests = setup.Sandbox.Requests;
        TestContext.Out.WriteLine($"two instances: {answers.Count} sends, {answers.Count(a => !a.Duplicate)} new, {answers.Count(a => a.Duplicate)} repeats ({answers.Count(a => a.Duplicate && racing.Contains(a.Event))} in a race); " +
            $"{stored.Length} rows, {stored.Count(d => d.State == RelayDeliveryState.Succeeded)} succeeded; {requests.Count} sandbox requests, {requests.Select(r => r.BodySha256).Distinct().Count()} distinct");
        Assert.That(stored, Has.Length.EqualTo(700));
        Assert.That(stored.All(d => d.State == RelayDeliveryState.Succeeded && d.Attempts == 1), Is.True);
        Assert.That(requests, Has.Count.EqualTo(700), "exactly one run per delivery");
        Assert.That(requests.Select(r => r.BodySha256).ToHashSet().SetEquals(bodies.Select(Sha256)), Is.True, "each event ran once, with its exact bytes");
    }

    [Test]
    public async Task WhenAnInstanceIsKilledItsClaimsPassToTheOtherAfterTheLeaseAndItsRunsInFlightBecomeUnknown()
    {
        await using var setup = await Setup.CreateAsync();
        var config = setup.WriteConfig(maxConcurrentRuns: 2, claimLease: "00:00:03", ("/hooks/slow", "delay-60000-agent"), ("/hooks/fast", "demo-agent"));

        // A alone: it starts 2 slow runs (the global limit), then claims 2 of the 4 fast deliveries and
        // holds them, waiting for a free slot.
        var a = await setup.StartRelayAsync(config);
        for (var i = 0; i < 2; i++)
        {
            Assert.That((await PostAsync(a.Url, "/hooks/slow", $"{{\"slow\":{i}}}")).Status, Is.EqualTo(202));
        }

        await WaitUntilAsync(() => Task.FromResult(setup.Sandbox.Requests.Count == 2), TimeSpan.FromSeconds(20), () => "A started both slow runs: " + a.Output);
        for (var i = 0; i < 4; i++)
        {
            Assert.That((await PostAsync(a.Url, "/hooks/fast", $"{{\"fast\":{i}}}")).Status, Is.EqualTo(202));
        }

        var claimedByA = await WaitForClaimsAsync(setup.Store, 2);
        var atKill = await setup.Store.ListAsync();
        a.Kill();
        var killedAt = DateTimeOffset.UtcNow;
        TestContext.Out.WriteLine($"at SIGKILL: {Describe(atKill)}; A held claims on {claimedByA.Count} pending deliveries");
        Assert.That(atKill.Count(d => d.State == RelayDeliveryState.Sending), Is.EqualTo(2));
        Assert.That(atKill.Count(d => d.State == RelayDeliveryState.Pending), Is.EqualTo(4));

        // B takes over.
        var b = await setup.StartRelayAsync(config);
        await WaitUntilAsync(async () => (await setup.Store.ListAsync()).All(d => d.State is RelayDeliveryState.Succeeded or RelayDeliveryState.Unknown), TimeSpan.FromSeconds(40),
            () => "all settled: " + b.Output);
        await Task.Delay(1000);

        var stored = await setup.Store.ListAsync();
        var requests = setup.Sandbox.Requests;
        TestContext.Out.WriteLine($"after failover: {Describe(stored)}; sandbox requests: {requests.Count(r => r.JobId.StartsWith("delay", StringComparison.Ordinal))} slow, {requests.Count(r => r.JobId == "demo-agent")} fast");
        Assert.That(stored.Where(d => d.Route == "/hooks/slow").Select(d => d.State), Is.EqualTo(new[] { RelayDeliveryState.Unknown, RelayDeliveryState.Unknown }), "runs in flight at the kill are unknown");
        Assert.That(stored.Where(d => d.Route == "/hooks/fast").Select(d => d.State), Is.All.EqualTo(RelayDeliveryState.Succeeded));
        Assert.That(stored.All(d => d.Attempts == 1), Is.True, "nothing sent twice");
        Assert.That(requests.Count(r => r.JobId == "delay-60000-agent"), Is.EqualTo(2), "each unknown run reached the agent exactly once, and was not re-run");
        Assert.That(requests.Where(r => r.JobId == "demo-agent").Select(r => r.BodySha256).Distinct().Count(), Is.EqualTo(4));
        Assert.That(requests.Count(r => r.JobId == "demo-agent"), Is.EqualTo(4), "each fast delivery exactly once");

        // A's claims were honoured until their lease ran out (renewed each second, so at least 2 s after the kill).
        var claimedSent = requests.Where(r => claimedByA.Contains(r.BodySha256)).Select(r => r.ReceivedAt).ToArray();
        TestContext.Out.WriteLine("A's claimed deliveries reached the agent " + string.Join(", ", claimedSent.Select(t => $"{(t - killedAt).TotalSeconds:0.00} s")) + " after the kill");
        Assert.That(claimedSent, Has.Length.EqualTo(2));
        Assert.That(claimedSent, Is.All.GreaterThan(killedAt + TimeSpan.FromSeconds(1.9)), "not taken from A before its lease expired");
    }

    [Test]
    public async Task MaxConcurrentRunsIsGlobalTwoInstancesTogetherNeverRunMoreThanThree()
    {
        await using var setup = await Setup.CreateAsync();
        var config = setup.WriteConfig(maxConcurrentRuns: 3, routes: ("/hooks/slow", "delay-400-agent"));
        var relays = await Task.WhenAll(setup.StartRelayAsync(config), setup.StartRelayAsync(config));

        await Task.WhenAll(Enumerable.Range(0, 24).Select(i => PostAsync(relays[i % 2].Url, "/hooks/slow", $"{{\"n\":{i}}}")));
        await WaitUntilAsync(async () => (await setup.Store.ListAsync()).All(d => d.State == RelayDeliveryState.Succeeded), TimeSpan.FromSeconds(60), () => "all 24 succeeded: " + setup.Outputs);

        TestContext.Out.WriteLine($"global limit 3 over two instances: max in flight at the sandbox {setup.Sandbox.MaxInFlight}, {setup.Sandbox.Requests.Count} requests");
        Assert.That(setup.Sandbox.Requests, Has.Count.EqualTo(24));
        Assert.That(setup.Sandbox.MaxInFlight, Is.EqualTo(3), "never more than 3 at once, and the limit was reached");
    }

    [Test]
    public async Task TwoInstancesStartingTogetherOnAnEmptyDatabaseBothComeUpWithOneSchema()
    {
        await using var setup = await Setup.CreateAsync();
        var config = setup.WriteConfig(maxConcurrentRuns: 4, routes: ("/hooks/open", "demo-agent"));

        // Both at once; the first thing each does is create the schema (its dispatcher's start-up recovery).
        var relays = await Task.WhenAll(setup.StartRelayAsync(config), setup.StartRelayAsync(config));
        var answers = await Task.WhenAll(PostAsync(relays[0].Url, "/hooks/open", "{\"n\":0}"), PostAsync(relays[1].Url, "/hooks/open", "{\"n\":1}"));
        await WaitUntilAsync(async () => (await setup.Store.ListAsync()).Count(d => d.State == RelayDeliveryState.Succeeded) == 2, TimeSpan.FromSeconds(20), () => "both ran: " + setup.Outputs);

        await using var connection = new NpgsqlConnection(setup.Store.Setting["postgres:".Length..]);
        await connection.OpenAsync();
        await using var versions = new NpgsqlCommand("SELECT COUNT(*), MIN(version) FROM runchat_relay_schema;", connection);
        await using var reader = await versions.ExecuteReaderAsync();
        await reader.ReadAsync();
        var (rows, version) = (reader.GetInt64(0), reader.GetInt32(1));
        await reader.DisposeAsync();
        await using var tables = new NpgsqlCommand("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE tablename LIKE 'runchat_relay_%';", connection);
        var tableNames = (string)(await tables.ExecuteScalarAsync())!;

        TestContext.Out.WriteLine($"concurrent start: schema rows {rows}, version {version}, tables {tableNames}");
        Assert.That(answers.Select(a => a.Status), Is.All.EqualTo(202));
        Assert.That(relays.Select(r => r.HasExited), Is.All.False, setup.Outputs);
        Assert.That(rows, Is.EqualTo(1), "one schema version row");
        Assert.That(version, Is.EqualTo(StoreSchema.Version));
        Assert.That(tableNames, Is.EqualTo("runchat_relay_deliveries,runchat_relay_instances,runchat_relay_minutes,runchat_relay_paused,runchat_relay_schema,runchat_relay_starts"));
        Assert.That(setup.Outputs, Does.Not.Contain("could not read its store").And.Not.Contain("fail:"), "neither instance hit an error");
        Assert.That(setup.Outputs, Does.Contain("Password=***").And.Not.Contain(StorePassword), "the store is shown with its password masked");
    }

    /// <summary>The SHA-256 of the bodies of the pending deliveries somebody holds a claim on, once there are <paramref name="count"/>.</summary>
    private static async Task<HashSet<string>> WaitForClaimsAsync(TestStore store, int count)
    {
        await using var connection = new NpgsqlConnection(store.Setting["postgres:".Length..]);
        await connection.OpenAsync();
        var ids = new HashSet<string>();
        await WaitUntilAsync(async () =>
        {
            ids.Clear();
            await using var command = new NpgsqlCommand("SELECT body FROM runchat_relay_deliveries WHERE state = 'pending' AND claimed_by IS NOT NULL;", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                ids.Add(Convert.ToHexString(SHA256.HashData((byte[])reader.GetValue(0))).ToLowerInvariant());
            }

            return ids.Count == count;
        }, TimeSpan.FromSeconds(10), () => $"A holds {count} claims (it holds {ids.Count})");
        return ids;
    }

    private static string Describe(IEnumerable<RelayDelivery> deliveries) =>
        string.Join(", ", deliveries.GroupBy(d => d.State).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}"));
}
