using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// The relay's store, written once over ADO.NET: every statement that changes a delivery is a transition of
/// <see cref="DeliveryTransitions"/>, every read is here, and what one database does its own way is its
/// <see cref="SqlDialect"/>'s (SQLite, PostgreSQL).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>New deliveries are group-committed (<see cref="GroupCommit"/>): one transaction for all that arrive together.
/// Uniqueness of (route, dedupe key) is the unique index's, never a check-then-insert.</item>
/// <item>Each counted transition adds to the per-minute counters in its own transaction, per instance (no two
/// relays write one counter row): received, ignored and failed at ingest, sent at a start, and each outcome.</item>
/// <item>The schema is created or upgraded once per process (<see cref="StoreSchema"/>).</item>
/// </list>
/// Times are Unix milliseconds from the relays' clocks.
/// </remarks>
internal sealed partial class SqlDeliveryStore : IDeliveryStore, IDeliveryNotifications, IDisposable, IAsyncDisposable
{
    /// <summary>How many deliveries one commit may carry.</summary>
    private const int MaxBatch = 256;

    /// <summary>How far <see cref="CountByState"/> counts pending, sending and unknown: a count at it means at least that many.</summary>
    public const int CountCap = 100_000;

    /// <summary>How far it counts succeeded, failed and ignored, which only grow: a count at it means at least that many.</summary>
    public const int FinishedCountCap = 10_000;

    /// <summary>Where <see cref="CountByState"/> stops counting <paramref name="state"/>.</summary>
    public static int CapOf(RelayDeliveryState state) => state is RelayDeliveryState.Pending or RelayDeliveryState.Sending or RelayDeliveryState.Unknown ? CountCap : FinishedCountCap;

    /// <summary>How long the per-minute counters are kept.</summary>
    public static readonly TimeSpan MinutesKept = TimeSpan.FromDays(8);

    private readonly SqlDialect _dialect;
    private readonly StoreSchema _schema = new();
    private readonly GroupCommit _adds;
    private readonly string _table;
    private readonly char _p;

    // This process's name in the counters: relays sharing a store never write one counter row.
    private readonly string _instance = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    public SqlDeliveryStore(SqlDialect dialect)
    {
        _dialect = dialect;
        _table = dialect.Deliveries;
        _p = dialect.Prefix;
        _adds = new GroupCommit(InsertAsync, MaxBatch, dialect.Kind + " store");
    }

    /// <summary>A store on a SQLite file.</summary>
    public static SqlDeliveryStore Sqlite(string path) => new(new SqliteDialect(path));

    /// <summary>The database's kind and location, for messages.</summary>
    public string Display => _dialect.Display;

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        _adds.Complete();
        await _dialect.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Group-committed: the task completes once the row is durable.</summary>
    public Task<AddResult> AddAsync(NewDelivery delivery, CancellationToken cancellationToken) => _adds.AddAsync(delivery, cancellationToken);

    private async Task<AddResult[]> InsertAsync(IReadOnlyList<NewDelivery> batch)
    {
        await using var connection = await OpenAsync(CancellationToken.None).ConfigureAwait(false);
        return await _dialect.WriteAsync(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
            var held = await _dialect.InsertAsync(connection, transaction, batch).ConfigureAwait(false);
            var results = new AddResult[batch.Count];
            var counted = new Dictionary<(long, string, string), long>();
            for (var i = 0; i < batch.Count; i++)
            {
                var delivery = batch[i];
                var (id, body) = held[(delivery.Route, delivery.DedupeKey)];
                results[i] = id == delivery.Id ? new AddResult(id, Duplicate: false) : AddResult.Existing(id, body, delivery.Body);
                if (!results[i].Duplicate)
                {
                    var minute = MinuteCount.MinuteOf(delivery.ReceivedAt);
                    Add(counted, (minute, delivery.Route, "received"));
                    if (delivery.State != RelayDeliveryState.Pending)
                    {
                        Add(counted, (minute, delivery.Route, DeliveryStates.Name(delivery.State)));
                    }
                }
            }

            await CountAsync(connection, transaction, counted).ConfigureAwait(false);
            if (results.Any(r => !r.Duplicate))
            {
                await _dialect.NotifyAsync(connection, transaction).ConfigureAwait(false);
            }

            // Durable (synchronous commit) when this returns; only then is any sender answered.
            await transaction.CommitAsync().ConfigureAwait(false);
            return results;
        }).ConfigureAwait(false);

