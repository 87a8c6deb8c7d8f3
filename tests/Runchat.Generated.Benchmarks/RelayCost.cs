using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;
using Runchat.TestSupport;

namespace Runchat.Benchmarks;

/// <summary>
/// What a delivery costs in CPU, not in throughput: each relay instance is its own process, the load
/// (16 senders of signed Standard Webhooks deliveries) and a zero-delay sandbox run in this process, and
/// every delivery is ingested and dispatched. CPU is counted for the relay processes (their own
/// <c>getrusage</c>, microseconds) and for every PostgreSQL process of the cluster (the backends listed in
/// <c>pg_stat_activity</c>, background processes included, and the postmaster; <c>/proc/PID/sched</c>,
/// nanoseconds), but not for this process. Idle is measured first with the same instances and nothing to
/// do; "above idle" subtracts idle's rate over the run's wall time.
/// </summary>
/// <remarks>
/// Usage: <c>cost [deliveries] [rounds] [idle-seconds]</c>, with the server in <c>RUNCHAT_TEST_POSTGRES</c>.
/// Statement counts need <c>pg_stat_statements</c> loaded:
/// <c>eval "$(RUNCHAT_POSTGRES_OPTIONS='-c shared_preload_libraries=pg_stat_statements' bash build/postgres.sh start)"</c>.
/// Rounds alternate the configurations, each on a new database; medians are reported.
/// </remarks>
public static class RelayCost
{
    private const int Senders = 16;
    // Warm-up batches until the tiered JIT is done (a relay runs for days; its start-up JIT is not a
    // per-delivery cost): at most this many batches of this many deliveries.
    private const int WarmUpBatch = 1000;
    private const int WarmUpBatches = 8;

    /// <summary>One relay instance for <see cref="RunAsync"/>: <c>relay-host STORE RUNCHAT_URL</c>. Answers commands on stdin.</summary>
    public static async Task<int> HostAsync(string[] args)
    {
        DeliveryStoreLocation.TryParse(args[1], out var location, out var error);
        if (location is null)
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        var counting = CountingStore.Wrap(location.Open());
        var threads = new ThreadCpu();
        var relay = await Ingest.StartRelayAsync(args[1], new Uri(args[2]), maxRunsPerMinute: 1_000_000, maxConcurrentRuns: 16,
            services: s =>
            {
                s.AddSingleton<IDeliveryStore>(_ => counting);
                // Warnings and errors to stderr (stdout carries the answers to the benchmark's commands).
                s.AddLogging(logging => logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning));
            });
        Console.WriteLine("url " + relay.Url);
        string? line;
        while ((line = Console.ReadLine()) is not null && line != "stop")
        {
            Console.WriteLine(line switch
            {
                "cpu" => "cpu " + Process.GetCurrentProcess().TotalProcessorTime.Ticks.ToString(CultureInfo.InvariantCulture),
                "completed" => "completed " + counting.CompletedTotal.ToString(CultureInfo.InvariantCulture),
                "snapshot" => "snapshot " + counting.TakeSnapshot(),
                "threads" => "threads " + threads.Take(),
                _ => "unknown " + line,
            });
        }

