using System;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Runchat.Benchmarks;

/// <summary>
/// <c>dashboard [rows]</c>: the time to first byte of the dashboard's list page (filtered to one state)
/// with 100 deliveries and with <c>rows</c> (100,000 by default), on SQLite and, when
/// RUNCHAT_TEST_POSTGRES names a server, on PostgreSQL; medians of 25 requests in the same run.
/// </summary>
public static class DashboardTtfb
{
    public static async Task<int> RunAsync(string[] args)
    {
        var many = args.Length > 1 ? int.Parse(args[1]) : 100_000;
        Console.WriteLine("| store | 100 deliveries | " + many.ToString("N0") + " deliveries | ratio | overview bytes |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var kind in new[] { "sqlite", "postgres" })
        {
            if (kind == "postgres" && Environment.GetEnvironmentVariable("RUNCHAT_TEST_POSTGRES") is null)
            {
                continue;
            }

            var (few, fewBytes) = await MeasureAsync(kind, 100);
            var (lots, _) = await MeasureAsync(kind, many);
            Console.WriteLine($"| {kind} | {few:0.00} ms | {lots:0.00} ms | **{lots / few:0.00}×** | {fewBytes:N0} |");
        }

        return 0;
    }

    private static async Task<(double MedianMs, long OverviewBytes)> MeasureAsync(string kind, int rows)
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

        await using var server = await Ingest.StartRelayAsync(store, new Uri("http://127.0.0.1:9/api/v1/"), maxRunsPerMinute: 1, dashboard: true);
        using var http = new HttpClient { BaseAddress = server.Url };
        await http.GetStringAsync("/relay/"); // creates the schema
        await FillAsync(kind, store, rows);

        var overview = (await http.GetByteArrayAsync("/relay/")).LongLength;
        var times = new double[25];
        for (var i = -5; i < times.Length; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync("/relay/deliveries?state=succeeded", HttpCompletionOption.ResponseHeadersRead);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (i >= 0)
            {
                times[i] = elapsed;
            }
        }

        Array.Sort(times);
        return (times[times.Length / 2], overview);
    }

    /// <summary>Rows straight into the store's table, in one statement: what a long-running relay accumulates.</summary>
    private static async Task FillAsync(string kind, string store, int rows)
    {
        const string Values = "'/hooks/forms', 'lead-agent', 'sha256:' || n, CAST('{\"n\":1}' AS BLOB), CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'succeeded' END, 1, 1700000000000 + n, 1700000000000 + n, 1700000000000 + n";
        if (kind == "sqlite")
        {
            await using var connection = new SqliteConnection("Data Source=" + store["sqlite:".Length..]);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) " +
                $"INSERT INTO deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at) SELECT 'dlv_' || n, {Values} FROM s;";
            await command.ExecuteNonQueryAsync();
        }
        else
        {
            await using var connection = new NpgsqlConnection(store["postgres:".Length..]);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"INSERT INTO runchat_relay_deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at) " +
                $"SELECT 'dlv_' || n, {Values.Replace("CAST('{\"n\":1}' AS BLOB)", "convert_to('{\"n\":1}', 'UTF8')")} FROM generate_series(1, {rows}) AS n; ANALYZE runchat_relay_deliveries;", connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