        static void Add(Dictionary<(long, string, string), long> counts, (long, string, string) key) => counts[key] = counts.GetValueOrDefault(key) + 1;
    }

    public async Task<int> RecoverInterruptedAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken)
    {
        var all = atStart && _dialect.SingleProcess;
        return await CountedAsync((all ? DeliveryTransitions.RecoverAll : DeliveryTransitions.Recover).Update(_table, _p), "unknown", now,
            command =>
            {
                Bind(command, "error", Messages.InterruptedRun);
                Bind(command, "now", now.ToUnixTimeMilliseconds());
            },
            async (connection, transaction) =>
            {
                if (all)
                {
                    // A restarted process holds none of the claims: they are free at once, not after their lease.
                    await ExecuteAsync(connection, transaction, DeliveryTransitions.ReleaseAll.Update(_table, _p), _ => { }, cancellationToken).ConfigureAwait(false);
                }

                // The counters are kept a week: the oldest go as sends are recovered, a cheap ranged delete.
                await ExecuteAsync(connection, transaction, $"DELETE FROM {_dialect.Minutes} WHERE minute < {_p}old", c => Bind(c, "old", MinuteCount.MinuteOf(now - MinutesKept)), cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = _dialect.ClaimSql();
        Bind(command, "owner", request.Owner);
        Bind(command, "lease", request.LeaseUntil.ToUnixTimeMilliseconds());
        Bind(command, "now", request.Now.ToUnixTimeMilliseconds());
        Bind(command, "max", request.Max);
        var claimed = await _dialect.WriteAsync(async () =>
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
        return await _dialect.WriteAsync(() => _dialect.StartSendAsync(connection, request, new MinuteCount(MinuteCount.MinuteOf(request.Now), "sent", _instance), cancellationToken)).ConfigureAwait(false);
    }

    public async Task RenewAsync(string owner, IReadOnlyCollection<string> ids, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (ids.Count > 0)
        {
            await WriteAsync(DeliveryTransitions.Renew.Update(_table, _p, and: _dialect.IdIn(_p + "ids")), command =>
            {
                Bind(command, "owner", owner);
                Bind(command, "lease", leaseUntil.ToUnixTimeMilliseconds());
                _dialect.AddIds(command, _p + "ids", ids);
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<int> ReleaseAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync(DeliveryTransitions.Release.Update(_table, _p), command => Bind(command, "owner", owner), cancellationToken);

    public Task CompleteAsync(string id, string owner, RelayDeliveryState state, RunResult result, ReplyPlan reply, DateTimeOffset now, CancellationToken cancellationToken) =>
        CountedAsync(DeliveryTransitions.Complete.Update(_table, _p), DeliveryStates.Name(state), now, command =>
        {
            Bind(command, "credits", result.Credits);
            Bind(command, "runchatId", result.RunchatId);
            Bind(command, "replyPlan", reply.Plan);
            Bind(command, "replyWithheld", reply.Withheld ?? string.Empty);
            Bind(command, "id", id);
            Bind(command, "owner", owner);
            Bind(command, "state", DeliveryStates.Name(state));
            Bind(command, "status", result.Status);
            Bind(command, "reply", result.FinalReply);
            Bind(command, "error", result.Error);
            Bind(command, "now", now.ToUnixTimeMilliseconds());
        }, null, cancellationToken);

    public Task RejectAsync(string id, string owner, string error, DateTimeOffset now, CancellationToken cancellationToken) =>
        CountedAsync(DeliveryTransitions.Reject.Update(_table, _p), "failed", now, command =>
        {
            Bind(command, "id", id);
            Bind(command, "owner", owner);
            Bind(command, "error", error);
            Bind(command, "now", now.ToUnixTimeMilliseconds());
        }, null, cancellationToken);

    public Task RescheduleAsync(string id, string owner, DateTimeOffset nextAttemptAt, string error, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync(DeliveryTransitions.Reschedule.Update(_table, _p), command =>
        {
            Bind(command, "id", id);
            Bind(command, "owner", owner);
            Bind(command, "next", nextAttemptAt.ToUnixTimeMilliseconds());
            Bind(command, "error", error);
            Bind(command, "now", now.ToUnixTimeMilliseconds());
        }, cancellationToken);

    public async Task<RelayDelivery?> ReplayAsync(RelayDelivery seen, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var changed = await _dialect.WriteAsync(async () =>
        {
            var rows = await ExecuteAsync(connection, null, DeliveryTransitions.Replay.Update(_table, _p), command =>
            {
                Bind(command, "id", seen.Id);
                Bind(command, "now", now.ToUnixTimeMilliseconds());
                Bind(command, "seenState", DeliveryStates.Name(seen.State));
                Bind(command, "seenAttempts", seen.Attempts);
                Bind(command, "seenUpdated", seen.UpdatedAt.ToUnixTimeMilliseconds());
                Bind(command, "window", (long)DeliveryRows.ReplayWindow.TotalMilliseconds);
            }, cancellationToken).ConfigureAwait(false);
            if (rows > 0)
            {
                // A replay from another process (runchat-job relay replay) wakes the relays at once.
                await _dialect.NotifyAsync(connection, null).ConfigureAwait(false);
            }

            return rows;
        }).ConfigureAwait(false);
        return DeliveryRows.Replayed(seen, changed, await GetAsync(seen.Id, cancellationToken).ConfigureAwait(false), now);
    }

    public async Task<IReadOnlyList<ClaimedReply>> ClaimRepliesAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int max, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = _dialect.ClaimRepliesSql();
        Bind(command, "owner", owner);
        Bind(command, "lease", leaseUntil.ToUnixTimeMilliseconds());
        Bind(command, "now", now.ToUnixTimeMilliseconds());
        Bind(command, "max", max);
        return await _dialect.WriteAsync(async () =>
        {
            var rows = new List<ClaimedReply>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(DeliveryRows.ReadClaimedReply(reader));
            }

            return (IReadOnlyList<ClaimedReply>)rows;
        }).ConfigureAwait(false);
    }

    public async Task<bool> FinishReplyAsync(string id, string owner, RelayReplyState state, string? url, string? error, DateTimeOffset? next, CancellationToken cancellationToken) =>
        await WriteAsync(ReplyTransitions.Sql(ReplyTransitions.Finish, _table, _p), command =>
        {
            Bind(command, "id", id);
            Bind(command, "owner", owner);
            Bind(command, "replyState", ReplyStates.Name(state));
            Bind(command, "url", url);
            Bind(command, "error", error);
            Bind(command, "next", next?.ToUnixTimeMilliseconds());
        }, cancellationToken).ConfigureAwait(false) > 0;

    public Task<int> RecoverRepliesAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken) =>
        WriteAsync(ReplyTransitions.Sql(atStart && _dialect.SingleProcess ? ReplyTransitions.RecoverAll : ReplyTransitions.Recover, _table, _p), command =>
        {
            Bind(command, "now", now.ToUnixTimeMilliseconds());
            Bind(command, "error", ReplyTransitions.Interrupted);
        }, cancellationToken);

    public async Task<RelayDelivery?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync($"SELECT {DeliveryRows.Columns} FROM {_table} WHERE id = {_p}id", command => Bind(command, "id", id), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {DeliveryRows.Columns} FROM {_table}{(state is null ? string.Empty : $" WHERE state = {_p}state")} ORDER BY received_at DESC, id DESC",
            command =>
            {
                if (state is { } s)
                {
                    Bind(command, "state", DeliveryStates.Name(s));
                }
            }, cancellationToken);

    public Task<IReadOnlyList<RelayDelivery>> ListPageAsync(DeliveryPageQuery query, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {DeliveryRows.Columns} FROM {_table} WHERE {query.Where(_p)} ORDER BY received_at DESC, id DESC LIMIT {_p}limit",
            command => query.Bind(command, _p), cancellationToken);

    public async Task<IReadOnlyDictionary<string, byte[]>> GetBodiesAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var bodies = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (ids.Count == 0)
        {
            return bodies;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id, body FROM {_table} WHERE {_dialect.IdIn(_p + "ids")}";
        _dialect.AddIds(command, _p + "ids", ids);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            bodies[reader.GetString(0)] = (byte[])reader.GetValue(1);
        }

        return bodies;
    }

    public async Task<byte[]?> GetBodyAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT body FROM {_table} WHERE id = {_p}id";
        Bind(command, "id", id);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
    }

    /// <summary>
    /// Each state's count, up to <see cref="CapOf"/> (a count there means at least that many): each a ranged read of the
    /// (state, received_at) index, so it costs the same in a store of any size. Synchronous, for an observable gauge.
    /// </summary>
    public IReadOnlyList<(RelayDeliveryState State, long Count)> CountByState()
    {
        if (!_schema.Ready)
        {
            // Observed before the store created its schema: every state is 0, and the database is not touched.
            return Array.ConvertAll(Enum.GetValues<RelayDeliveryState>(), s => (s, 0L));
        }

        using var connection = OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        using var command = CountCommand(connection);
        var counts = new List<(RelayDeliveryState, long)>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            counts.Add((DeliveryStates.Parse(reader.GetString(0)), reader.GetInt64(1)));
        }

        return counts;
    }

    public async Task<IReadOnlyList<(RelayDeliveryState State, long Count)>> CountByStateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = CountCommand(connection);
        var counts = new List<(RelayDeliveryState, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts.Add((DeliveryStates.Parse(reader.GetString(0)), reader.GetInt64(1)));
        }

        return counts;
    }

    private DbCommand CountCommand(DbConnection connection)
    {
        var command = connection.CreateCommand();
        command.CommandText = string.Join(" UNION ALL ", Enum.GetValues<RelayDeliveryState>().Select(s =>
            $"SELECT '{DeliveryStates.Name(s)}', COUNT(*) FROM (SELECT 1 FROM {_table} WHERE state = '{DeliveryStates.Name(s)}' LIMIT {CapOf(s)}) AS s{(int)s}"));
        return command;
    }

    /// <summary>From the per-minute counters (never a scan of the deliveries), and the oldest pending from the state index.</summary>
    public async Task<DeliveryOverview> OverviewAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var minutes = _dialect.Minutes;
        command.CommandText =
            $"SELECT route, SUM(count) FROM {minutes} WHERE minute >= {_p}day AND outcome = 'received' GROUP BY route ORDER BY SUM(count) DESC LIMIT 20;" +
            $"SELECT COALESCE(SUM(CASE WHEN minute >= {_p}hour THEN count ELSE 0 END), 0), COALESCE(SUM(count), 0) FROM {minutes} WHERE minute >= {_p}day AND outcome = 'sent';" +
            $"SELECT MIN(received_at) FROM {_table} WHERE state = 'pending';";
        Bind(command, "hour", MinuteCount.MinuteOf(now.AddHours(-1)));
        Bind(command, "day", MinuteCount.MinuteOf(now.AddDays(-1)));
        var byRoute = new List<(string, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            byRoute.Add((reader.GetString(0), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var (hour, day) = (Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new DeliveryOverview(byRoute, hour, day, reader.IsDBNull(0) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)));
    }

    public Task ListenAsync(Action onNotified, Action<Exception> onFailure, CancellationToken cancellationToken) =>
        _dialect.Notifications?.ListenAsync(onNotified, onFailure, cancellationToken) ?? Task.CompletedTask;

    /// <summary>A connection on which the schema is known to be ready.</summary>
    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await _dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _schema.EnsureAsync(_dialect, connection, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>One statement, as one write; the rows it changed.</summary>
    private async Task<int> WriteAsync(string sql, Action<DbCommand> bind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _dialect.WriteAsync(() => ExecuteAsync(connection, null, sql, bind, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// A transition that is counted: <paramref name="sql"/> (an UPDATE) returns the routes it changed, and each adds to
    /// <paramref name="outcome"/>'s counter of <paramref name="now"/>'s minute, in the same transaction; then <paramref name="more"/>.
    /// </summary>
    private async Task<int> CountedAsync(string sql, string outcome, DateTimeOffset now, Action<DbCommand> bind, Func<DbConnection, DbTransaction, Task>? more, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _dialect.WriteAsync(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var counted = new Dictionary<(long, string, string), long>();
            var changed = 0;
            await using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = sql + " RETURNING route";
                bind(command);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var key = (MinuteCount.MinuteOf(now), reader.GetString(0), outcome);
                    counted[key] = counted.GetValueOrDefault(key) + 1;
                    changed++;
                }
            }

            await CountAsync(connection, transaction, counted).ConfigureAwait(false);
            if (more is not null)
            {
                await more(connection, transaction).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return changed;
        }).ConfigureAwait(false);
    }

    /// <summary>Adds to this instance's counters: one upsert per (minute, route, outcome).</summary>
    private async Task CountAsync(DbConnection connection, DbTransaction transaction, Dictionary<(long Minute, string Route, string Outcome), long> counts)
    {
        if (counts.Count == 0)
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = MinuteCount.Upsert(_dialect.Minutes, $"VALUES ({_p}minute, {_p}route, {_p}outcome, {_p}instance, {_p}count)");
        foreach (var ((minute, route, outcome), count) in counts)
        {
            command.Parameters.Clear();
            Bind(command, "minute", minute);
            Bind(command, "route", route);
            Bind(command, "outcome", outcome);
            Bind(command, "instance", _instance);
            Bind(command, "count", count);
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<RelayDelivery>> QueryAsync(string sql, Action<DbCommand> bind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        bind(command);
        return await DeliveryRows.ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, Action<DbCommand> bind, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        bind(command);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Bind(DbCommand command, string name, object? value) => DeliveryRows.AddParameter(command, _p + name, value ?? DBNull.Value);
}
