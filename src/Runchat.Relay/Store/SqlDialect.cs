using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// What one database does its own way, for <see cref="SqlDeliveryStore"/>, which writes every other statement once:
/// connections, parameter names, column types, the table names an earlier relay created, a batch insert, the claim's
/// row selection, the start of a send under the global limits, and how other relays learn of new work.
/// </summary>
/// <remarks>
/// A new database (SQL Server, say) is a new dialect: these members, and a kind registered by name
/// (<see cref="DeliveryStoreKinds"/>). The state machine (<see cref="DeliveryTransitions"/>), the reads, the migrations
/// and the counters are the store's.
/// </remarks>
internal abstract class SqlDialect : IAsyncDisposable
{
    /// <summary>The kind's name in <c>Relay:Store</c> (<c>sqlite</c>, <c>postgres</c>).</summary>
    public abstract string Kind { get; }

    /// <summary>The driver's parameter prefix: <c>$</c> or <c>@</c>.</summary>
    public abstract char Prefix { get; }

    /// <summary>The deliveries table.</summary>
    public abstract string Deliveries { get; }

    /// <summary>Starts per second, for <c>MaxRunsPerMinute</c>.</summary>
    public abstract string Starts { get; }

    /// <summary>Outcomes per minute, per route and instance (they outlive the deliveries they count).</summary>
    public string Minutes => "runchat_relay_minutes";

    /// <summary>The paused routes and schedules, shared by every relay on the store.</summary>
    public string Paused => "runchat_relay_paused";

    /// <summary>Each relay instance's heartbeat.</summary>
    public string Instances => "runchat_relay_instances";

    /// <summary>
    /// One process uses the store at a time (SQLite): at start, every send in flight is a dead process's, and every
    /// claim is free at once.
    /// </summary>
    public abstract bool SingleProcess { get; }

    /// <summary>An integer of 64 bits, a text, and bytes: the column types the migrations name.</summary>
    public abstract string BigInt { get; }

    public abstract string Text { get; }

    public abstract string Bytes { get; }

    /// <summary>What makes a table's rows live in its primary key's order (SQLite's <c>WITHOUT ROWID</c>), so a range of it reads no other pages.</summary>
    public virtual string ClusteredByKey => string.Empty;

    /// <summary>The greater of two values (<c>MAX</c>, <c>GREATEST</c>).</summary>
    public abstract string Greatest { get; }

    /// <summary>The database's clock, in Unix milliseconds: for reconciling the starts at a relay's start.</summary>
    public abstract string NowMilliseconds { get; }

    /// <summary>A connection, open, ready for statements (the schema is the store's business).</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Runs one write: a database with one writer at a time takes turns here, in process.</summary>
    public virtual Task<T> WriteAsync<T>(Func<Task<T>> write) => write();

    /// <summary>In the schema's transaction, before anything else: the lock that makes instances starting together create it once.</summary>
    public abstract Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Version 1's indexes, <c>CREATE INDEX IF NOT EXISTS</c>, with the names an earlier relay gave them.</summary>
    public abstract IEnumerable<string> BaseIndexes();

    /// <summary>Adds a nullable column unless the table has it (a store some earlier relay wrote).</summary>
    public abstract Task AddColumnAsync(DbConnection connection, DbTransaction transaction, string table, string column, string type, CancellationToken cancellationToken);

    /// <summary>A condition that the column <c>id</c> is one of the ids of <paramref name="parameter"/>, and how to bind them.</summary>
    public abstract string IdIn(string parameter);

    public abstract void AddIds(DbCommand command, string parameter, IReadOnlyCollection<string> ids);

    /// <summary>
    /// Inserts a batch in the transaction (a duplicate (route, dedupe key) is left out by the unique index) and finds,
    /// for every row, the id and body of the delivery that holds its key: its own, or one stored before.
    /// </summary>
    public abstract Task<IReadOnlyDictionary<(string Route, string Key), (string Id, byte[] Body)>> InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<NewDelivery> batch);

    /// <summary>The claim: <see cref="DeliveryTransitions.Claim"/> on up to <c>max</c> due rows, oldest due first, returning <see cref="DeliveryRows.ClaimedColumns"/>.</summary>
    public abstract string ClaimSql();

    /// <summary>The statement that claims due replies (<see cref="ReplyTransitions"/>), returning <see cref="ReplyTransitions.ClaimedColumns"/>.</summary>
    public abstract string ClaimRepliesSql();

    /// <summary>
    /// <see cref="DeliveryTransitions.Start"/> with the limits counted over the whole store under the dialect's lock, the
    /// start counted in <see cref="Starts"/> and the send in <see cref="Minutes"/>; or why not.
    /// </summary>
    public abstract Task<SendStart> StartSendAsync(DbConnection connection, StartRequest request, MinuteCount sent, CancellationToken cancellationToken);

    /// <summary>
    /// In a retention batch's transaction: whether this relay may delete now. Where several relays share the store, one at
    /// a time (the others skip the batch); a store one process uses always may.
    /// </summary>
    public virtual Task<bool> TryLockRetentionAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.FromResult(true);

    /// <summary>A condition that the body holds the bytes of <paramref name="parameter"/> (a search of the payload).</summary>
    public abstract string BodyContains(string parameter);

    /// <summary>Tells other relays sharing the store that there is new work, at the commit of <paramref name="transaction"/>.</summary>
    public virtual Task NotifyAsync(DbConnection connection, DbTransaction? transaction) => Task.CompletedTask;

    /// <summary>New work announced by any relay sharing the store; null when the database cannot announce it (the poll finds it).</summary>
    public virtual IDeliveryNotifications? Notifications => null;

    /// <summary>The store's location, for messages: a password never shown.</summary>
    public abstract string Display { get; }

    public abstract ValueTask DisposeAsync();
}

/// <summary>What a counted transition adds to <see cref="SqlDialect.Minutes"/>: the minute, the outcome and the counting instance.</summary>
internal readonly record struct MinuteCount(long Minute, string Outcome, string Instance)
{
    public static long MinuteOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / 60;

    /// <summary>The upsert, with <c>@minute</c>, <c>@route</c>, <c>@outcome</c>, <c>@instance</c> and <c>@count</c>: the same SQL on both databases.</summary>
    public static string Upsert(string table, string values) =>
        $"INSERT INTO {table} (minute, route, outcome, instance, count) {values} " +
        $"ON CONFLICT (outcome, minute, route, instance) DO UPDATE SET count = {table}.count + excluded.count";
}
