using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;

namespace Runchat.Relay;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with <c>synchronous=FULL</c>, so a delivery is on disk before the
/// relay answers 202. One relay process per file: at start every <c>sending</c> row is a dead process's (several
/// instances need a shared store with leases: PostgreSQL). SQLite has one writer at a time; writes take turns here,
/// in process, rather than in SQLite's busy handler (which sleeps), so the p99 of an ingest stays near one commit.
/// </summary>
internal sealed class SqliteDialect : SqlDialect
{
    // Microsoft.Data.Sqlite's pool is the process's (one per connection string), so the turn to open one is too:
    // two stores on one file share a pool.
    private static readonly object OpenTurn = new();

    private readonly string _path;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _write = new(1, 1);
    private int _wal;

    public SqliteDialect(string path)
    {
        _path = path;
        _connectionString = ConnectionString(path);
    }

    /// <summary>The connection string the store opens <paramref name="path"/> with (its pool's key in Microsoft.Data.Sqlite).</summary>
    internal static string ConnectionString(string path) =>
        new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 30 }.ToString();

    public override string Kind => "sqlite";

    public override char Prefix => '$';

    // The names the first relays gave these tables.
    public override string Deliveries => "deliveries";

    public override string Starts => "starts";

    public override bool SingleProcess => true;

    public override string BigInt => "INTEGER";

    public override string Text => "TEXT";

    public override string Bytes => "BLOB";

    public override string ClusteredByKey => " WITHOUT ROWID";

    public override string Greatest => "MAX";

    public override string NowMilliseconds => "(CAST(strftime('%s', 'now') AS INTEGER) * 1000)";

    public override string Display => "sqlite:" + _path;

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connection = new SqliteConnection(_connectionString);
        try
        {
            // Opens take turns. Microsoft.Data.Sqlite 8.0 to 10.0.12 can lend one pooled connection to two opens that
            // run at once (dotnet/efcore#39008: a second open reclaims the first's as leaked between the two steps of
            // its activation), and two owners of one SQLite handle share its transactions. One open at a time leaves
            // no such gap; an open from the pool takes microseconds (and is synchronous: there is nothing to await).
            lock (OpenTurn)
            {
                connection.Open();
            }

            await using var pragma = connection.CreateCommand();
            // WAL is the file's (set once, outside any transaction); FULL is the connection's: a commit is on disk
            // (WAL fsync) before the relay answers 202.
            pragma.CommandText = Interlocked.Exchange(ref _wal, 1) == 0 ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;" : "PRAGMA synchronous = FULL;";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            Interlocked.Exchange(ref _wal, 0);
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override async Task<T> WriteAsync<T>(Func<Task<T>> write)
    {
        await _write.WaitAsync().ConfigureAwait(false);
        try
        {
            return await write().ConfigureAwait(false);
        }
        finally
        {
            _write.Release();
        }
    }

    // One process per file, and the schema is created under the write turn (StoreSchema).
    public override Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    public override IEnumerable<string> BaseIndexes() => new[]
    {
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_deliveries_route_dedupe ON deliveries (route, dedupe_key)",
        "CREATE INDEX IF NOT EXISTS ix_deliveries_due ON deliveries (state, next_attempt_at)",
        "CREATE INDEX IF NOT EXISTS ix_deliveries_last_sent ON deliveries (last_sent_at)",
        "CREATE INDEX IF NOT EXISTS ix_deliveries_received ON deliveries (received_at, id)",
        "CREATE INDEX IF NOT EXISTS ix_deliveries_state_received ON deliveries (state, received_at, id)",
    };

    public override async Task AddColumnAsync(DbConnection connection, DbTransaction transaction, string table, string column, string type, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'";
        if ((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 0)
        {
            command.CommandText = $"ALTER TABLE {table} ADD COLUMN {column} {type} NULL";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override string IdIn(string parameter) => $"id IN (SELECT value FROM json_each({parameter}))";

    public override void AddIds(DbCommand command, string parameter, IReadOnlyCollection<string> ids) =>
        DeliveryRows.AddParameter(command, parameter, System.Text.Json.JsonSerializer.Serialize(ids));

    public override async Task<IReadOnlyDictionary<(string Route, string Key), (string Id, byte[] Body)>> InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<NewDelivery> batch)
    {
        await using var insert = (SqliteCommand)connection.CreateCommand();
        insert.Transaction = (SqliteTransaction)transaction;
        insert.CommandText = """
            INSERT INTO deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at, trace_parent, sender_trace, sender_id, event_name, flow_id, last_error, source)
            VALUES ($id, $route, $job, $key, $body, $state, 0, $now, $now, $now, $trace, $sender, $senderId, $event, $flow, $reason, $source)
            ON CONFLICT (route, dedupe_key) DO NOTHING
            RETURNING id;
            """;
        var parameters = new[] { "$id", "$route", "$job", "$key", "$body", "$state", "$now", "$trace", "$sender", "$senderId", "$event", "$flow", "$reason", "$source" };
        foreach (var name in parameters)
        {
            insert.Parameters.Add(name, name is "$body" ? SqliteType.Blob : name is "$now" ? SqliteType.Integer : SqliteType.Text);
        }

        await using var existing = (SqliteCommand)connection.CreateCommand();
        existing.Transaction = (SqliteTransaction)transaction;
        existing.CommandText = "SELECT id, body FROM deliveries WHERE route = $route AND dedupe_key = $key;";
        var existingRoute = existing.Parameters.Add("$route", SqliteType.Text);
        var existingKey = existing.Parameters.Add("$key", SqliteType.Text);

        var held = new Dictionary<(string, string), (string, byte[])>();
        foreach (var delivery in batch)
        {
            var values = new object?[] { delivery.Id, delivery.Route, delivery.JobId, delivery.DedupeKey, delivery.Body, DeliveryStates.Name(delivery.State), delivery.ReceivedAt.ToUnixTimeMilliseconds(), delivery.TraceParent, delivery.SenderTraceParent, delivery.SenderId, delivery.Event, delivery.FlowId, delivery.Reason, delivery.Source };
            for (var i = 0; i < values.Length; i++)
            {
                insert.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            if (await insert.ExecuteScalarAsync().ConfigureAwait(false) is string inserted)
            {
                held[(delivery.Route, delivery.DedupeKey)] = (inserted, delivery.Body);
                continue;
            }

            // The unique index refused it: a repeat, of an earlier delivery or of one in this batch.
            existingRoute.Value = delivery.Route;
            existingKey.Value = delivery.DedupeKey;
            await using var found = await existing.ExecuteReaderAsync().ConfigureAwait(false);
            await found.ReadAsync().ConfigureAwait(false);
            held[(delivery.Route, delivery.DedupeKey)] = (found.GetString(0), (byte[])found.GetValue(1));
        }

        return held;
    }

    public override string BodyContains(string parameter) => $"instr(body, {parameter}) > 0";

    public override string ClaimSql()
    {
        var claim = DeliveryTransitions.Claim;
        return claim.Update("deliveries", '$', and: $"id IN (SELECT id FROM deliveries WHERE {claim.Where('$')} ORDER BY next_attempt_at, received_at LIMIT $max)") +
            $" RETURNING {DeliveryRows.ClaimedColumns}";
    }

    public override string ClaimRepliesSql() =>
        ReplyTransitions.Sql($"UPDATE {{0}} SET {ReplyTransitions.Claim} WHERE id IN (SELECT id FROM {{0}} WHERE {ReplyTransitions.Due} ORDER BY reply_next_at LIMIT @max) RETURNING {ReplyTransitions.ClaimedColumns}", "deliveries", '$');

    public override async Task<SendStart> StartSendAsync(DbConnection connection, StartRequest request, MinuteCount sent, CancellationToken cancellationToken)
    {
        // The limits are counted in the transaction that starts the send and counts it, under the write turn.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var start = (SqliteCommand)connection.CreateCommand();
        start.Transaction = transaction;
        start.CommandText = DeliveryTransitions.Start.Update("deliveries", '$',
            and: $"(SELECT COUNT(*) FROM deliveries WHERE state = 'sending') < $maxConcurrent AND {StartsPerSecond.InWindow("starts", '$')} < $maxPerMinute") +
            " RETURNING attempts, route;";
        start.Parameters.AddWithValue("$id", request.Id);
        start.Parameters.AddWithValue("$owner", request.Owner);
        start.Parameters.AddWithValue("$lease", request.LeaseUntil.ToUnixTimeMilliseconds());
        start.Parameters.AddWithValue("$now", request.Now.ToUnixTimeMilliseconds());
        start.Parameters.AddWithValue("$second", StartsPerSecond.Second(request.Now));
        start.Parameters.AddWithValue("$maxConcurrent", request.MaxConcurrentRuns);
        start.Parameters.AddWithValue("$maxPerMinute", request.MaxRunsPerMinute);
        start.Parameters.AddWithValue("$message", (object?)request.Message ?? DBNull.Value);
        (int Attempts, string Route)? started = null;
        await using (var reader = await start.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                started = (reader.GetInt32(0), reader.GetString(1));
            }
        }

        await using var next = (SqliteCommand)connection.CreateCommand();
        next.Transaction = transaction;
        SendStart result;
        if (started is { } s)
        {
            next.CommandText = StartsPerSecond.Count("starts", "VALUES ($second, 1)") + "; " + StartsPerSecond.Prune("starts", '$') + "; " +
                MinuteCount.Upsert(Minutes, "VALUES ($minute, $route, $outcome, $instance, 1)") + ";";
            next.Parameters.AddWithValue("$second", StartsPerSecond.Second(request.Now));
            next.Parameters.AddWithValue("$minute", sent.Minute);
            next.Parameters.AddWithValue("$route", s.Route);
            next.Parameters.AddWithValue("$outcome", sent.Outcome);
            next.Parameters.AddWithValue("$instance", sent.Instance);
            await next.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            result = new SendStart(SendStartOutcome.Started, s.Attempts);
        }
        else
        {
            next.CommandText = $"SELECT COUNT(*) FROM deliveries WHERE {DeliveryTransitions.Start.Where('$')};";
            next.Parameters.AddWithValue("$id", request.Id);
            next.Parameters.AddWithValue("$owner", request.Owner);
            var stillHeld = (long)(await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0;
            result = new SendStart(stillHeld ? SendStartOutcome.LimitReached : SendStartOutcome.Lost, 0);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    // A stopped store leaves no handle on its file (to copy, move or delete it). A connection still in use (a write
    // finishing, or another store of the same file in this process) goes on, and is closed when returned, not kept.
    public override ValueTask DisposeAsync()
    {
        ReleasePool(_path);
        return default;
    }

    /// <summary>
    /// Closes the pooled connections to <paramref name="path"/>, in its turn to open: a clear also reclaims the connections
    /// it takes for leaked, and one between an open's two steps is not (see <see cref="OpenAsync"/>).
    /// </summary>
    internal static void ReleasePool(string path)
    {
        using var pooled = new SqliteConnection(ConnectionString(path));
        lock (OpenTurn)
        {
            SqliteConnection.ClearPool(pooled);
        }
    }
}
