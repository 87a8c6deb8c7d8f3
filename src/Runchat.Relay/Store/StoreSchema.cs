using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// The store's schema and its versions: created or brought up to date once per process, before the first statement
/// on any connection, in one transaction under the dialect's lock; a store a newer relay wrote is refused.
/// </summary>
/// <remarks>
/// Version 1 is the base every earlier release created, in whichever of its shapes that release left it (later
/// columns of version 1 were added in place): its step completes any of them, so it runs on every store at version
/// 1 or below. Each later step runs once, on a store at an earlier version, and the version is recorded. The tests
/// upgrade a store written by each released schema and read it back, on both databases.
/// </remarks>
internal sealed class StoreSchema
{
    /// <summary>The version this relay writes into <c>runchat_relay_schema</c>, and the newest it reads.</summary>
    public const int Version = 6;

    /// <summary>The steps, in order.</summary>
    public static readonly IReadOnlyList<SchemaStep> Steps = new SchemaStep[]
    {
        new(1, "deliveries, their indexes, and the starts per second", BaseAsync),
        new(2, "the text sent to the agent (RelayDelivery.Message)", (d, c, t, ct) => d.AddColumnAsync(c, t, d.Deliveries, "message", d.Text, ct)),
        new(3, "lists by route, by event, and by either with a state read an index; outcomes per minute", CountsAsync),
        new(4, "replies (PostReply): their state, lease and outcome on the delivery; the run's credits and Runchat id", RepliesAsync),
        new(5, "operating: paused routes and schedules, instances' heartbeats, deliveries by sender id (erasure)", OperatingAsync),
        new(6, "backfill: where a delivery came from when not from its webhook (RelayDelivery.Source)", (d, c, t, ct) => d.AddColumnAsync(c, t, d.Deliveries, "source", d.Text, ct)),
    };

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _ready;

    /// <summary>Whether the schema is known to exist (until then, the store has nothing to count).</summary>
    public bool Ready => _ready;

