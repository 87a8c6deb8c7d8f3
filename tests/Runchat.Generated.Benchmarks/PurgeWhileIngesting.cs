using System;
using System.Diagnostics;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Benchmarks;

/// <summary>
/// <c>purge [rows] [requests] [sqlite|postgres]</c>: ingest (16 signed senders on loopback, as <c>ingest</c>) while the relay deletes
/// <c>rows</c> (1,000,000 by default) expired deliveries in retention's batches, against the same ingest with nothing
/// being deleted, on the same store in the same run: the ratio is the slowdown purge costs ingest (target: under 10%).
/// The purge is stopped when the load ends; its pace is the rows it deleted meanwhile.
/// Rounds alternate (quiet, purging, quiet, purging); SQLite, and PostgreSQL when RUNCHAT_TEST_POSTGRES names a server.
/// </summary>
public static class PurgeWhileIngesting
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = args.Length > 1 ? int.Parse(args[1]) : 1_000_000;
        var requests = args.Length > 2 ? int.Parse(args[2]) : 3000;
        var only = args.Length > 3 ? args[3] : null; // "sqlite" or "postgres": one store only
        Console.WriteLine($"| store | ingest, nothing deleted | ingest while purging {rows:N0} rows | ratio (purging / quiet) | purge: rows/s |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var kind in new[] { "sqlite", "postgres" })
        {
            if ((kind == "postgres" && Environment.GetEnvironmentVariable("RUNCHAT_TEST_POSTGRES") is null) || (only is not null && only != kind))
            {
                continue;
            }

            var store = await NewStoreAsync(kind);
            // Retention off: only the purge measured deletes (retention would start on the same rows at start).
            await using var server = await Ingest.StartRelayAsync(store, new Uri("http://127.0.0.1:9/api/v1/"), maxRunsPerMinute: 1,
                services: s => s.PostConfigure<RunchatRelayOptions>(o => o.Retention = new RelayRetentionOptions { Succeeded = null, Failed = null, Unknown = null, Ignored = null }));
            var relay = server.App.Services.GetRequiredService<IRunchatRelay>();
            await relay.ListPausedAsync(); // the schema
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16 }) { BaseAddress = server.Url };
            var signer = WebhookSignature.StandardWebhooks(Ingest.Secret);
            await Ingest.LoadAsync(new[] { http }, signer, 500, $"warm-{kind}");

            double quiet = 0, purging = 0, purgeRate = 0;
            for (var round = 0; round < 2; round++)
            {
                await FillAsync(kind, store, rows);
                var q = await Ingest.LoadAsync(new[] { http }, signer, requests, $"quiet-{kind}-{round}");
                var deliveries = server.App.Services.GetRequiredService<IDeliveryStore>();
                var cutoff = DateTimeOffset.UtcNow.AddDays(-1);
                var before = await deliveries.CountPurgeableAsync(RelayDeliveryState.Ignored, cutoff, default);
                using var stop = new System.Threading.CancellationTokenSource();
                var watch = Stopwatch.StartNew();
                var purge = relay.PurgeAsync(TimeSpan.FromDays(1), RelayDeliveryState.Ignored, cancellationToken: stop.Token);
                await Task.Delay(200); // the purge is under way
                var p = await Ingest.LoadAsync(new[] { http }, signer, requests, $"purging-{kind}-{round}");
                var stillRunning = !purge.IsCompleted;
                stop.Cancel();
                try
                {
                    await purge;
                }
                catch (OperationCanceledException)
                {
                }

                var seconds = watch.Elapsed.TotalSeconds;
                var purged = before - await deliveries.CountPurgeableAsync(RelayDeliveryState.Ignored, cutoff, default);
                Console.Error.WriteLine($"{kind} round {round}: quiet {q.PerSecond:0}/s, purging {p.PerSecond:0}/s (the purge still running at the end of the load: {stillRunning}); {purged:N0} purged in {seconds:0.0} s");
                if (!stillRunning)
                {
                    Console.Error.WriteLine("  the purge ended before the load did: raise rows, or lower requests, for a fair ratio");
                }

                quiet += q.PerSecond;
                purging += p.PerSecond;
                purgeRate += purged / seconds;
            }

            Console.WriteLine($"| {kind} | {quiet / 2:0} deliveries/s | {purging / 2:0} deliveries/s | **{purging / quiet:0.00}×** | {purgeRate / 2:0} |");
        }

        return 0;
    }

    private static async Task<string> NewStoreAsync(string kind)
    {
        if (kind == "sqlite")
        {
            return "sqlite:" + System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"purge-{Guid.NewGuid():N}.db");
        }

        var database = "purge_" + Guid.NewGuid().ToString("N")[..12];
        await using var admin = new NpgsqlConnection(Environment.GetEnvironmentVariable("RUNCHAT_TEST_POSTGRES"));
        await admin.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {database};", admin);
        await create.ExecuteNonQueryAsync();
        return "postgres:" + new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("RUNCHAT_TEST_POSTGRES")) { Database = database };
    }

    /// <summary>Expired ignored deliveries, two days old, straight into the table (what a day of filtered-out traffic leaves).</summary>
    private static async Task FillAsync(string kind, string store, int rows)
    {
        var old = DateTimeOffset.UtcNow.AddDays(-2).ToUnixTimeMilliseconds();
        var values = $"'/hooks/forms', 'lead-agent', 'old:' || n || ':' || {DateTimeOffset.UtcNow.Ticks}, BODY, 'ignored', 0, {old} + n, {old} + n, {old} + n, 'invoice.paid'";
        if (kind == "sqlite")
        {
            await using var connection = new SqliteConnection("Data Source=" + store["sqlite:".Length..]);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) " +
                $"INSERT INTO deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at, event_name) SELECT 'dlv_old_' || n || '_' || {DateTimeOffset.UtcNow.Ticks}, {values.Replace("BODY", "CAST('{\"type\":\"invoice.paid\",\"amount\":1.10}' AS BLOB)")} FROM s;";
            command.CommandTimeout = 600;
            await command.ExecuteNonQueryAsync();

            // The fill's WAL (hundreds of MB) checkpointed now, not by the first commits the benchmark measures.
            await using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;";
            checkpoint.CommandTimeout = 600;
            await checkpoint.ExecuteNonQueryAsync();
        }
        else
        {
            await using var connection = new NpgsqlConnection(store["postgres:".Length..]);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"INSERT INTO runchat_relay_deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at, event_name) " +
                $"SELECT 'dlv_old_' || n || '_' || {DateTimeOffset.UtcNow.Ticks}, {values.Replace("BODY", "convert_to('{\"type\":\"invoice.paid\",\"amount\":1.10}', 'UTF8')")} FROM generate_series(1, {rows}) AS n;", connection)
            {
                CommandTimeout = 600,
            };
            await command.ExecuteNonQueryAsync();
            await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE runchat_relay_deliveries;", connection) { CommandTimeout = 600 };
            await vacuum.ExecuteNonQueryAsync();
        }
    }
}
