using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;
using NpgsqlTypes;

namespace Runchat.Relay;

/// <summary>
/// The shared store: any number of relay instances on one PostgreSQL database. Every statement that
/// changes a delivery is in this file.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Dedupe is the unique index on (route, dedupe_key): <c>INSERT … ON CONFLICT DO NOTHING</c>, never a check-then-insert.
/// New deliveries are group-committed: all those waiting at the moment in one statement and one commit.</item>
/// <item>Claims are leases (<c>claimed_by</c>, <c>lease_until</c>), handed out with <c>FOR UPDATE SKIP LOCKED</c>,
/// so two instances never claim one delivery and never wait for each other's claims.</item>
/// <item>The limits are global: a send starts in one transaction that takes an advisory lock and counts
/// <c>sending</c> rows in the table itself and the last minute's starts in <c>runchat_relay_starts</c> (per
/// second), so all instances together stay within <c>MaxConcurrentRuns</c> and <c>MaxRunsPerMinute</c>.</item>
/// <item>The schema is created on first use, in one transaction under an advisory lock, so instances that
/// start together create it once. <c>runchat_relay_schema</c> keeps its version for later migrations.</item>
/// </list>
/// Times are Unix milliseconds from the relays' clocks, as in the SQLite store.
/// </remarks>
internal sealed class PostgresDeliveryStore : IDeliveryStore, IDeliveryNotifications, IDisposable, IAsyncDisposable
{
    /// <summary>The channel new deliveries are announced on (NOTIFY at the ingest commit).</summary>
    private const string Channel = "runchat_relay_deliveries";

    private const string Table = "runchat_relay_deliveries";

    /// <summary>Starts per second, for MaxRunsPerMinute (StartsPerSecond in DeliveryTransitions.cs).</summary>
    private const string StartsTable = "runchat_relay_starts";

