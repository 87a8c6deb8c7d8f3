using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;
using NpgsqlTypes;

namespace Runchat.Relay;

/// <summary>
/// The shared store: any number of relay instances on one PostgreSQL database.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A batch of new deliveries is one <c>INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING</c>; a NOTIFY at its
/// commit wakes every relay listening.</item>
/// <item>Claims are handed out with <c>FOR UPDATE SKIP LOCKED</c>: two instances never claim one delivery and never wait for each other's claims.</item>
/// <item>The limits are global: a send starts in one transaction that takes an advisory lock and counts <c>sending</c>
/// rows and the last minute's starts, so all instances together stay within <c>MaxConcurrentRuns</c> and <c>MaxRunsPerMinute</c>.</item>
/// <item>The schema is created and upgraded under an advisory lock, so instances that start together do it once.</item>
/// </list>
/// </remarks>
internal sealed class PostgresDialect : SqlDialect, IDeliveryNotifications
{
    /// <summary>The channel new deliveries are announced on.</summary>
    private const string Channel = "runchat_relay_deliveries";

    // pg_advisory_xact_lock keys: one for creating the schema, one for starting a send (the limits).
    private const long SchemaLock = 0x52756e636861_01;
    private const long SendLock = 0x52756e636861_02;
    private const long RetentionLock = 0x52756e636861_03;

    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _listenSource;
    private readonly string _display;

    public PostgresDialect(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "runchat-relay";
        }

