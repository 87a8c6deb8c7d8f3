using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// What operating a relay for months needs of the store: deleting old deliveries (retention, purge, erasure), pausing
/// routes and schedules, and the instances' heartbeats. The same SQL on both databases.
/// </summary>
internal sealed partial class SqlDeliveryStore
{
    /// <summary>
    /// The deliveries of <c>@state</c> past <c>@cutoff</c> (arrived and last changed before it), none whose reply is
    /// being posted. Checked again by the DELETE, so a row replayed since it was selected is kept.
    /// </summary>
    private const string Purgeable = "state = @state AND received_at < @cutoff AND updated_at < @cutoff AND (reply_state IS NULL OR reply_state NOT IN ('pending', 'posting'))";

    /// <summary>The states a purge may delete: those whose run has ended, or that never run.</summary>
    public static bool IsPurgeable(RelayDeliveryState state) => state is RelayDeliveryState.Succeeded or RelayDeliveryState.Failed or RelayDeliveryState.Unknown or RelayDeliveryState.Ignored;

    public async Task<int> PurgeBatchAsync(RelayDeliveryState state, DateTimeOffset cutoff, int max, CancellationToken cancellationToken)
    {
        if (!IsPurgeable(state))
        {
            throw new ArgumentException($"{DeliveryStates.Name(state)} deliveries have not finished; they are never purged.", nameof(state));
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _dialect.WriteAsync(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if (!await _dialect.TryLockRetentionAsync(connection, transaction, cancellationToken).ConfigureAwait(false))
            {
                return -1;
            }

            // The ids first (the state's index range, oldest first), then a delete of those ids by the primary key: one
            // statement with a subquery let SQLite drive the delete from the state index, reading every expired row per batch.
            var ids = new List<string>(max);
            await using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = Dialect($"SELECT id FROM {_table} WHERE {Purgeable} ORDER BY received_at LIMIT @max");
                Bind(select, "state", DeliveryStates.Name(state));
                Bind(select, "cutoff", cutoff.ToUnixTimeMilliseconds());
                Bind(select, "max", max);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    ids.Add(reader.GetString(0));
                }
            }

            var deleted = ids.Count == 0 ? 0 : await ExecuteAsync(connection, transaction, Dialect($"DELETE FROM {_table} WHERE {_dialect.IdIn(_p + "ids")} AND {Purgeable}"), command =>
            {
                _dialect.AddIds(command, _p + "ids", ids);
                Bind(command, "state", DeliveryStates.Name(state));
                Bind(command, "cutoff", cutoff.ToUnixTimeMilliseconds());
            }, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return deleted;
        }).ConfigureAwait(false);
    }

    public async Task<long> CountPurgeableAsync(RelayDeliveryState state, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = Dialect($"SELECT COUNT(*) FROM {_table} WHERE {Purgeable}");
        Bind(command, "state", DeliveryStates.Name(state));
        Bind(command, "cutoff", cutoff.ToUnixTimeMilliseconds());
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<(int Deleted, int InFlight)> ForgetSenderAsync(string senderId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _dialect.WriteAsync(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            // A send in flight is kept: its run is under way and its outcome must land somewhere. Forget it again once it ends.
            var deleted = await ExecuteAsync(connection, transaction, Dialect($"DELETE FROM {_table} WHERE sender_id = @sender AND state <> 'sending'"),
                command => Bind(command, "sender", senderId), cancellationToken).ConfigureAwait(false);
            await using var left = connection.CreateCommand();
            left.Transaction = transaction;
            left.CommandText = Dialect($"SELECT COUNT(*) FROM {_table} WHERE sender_id = @sender");
            Bind(left, "sender", senderId);
            var inFlight = Convert.ToInt32(await left.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return (deleted, inFlight);
        }).ConfigureAwait(false);
    }

    public async Task<bool> SetPausedAsync(RelayPauseTarget target, bool paused, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _dialect.WriteAsync(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var kind = PauseKindName(target.Kind);
            var changed = await ExecuteAsync(connection, transaction,
                Dialect(paused
                    ? $"INSERT INTO {_dialect.Paused} (kind, name, paused_at) VALUES (@kind, @name, @now) ON CONFLICT (kind, name) DO NOTHING"
                    : $"DELETE FROM {_dialect.Paused} WHERE kind = @kind AND name = @name"),
                command =>
                {
                    Bind(command, "kind", kind);
                    Bind(command, "name", target.Name);
                    Bind(command, "now", now.ToUnixTimeMilliseconds());
                }, cancellationToken).ConfigureAwait(false);
            if (target.Kind == RelayPauseKind.Route)
            {
                if (paused)
                {
                    // Claims taken before the pause are given back: their start then finds them no longer held, and no
                    // relay claims them again until the route is resumed. A send already started goes on.
                    await ExecuteAsync(connection, transaction, Dialect($"UPDATE {_table} SET claimed_by = NULL, lease_until = NULL WHERE state = 'pending' AND route = @name AND claimed_by IS NOT NULL"),
                        command => Bind(command, "name", target.Name), cancellationToken).ConfigureAwait(false);
                }
                else if (changed > 0)
                {
                    // What waited is due at once: every relay sharing the store is told.
                    await _dialect.NotifyAsync(connection, transaction).ConfigureAwait(false);
                }
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return changed > 0;
        }).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RelayPause>> ListPausedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT kind, name, paused_at FROM {_dialect.Paused} ORDER BY kind, name";
        var paused = new List<RelayPause>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(1);
            var target = reader.GetString(0) == "schedule" ? RelayPauseTarget.Schedule(name) : RelayPauseTarget.Route(name);
            paused.Add(new RelayPause(target, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        return paused;
    }

    public async Task<bool> IsPausedAsync(RelayPauseTarget target, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = Dialect($"SELECT COUNT(*) FROM {_dialect.Paused} WHERE kind = @kind AND name = @name");
        Bind(command, "kind", PauseKindName(target.Kind));
        Bind(command, "name", target.Name);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    public async Task<string?> FindIdAsync(string route, string dedupeKey, string? senderId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // Two lookups by index, not an OR: the unique (route, dedupe_key) index, then the partial sender_id index.
        command.CommandText = Dialect(senderId is null
            ? $"SELECT id FROM {_dialect.Deliveries} WHERE route = @route AND dedupe_key = @key"
            : $"SELECT id FROM {_dialect.Deliveries} WHERE route = @route AND dedupe_key = @key UNION ALL SELECT id FROM {_dialect.Deliveries} WHERE sender_id = @sender AND route = @route LIMIT 1");
        Bind(command, "route", route);
        Bind(command, "key", dedupeKey);
        if (senderId is not null)
        {
            Bind(command, "sender", senderId);
        }

        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public Task HeartbeatAsync(RelayInstance instance, CancellationToken cancellationToken) =>
        WriteAsync(Dialect(
            $"INSERT INTO {_dialect.Instances} (id, host, process_id, started_at, last_seen, in_flight) VALUES (@id, @host, @pid, @started, @seen, @inFlight) " +
            "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, in_flight = excluded.in_flight"),
            command =>
            {
                Bind(command, "id", instance.Id);
                Bind(command, "host", instance.Host);
                Bind(command, "pid", instance.ProcessId);
                Bind(command, "started", instance.StartedAt.ToUnixTimeMilliseconds());
                Bind(command, "seen", instance.LastSeenAt.ToUnixTimeMilliseconds());
                Bind(command, "inFlight", instance.RunsInFlight);
            }, cancellationToken);

    public Task<int> RemoveInstancesAsync(string? id, DateTimeOffset seenBefore, CancellationToken cancellationToken) =>
        WriteAsync(Dialect($"DELETE FROM {_dialect.Instances} WHERE id = @id OR last_seen < @before"), command =>
        {
            Bind(command, "id", id ?? string.Empty);
            Bind(command, "before", seenBefore.ToUnixTimeMilliseconds());
        }, cancellationToken);

    public async Task<IReadOnlyList<RelayInstance>> ListInstancesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id, host, process_id, started_at, last_seen, in_flight FROM {_dialect.Instances} ORDER BY last_seen DESC, id LIMIT 1000";
        var instances = new List<RelayInstance>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            instances.Add(new RelayInstance
            {
                Id = reader.GetString(0),
                Host = reader.GetString(1),
                ProcessId = reader.GetInt32(2),
                StartedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                LastSeenAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                RunsInFlight = reader.GetInt32(5),
            });
        }

        return instances;
    }

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<(long Minute, string Outcome, long Count)>> OutcomesPerMinuteAsync(DateTimeOffset from, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // The counters' key starts with the outcome: four ranged reads of at most a day's minutes each, never the deliveries.
        command.CommandText = Dialect($"SELECT minute, outcome, SUM(count) FROM {_dialect.Minutes} WHERE outcome IN ('succeeded', 'failed', 'unknown', 'ignored') AND minute >= @from GROUP BY minute, outcome ORDER BY minute");
        Bind(command, "from", MinuteCount.MinuteOf(from));
        var rows = new List<(long, string, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1), Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)));
        }

        return rows;
    }

    public async Task<IgnoredSummary> IgnoredSummaryAsync(DateTimeOffset from, int sample, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = Dialect(
            $"SELECT route, SUM(count) FROM {_dialect.Minutes} WHERE outcome = 'ignored' AND minute >= @from GROUP BY route ORDER BY SUM(count) DESC LIMIT 50;" +
            // By event: over the latest @sample ignored deliveries (the state index, newest first), so its cost does not grow with the store.
            $"SELECT route, event_name, COUNT(*) FROM (SELECT route, event_name FROM {_table} WHERE state = 'ignored' ORDER BY received_at DESC, id DESC LIMIT @sample) AS latest " +
            "GROUP BY route, event_name ORDER BY COUNT(*) DESC LIMIT 50;");
        Bind(command, "from", MinuteCount.MinuteOf(from));
        Bind(command, "sample", sample);
        var byRoute = new List<(string, long)>();
        var byEvent = new List<(string, string?, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            byRoute.Add((reader.GetString(0), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            byEvent.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)));
        }

        return new IgnoredSummary(byRoute, byEvent, sample);
    }

    public async Task<DeliverySearchPage> SearchAsync(DeliverySearch search, CancellationToken cancellationToken)
    {
        var page = search.Page;
        var where = page.Where(_p);
        var window = $"SELECT id, received_at FROM {_table} WHERE {where} ORDER BY received_at DESC, id DESC LIMIT {_p}scan";
        var matches = search.Text is null ? "1 = 1" : Dialect($"(id = @text OR event_name = @text OR sender_id = @text OR {_dialect.BodyContains(_p + "bytes")})");
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // Both read one index range of at most @scan rows from the cursor: the results (the bodies of those rows only),
        // and where the range ended, from which the next page goes on.
        command.CommandText =
            $"SELECT {DeliveryRows.Columns} FROM {_table} WHERE id IN (SELECT id FROM ({window}) AS w) AND {matches} ORDER BY received_at DESC, id DESC LIMIT {_p}limit;" +
            $"SELECT COUNT(*) FROM ({window}) AS w;" +
            $"SELECT received_at, id FROM ({window}) AS w ORDER BY received_at, id LIMIT 1;";
        page.Bind(command, _p);
        Bind(command, "scan", search.Scan);
        if (search.Text is { } text)
        {
            Bind(command, "text", text);
            Bind(command, "bytes", System.Text.Encoding.UTF8.GetBytes(text));
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<RelayDelivery>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(DeliveryRows.Read(reader));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var scanned = Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        (DateTimeOffset, string)? oldest = await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? (DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), reader.GetString(1))
            : null;
        return new DeliverySearchPage(rows, scanned, scanned < search.Scan ? null : oldest);
    }

    private static string PauseKindName(RelayPauseKind kind) => kind == RelayPauseKind.Schedule ? "schedule" : "route";

    private string Dialect(string sql) => _p == '@' ? sql : sql.Replace('@', _p);
}