    // pg_advisory_xact_lock keys: one for creating the schema, one for starting a send (the limits).
    private const long SchemaLock = 0x52756e636861_01;
    private const long SendLock = 0x52756e636861_02;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS runchat_relay_schema (version integer NOT NULL);
        CREATE TABLE IF NOT EXISTS runchat_relay_deliveries (
            id              text    PRIMARY KEY,
            route           text    NOT NULL,
            job_id          text    NOT NULL,
            dedupe_key      text    NOT NULL,
            body            bytea   NOT NULL,
            state           text    NOT NULL,
            attempts        integer NOT NULL DEFAULT 0,
            received_at     bigint  NOT NULL,
            updated_at      bigint  NOT NULL,
            next_attempt_at bigint  NOT NULL,
            last_sent_at    bigint  NULL,
            claimed_by      text    NULL,
            lease_until     bigint  NULL,
            last_error      text    NULL,
            run_status      text    NULL,
            final_reply     text    NULL,
            trace_parent    text    NULL,
            sender_trace    text    NULL,
            sender_id       text    NULL,
            replayed_at     bigint  NULL,
            event_name      text    NULL,
            flow_id         text    NULL
        );
        ALTER TABLE runchat_relay_deliveries ADD COLUMN IF NOT EXISTS sender_id text NULL;
        ALTER TABLE runchat_relay_deliveries ADD COLUMN IF NOT EXISTS replayed_at bigint NULL;
        ALTER TABLE runchat_relay_deliveries ADD COLUMN IF NOT EXISTS event_name text NULL;
        ALTER TABLE runchat_relay_deliveries ADD COLUMN IF NOT EXISTS flow_id text NULL;
        CREATE UNIQUE INDEX IF NOT EXISTS ux_runchat_relay_route_dedupe ON runchat_relay_deliveries (route, dedupe_key);
        CREATE INDEX IF NOT EXISTS ix_runchat_relay_due ON runchat_relay_deliveries (next_attempt_at, received_at) WHERE state = 'pending';
        CREATE INDEX IF NOT EXISTS ix_runchat_relay_sending ON runchat_relay_deliveries (lease_until) WHERE state = 'sending';
        CREATE INDEX IF NOT EXISTS ix_runchat_relay_claimed ON runchat_relay_deliveries (claimed_by) WHERE claimed_by IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_runchat_relay_last_sent ON runchat_relay_deliveries (last_sent_at) WHERE last_sent_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_runchat_relay_received ON runchat_relay_deliveries (received_at, id);
        CREATE INDEX IF NOT EXISTS ix_runchat_relay_state_received ON runchat_relay_deliveries (state, received_at, id);
        CREATE INDEX IF NOT EXISTS ix_runchat_relay_state ON runchat_relay_deliveries (state, received_at);
        CREATE TABLE IF NOT EXISTS runchat_relay_starts (second bigint PRIMARY KEY, starts integer NOT NULL);
        INSERT INTO runchat_relay_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM runchat_relay_schema);
        """;

    private static readonly string ReconcileStarts =
        StartsPerSecond.Reconcile(StartsTable, Table, "(extract(epoch FROM now()) * 1000)::bigint", "GREATEST") + ";";

    /// <summary>How many deliveries one commit may carry (group commit: one statement and one commit for all of them).</summary>
    private const int MaxBatch = 256;

    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _listenSource;
    private readonly SchemaOnce _schema = new();
    private readonly GroupCommit _adds;

    public PostgresDeliveryStore(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "runchat-relay";
        }

        // The relay sets no session state (no SET, no session locks, no temporary tables, no prepared
        // statements), so a pooled connection needs no DISCARD ALL when it is returned: that was two
        // statements per delivery (the cost benchmark). LISTEN holds a connection of its own, never pooled.
        _listenSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false });
        builder.NoResetOnClose = true;
        _dataSource = NpgsqlDataSource.Create(builder);
        _adds = new GroupCommit(InsertAsync, MaxBatch, nameof(PostgresDeliveryStore));
    }

    /// <summary>Whether <paramref name="connectionString"/> is one Npgsql accepts; the error never repeats a value from it.</summary>
    public static bool TryValidate(string connectionString, out string? error)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            if (string.IsNullOrEmpty(builder.Host))
            {
                error = "the PostgreSQL connection string needs a Host, such as postgres:Host=db;Database=relay;Username=relay.";
                return false;
            }

            error = null;
            return true;
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // Named by its keyword only: a value (a password) is never echoed.
            const string Prefix = "Couldn't set ";
            var message = exception is ArgumentException argument ? Messages.WithoutParameter(argument) : exception.Message;
            var keyword = message.StartsWith(Prefix, StringComparison.Ordinal) ? message.Substring(Prefix.Length).TrimEnd('.') : null;
            var badValue = exception is not ArgumentException || exception.InnerException is FormatException or InvalidCastException or OverflowException;
            error = "the PostgreSQL connection string is not one Npgsql accepts: " + (keyword, badValue) switch
            {
                (null, _) => "it does not parse as Keyword=value;Keyword=value.",
                (_, true) => $"the value of {keyword} has the wrong format.",
                // The keyword as typed is not repeated either: with a ';' inside a password
                // (Password=Tr0ub4dor;S3cretTail=x), the "keyword" is the password's tail.
                _ => "it has a setting Npgsql does not know: a misspelled keyword, or a ';' inside a value such as a password (put such a value in double quotes). " +
                     "The settings are listed at https://www.npgsql.org/doc/connection-string-parameters.html.",
            };
            return false;
        }
    }

    /// <summary>The connection string for display: the password replaced by <c>***</c>.</summary>
    public static string Redact(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            if (builder.Password is not null)
            {
                builder.Password = "***";
            }

            return builder.ToString();
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            return "(a connection string Npgsql does not accept)";
        }
    }

    public void Dispose()
    {
        _adds.Complete();
        _dataSource.Dispose();
        _listenSource.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        _adds.Complete();
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await _listenSource.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Group-committed (GroupCommit.cs): the task completes once the row is durable.</summary>
    public Task<AddResult> AddAsync(NewDelivery delivery, CancellationToken cancellationToken) =>
        _adds.AddAsync(delivery, cancellationToken);

    /// <summary>
    /// Inserts the batch in one statement and one transaction, and finds the delivery that holds each
    /// (route, dedupe key): the one just inserted, or the one stored before (by any instance).
    /// </summary>
    private async Task<AddResult[]> InsertAsync(IReadOnlyList<NewDelivery> batch)
    {
        // In (route, dedupe key) order: two instances inserting overlapping batches take the unique
        // index's locks in the same order, so they wait for each other but never deadlock.
        // Stable: of two repeats in one batch, the first to arrive is the one stored.
        var rows = batch.OrderBy(d => d.Route, StringComparer.Ordinal).ThenBy(d => d.DedupeKey, StringComparer.Ordinal).ToList();

        await using var connection = await OpenAsync(CancellationToken.None).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        var ids = new Dictionary<(string Route, string Key), string>();
        var storedBodies = new Dictionary<(string Route, string Key), byte[]>();
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO runchat_relay_deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at, trace_parent, sender_trace, sender_id, event_name, flow_id, last_error)
            SELECT id, route, job_id, dedupe_key, body, state, 0, received_at, received_at, received_at, trace_parent, sender_trace, sender_id, event_name, flow_id, reason
            FROM unnest(@ids, @routes, @jobs, @keys, @bodies, @received, @traces, @senders, @senderIds, @events, @flows, @states, @reasons) WITH ORDINALITY
                 AS r (id, route, job_id, dedupe_key, body, received_at, trace_parent, sender_trace, sender_id, event_name, flow_id, state, reason, n)
            ORDER BY n
            ON CONFLICT (route, dedupe_key) DO NOTHING
            RETURNING route, dedupe_key, id;
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => r.Id));
            insert.Parameters.AddWithValue("routes", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => r.Route));
            insert.Parameters.AddWithValue("jobs", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => r.JobId));
            insert.Parameters.AddWithValue("keys", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => r.DedupeKey));
            insert.Parameters.AddWithValue("bodies", NpgsqlDbType.Array | NpgsqlDbType.Bytea, rows.ConvertAll(r => r.Body));
            insert.Parameters.AddWithValue("received", NpgsqlDbType.Array | NpgsqlDbType.Bigint, rows.ConvertAll(r => r.ReceivedAt.ToUnixTimeMilliseconds()));
            insert.Parameters.AddWithValue("traces", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => (object?)r.TraceParent ?? DBNull.Value));
            insert.Parameters.AddWithValue("senders", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => (object?)r.SenderTraceParent ?? DBNull.Value));
            insert.Parameters.AddWithValue("senderIds", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => (object?)r.SenderId ?? DBNull.Value));
            insert.Parameters.AddWithValue("events", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => (object?)r.Event ?? DBNull.Value));
            insert.Parameters.AddWithValue("flows", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => (object?)r.FlowId ?? DBNull.Value));
            insert.Parameters.AddWithValue("states", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => DeliveryStates.Name(r.State)));
            insert.Parameters.AddWithValue("reasons", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => (object?)r.Reason ?? DBNull.Value));
            await using var reader = await insert.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                ids[(reader.GetString(0), reader.GetString(1))] = reader.GetString(2);
            }
        }

        if (ids.Count < rows.Count)
        {
            // Refused by the unique index: repeats of a stored delivery, or of one earlier in this batch.
            // ON CONFLICT waited for any concurrent first insert to commit, and this new statement sees it.
            var missing = rows.FindAll(r => !ids.ContainsKey((r.Route, r.DedupeKey)));
            await using var existing = new NpgsqlCommand(
                """
                SELECT d.route, d.dedupe_key, d.id, d.body
                FROM runchat_relay_deliveries d
                JOIN unnest(@routes, @keys) AS m (route, dedupe_key) ON d.route = m.route AND d.dedupe_key = m.dedupe_key;
                """, connection, transaction);
            existing.Parameters.AddWithValue("routes", NpgsqlDbType.Array | NpgsqlDbType.Text, missing.ConvertAll(r => r.Route));
            existing.Parameters.AddWithValue("keys", NpgsqlDbType.Array | NpgsqlDbType.Text, missing.ConvertAll(r => r.DedupeKey));
            await using var reader = await existing.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                ids[(reader.GetString(0), reader.GetString(1))] = reader.GetString(2);
                storedBodies[(reader.GetString(0), reader.GetString(1))] = (byte[])reader.GetValue(3);
            }
        }

        if (ids.Count > 0)
        {
            // Delivered at commit, to every relay listening on this database (ListenAsync): new work wakes them.
            await using var notify = new NpgsqlCommand($"SELECT pg_notify('{Channel}', '');", connection, transaction);
            await notify.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        // Durable (synchronous_commit) when this returns; only then is any sender answered.
        await transaction.CommitAsync().ConfigureAwait(false);
        var results = new AddResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var key = (batch[i].Route, batch[i].DedupeKey);
            var id = ids[key];
            if (string.Equals(id, batch[i].Id, StringComparison.Ordinal))
            {
                results[i] = new AddResult(id, Duplicate: false);
            }
            else
            {
                // A repeat of a delivery stored before, or of one earlier in this batch.
                var stored = storedBodies.TryGetValue(key, out var body) ? body : batch.First(d => d.Id == id).Body;
                results[i] = AddResult.Existing(id, stored, batch[i].Body);
            }
        }

        return results;
    }

    public async Task<int> RecoverInterruptedAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken)
    {
        // Shared by many instances: only an expired lease says its holder is gone, at start too.
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            DeliveryTransitions.Recover.Update(Table) + ";", connection);
        command.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("error", Messages.InterruptedRun);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"""
            WITH due AS (
                SELECT id FROM {Table} WHERE {DeliveryTransitions.Claim.Where()}
                ORDER BY next_attempt_at, received_at LIMIT @max FOR UPDATE SKIP LOCKED),
            claimed AS (
                {DeliveryTransitions.Claim.Update(Table, and: "id IN (SELECT id FROM due)")}
                RETURNING id, route, job_id, body, attempts, trace_parent, sender_trace, next_attempt_at, received_at, event_name, dedupe_key, sender_id, flow_id)
            SELECT id, route, job_id, body, attempts, trace_parent, sender_trace, next_attempt_at, received_at, event_name, dedupe_key, sender_id, flow_id FROM claimed ORDER BY next_attempt_at, received_at;
            """, connection);
        command.Parameters.AddWithValue("owner", request.Owner);
        command.Parameters.AddWithValue("lease", request.LeaseUntil.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("now", request.Now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("max", request.Max);
        var claimed = new List<ClaimedDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            claimed.Add(DeliveryRows.ReadClaimed(reader));
        }

        return claimed;
    }

    public async Task<SendStart> StartSendAsync(StartRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction);

        // Sends start one at a time across all instances: the counts below are taken after the lock, so
        // they include every send committed before it (READ COMMITTED takes a snapshot per statement).
        var lockSends = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock(@lock);");
        lockSends.Parameters.AddWithValue("lock", SendLock);
        batch.BatchCommands.Add(lockSends);

        var start = new NpgsqlBatchCommand(
            $"""
            WITH limits AS (
                SELECT (SELECT COUNT(*) FROM {Table} WHERE state = 'sending') < @maxConcurrent
                   AND {StartsPerSecond.InWindow(StartsTable)} < @maxPerMinute AS ok),
            started AS (
                {DeliveryTransitions.Start.Update(Table, and: "(SELECT ok FROM limits)")}
                RETURNING attempts),
            counted AS (
                {StartsPerSecond.Count(StartsTable, "SELECT @second, 1 FROM started")}),
            pruned AS (
                {StartsPerSecond.Prune(StartsTable)})
            SELECT (SELECT attempts FROM started),
                   EXISTS (SELECT 1 FROM {Table} WHERE {DeliveryTransitions.Start.Where()});
            """);
        start.Parameters.AddWithValue("id", request.Id);
        start.Parameters.AddWithValue("owner", request.Owner);
        start.Parameters.AddWithValue("lease", request.LeaseUntil.ToUnixTimeMilliseconds());
        start.Parameters.AddWithValue("now", request.Now.ToUnixTimeMilliseconds());
        start.Parameters.AddWithValue("second", StartsPerSecond.Second(request.Now));
        start.Parameters.AddWithValue("maxConcurrent", (long)request.MaxConcurrentRuns);
        start.Parameters.AddWithValue("maxPerMinute", (long)request.MaxRunsPerMinute);
        start.Parameters.AddWithValue("message", NpgsqlDbType.Text, (object?)request.Message ?? DBNull.Value);
        batch.BatchCommands.Add(start);

        SendStart result;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            result = !reader.IsDBNull(0)
                ? new SendStart(SendStartOutcome.Started, reader.GetInt32(0))
                : new SendStart(reader.GetBoolean(1) ? SendStartOutcome.LimitReached : SendStartOutcome.Lost, 0);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public async Task RenewAsync(string owner, IReadOnlyCollection<string> ids, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            DeliveryTransitions.Renew.Update(Table, and: "id = ANY(@ids)") + ";", connection);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("lease", leaseUntil.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Text, ids.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> ReleaseAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            DeliveryTransitions.Release.Update(Table) + ";", connection);
        command.Parameters.AddWithValue("owner", owner);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task CompleteAsync(string id, string owner, RelayDeliveryState state, RunResult result, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            DeliveryTransitions.Complete.Update(Table) + ";", connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("state", DeliveryStates.Name(state));
        command.Parameters.AddWithValue("status", NpgsqlDbType.Text, (object?)result.Status ?? DBNull.Value);
        command.Parameters.AddWithValue("reply", NpgsqlDbType.Text, (object?)result.FinalReply ?? DBNull.Value);
        command.Parameters.AddWithValue("error", NpgsqlDbType.Text, (object?)result.Error ?? DBNull.Value);
        command.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task RejectAsync(string id, string owner, string error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(DeliveryTransitions.Reject.Update(Table) + ";", connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("error", error);
        command.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task RescheduleAsync(string id, string owner, DateTimeOffset nextAttemptAt, string error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            DeliveryTransitions.Reschedule.Update(Table) + ";", connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("next", nextAttemptAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("error", error);
        command.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<RelayDelivery?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT {DeliveryRows.Columns} FROM runchat_relay_deliveries WHERE id = @id;", connection);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? DeliveryRows.Read(reader) : null;
    }

    public IReadOnlyList<(RelayDeliveryState State, long Count)> CountByState()
    {
        // Observed before the store created its schema: every state is 0, and the database is not touched.
        if (!_schema.Created)
        {
            return DeliveryRows.CountByState(null, "runchat_relay_deliveries");
        }

        using var connection = _dataSource.OpenConnection();
        return DeliveryRows.CountByState(connection, "runchat_relay_deliveries");
    }

    public async Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            state is null
                ? $"SELECT {DeliveryRows.Columns} FROM runchat_relay_deliveries ORDER BY received_at DESC, id DESC;"
                : $"SELECT {DeliveryRows.Columns} FROM runchat_relay_deliveries WHERE state = @state ORDER BY received_at DESC, id DESC;",
            connection);
        if (state is not null)
        {
            command.Parameters.AddWithValue("state", DeliveryStates.Name(state.Value));
        }

        return await DeliveryRows.ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// LISTENs on its own connection and calls <paramref name="onNotified"/> for every new delivery any
    /// relay commits. When the connection drops it calls it too (a notification may have been missed),
    /// then reconnects after a second; the dispatcher's safety poll covers the gap.
    /// </summary>
    public async Task ListenAsync(Action onNotified, Action<Exception> onFailure, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _listenSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                connection.Notification += (_, _) => onNotified();
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel};", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                // Work committed while this connection was being opened was not announced to it.
                onNotified();
                while (!cancellationToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception failure)
            {
                onFailure(failure);
                onNotified();
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async Task<IReadOnlyList<RelayDelivery>> ListPageAsync(DeliveryPageQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        return await DeliveryRows.ListPageAsync(command, Table, '@', query, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeliveryOverview> OverviewAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        return await DeliveryRows.OverviewAsync(command, Table, '@', now, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetBodyAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        return await DeliveryRows.GetBodyAsync(command, Table, '@', id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<RelayDelivery?> ReplayAsync(RelayDelivery seen, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            DeliveryTransitions.Replay.Update(Table) + ";", connection);
        command.Parameters.AddWithValue("id", seen.Id);
        command.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("seenState", DeliveryStates.Name(seen.State));
        command.Parameters.AddWithValue("seenAttempts", seen.Attempts);
        command.Parameters.AddWithValue("seenUpdated", seen.UpdatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("window", (long)DeliveryRows.ReplayWindow.TotalMilliseconds);
        var changed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (changed > 0)
        {
            // A replay from another process (runchat-job relay replay) wakes the relays at once.
            await using var notify = new NpgsqlCommand($"SELECT pg_notify('{Channel}', '');", connection);
            await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return DeliveryRows.Replayed(seen, changed, await GetAsync(seen.Id, cancellationToken).ConfigureAwait(false), now);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _schema.EnsureAsync(ct => CreateSchemaAsync(connection, ct), cancellationToken).ConfigureAwait(false);

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task CreateSchemaAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // One transaction under an advisory lock: instances starting together create the schema once,
        // and nobody sees the table without its unique index.
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            await using (var lockSchema = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@lock);", connection, transaction))
            {
                lockSchema.Parameters.AddWithValue("lock", SchemaLock);
                await lockSchema.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var schema = new NpgsqlCommand(Schema, connection, transaction))
            {
                await schema.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await SchemaOnce.UpgradeAsync(connection, transaction, Table, cancellationToken).ConfigureAwait(false);

            await using (var reconcile = new NpgsqlCommand(ReconcileStarts, connection, transaction))
            {
                await reconcile.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
