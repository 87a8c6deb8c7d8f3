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
                    var cpu = CpuTimes.Now();
                    var result = await Ingest.LoadAsync(clients, signer, perRound, $"{kind}{instances}-{round}", Senders);
                    var used = CpuTimes.Now() - cpu;
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

    /// <summary>CPU used by this process (load generator and relays) and by every <c>postgres</c> process (Linux /proc).</summary>
    private readonly record struct CpuTimes(TimeSpan Process, TimeSpan Postgres)
    {
        public static CpuTimes operator -(CpuTimes a, CpuTimes b) => new(a.Process - b.Process, a.Postgres - b.Postgres);

        public static CpuTimes Now()
        {
            var postgres = 0L;
            foreach (var directory in System.IO.Directory.EnumerateDirectories("/proc"))
            {
                try
                {
                    if (!int.TryParse(System.IO.Path.GetFileName(directory), out _) || System.IO.File.ReadAllText(directory + "/comm").Trim() != "postgres")
                    {
                        continue;
                    }

                    var stat = System.IO.File.ReadAllText(directory + "/stat");
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    postgres += long.Parse(fields[11]) + long.Parse(fields[12]); // utime, stime (clock ticks)
                }
                catch (System.IO.IOException)
                {
                }
            }

            // Clock ticks are 1/100 s on Linux (sysconf(_SC_CLK_TCK) = 100).
            return new CpuTimes(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime, TimeSpan.FromMilliseconds(postgres * 10));
        }
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

    /// <summary>A new SQLite file or PostgreSQL database per configuration and round.</summary>
    internal sealed class BenchStore : IAsyncDisposable
    {
        private readonly string _server;
        private readonly string _name;

        private BenchStore(string server, string name, string setting)
        {
            _server = server;
            _name = name;
            Setting = setting;
        }

        public string Setting { get; }

        public static async Task<BenchStore> CreateAsync(string kind, string server)
        {
            var name = "relay_bench_" + Guid.NewGuid().ToString("N");
            if (kind == "sqlite")
            {
                return new BenchStore(server, name, "sqlite:" + System.IO.Path.Combine(System.IO.Path.GetTempPath(), name + ".db"));
            }

            await ExecuteAsync(server, $"CREATE DATABASE {name};");
            return new BenchStore(server, name, "postgres:" + new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString);
        }

        public IDeliveryStore Open()
        {
            DeliveryStoreLocation.TryParse(Setting, out var location, out _);
            return location!.Open();
        }

        public async ValueTask DisposeAsync()
        {
            if (Setting.StartsWith("sqlite:", StringComparison.Ordinal))
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                foreach (var suffix in new[] { "", "-wal", "-shm" }) System.IO.File.Delete(Setting["sqlite:".Length..] + suffix);
                return;
            }

            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(_server, $"DROP DATABASE IF EXISTS {_name} WITH (FORCE);");
        }

        /// <summary>Runs <paramref name="sql"/> on this configuration's PostgreSQL database.</summary>
        public Task ExecuteAsync(string sql) => ExecuteAsync(ConnectionString, sql);

        private string ConnectionString => Setting["postgres:".Length..];

        /// <summary>
        /// This database's transactions and rows (pg_stat_database) and the cluster's WAL writes and syncs
        /// (pg_stat_wal; only this benchmark uses the cluster); with <paramref name="resetStatements"/>,
        /// pg_stat_statements is reset for this database first.
        /// </summary>
        public async Task<Dictionary<string, double>> DatabaseCountersAsync(bool resetStatements)
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            if (resetStatements)
            {
                await using var reset = new NpgsqlCommand("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0);", connection);
                await reset.ExecuteNonQueryAsync();
            }

            await using var command = new NpgsqlCommand(
                """
                SELECT d.xact_commit, d.xact_rollback, d.tup_inserted, d.tup_updated, d.tup_fetched, d.blks_hit, w.wal_records, w.wal_write, w.wal_sync
                FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database();
                """, connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            var names = new[] { "commits", "rollbacks", "rows inserted", "rows updated", "rows fetched", "buffer hits", "WAL records", "WAL writes", "WAL syncs" };
            return names.Select((name, i) => (name, value: Convert.ToDouble(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))).ToDictionary(p => p.name, p => p.value);
        }

        /// <summary>This database's statements since the reset: the query text (whitespace folded, cut at 90 characters), calls, rows, execution time (µs) and shared buffer hits.</summary>
        public async Task<IReadOnlyList<(string Query, long Calls, long Rows, double Micros, long Hits)>> StatementsAsync()
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                """
                SELECT query, calls, rows, total_exec_time, shared_blks_hit FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'
                """, connection);
            var statements = new List<(string, long, long, double, long)>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var query = System.Text.RegularExpressions.Regex.Replace(reader.GetString(0), @"\s+", " ").Trim();
                statements.Add((query.Length > 90 ? query[..90] + "…" : query, reader.GetInt64(1), reader.GetInt64(2), reader.GetDouble(3) * 1000, reader.GetInt64(4)));
            }

            return statements;
        }

        private static async Task ExecuteAsync(string server, string sql)
        {
            await using var connection = new NpgsqlConnection(server);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
