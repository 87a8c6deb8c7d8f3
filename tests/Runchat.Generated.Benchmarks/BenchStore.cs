using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Npgsql;
using Runchat.Relay;

namespace Runchat.Benchmarks;

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
