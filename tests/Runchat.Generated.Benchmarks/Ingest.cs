using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Benchmarks;

/// <summary>
/// The relay's ingest path (verify, commit, 202) under 16 concurrent senders on loopback, next to a
/// hand-written minimal-API endpoint that inserts the same row into the same kind of SQLite database
/// (WAL, synchronous=FULL): the practical floor. A load tool, not BenchmarkDotNet: HTTP throughput.
/// </summary>
/// <remarks>
/// Usage: <c>ingest [requests-per-round] [rounds]</c>. Rounds alternate baseline and relay, so both
/// see the same machine; every loop is bounded by the request count.
/// </remarks>
public static class Ingest
{
    private const int Senders = 16;
    /// <summary>The signing secret of the benchmark route <c>/hooks/forms</c> (Standard Webhooks).</summary>
    internal const string Secret = "whsec_aW5nZXN0LWJlbmNobWFyay1zZWNyZXQtdmFsdWU=";

    public static async Task<int> RunAsync(string[] args)
    {
        var perRound = args.Length > 1 ? int.Parse(args[1]) : 4000;
        var rounds = args.Length > 2 ? int.Parse(args[2]) : 3;
        var signer = WebhookSignature.StandardWebhooks(Secret);

        var results = new Dictionary<string, List<Result>> { ["baseline"] = new(), ["relay"] = new(), ["rules"] = new() };
        for (var round = 0; round < rounds; round++)
        {
            // The two relays swap places each round, so neither always runs on a warmer machine.
            foreach (var target in round % 2 == 0 ? new[] { "baseline", "relay", "rules" } : new[] { "baseline", "rules", "relay" })
            {
                var database = Path.Combine(Path.GetTempPath(), $"ingest-{target}-{Guid.NewGuid():N}.db");
                await using var server = target == "baseline" ? await StartBaselineAsync(database) : await StartRelayAsync("sqlite:" + database, new Uri("http://127.0.0.1:9/api/v1/"), maxRunsPerMinute: 1, rules: target == "rules");
                using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Senders }) { BaseAddress = server.Url };
                await LoadAsync(new[] { http }, signer, 300, $"warm-{round}");
                var result = await LoadAsync(new[] { http }, signer, perRound, $"{target}-{round}");
                results[target].Add(result);
                Console.WriteLine($"round {round} {target,-8}: {result.PerSecond,8:0} deliveries/s  p50 {result.P50,6:0.00} ms  p99 {result.P99,6:0.00} ms  ({result.Count} requests, all 202)");
                SqliteConnection.ClearAllPools();
                foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(database + suffix);
            }
        }

        Result Median(string target) => results[target].OrderBy(r => r.PerSecond).ElementAt(results[target].Count / 2);
        var baseline = Median("baseline");
        var relay = Median("relay");
        var rules = Median("rules");
        Console.WriteLine();
        Console.WriteLine("| ingest, 16 senders, loopback | deliveries/s | p50 | p99 |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| hand-written minimal API + SQLite insert (baseline) | {baseline.PerSecond:0} | {baseline.P50:0.00} ms | {baseline.P99:0.00} ms |");
        Console.WriteLine($"| relay (verify Standard Webhooks, commit, 202) | {relay.PerSecond:0} | {relay.P50:0.00} ms | {relay.P99:0.00} ms |");
        Console.WriteLine($"| relay with Events, When and a Message template on the route | {rules.PerSecond:0} | {rules.P50:0.00} ms | {rules.P99:0.00} ms |");
        Console.WriteLine($"| relay / baseline | **{relay.PerSecond / baseline.PerSecond:0.00}×** | | |");
        Console.WriteLine($"| relay with rules / relay | **{rules.PerSecond / relay.PerSecond:0.00}×** | | |");
        return 0;
    }

    internal sealed record Result(int Count, double PerSecond, double P50, double P99);

    /// <summary><paramref name="count"/> signed deliveries from <paramref name="senders"/> concurrent senders, spread evenly over <paramref name="targets"/>.</summary>
    internal static async Task<Result> LoadAsync(IReadOnlyList<HttpClient> targets, WebhookSignature signer, int count, string tag, int senders = Senders)
    {
        var latencies = new double[count];
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, senders).Select(sender => Task.Run(async () =>
        {
            var http = targets[sender % targets.Count];
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var body = Encoding.UTF8.GetBytes($"{{\"type\":\"invoice.paid\",\"id\":\"{tag}-{i}\",\"amount\":1.10,\"customer\":\"cus_{i % 977}\"}}");
                using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/forms") { Content = new ByteArrayContent(body) };
                foreach (var (name, value) in signer.Sign(body, DateTimeOffset.UtcNow, $"msg_{tag}_{i}"))
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.Accepted)
                {
                    throw new InvalidOperationException($"{tag}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
        }))).ConfigureAwait(false);
        var elapsed = watch.Elapsed;
        Array.Sort(latencies);
        return new Result(count, count / elapsed.TotalSeconds, latencies[count / 2], latencies[(int)(count * 0.99)]);
    }

    internal sealed class Server : IAsyncDisposable
    {
        public required WebApplication App { get; init; }

        public required Uri Url { get; init; }

        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    private static async Task<Server> StartAsync(WebApplication app)
    {
        await app.StartAsync();
        return new Server { App = app, Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
    }

    private static WebApplicationBuilder Builder()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        return builder;
    }

    /// <summary>
    /// One relay as AddRunchatRelay builds it (its own host, DI container and store), with the signed
    /// route <c>/hooks/forms</c>. For ingest alone, hold dispatch back with <paramref name="maxRunsPerMinute"/> = 1.
    /// </summary>
    internal static Task<Server> StartRelayAsync(string store, Uri runchat, int maxRunsPerMinute, int maxConcurrentRuns = 4, bool rules = false, bool dashboard = false, Action<IServiceCollection>? services = null)
    {
        var builder = Builder();
        services?.Invoke(builder.Services);
        builder.Services.AddRunchatClient(o => { o.ApiKey = "bench"; o.BaseUrl = runchat; o.MaxRetries = 0; });
        builder.Services.AddRunchatRelay(o =>
        {
            o.Store = store;
            o.MaxConcurrentRuns = maxConcurrentRuns;
            o.MaxRunsPerMinute = maxRunsPerMinute;
            var route = new RelayRouteOptions { Path = "/hooks/forms", JobId = "lead-agent", Signature = "standard-webhooks", Secret = Secret };
            if (rules)
            {
                // Every delivery passes (the load is invoice.paid with an amount): the cost of checking, not of refusing.
                route.Events.Add("invoice.*");
                route.When = "$.customer";
                route.Message = "Invoice {{ payload.id }} paid by {{ payload.customer }}: {{ payload.amount }}";
            }

            o.Routes.Add(route);
        });
        var app = builder.Build();
        app.MapRunchatRelay();
        if (dashboard)
        {
            app.MapRunchatRelayDashboard();
        }

        return StartAsync(app);
    }

    /// <summary>The floor: read the body, insert the same row into the same schema, answer 202. No verification, no validation.</summary>
    private static async Task<Server> StartBaselineAsync(string database)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = database, Pooling = true }.ToString();
        await using (var setup = new SqliteConnection(connectionString))
        {
            await setup.OpenAsync();
            await using var schema = setup.CreateCommand();
            schema.CommandText = """
                PRAGMA journal_mode = WAL;
                CREATE TABLE deliveries (id TEXT PRIMARY KEY, route TEXT NOT NULL, job_id TEXT NOT NULL, dedupe_key TEXT NOT NULL, body BLOB NOT NULL,
                    state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL);
                CREATE UNIQUE INDEX ux ON deliveries (route, dedupe_key);
                """;
            await schema.ExecuteNonQueryAsync();
        }

        var app = Builder().Build();
        app.MapPost("/hooks/forms", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                PRAGMA synchronous = FULL;
                INSERT INTO deliveries (id, route, job_id, dedupe_key, body, state, received_at, updated_at, next_attempt_at)
                VALUES ($id, '/hooks/forms', 'lead-agent', $key, $body, 'pending', $now, $now, $now) ON CONFLICT DO NOTHING;
                """;
            var id = Guid.NewGuid().ToString("N");
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$key", context.Request.Headers["webhook-id"].ToString());
            command.Parameters.AddWithValue("$body", buffer.ToArray());
            command.Parameters.AddWithValue("$now", now);
            await command.ExecuteNonQueryAsync();
            return Results.Json(new { delivery_id = id, duplicate = false }, statusCode: 202);
        });
        return await StartAsync(app);
    }
}