    /// <summary>Creates or upgrades the schema once, on <paramref name="connection"/>, before it runs anything else.</summary>
    /// <exception cref="InvalidOperationException">A newer relay wrote the store.</exception>
    public async Task EnsureAsync(SqlDialect dialect, DbConnection connection, CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_ready)
            {
                await dialect.WriteAsync(() => MigrateAsync(dialect, connection, cancellationToken)).ConfigureAwait(false);
                _ready = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task<bool> MigrateAsync(SqlDialect dialect, DbConnection connection, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await dialect.LockSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS runchat_relay_schema (version INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
        await using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT MAX(version) FROM runchat_relay_schema";
        var found = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        var version = found is null or DBNull ? 0 : Convert.ToInt32(found, CultureInfo.InvariantCulture);
        if (version > Version)
        {
            throw new InvalidOperationException($"The relay store was written by a newer relay (schema {version}; this relay knows {Version}). Upgrade the relay.");
        }

        foreach (var step in Steps)
        {
            if (step.Version > version || step.Version == 1)
            {
                await step.ApplyAsync(dialect, connection, transaction, cancellationToken).ConfigureAwait(false);
            }
        }

        await ExecuteAsync(connection, transaction, version == 0 ? $"INSERT INTO runchat_relay_schema (version) VALUES ({Version})" : $"UPDATE runchat_relay_schema SET version = {Version}", cancellationToken).ConfigureAwait(false);

        // At every relay start, not a migration: the last two minutes' sends, as last_sent_at records them, counted
        // where the starts table has fewer (a relay of an earlier version, a moment ago, counted only those).
        await ExecuteAsync(connection, transaction, StartsPerSecond.Reconcile(dialect.Starts, dialect.Deliveries, dialect.NowMilliseconds, dialect.Greatest), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Version 1, created whole, or completed on a store an earlier release of it left without its later columns or indexes.</summary>
    private static async Task BaseAsync(SqlDialect dialect, DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var (t, i, b) = (dialect.Text, dialect.BigInt, dialect.Bytes);
        await ExecuteAsync(connection, transaction, $"""
            CREATE TABLE IF NOT EXISTS {dialect.Deliveries} (
                id {t} PRIMARY KEY, route {t} NOT NULL, job_id {t} NOT NULL, dedupe_key {t} NOT NULL, body {b} NOT NULL,
                state {t} NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, received_at {i} NOT NULL, updated_at {i} NOT NULL,
                next_attempt_at {i} NOT NULL, last_sent_at {i} NULL, claimed_by {t} NULL, lease_until {i} NULL, last_error {t} NULL,
                run_status {t} NULL, final_reply {t} NULL, trace_parent {t} NULL, sender_trace {t} NULL)
            """, cancellationToken).ConfigureAwait(false);
        foreach (var (column, type) in new[] { ("sender_id", t), ("replayed_at", i), ("event_name", t), ("flow_id", t) })
        {
            await dialect.AddColumnAsync(connection, transaction, dialect.Deliveries, column, type, cancellationToken).ConfigureAwait(false);
        }

        foreach (var index in dialect.BaseIndexes())
        {
            await ExecuteAsync(connection, transaction, index, cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, transaction, $"CREATE TABLE IF NOT EXISTS {dialect.Starts} (second {i} PRIMARY KEY, starts INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
    }

    private static async Task CountsAsync(SqlDialect dialect, DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        // A filtered page reads one index range from its cursor, whatever the filters: route, event, and each with a
        // state (an operator's "failed on /hooks/github" finds its 50 rows, or that there are none, without a scan).
        var table = dialect.Deliveries;
        foreach (var (name, columns) in new[] { ("route", "route"), ("event", "event_name"), ("route_state", "route, state"), ("event_state", "event_name, state") })
        {
            await ExecuteAsync(connection, transaction, $"CREATE INDEX IF NOT EXISTS ix_{table}_{name} ON {table} ({columns}, received_at, id)", cancellationToken).ConfigureAwait(false);
        }

        // Outcome first: the overview and the chart read one outcome over a range of minutes.
        await ExecuteAsync(connection, transaction,
            $"CREATE TABLE IF NOT EXISTS {dialect.Minutes} (outcome {dialect.Text} NOT NULL, minute {dialect.BigInt} NOT NULL, route {dialect.Text} NOT NULL, " +
            $"instance {dialect.Text} NOT NULL, count {dialect.BigInt} NOT NULL, PRIMARY KEY (outcome, minute, route, instance)){dialect.ClusteredByKey}", cancellationToken).ConfigureAwait(false);
    }

    private static async Task RepliesAsync(SqlDialect dialect, DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var (t, i, table) = (dialect.Text, dialect.BigInt, dialect.Deliveries);
        foreach (var (column, type) in new[]
                 {
                     ("run_credits", t), ("runchat_id", t), ("reply_state", t), ("reply_attempts", "INTEGER"), ("reply_next_at", i),
                     ("reply_claimed_by", t), ("reply_lease_until", i), ("reply_url", t), ("reply_error", t),
                 })
        {
            await dialect.AddColumnAsync(connection, transaction, table, column, type, cancellationToken).ConfigureAwait(false);
        }

        // Partial: the replies due and the posts in flight are a handful among millions of deliveries.
        await ExecuteAsync(connection, transaction, $"CREATE INDEX IF NOT EXISTS ix_{table}_reply_due ON {table} (reply_next_at) WHERE reply_state IN ('pending', 'unknown')", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"CREATE INDEX IF NOT EXISTS ix_{table}_reply_posting ON {table} (reply_lease_until) WHERE reply_state = 'posting'", cancellationToken).ConfigureAwait(false);
    }

    private static async Task OperatingAsync(SqlDialect dialect, DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var (t, i, table) = (dialect.Text, dialect.BigInt, dialect.Deliveries);
        await ExecuteAsync(connection, transaction, $"CREATE TABLE IF NOT EXISTS {dialect.Paused} (kind {t} NOT NULL, name {t} NOT NULL, paused_at {i} NOT NULL, PRIMARY KEY (kind, name))", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction,
            $"CREATE TABLE IF NOT EXISTS {dialect.Instances} (id {t} PRIMARY KEY, host {t} NOT NULL, process_id INTEGER NOT NULL, started_at {i} NOT NULL, last_seen {i} NOT NULL, in_flight INTEGER NOT NULL)",
            cancellationToken).ConfigureAwait(false);

        // Partial: only deliveries that carry a sender id (an erasure request names one).
        await ExecuteAsync(connection, transaction, $"CREATE INDEX IF NOT EXISTS ix_{table}_sender ON {table} (sender_id) WHERE sender_id IS NOT NULL", cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>One numbered change to the schema: its version, what it brings, and how each dialect applies it.</summary>
internal sealed record SchemaStep(int Version, string What, Func<SqlDialect, DbConnection, DbTransaction, CancellationToken, Task> ApplyAsync);