        await relay.DisposeAsync();
        return 0;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var server = Environment.GetEnvironmentVariable("RUNCHAT_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(server))
        {
            Console.Error.WriteLine("cost: set RUNCHAT_TEST_POSTGRES to a PostgreSQL server (eval \"$(bash build/postgres.sh start)\").");
            return 2;
        }

        var deliveries = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3000;
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        var idleSeconds = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 30;
        var signer = WebhookSignature.StandardWebhooks(Ingest.Secret);

        await using var postgres = await PostgresCpu.StartAsync(server);
        await using var sandbox = await SandboxServer.StartAsync();
        var statements = await PostgresCpu.StatementsAvailableAsync(server);
        if (!statements)
        {
            Console.WriteLine("(pg_stat_statements is not loaded: no statement counts; see the remarks in RelayCost.cs)");
        }

        var configurations = new (string Name, string Kind, int Instances)[] { ("sqlite, 1 instance", "sqlite", 1), ("postgres, 1 instance", "postgres", 1), ("postgres, 2 instances", "postgres", 2),
                // The control: two processes, each on a database of its own. What 2 instances cost above this comes from sharing the store.
                ("postgres, 2 instances, a database each", "postgres-apart", 2) }
            .Where(c => args.Length <= 4 || c.Name.StartsWith(args[4], StringComparison.Ordinal)).ToArray();
        var results = configurations.ToDictionary(c => c.Name, _ => new List<Round>());
        var noRelayIdle = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            // PostgreSQL with no relay at all: its background processes' own idle cost.
            var mark = postgres.Mark();
            await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
            noRelayIdle.Add(postgres.Since(mark).TotalMilliseconds / idleSeconds);
            Console.WriteLine($"round {round} PostgreSQL alone, idle: {noRelayIdle[^1]:0.0} ms CPU/s");

            foreach (var (name, kind, instances) in round % 2 == 0 ? configurations : configurations.Reverse().ToArray())
            {
                var result = await RunOneAsync(server, postgres, sandbox, signer, kind, instances, deliveries, idleSeconds, statements, $"{kind}{instances}r{round}");
                results[name].Add(result);
                Console.WriteLine($"round {round} {name,-22}: idle {result.IdleRelay + result.IdlePostgres,5:0.0} ms/s (relays {result.IdleRelay:0.0}, PostgreSQL {result.IdlePostgres:0.0}); " +
                    $"per delivery: relays {result.RelayPerDelivery:0} µs, PostgreSQL {result.PostgresPerDelivery:0} µs, total {result.TotalPerDelivery:0} µs, above idle {result.AboveIdlePerDelivery:0} µs; " +
                    $"{result.PerSecond:0} deliveries/s end to end");
                Console.WriteLine("    relay counters per delivery: " + result.Counters);
                if (result.Database is { } database)
                {
                    Console.WriteLine("    PostgreSQL per delivery: " + database);
                }
            }
        }

        Round Median(string name) => results[name].OrderBy(r => r.AboveIdlePerDelivery).ElementAt(results[name].Count / 2);
        Console.WriteLine();
        Console.WriteLine($"| {deliveries} deliveries, {Senders} senders, ingested and dispatched | relay CPU | PostgreSQL CPU | total | above idle | idle, relays + PostgreSQL | end to end |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (name, _, _) in configurations)
        {
            var r = Median(name);
            Console.WriteLine($"| {name} | {r.RelayPerDelivery:0} µs | {r.PostgresPerDelivery:0} µs | {r.TotalPerDelivery:0} µs | {r.AboveIdlePerDelivery:0} µs | {r.IdleRelay + r.IdlePostgres:0.0} ms/s ({r.IdleRelay:0.0} + {r.IdlePostgres:0.0}) | {r.PerSecond:0} /s |");
        }

        Console.WriteLine($"| PostgreSQL alone, no relay (median) | | | | | {noRelayIdle.OrderBy(x => x).ElementAt(noRelayIdle.Count / 2):0.0} ms/s | |");
        if (results.ContainsKey("postgres, 1 instance") && results.ContainsKey("postgres, 2 instances"))
        {
            var one = Median("postgres, 1 instance");
            var two = Median("postgres, 2 instances");
            Console.WriteLine($"| postgres, 2 instances / 1 instance, above idle | | | | **{two.AboveIdlePerDelivery / one.AboveIdlePerDelivery:0.00}×** | | |");
            Console.WriteLine($"(above idle, every round: 1 instance {string.Join(", ", results["postgres, 1 instance"].Select(r => r.AboveIdlePerDelivery.ToString("0", CultureInfo.InvariantCulture)))} µs; " +
                $"2 instances {string.Join(", ", results["postgres, 2 instances"].Select(r => r.AboveIdlePerDelivery.ToString("0", CultureInfo.InvariantCulture)))} µs)");
        }

        var measured = configurations.Where(c => c.Kind == "postgres").Select(c => (c.Name, Statements: Sum(results[c.Name]))).ToList();
        if (statements && measured.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"| statement (pg_stat_statements, all rounds), per delivery | {string.Join(" | ", measured.Select(m => $"calls, {m.Name} | rows per call | exec µs | buffer hits"))} |");
            Console.WriteLine("|---" + string.Concat(Enumerable.Repeat("|---|---|---|---", measured.Count)) + "|");
            foreach (var statement in measured.SelectMany(m => m.Statements.Keys).Distinct().OrderByDescending(k => measured.Sum(m => m.Statements.GetValueOrDefault(k).Calls)))
            {
                Console.WriteLine($"| `{statement}` | " + string.Join(" | ", measured.Select(m =>
                {
                    var (calls, rows, micros, hits, deliveries) = m.Statements.GetValueOrDefault(statement);
                    return deliveries == 0 ? " | | | " : $"{calls / deliveries:0.000} | {rows / Math.Max(1, calls):0.0} | {micros / deliveries:0.0} | {hits / deliveries:0.0}";
                })) + " |");
            }
        }