        // The relay sets no session state (no SET, no session locks, no temporary tables, no prepared statements), so
        // a pooled connection needs no DISCARD ALL when it is returned. LISTEN holds a connection of its own, never pooled.
        _listenSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false });
        builder.NoResetOnClose = true;
        _dataSource = NpgsqlDataSource.Create(builder);
        _display = "postgres:" + Redact(connectionString);
    }

    public override string Kind => "postgres";

    public override char Prefix => '@';

    public override string Deliveries => "runchat_relay_deliveries";

    public override string Starts => "runchat_relay_starts";

    public override bool SingleProcess => false;

    public override string BigInt => "bigint";

    public override string Text => "text";

    public override string Bytes => "bytea";

    public override string Greatest => "GREATEST";

    public override string NowMilliseconds => "(extract(epoch FROM now()) * 1000)::bigint";

    public override string Display => _display;

    public override IDeliveryNotifications Notifications => this;

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

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public override async Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@lock);", (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        command.Parameters.AddWithValue("lock", SchemaLock);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public override IEnumerable<string> BaseIndexes() => new[]
    {
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_runchat_relay_route_dedupe ON runchat_relay_deliveries (route, dedupe_key)",
        "CREATE INDEX IF NOT EXISTS ix_runchat_relay_due ON runchat_relay_deliveries (next_attempt_at, received_at) WHERE state = 'pending'",
        "CREATE INDEX IF NOT EXISTS ix_runchat_relay_sending ON runchat_relay_deliveries (lease_until) WHERE state = 'sending'",
        "CREATE INDEX IF NOT EXISTS ix_runchat_relay_claimed ON runchat_relay_deliveries (claimed_by) WHERE claimed_by IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS ix_runchat_relay_last_sent ON runchat_relay_deliveries (last_sent_at) WHERE last_sent_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS ix_runchat_relay_received ON runchat_relay_deliveries (received_at, id)",
        "CREATE INDEX IF NOT EXISTS ix_runchat_relay_state_received ON runchat_relay_deliveries (state, received_at, id)",
        "CREATE INDEX IF NOT EXISTS ix_runchat_relay_state ON runchat_relay_deliveries (state, received_at)",
    };

    public override async Task AddColumnAsync(DbConnection connection, DbTransaction transaction, string table, string column, string type, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {type} NULL;", (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public override string IdIn(string parameter) => $"id = ANY({parameter})";

    public override void AddIds(DbCommand command, string parameter, IReadOnlyCollection<string> ids) =>
        ((NpgsqlCommand)command).Parameters.AddWithValue(parameter.TrimStart('@'), NpgsqlDbType.Array | NpgsqlDbType.Text, ids.ToArray());

    public override async Task<IReadOnlyDictionary<(string Route, string Key), (string Id, byte[] Body)>> InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<NewDelivery> batch)
    {
        // In (route, dedupe key) order: two instances inserting overlapping batches take the unique index's locks in
        // the same order, so they wait for each other but never deadlock. Stable: of two repeats in one batch, the
        // first to arrive is the one stored.
        var rows = batch.OrderBy(d => d.Route, StringComparer.Ordinal).ThenBy(d => d.DedupeKey, StringComparer.Ordinal).ToList();
        var held = new Dictionary<(string, string), (string, byte[])>();
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO runchat_relay_deliveries (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at, trace_parent, sender_trace, sender_id, event_name, flow_id, last_error, source)
            SELECT id, route, job_id, dedupe_key, body, state, 0, received_at, received_at, received_at, trace_parent, sender_trace, sender_id, event_name, flow_id, reason, source
            FROM unnest(@ids, @routes, @jobs, @keys, @bodies, @received, @traces, @senders, @senderIds, @events, @flows, @states, @reasons, @sources) WITH ORDINALITY
                 AS r (id, route, job_id, dedupe_key, body, received_at, trace_parent, sender_trace, sender_id, event_name, flow_id, state, reason, source, n)
            ORDER BY n
            ON CONFLICT (route, dedupe_key) DO NOTHING
            RETURNING route, dedupe_key, id, body;
            """, (NpgsqlConnection)connection, (NpgsqlTransaction)transaction))
        {
            void Text(string name, Func<NewDelivery, string?> value) =>
                insert.Parameters.AddWithValue(name, NpgsqlDbType.Array | NpgsqlDbType.Text, rows.ConvertAll(r => (object?)value(r) ?? DBNull.Value));

            Text("ids", r => r.Id);
            Text("routes", r => r.Route);
            Text("jobs", r => r.JobId);
            Text("keys", r => r.DedupeKey);
            insert.Parameters.AddWithValue("bodies", NpgsqlDbType.Array | NpgsqlDbType.Bytea, rows.ConvertAll(r => r.Body));
            insert.Parameters.AddWithValue("received", NpgsqlDbType.Array | NpgsqlDbType.Bigint, rows.ConvertAll(r => r.ReceivedAt.ToUnixTimeMilliseconds()));
            Text("traces", r => r.TraceParent);
            Text("senders", r => r.SenderTraceParent);
            Text("senderIds", r => r.SenderId);
            Text("events", r => r.Event);
            Text("flows", r => r.FlowId);
            Text("states", r => DeliveryStates.Name(r.State));
            Text("reasons", r => r.Reason);
            Text("sources", r => r.Source);
            await using var reader = await insert.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                held[(reader.GetString(0), reader.GetString(1))] = (reader.GetString(2), (byte[])reader.GetValue(3));
            }
        }

        if (held.Count < rows.Count)
        {
            // Refused by the unique index: repeats of a stored delivery, or of one earlier in this batch. ON CONFLICT
            // waited for any concurrent first insert to commit, and this new statement sees it.
            var missing = rows.FindAll(r => !held.ContainsKey((r.Route, r.DedupeKey)));
            await using var existing = new NpgsqlCommand(
                """
                SELECT d.route, d.dedupe_key, d.id, d.body
                FROM runchat_relay_deliveries d
                JOIN unnest(@routes, @keys) AS m (route, dedupe_key) ON d.route = m.route AND d.dedupe_key = m.dedupe_key;
                """, (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
            existing.Parameters.AddWithValue("routes", NpgsqlDbType.Array | NpgsqlDbType.Text, missing.ConvertAll(r => r.Route));
            existing.Parameters.AddWithValue("keys", NpgsqlDbType.Array | NpgsqlDbType.Text, missing.ConvertAll(r => r.DedupeKey));
            await using var reader = await existing.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                held[(reader.GetString(0), reader.GetString(1))] = (reader.GetString(2), (byte[])reader.GetValue(3));
            }
        }

        return held;
    }

    public override string BodyContains(string parameter) => $"position({parameter}::bytea in body) > 0";

    public override string ClaimSql() => $"""
        WITH due AS (
            SELECT id FROM runchat_relay_deliveries WHERE {DeliveryTransitions.Claim.Where()}
            ORDER BY next_attempt_at, received_at LIMIT @max FOR UPDATE SKIP LOCKED),
        claimed AS (
            {DeliveryTransitions.Claim.Update(Deliveries, and: "id IN (SELECT id FROM due)")}
            RETURNING {DeliveryRows.ClaimedColumns})
        SELECT {DeliveryRows.ClaimedColumns} FROM claimed ORDER BY next_attempt_at, received_at;
        """;

    public override string ClaimRepliesSql() => ReplyTransitions.Sql($$"""
        WITH due AS (
            SELECT id FROM {0} WHERE {{ReplyTransitions.Due}} ORDER BY reply_next_at LIMIT @max FOR UPDATE SKIP LOCKED)
        UPDATE {0} SET {{ReplyTransitions.Claim}} WHERE id IN (SELECT id FROM due) RETURNING {{ReplyTransitions.ClaimedColumns}}
        """, Deliveries, '@');

    public override async Task<SendStart> StartSendAsync(DbConnection connection, StartRequest request, MinuteCount sent, CancellationToken cancellationToken)
    {
        var npgsql = (NpgsqlConnection)connection;
        await using var transaction = await npgsql.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(npgsql, transaction);

        // Sends start one at a time across all instances: the counts below are taken after the lock, so they include
        // every send committed before it (READ COMMITTED takes a snapshot per statement).
        var lockSends = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock(@lock);");
        lockSends.Parameters.AddWithValue("lock", SendLock);
        batch.BatchCommands.Add(lockSends);

        var start = new NpgsqlBatchCommand(
            $"""
            WITH limits AS (
                SELECT (SELECT COUNT(*) FROM {Deliveries} WHERE state = 'sending') < @maxConcurrent
                   AND {StartsPerSecond.InWindow(Starts)} < @maxPerMinute AS ok),
            started AS (
                {DeliveryTransitions.Start.Update(Deliveries, and: "(SELECT ok FROM limits)")}
                RETURNING attempts, route),
            counted AS (
                {StartsPerSecond.Count(Starts, "SELECT @second, 1 FROM started")}),
            pruned AS (
                {StartsPerSecond.Prune(Starts)}),
            sent AS (
                {MinuteCount.Upsert(Minutes, "SELECT @minute, route, @outcome, @instance, 1 FROM started")})
            SELECT (SELECT attempts FROM started),
                   EXISTS (SELECT 1 FROM {Deliveries} WHERE {DeliveryTransitions.Start.Where()});
            """);
        start.Parameters.AddWithValue("id", request.Id);
        start.Parameters.AddWithValue("owner", request.Owner);
        start.Parameters.AddWithValue("lease", request.LeaseUntil.ToUnixTimeMilliseconds());
        start.Parameters.AddWithValue("now", request.Now.ToUnixTimeMilliseconds());
        start.Parameters.AddWithValue("second", StartsPerSecond.Second(request.Now));
        start.Parameters.AddWithValue("maxConcurrent", (long)request.MaxConcurrentRuns);
        start.Parameters.AddWithValue("maxPerMinute", (long)request.MaxRunsPerMinute);
        start.Parameters.AddWithValue("message", NpgsqlDbType.Text, (object?)request.Message ?? DBNull.Value);
        start.Parameters.AddWithValue("minute", sent.Minute);
        start.Parameters.AddWithValue("outcome", sent.Outcome);
        start.Parameters.AddWithValue("instance", sent.Instance);
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

    public override async Task<bool> TryLockRetentionAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        // Released at the batch's commit: relays sharing the database take turns, none waits.
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock(@lock);", (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        command.Parameters.AddWithValue("lock", RetentionLock);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public override async Task NotifyAsync(DbConnection connection, DbTransaction? transaction)
    {
        // Delivered at commit, to every relay listening on this database (ListenAsync): new work wakes them.
        await using var notify = new NpgsqlCommand($"SELECT pg_notify('{Channel}', '');", (NpgsqlConnection)connection, (NpgsqlTransaction?)transaction);
        await notify.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// LISTENs on its own connection and calls <paramref name="onNotified"/> for every new delivery any relay commits.
    /// When the connection drops it calls it too (a notification may have been missed), then reconnects after a
    /// second; the dispatcher's safety poll covers the gap.
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

    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await _listenSource.DisposeAsync().ConfigureAwait(false);
    }
}
