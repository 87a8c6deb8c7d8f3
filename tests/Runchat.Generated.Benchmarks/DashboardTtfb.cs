using System;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Runchat.Benchmarks;

/// <summary>
/// <c>dashboard [rows]</c>: the time to first byte of each dashboard page (the overview, the summary every open tab
/// polls, the list filtered by state, by route, by event and by two at once, a delivery's detail) with 100 deliveries
/// and with <c>rows</c> (1,000,000 by default) and a day of per-minute counters, on SQLite and, when RUNCHAT_TEST_POSTGRES
/// names a server, on PostgreSQL; medians of 25 requests in the same run. The target: each under 100 ms at the larger size.
/// Round 4 added the operating pages: routes, schedules, instances, ignored, search (a bounded scan) and the bulk replay's confirm page.
/// </summary>
public static class DashboardTtfb
{
    private static readonly (string Name, string Path)[] Pages =
    {
        ("overview", "/relay/"),
        ("summary (polled)", "/relay/api/summary"),
        ("list, state", "/relay/deliveries?state=failed"),
        ("list, route", "/relay/deliveries?route=/hooks/route3"),
        ("list, event", "/relay/deliveries?event=event.7"),
        ("list, state + route", "/relay/deliveries?state=failed&route=/hooks/route3"),
        ("list, page 5 by cursor", "/relay/deliveries?before=1700000050000:dlv_50000"),
        ("detail", "/relay/deliveries/dlv_77"),
        ("routes", "/relay/routes"),
        ("schedules", "/relay/schedules"),
        ("instances", "/relay/instances"),
        ("ignored", "/relay/ignored"),
        ("search, an id", "/relay/deliveries?q=dlv_77"),
        ("search, payload text (none found)", "/relay/deliveries?q=needle"),
        ("search, event in 24 h", "/relay/deliveries?q=event.7&since=24h"),
        ("bulk replay, confirm page", "/relay/deliveries/replay?state=failed"),
    };

    public static async Task<int> RunAsync(string[] args)
    {
        var many = args.Length > 1 ? int.Parse(args[1]) : 1_000_000;
        var only = args.Length > 2 ? args[2] : null; // "sqlite" or "postgres": one store only
        Console.WriteLine("| store | page | 100 deliveries | " + many.ToString("N0") + " deliveries | ratio |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var kind in new[] { "sqlite", "postgres" })
        {
            if ((kind == "postgres" && Environment.GetEnvironmentVariable("RUNCHAT_TEST_POSTGRES") is null) || (only is not null && only != kind))
            {
                continue;
            }

            var few = await MeasureAsync(kind, 100);
            var lots = await MeasureAsync(kind, many);
            foreach (var (name, _) in Pages)
            {
                Console.WriteLine($"| {kind} | {name} | {few[name]:0.00} ms | {lots[name]:0.00} ms | {lots[name] / few[name]:0.00}× |");
            }

            var slowest = Pages.Max(p => lots[p.Name]);
            Console.WriteLine($"| {kind} | **slowest page at {many:N0}** | | **{slowest:0.00} ms** | target < 100 ms |");
        }

        return 0;
    }

    private static async Task<System.Collections.Generic.Dictionary<string, double>> MeasureAsync(string kind, int rows)
    {
        string store;
        if (kind == "sqlite")
        {
            store = "sqlite:" + System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"dashboard-{Guid.NewGuid():N}.db");
        }
        else
        {
            var database = "dash_" + Guid.NewGuid().ToString("N")[..12];
            await using (var admin = new NpgsqlConnection(Environment.GetEnvironmentVariable("RUNCHAT_TEST_POSTGRES")))
            {
                await admin.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {database};", admin);
                await create.ExecuteNonQueryAsync();
            }

            store = "postgres:" + new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("RUNCHAT_TEST_POSTGRES")) { Database = database };
        }

