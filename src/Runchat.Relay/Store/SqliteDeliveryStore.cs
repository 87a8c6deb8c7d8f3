using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;

namespace Runchat.Relay;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with <c>synchronous=FULL</c>, so a delivery is on
/// disk before the relay answers 202. Every statement that changes a delivery is in this file.
/// </summary>
/// <remarks>
/// One relay process per file: at start-up every <c>sending</c> row is taken to be left over from
/// a relay that died (several instances need a shared store with leases: PostgreSQL).
/// Uniqueness of (route, dedupe_key) is the unique index's, never a check-then-insert.
/// The limits are counted in the statement that starts a send (StartSendAsync), so a send never starts beyond them.
/// New deliveries are group-committed: one transaction (one fsync) for all that arrive together.
/// </remarks>
internal sealed class SqliteDeliveryStore : IDeliveryStore, IDisposable
{
    /// <summary>How many deliveries one commit may carry (group commit: one fsync for all of them).</summary>
    private const int MaxBatch = 256;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS runchat_relay_schema (version INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS deliveries (
            id              TEXT    PRIMARY KEY,
            route           TEXT    NOT NULL,
            job_id          TEXT    NOT NULL,
            dedupe_key      TEXT    NOT NULL,
            body            BLOB    NOT NULL,
            state           TEXT    NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            received_at     INTEGER NOT NULL,
            updated_at      INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            last_sent_at    INTEGER NULL,
            claimed_by      TEXT    NULL,
            lease_until     INTEGER NULL,
            last_error      TEXT    NULL,
            run_status      TEXT    NULL,
            final_reply     TEXT    NULL,
            trace_parent    TEXT    NULL,
            sender_trace    TEXT    NULL,
            sender_id       TEXT    NULL,
            replayed_at     INTEGER NULL,
            event_name      TEXT    NULL,
            flow_id         TEXT    NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS ux_deliveries_route_dedupe ON deliveries (route, dedupe_key);
        CREATE INDEX IF NOT EXISTS ix_deliveries_due ON deliveries (state, next_attempt_at);
        CREATE INDEX IF NOT EXISTS ix_deliveries_last_sent ON deliveries (last_sent_at);
        CREATE INDEX IF NOT EXISTS ix_deliveries_received ON deliveries (received_at, id);
        CREATE INDEX IF NOT EXISTS ix_deliveries_state_received ON deliveries (state, received_at, id);
        CREATE TABLE IF NOT EXISTS starts (second INTEGER PRIMARY KEY, starts INTEGER NOT NULL);
        INSERT INTO runchat_relay_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM runchat_relay_schema);
        """;

    private static readonly string ReconcileStarts =
        StartsPerSecond.Reconcile("starts", "deliveries", "(CAST(strftime('%s', 'now') AS INTEGER) * 1000)", "MAX") + ";";

    private readonly string _connectionString;
    private readonly SchemaOnce _schema = new();

    // SQLite has one writer at a time; taking turns here, rather than in SQLite's busy handler
    // (which sleeps), keeps the p99 of an ingest near one commit.
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly GroupCommit _adds;

    public SqliteDeliveryStore(string path)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 30 }.ToString();
        _adds = new GroupCommit(InsertAsync, MaxBatch, nameof(SqliteDeliveryStore));
    }

    public void Dispose() => _adds.Complete();

    /// <summary>Group-committed (GroupCommit.cs): the task completes once the row is durable.</summary>
    public Task<AddResult> AddAsync(NewDelivery delivery, CancellationToken cancellationToken) =>
        _adds.AddAsync(delivery, cancellationToken);

    private async Task<AddResult[]> InsertAsync(IReadOnlyList<NewDelivery> batch)
    {
        await using var connection = await OpenAsync(CancellationToken.None).ConfigureAwait(false);
        await _write.WaitAsync().ConfigureAwait(false);
        try
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync().ConfigureAwait(false);
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at, trace_parent, sender_trace, sender_id, event_name, flow_id, last_error)
                VALUES ($id, $route, $job, $key, $body, $state, 0, $now, $now, $now, $trace, $sender, $senderId, $event, $flow, $reason)
                ON CONFLICT (route, dedupe_key) DO NOTHING
                RETURNING id;
                """;
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var route = insert.Parameters.Add("$route", SqliteType.Text);
            var job = insert.Parameters.Add("$job", SqliteType.Text);
            var key = insert.Parameters.Add("$key", SqliteType.Text);
            var body = insert.Parameters.Add("$body", SqliteType.Blob);
            var now = insert.Parameters.Add("$now", SqliteType.Integer);
            var trace = insert.Parameters.Add("$trace", SqliteType.Text);
            var sender = insert.Parameters.Add("$sender", SqliteType.Text);
            var senderId = insert.Parameters.Add("$senderId", SqliteType.Text);
            var eventName = insert.Parameters.Add("$event", SqliteType.Text);
            var flow = insert.Parameters.Add("$flow", SqliteType.Text);
            var state = insert.Parameters.Add("$state", SqliteType.Text);
            var reason = insert.Parameters.Add("$reason", SqliteType.Text);
            await using var existing = connection.CreateCommand();
            existing.Transaction = transaction;
            existing.CommandText = "SELECT id, body FROM deliveries WHERE route = $route AND dedupe_key = $key;";
            var existingRoute = existing.Parameters.Add("$route", SqliteType.Text);
            var existingKey = existing.Parameters.Add("$key", SqliteType.Text);

            var results = new AddResult[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var delivery = batch[i];
                id.Value = delivery.Id;
                route.Value = delivery.Route;
                job.Value = delivery.JobId;
                key.Value = delivery.DedupeKey;
                body.Value = delivery.Body;
                now.Value = delivery.ReceivedAt.ToUnixTimeMilliseconds();
                trace.Value = (object?)delivery.TraceParent ?? DBNull.Value;
                sender.Value = (object?)delivery.SenderTraceParent ?? DBNull.Value;
                senderId.Value = (object?)delivery.SenderId ?? DBNull.Value;
                eventName.Value = (object?)delivery.Event ?? DBNull.Value;
                flow.Value = (object?)delivery.FlowId ?? DBNull.Value;
                state.Value = DeliveryStates.Name(delivery.State);
                reason.Value = (object?)delivery.Reason ?? DBNull.Value;
                if (await insert.ExecuteScalarAsync().ConfigureAwait(false) is string inserted)
                {
                    results[i] = new AddResult(inserted, Duplicate: false);
                    continue;
                }

                // The unique index refused it: a repeat, of an earlier delivery or of one in this batch.
                existingRoute.Value = delivery.Route;
                existingKey.Value = delivery.DedupeKey;
                await using (var found = await existing.ExecuteReaderAsync().ConfigureAwait(false))
                {
                    await found.ReadAsync().ConfigureAwait(false);
                    results[i] = AddResult.Existing(found.GetString(0), (byte[])found.GetValue(1), delivery.Body);
                }
            }

            await transaction.CommitAsync().ConfigureAwait(false);
            return results;
        }
        finally
        {
            _write.Release();
        }
    }

    public async Task<int> RecoverInterruptedAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // At start every 'sending' row is a dead process's: one relay process per file.
        command.CommandText = (atStart ? DeliveryTransitions.RecoverAll : DeliveryTransitions.Recover).Update("deliveries", '$') + ";";
        command.Parameters.AddWithValue("$error", Messages.InterruptedRun);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await using var release = connection.CreateCommand();
        // ... and its unsent claims are free at once, not after their lease.
        release.CommandText = DeliveryTransitions.ReleaseAll.Update("deliveries", '$') + ";";
        return await LockedAsync(async () =>
        {
            var recovered = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (atStart)
            {
                await release.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return recovered;
        }).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var claim = DeliveryTransitions.Claim;
        command.CommandText = claim.Update("deliveries", '$', and: $"id IN (SELECT id FROM deliveries WHERE {claim.Where('$')} ORDER BY next_attempt_at, received_at LIMIT $max)") +
            " RETURNING id, route, job_id, body, attempts, trace_parent, sender_trace, next_attempt_at, received_at, event_name, dedupe_key, sender_id, flow_id;";
        command.Parameters.AddWithValue("$owner", request.Owner);
        command.Parameters.AddWithValue("$lease", request.LeaseUntil.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$now", request.Now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$max", request.Max);
        var claimed = await LockedAsync(async () =>
        {
            var rows = new List<(ClaimedDelivery Delivery, long Due, long Received)>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add((DeliveryRows.ReadClaimed(reader), reader.GetInt64(7), reader.GetInt64(8)));
            }

            return rows;
        }).ConfigureAwait(false);

        // RETURNING gives no order: oldest due first, as claimed.
        claimed.Sort(static (x, y) => x.Due != y.Due ? x.Due.CompareTo(y.Due) : x.Received.CompareTo(y.Received));
        return claimed.ConvertAll(static row => row.Delivery);
    }

    public async Task<SendStart> StartSendAsync(StartRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // The limits are counted under the same write lock, and in the same transaction, that starts the send and counts it.
        command.CommandText = DeliveryTransitions.Start.Update("deliveries", '$',
            and: $"(SELECT COUNT(*) FROM deliveries WHERE state = 'sending') < $maxConcurrent AND {StartsPerSecond.InWindow("starts", '$')} < $maxPerMinute") +
            " RETURNING attempts;";
        command.Parameters.AddWithValue("$id", request.Id);
        command.Parameters.AddWithValue("$owner", request.Owner);
        command.Parameters.AddWithValue("$lease", request.LeaseUntil.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$now", request.Now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$second", StartsPerSecond.Second(request.Now));
        command.Parameters.AddWithValue("$maxConcurrent", request.MaxConcurrentRuns);
        command.Parameters.AddWithValue("$maxPerMinute", request.MaxRunsPerMinute);
        command.Parameters.AddWithValue("$message", (object?)request.Message ?? DBNull.Value);
        await using var counted = connection.CreateCommand();
        counted.CommandText = StartsPerSecond.Count("starts", "VALUES ($second, 1)") + "; " + StartsPerSecond.Prune("starts", '$') + ";";
        counted.Parameters.AddWithValue("$second", StartsPerSecond.Second(request.Now));
        await using var held = connection.CreateCommand();
        held.CommandText = $"SELECT COUNT(*) FROM deliveries WHERE {DeliveryTransitions.Start.Where('$')};";
        held.Parameters.AddWithValue("$id", request.Id);
        held.Parameters.AddWithValue("$owner", request.Owner);
        return await LockedAsync(async () =>
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            command.Transaction = transaction;
            counted.Transaction = transaction;
            held.Transaction = transaction;
            SendStart result;
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long attempts)
            {
                await counted.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                result = new SendStart(SendStartOutcome.Started, (int)attempts);
            }
            else
            {
                var stillHeld = (long)(await held.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0;
                result = new SendStart(stillHeld ? SendStartOutcome.LimitReached : SendStartOutcome.Lost, 0);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }).ConfigureAwait(false);
    }

    public async Task RenewAsync(string owner, IReadOnlyCollection<string> ids, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = DeliveryTransitions.Renew.Update("deliveries", '$', and: "id IN (SELECT value FROM json_each($ids))") + ";";
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$lease", leaseUntil.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$ids", System.Text.Json.JsonSerializer.Serialize(ids));
        await LockedAsync(() => command.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
    }

    public async Task<int> ReleaseAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = DeliveryTransitions.Release.Update("deliveries", '$') + ";";
        command.Parameters.AddWithValue("$owner", owner);
        return await LockedAsync(() => command.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
    }

    public async Task CompleteAsync(string id, string owner, RelayDeliveryState state, RunResult result, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = DeliveryTransitions.Complete.Update("deliveries", '$') + ";";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$state", DeliveryStates.Name(state));
        command.Parameters.AddWithValue("$status", (object?)result.Status ?? DBNull.Value);
        command.Parameters.AddWithValue("$reply", (object?)result.FinalReply ?? DBNull.Value);
        command.Parameters.AddWithValue("$error", (object?)result.Error ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await LockedAsync(() => command.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
    }

    public async Task RejectAsync(string id, string owner, string error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = DeliveryTransitions.Reject.Update("deliveries", '$') + ";";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$error", error);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await LockedAsync(() => command.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
    }

    public async Task RescheduleAsync(string id, string owner, DateTimeOffset nextAttemptAt, string error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = DeliveryTransitions.Reschedule.Update("deliveries", '$') + ";";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$next", nextAttemptAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$error", error);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await LockedAsync(() => command.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
    }

    public async Task<RelayDelivery?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {DeliveryRows.Columns} FROM deliveries WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? DeliveryRows.Read(reader) : null;
    }

    public IReadOnlyList<(RelayDeliveryState State, long Count)> CountByState()
    {
        // Observed before the store created its schema: every state is 0, and the file is not touched.
        if (!_schema.Created)
        {
            return DeliveryRows.CountByState(null, "deliveries");
        }

        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return DeliveryRows.CountByState(connection, "deliveries");
    }

    public async Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = state is null
            ? $"SELECT {DeliveryRows.Columns} FROM deliveries ORDER BY received_at DESC, id DESC;"
            : $"SELECT {DeliveryRows.Columns} FROM deliveries WHERE state = $state ORDER BY received_at DESC, id DESC;";
        if (state is not null)
        {
            command.Parameters.AddWithValue("$state", DeliveryStates.Name(state.Value));
        }

        return await DeliveryRows.ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RelayDelivery>> ListPageAsync(DeliveryPageQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        return await DeliveryRows.ListPageAsync(command, "deliveries", '$', query, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeliveryOverview> OverviewAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        return await DeliveryRows.OverviewAsync(command, "deliveries", '$', now, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetBodyAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        return await DeliveryRows.GetBodyAsync(command, "deliveries", '$', id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<RelayDelivery?> ReplayAsync(RelayDelivery seen, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = DeliveryTransitions.Replay.Update("deliveries", '$') + ";";
        command.Parameters.AddWithValue("$id", seen.Id);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$seenState", DeliveryStates.Name(seen.State));
        command.Parameters.AddWithValue("$seenAttempts", seen.Attempts);
        command.Parameters.AddWithValue("$seenUpdated", seen.UpdatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$window", (long)DeliveryRows.ReplayWindow.TotalMilliseconds);
        var changed = await LockedAsync(() => command.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
        return DeliveryRows.Replayed(seen, changed, await GetAsync(seen.Id, cancellationToken).ConfigureAwait(false), now);
    }

    private async Task<T> LockedAsync<T>(Func<Task<T>> write)
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

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

            // Before any statement on this connection: a connection that read the schema while another
            // was creating it could keep a stale copy (a table without its unique index).
            await _schema.EnsureAsync(ct => CreateSchemaAsync(connection, ct), cancellationToken).ConfigureAwait(false);

            await using (var pragma = connection.CreateCommand())
            {
                // FULL: a commit is on disk (WAL fsync) before the relay answers 202.
                pragma.CommandText = "PRAGMA synchronous = FULL;";
                await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task CreateSchemaAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // One transaction: nobody ever sees the table without its unique index.
        await using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        await using (var schema = connection.CreateCommand())
        {
            schema.Transaction = transaction;
            schema.CommandText = Schema;
            await schema.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

            // A store of an earlier version of this schema lacks the later nullable columns, which
            // earlier relays ignore, so the schema version stays.
            foreach (var (column, type) in new[] { ("sender_id", "TEXT"), ("replayed_at", "INTEGER"), ("event_name", "TEXT"), ("flow_id", "TEXT") })
            {
                schema.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('deliveries') WHERE name = '{column}';";
                if (Convert.ToInt64(await schema.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 0)
                {
                    schema.CommandText = $"ALTER TABLE deliveries ADD COLUMN {column} {type} NULL;";
                    await schema.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            await SchemaOnce.UpgradeAsync(connection, transaction, "deliveries", cancellationToken).ConfigureAwait(false);

            schema.CommandText = ReconcileStarts;
            await schema.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