        return 0;

        static Dictionary<string, (double Calls, double Rows, double Micros, double Hits, double Deliveries)> Sum(List<Round> rounds)
        {
            var sum = new Dictionary<string, (double Calls, double Rows, double Micros, double Hits, double Deliveries)>();
            var total = rounds.Sum(r => (double)r.Deliveries);
            foreach (var round in rounds)
            {
                foreach (var (query, calls, rows, micros, hits) in round.Statements)
                {
                    var seen = sum.GetValueOrDefault(query);
                    sum[query] = (seen.Calls + calls, seen.Rows + rows, seen.Micros + micros, seen.Hits + hits, total);
                }
            }

            return sum;
        }
    }

    private sealed record Round(int Deliveries, double PerSecond, double RelayPerDelivery, double PostgresPerDelivery, double IdleRelay, double IdlePostgres, double AboveIdlePerDelivery, string Counters, string? Database, IReadOnlyList<(string Query, long Calls, long Rows, double Micros, long Hits)> Statements)
    {
        public double TotalPerDelivery => RelayPerDelivery + PostgresPerDelivery;
    }

    private static async Task<Round> RunOneAsync(string server, PostgresCpu postgres, SandboxServer sandbox, WebhookSignature signer, string kind, int instances, int deliveries, double idleSeconds, bool statements, string tag)
    {
        var apart = kind == "postgres-apart";
        kind = apart ? "postgres" : kind;
        await using var store = await BenchStore.CreateAsync(kind, server);
        await using var second = apart ? await BenchStore.CreateAsync(kind, server) : null;
        statements &= !apart;
        if (kind == "postgres" && statements)
        {
            await store.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;");
        }

        var relays = new List<RelayProcess>();
        try
        {
            for (var i = 0; i < instances; i++)
            {
                relays.Add(await RelayProcess.StartAsync((i == 1 && second is not null ? second : store).Setting, sandbox.BaseUrl));
            }

            var clients = relays.Select(r => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Senders }) { BaseAddress = r.Url }).ToArray();
            var sent = 0;
            var warmUpBatch = Math.Min(WarmUpBatch, deliveries);
            for (var batch = 0; batch < WarmUpBatches; batch++)
            {
                foreach (var relay in relays) await relay.AskAsync("threads");
                await Ingest.LoadAsync(clients, signer, warmUpBatch, $"warm{batch}-{tag}", Senders);
                sent += warmUpBatch;
                await WaitForCompletedAsync(relays, sent);
                var jit = 0L;
                var all = 0L;
                foreach (var relay in relays)
                {
                    foreach (Match pair in Regex.Matches(await relay.AskAsync("threads"), @"(\S+)=(\d+)"))
                    {
                        var ms = long.Parse(pair.Groups[2].Value, CultureInfo.InvariantCulture);
                        all += ms;
                        jit += pair.Groups[1].Value.Contains("Tiered", StringComparison.Ordinal) ? ms : 0;
                    }
                }

                // Done when the JIT took under 2% of the relays' CPU in the batch.
                if (jit * 50 < all)
                {
                    break;
                }
            }

            // Both configurations start from a vacuumed table: otherwise the dead index entries the warm-up
            // left (as many as autovacuum has not yet removed) decide the claim's and the limits' cost, and
            // autovacuum's timing, not the number of instances, makes the difference between two runs.
            if (kind == "postgres")
            {
                await store.ExecuteAsync("VACUUM ANALYZE;");
                if (second is not null) await second.ExecuteAsync("VACUUM ANALYZE;");
            }

            // Idle: the same instances, nothing to do. Two seconds first, for the last run's statistics to settle.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var idleRelay = await RelayCpuAsync(relays);
            var idleMark = postgres.Mark();
            var idleWatch = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
            var idleRelayRate = (await RelayCpuAsync(relays) - idleRelay).TotalMilliseconds / idleWatch.Elapsed.TotalSeconds;
            var idlePostgresRate = postgres.Since(idleMark).TotalMilliseconds / idleWatch.Elapsed.TotalSeconds;

            // The run: counters and statistics reset, then every delivery ingested and recorded as sent.
            foreach (var relay in relays) await relay.AskAsync("snapshot");
            foreach (var relay in relays) await relay.AskAsync("threads");
            var databaseBefore = kind == "postgres" && !apart ? await store.DatabaseCountersAsync(resetStatements: statements) : null;
            var relayBefore = await RelayCpuAsync(relays);
            var mark = postgres.Mark();
            var watch = Stopwatch.StartNew();
            await Ingest.LoadAsync(clients, signer, deliveries, $"run-{tag}", Senders);
            await WaitForCompletedAsync(relays, sent + deliveries);
            var wall = watch.Elapsed;
            var relayCpu = await RelayCpuAsync(relays) - relayBefore;
            var postgresCpu = postgres.Since(mark);

            var threadMs = new Dictionary<string, long>();
            foreach (var relay in relays)
            {
                foreach (Match pair in Regex.Matches(await relay.AskAsync("threads"), @"(\S+)=(\d+)"))
                {
                    threadMs[pair.Groups[1].Value] = threadMs.GetValueOrDefault(pair.Groups[1].Value) + long.Parse(pair.Groups[2].Value, CultureInfo.InvariantCulture);
                }
            }

            var counters = new Dictionary<string, long>();
            foreach (var relay in relays)
            {
                foreach (Match pair in Regex.Matches(await relay.AskAsync("snapshot"), @"(\w+)=(\d+)"))
                {
                    counters[pair.Groups[1].Value] = counters.GetValueOrDefault(pair.Groups[1].Value) + long.Parse(pair.Groups[2].Value, CultureInfo.InvariantCulture);
                }
            }

            string? database = null;
            IReadOnlyList<(string, long, long, double, long)> statementCounts = Array.Empty<(string, long, long, double, long)>();
            if (kind == "postgres" && !apart)
            {
                // Backends report their statistics at most once a second.
                await Task.Delay(TimeSpan.FromSeconds(1.5));
                var after = await store.DatabaseCountersAsync(resetStatements: false);
                database = string.Join(", ", after!.Where(a => a.Key != "statements").Select(a => $"{a.Key} {(a.Value - databaseBefore!.GetValueOrDefault(a.Key)) / deliveries:0.00}"));
                if (statements)
                {
                    statementCounts = await store.StatementsAsync();
                }
            }

            foreach (var client in clients) client.Dispose();
            var above = relayCpu.TotalMilliseconds + postgresCpu.TotalMilliseconds - (idleRelayRate + idlePostgresRate) * wall.TotalSeconds;
            return new Round(
                deliveries,
                deliveries / wall.TotalSeconds,
                relayCpu.TotalMilliseconds * 1000 / deliveries,
                postgresCpu.TotalMilliseconds * 1000 / deliveries,
                idleRelayRate,
                idlePostgresRate,
                above * 1000 / deliveries,
                string.Join(", ", counters.Where(c => c.Value > 0).Select(c => $"{c.Key} {(double)c.Value / deliveries:0.000}")) +
                    "; relay CPU by thread, µs per delivery: " + string.Join(", ", threadMs.OrderByDescending(t => t.Value).Select(t => $"{t.Key} {t.Value * 1000.0 / deliveries:0}")),
                database,
                statementCounts);
        }
        finally
        {
            foreach (var relay in relays) await relay.DisposeAsync();
        }
    }

    private static async Task<TimeSpan> RelayCpuAsync(IReadOnlyList<RelayProcess> relays)
    {
        var ticks = 0L;
        foreach (var relay in relays)
        {
            ticks += long.Parse((await relay.AskAsync("cpu"))["cpu ".Length..], CultureInfo.InvariantCulture);
        }

        return TimeSpan.FromTicks(ticks);
    }

    private static async Task WaitForCompletedAsync(IReadOnlyList<RelayProcess> relays, int expected)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var completed = 0L;
            foreach (var relay in relays)
            {
                completed += long.Parse((await relay.AskAsync("completed"))["completed ".Length..], CultureInfo.InvariantCulture);
            }

            if (completed >= expected)
            {
                if (completed > expected)
                {
                    throw new InvalidOperationException($"{completed} sends recorded for {expected} deliveries");
                }

                return;
            }

            if (watch.Elapsed > TimeSpan.FromMinutes(2))
            {
                var counters = new List<string>();
                foreach (var relay in relays) counters.Add(await relay.AskAsync("snapshot"));
                throw new TimeoutException($"{completed} of {expected} deliveries sent after 2 minutes; the relays' counters: {string.Join("; ", counters)}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// This process's CPU by kind of thread (the thread names .NET gives: thread-pool workers, socket engine,
    /// tiered JIT, GC, Kestrel's timers) from /proc/self/task, since the last call; a thread that ended in
    /// between counts up to its last reading.
    /// </summary>
    private sealed class ThreadCpu
    {
        private readonly Dictionary<int, (string Name, long Ticks)> _seen = new();
        private readonly Dictionary<string, long> _reported = new();

        public string Take()
        {
            foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                try
                {
                    var stat = File.ReadAllText(task + "/stat");
                    var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    _seen[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = (Group(name), long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture));
                }
                catch (IOException)
                {
                }
            }

            var totals = _seen.Values.GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.Sum(t => t.Ticks));
            var since = totals.Where(t => t.Value - _reported.GetValueOrDefault(t.Key) > 0).OrderByDescending(t => t.Value - _reported.GetValueOrDefault(t.Key))
                .Select(t => $"{t.Key.Replace(' ', '_')}={(t.Value - _reported.GetValueOrDefault(t.Key)) * 10}").ToList();
            foreach (var (name, ticks) in totals) _reported[name] = ticks;
            return string.Join(" ", since);
        }

        private static string Group(string name) => name.StartsWith(".NET TP Worker", StringComparison.Ordinal) ? "thread pool" : name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ');
    }

    /// <summary>A relay instance in a process of its own (this program's <c>relay-host</c> mode).</summary>
    private sealed class RelayProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly SemaphoreSlim _gate = new(1, 1);

        private RelayProcess(Process process, Uri url)
        {
            _process = process;
            Url = url;
        }

        public Uri Url { get; }

        public static async Task<RelayProcess> StartAsync(string store, Uri runchat)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            {
                start.ArgumentList.Add(typeof(RelayCost).Assembly.Location);
            }

            foreach (var argument in new[] { "relay-host", store, runchat.ToString() }) start.ArgumentList.Add(argument);
            var process = Process.Start(start)!;
            var first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (first is null || !first.StartsWith("url ", StringComparison.Ordinal))
            {
                process.Kill();
                throw new InvalidOperationException("the relay process did not start: " + first);
            }

            return new RelayProcess(process, new Uri(first["url ".Length..]));
        }

        public async Task<string> AskAsync(string command)
        {
            await _gate.WaitAsync();
            try
            {
                await _process.StandardInput.WriteLineAsync(command);
                await _process.StandardInput.FlushAsync();
                return await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException("the relay process exited");
            }
            finally
            {
                _gate.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _process.StandardInput.WriteLineAsync("stop");
                await _process.StandardInput.FlushAsync();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception) when (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }
}