        // Retention off: the rows are dated 2023 (fixed cursors), and a relay would otherwise start deleting them.
        await using var server = await Ingest.StartRelayAsync(store, new Uri("http://127.0.0.1:9/api/v1/"), maxRunsPerMinute: 1, dashboard: true,
            services: s => s.PostConfigure<Runchat.Relay.RunchatRelayOptions>(o => o.Retention = new Runchat.Relay.RelayRetentionOptions { Succeeded = null, Failed = null, Unknown = null, Ignored = null }));
        using var http = new HttpClient { BaseAddress = server.Url };
        await http.GetStringAsync("/relay/"); // creates the schema
        await FillAsync(kind, store, rows);

        var medians = new System.Collections.Generic.Dictionary<string, double>();
        foreach (var (name, path) in Pages)
        {
            var times = new double[25];
            for (var i = -5; i < times.Length; i++)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"{kind}, {rows:N0} deliveries: {path} answered {(int)response.StatusCode}.");
                }
                if (i >= 0)
                {
                    times[i] = elapsed;
                }
            }

            Array.Sort(times);
            medians[name] = times[times.Length / 2];
        }

        return medians;
    }

    /// <summary>
    /// Rows straight into the store's tables, in one statement each: what a long-running relay accumulates. Five routes,
    /// ten events, one in ten failed, one in a hundred ignored, one in a thousand unknown; and a day of counters: 1,440 minutes, 5 routes, 5
    /// outcomes, 2 instances.
    /// </summary>
    private static async Task FillAsync(string kind, string store, int rows)
    {
        const string Values = "'/hooks/route' || (n % 5), 'lead-agent', 'sha256:' || n, CAST('{\"n\":1}' AS BLOB), " +
            "CASE WHEN n % 1000 = 0 THEN 'unknown' WHEN n % 10 = 0 THEN 'failed' WHEN n % 100 = 5 THEN 'ignored' ELSE 'succeeded' END, 1, 1700000000000 + n, 1700000000000 + n, 1700000000000 + n, 'event.' || (n % 10)";
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;
        var counters = $"SELECT {now} - m, '/hooks/route' || r, o, 'instance-' || i, 7 FROM ";
        if (kind == "sqlite")
        {
            await using var connection = new SqliteConnection("Data Source=" + store["sqlite:".Length..]);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandTimeout = 600;
            command.CommandText = $"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) " +
                $"INSERT INTO deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at, event_name) SELECT 'dlv_' || n, {Values} FROM s; " +
                "WITH RECURSIVE m(m) AS (SELECT 0 UNION ALL SELECT m + 1 FROM m WHERE m < 1439), r(r) AS (SELECT 0 UNION ALL SELECT r + 1 FROM r WHERE r < 4), " +
                "i(i) AS (SELECT 0 UNION ALL SELECT 1), o(o) AS (SELECT 'received' UNION ALL SELECT 'sent' UNION ALL SELECT 'succeeded' UNION ALL SELECT 'failed' UNION ALL SELECT 'ignored') " +
                $"INSERT INTO runchat_relay_minutes (minute, route, outcome, instance, count) {counters} m, r, i, o; ANALYZE;";
            await command.ExecuteNonQueryAsync();
        }
        else
        {
            await using var connection = new NpgsqlConnection(store["postgres:".Length..]);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"INSERT INTO runchat_relay_deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at, event_name) " +
                $"SELECT 'dlv_' || n, {Values.Replace("CAST('{\"n\":1}' AS BLOB)", "convert_to('{\"n\":1}', 'UTF8')")} FROM generate_series(1, {rows}) AS n; " +
                $"INSERT INTO runchat_relay_minutes (minute, route, outcome, instance, count) {counters} generate_series(0, 1439) AS m, generate_series(0, 4) AS r, generate_series(0, 1) AS i, " +
                "unnest(ARRAY['received', 'sent', 'succeeded', 'failed', 'ignored']) AS o;", connection) { CommandTimeout = 600 };
            await command.ExecuteNonQueryAsync();
            foreach (var table in new[] { "runchat_relay_deliveries", "runchat_relay_minutes" })
            {
                await using var vacuum = new NpgsqlCommand($"VACUUM ANALYZE {table};", connection) { CommandTimeout = 600 };
                await vacuum.ExecuteNonQueryAsync();
            }
        }
    }
}
