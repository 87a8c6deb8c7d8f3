using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Benchmarks;

/// <summary>
/// The relay on PostgreSQL, one instance and two, next to SQLite: ingest (16 senders, signed
/// deliveries, deliveries/s and p99) and dispatch (runs/s against a zero-delay sandbox). A load tool,
/// not BenchmarkDotNet. Each instance is its own host (Kestrel, DI container, store, connection pool);
/// they share the process, the machine's cores and one PostgreSQL server, as two instances on one box would.
/// </summary>
/// <remarks>
/// Usage: <c>scale [ingest-requests-per-round] [rounds] [dispatch-deliveries]</c>, with the server in
/// <c>RUNCHAT_TEST_POSTGRES</c> (<c>eval "$(bash build/postgres.sh start)"</c>). Rounds alternate the
/// configurations, every configuration on a new database; the median round is reported.
/// </remarks>
public static class ScaleOut
{
    private const int Senders = 16;

    public static async Task<int> RunAsync(string[] args)
    {
        var server = Environment.GetEnvironmentVariable("RUNCHAT_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(server))
        {
            Console.Error.WriteLine("scale: set RUNCHAT_TEST_POSTGRES to a PostgreSQL server (eval \"$(bash build/postgres.sh start)\").");
            return 2;
        }

        var perRound = args.Length > 1 ? int.Parse(args[1]) : 3000;
        var rounds = args.Length > 2 ? int.Parse(args[2]) : 3;
        var dispatchCount = args.Length > 3 ? int.Parse(args[3]) : 1000;
        var signer = WebhookSignature.StandardWebhooks(Ingest.Secret);

        var configurations = new (string Name, string Kind, int Instances)[] { ("sqlite, 1 instance", "sqlite", 1), ("postgres, 1 instance", "postgres", 1), ("postgres, 2 instances", "postgres", 2) };
        var ingest = configurations.ToDictionary(c => c.Name, _ => new List<Ingest.Result>());
        var dispatch = configurations.Where(c => c.Kind == "postgres").ToDictionary(c => c.Name, _ => new List<double>());
        await using var sandbox = await SandboxServer.StartAsync();
        await using var postgresCpu = await PostgresCpu.StartAsync(server);
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, kind, instances) in configurations)
            {
                await using (var store = await BenchStore.CreateAsync(kind, server))
                {
                    var relays = new List<Ingest.Server>();
                    for (var i = 0; i < instances; i++)
                    {
                        relays.Add(await Ingest.StartRelayAsync(store.Setting, new Uri("http://127.0.0.1:9/api/v1/"), maxRunsPerMinute: 1, maxConcurrentRuns: 16));
                    }

                    var clients = relays.Select(r => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Senders }) { BaseAddress = r.Url }).ToArray();
                    await Ingest.LoadAsync(clients, signer, 300, $"warm-{round}", Senders);
                    var processBefore = Process.GetCurrentProcess().TotalProcessorTime;
                    var postgresMark = postgresCpu.Mark();
                    var result = await Ingest.LoadAsync(clients, signer, perRound, $"{kind}{instances}-{round}", Senders);
                    var used = (Process: Process.GetCurrentProcess().TotalProcessorTime - processBefore, Postgres: postgresCpu.Since(postgresMark));
                    ingest[name].Add(result);
                    var wall = perRound / result.PerSecond;
                    Console.WriteLine($"round {round} ingest   {name,-22}: {result.PerSecond,8:0} deliveries/s  p50 {result.P50,6:0.00} ms  p99 {result.P99,6:0.00} ms  " +
                        $"CPU per delivery: this process {used.Process.TotalMilliseconds * 1000 / perRound:0} µs, PostgreSQL {used.Postgres.TotalMilliseconds * 1000 / perRound:0} µs; " +
                        $"cores busy {(used.Process + used.Postgres).TotalSeconds / wall:0.00} of {Environment.ProcessorCount}");
                    foreach (var client in clients) client.Dispose();
                    foreach (var relay in relays) await relay.DisposeAsync();
                }

                if (kind != "postgres")
                {
                    continue;
                }

                await using (var store = await BenchStore.CreateAsync(kind, server))
                {
                    var runs = await DispatchAsync(store, sandbox, instances, dispatchCount, $"d{round}{instances}");
                    dispatch[name].Add(runs);
                    Console.WriteLine($"round {round} dispatch {name,-22}: {runs,8:0} runs/s");
                }
            }
        }

        Ingest.Result Median(string name) => ingest[name].OrderBy(r => r.PerSecond).ElementAt(ingest[name].Count / 2);
        double MedianRuns(string name) => dispatch[name].OrderBy(r => r).ElementAt(dispatch[name].Count / 2);
        var one = Median("postgres, 1 instance");
        var two = Median("postgres, 2 instances");
        Console.WriteLine();
        Console.WriteLine($"| ingest, {Senders} senders, loopback | deliveries/s | p50 | p99 |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (name, _, _) in configurations)
        {
            var r = Median(name);
            Console.WriteLine($"| {name} | {r.PerSecond:0} | {r.P50:0.00} ms | {r.P99:0.00} ms |");
        }

        Console.WriteLine($"| postgres, 2 instances / 1 instance | **{two.PerSecond / one.PerSecond:0.00}×** | | |");
        Console.WriteLine();
        Console.WriteLine($"| dispatch, {dispatchCount} deliveries, zero-delay sandbox | runs/s |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| postgres, 1 instance | {MedianRuns("postgres, 1 instance"):0} |");
        Console.WriteLine($"| postgres, 2 instances | {MedianRuns("postgres, 2 instances"):0} |");
        Console.WriteLine($"| 2 instances / 1 instance | **{MedianRuns("postgres, 2 instances") / MedianRuns("postgres, 1 instance"):0.00}×** |");
        return 0;
    }

    /// <summary>Stores <paramref name="count"/> deliveries, starts the instances, and times until every one has succeeded.</summary>
    private static async Task<double> DispatchAsync(BenchStore store, SandboxServer sandbox, int instances, int count, string tag)
    {
        var writer = store.Open();
        var now = DateTimeOffset.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => writer.AddAsync(
            new NewDelivery($"dlv_{tag}_{i:D6}", "/hooks/forms", "demo-agent", $"id:{tag}-{i}", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"), now), CancellationToken.None)));
        var before = sandbox.Requests.Count;

        var watch = Stopwatch.StartNew();
        var relays = new List<Ingest.Server>();
        for (var i = 0; i < instances; i++)
        {
            relays.Add(await Ingest.StartRelayAsync(store.Setting, sandbox.BaseUrl, maxRunsPerMinute: 1_000_000, maxConcurrentRuns: 16));
        }

        while (true)
        {
            var counts = writer.CountByState();
            if (counts.Single(c => c.State == RelayDeliveryState.Succeeded).Count == count)
            {
                break;
            }

            if (watch.Elapsed > TimeSpan.FromMinutes(5) || counts.Any(c => c.State is RelayDeliveryState.Failed or RelayDeliveryState.Unknown && c.Count > 0))
            {
                throw new InvalidOperationException("dispatch did not finish: " + string.Join(", ", counts));
            }

            await Task.Delay(5);
        }

        var elapsed = watch.Elapsed;
        foreach (var relay in relays) await relay.DisposeAsync();
        (writer as IDisposable)?.Dispose();
        if (sandbox.Requests.Count - before != count)
        {
            throw new InvalidOperationException($"expected {count} runs at the sandbox, saw {sandbox.Requests.Count - before}");
        }

        return count / elapsed.TotalSeconds;
    }
}
