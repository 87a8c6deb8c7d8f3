using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// Where deliveries live. Every state change is one atomic statement or transaction of the
/// implementation (<see cref="SqlDeliveryStore"/> over a <see cref="SqlDialect"/>). The reads are <see cref="IDeliveryReader"/>;
/// the public <see cref="IRelayMonitor"/> is made from them.
/// </summary>
/// <remarks>
/// A delivery is sent in two steps, so that several relays can share a store. <see cref="ClaimAsync"/>
/// leases due <c>pending</c> deliveries to one relay (<c>claimed_by</c>, <c>lease_until</c>); nobody else
/// takes them while the lease runs. <see cref="StartSendAsync"/> then commits one of them as
/// <c>sending</c>, only when the limits (counted over the whole store) allow another run. The holder
/// renews its leases while it runs (<see cref="RenewAsync"/>). When a holder dies, its leased
/// <c>pending</c> deliveries can be claimed again once the lease has expired, and its <c>sending</c>
/// ones become <c>unknown</c> (<see cref="RecoverInterruptedAsync"/>), whichever relay notices first.
/// </remarks>
internal interface IDeliveryStore : IDeliveryReader
{
    /// <summary>
    /// Stores a new delivery, or finds the one with the same (route, dedupe key): a duplicate when its
    /// body is the same, a conflict (nothing stored) when it is not. Durable when it returns.
    /// </summary>
    Task<AddResult> AddAsync(NewDelivery delivery, CancellationToken cancellationToken);

    /// <summary>
    /// Deliveries left in <c>sending</c> by a relay that died become <c>unknown</c>; returns how many.
    /// Those whose lease has expired, and, with <paramref name="atStart"/> on a store that only one
    /// process may use (SQLite), every one: a restarted process holds none of them.
    /// </summary>
    Task<int> RecoverInterruptedAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken);

    /// <summary>
    /// Leases up to <see cref="ClaimRequest.Max"/> due <c>pending</c> deliveries to the claimer: unclaimed
    /// ones, and those whose holder's lease has expired. Oldest due first. They stay <c>pending</c>.
    /// </summary>
    Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Commits a claimed delivery as <c>sending</c> (attempts + 1) if the owner still holds it and the
    /// limits allow another run, counted over every relay sharing the store.
    /// </summary>
    Task<SendStart> StartSendAsync(StartRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Extends the lease of the owner's deliveries named in <paramref name="ids"/> (claimed or sending):
    /// only those it really holds in memory, so a row whose start committed but whose answer was lost
    /// is not kept alive forever; its lease runs out and it becomes <c>unknown</c>.
    /// </summary>
    Task RenewAsync(string owner, IReadOnlyCollection<string> ids, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Gives back the owner's claims that were never sent, so other relays can take them at once.</summary>
    Task<int> ReleaseAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Records how the owner's send ended: <c>succeeded</c>, <c>failed</c> or <c>unknown</c>, with what is
    /// known of the run. Also over an <c>unknown</c> that another relay set when this one's lease lapsed:
    /// a known outcome beats a guess.
    /// </summary>
    /// <remarks>The reply: what the route's PostReply does with this outcome (<see cref="ReplyStates.OnCompletion"/>), set in the same statement.</remarks>
    Task CompleteAsync(string id, string owner, RelayDeliveryState state, RunResult result, ReplyPlan reply, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>A claimed delivery that cannot be sent (its Message does not render): <c>failed</c> with the reason, never started.</summary>
    Task RejectAsync(string id, string owner, string error, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>A send that provably did not happen: back to <c>pending</c>, unclaimed, due at <paramref name="nextAttemptAt"/>.</summary>
    Task RescheduleAsync(string id, string owner, DateTimeOffset nextAttemptAt, string error, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// A finished delivery becomes <c>pending</c> again, only if it is still as the operator saw it
    /// (<paramref name="seen"/>: its state, attempts and last change), so two replays of one view run it
    /// once. The previous outcome is kept in <c>last_error</c>. Null when not found.
    /// </summary>
    /// <exception cref="InvalidOperationException">It is <c>pending</c> or <c>sending</c>, or it changed since it was seen.</exception>
    Task<RelayDelivery?> ReplayAsync(RelayDelivery seen, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Leases up to <paramref name="max"/> due replies (<see cref="ReplyTransitions"/>) to <paramref name="owner"/>, each
    /// committed as <c>posting</c> with one more attempt before anything is posted. Oldest due first.
    /// </summary>
    Task<IReadOnlyList<ClaimedReply>> ClaimRepliesAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int max, CancellationToken cancellationToken);

    /// <summary>Records how <paramref name="owner"/>'s post ended; false when it no longer held the reply (its lease lapsed and it was recovered).</summary>
    /// <remarks>A <c>pending</c> or <c>unknown</c> reply is due again at <c>next</c>; with no <c>next</c>, never.</remarks>
    Task<bool> FinishReplyAsync(string id, string owner, RelayReplyState state, string? url, string? error, DateTimeOffset? next, CancellationToken cancellationToken);

    /// <summary>Posts whose poster died become <c>unknown</c> (looked for before any second post); every one at start on a single-process store.</summary>
    Task<int> RecoverRepliesAsync(DateTimeOffset now, bool atStart, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes up to <paramref name="max"/> deliveries of a finished <paramref name="state"/> that arrived and last changed
    /// before <paramref name="cutoff"/>, none whose reply is being posted; how many, or -1 when another relay is deleting
    /// (one at a time, each batch its own short transaction).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="state"/> is <c>pending</c> or <c>sending</c>.</exception>
    Task<int> PurgeBatchAsync(RelayDeliveryState state, DateTimeOffset cutoff, int max, CancellationToken cancellationToken);

    /// <summary>Deletes every delivery of one sender id (an erasure request), except sends in flight; how many were deleted and kept.</summary>
    Task<(int Deleted, int InFlight)> ForgetSenderAsync(string senderId, CancellationToken cancellationToken);

    /// <summary>
    /// Pauses or resumes a route or schedule for every relay on the store; whether that changed anything. Pausing a route
    /// gives back its claims not yet started; resuming it tells every relay its deliveries are due.
    /// </summary>
    Task<bool> SetPausedAsync(RelayPauseTarget target, bool paused, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Records this instance's heartbeat (inserted the first time).</summary>
    Task HeartbeatAsync(RelayInstance instance, CancellationToken cancellationToken);

    /// <summary>Removes an instance's row (<paramref name="id"/>: one that stops) and those not seen since <paramref name="seenBefore"/>.</summary>
    Task<int> RemoveInstancesAsync(string? id, DateTimeOffset seenBefore, CancellationToken cancellationToken);
}

/// <summary>The store's reads: none changes anything, and all but <see cref="ListAsync"/> are bounded.</summary>
internal interface IDeliveryReader
{
    /// <summary>One delivery, or null.</summary>
    Task<RelayDelivery?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>How many deliveries are in each state (every state, zeros included), each up to its cap; synchronous, for an observable gauge.</summary>
    IReadOnlyList<(RelayDeliveryState State, long Count)> CountByState();

    /// <summary>As <see cref="CountByState"/>, for a request.</summary>
    Task<IReadOnlyList<(RelayDeliveryState State, long Count)>> CountByStateAsync(CancellationToken cancellationToken);

    /// <summary>Every delivery, newest first (for <see cref="IRunchatRelay.ListAsync(RelayDeliveryState?, CancellationToken)"/> and tests: unbounded).</summary>
    Task<IReadOnlyList<RelayDelivery>> ListAsync(RelayDeliveryState? state, CancellationToken cancellationToken);

    /// <summary>
    /// One page of deliveries, newest first, filtered by state, route and event name, after a keyset
    /// cursor (the last row of the previous page): on the (received_at, id) index, so a page costs
    /// the same with a hundred deliveries or a hundred thousand.
    /// </summary>
    Task<IReadOnlyList<RelayDelivery>> ListPageAsync(DeliveryPageQuery query, CancellationToken cancellationToken);

    /// <summary>The stored body of a delivery, or null when there is none.</summary>
    Task<byte[]?> GetBodyAsync(string id, CancellationToken cancellationToken);

    /// <summary>The bodies of <paramref name="ids"/>, in one read (a page of them, for the backfill's and the backtest's reads); a deleted one is absent.</summary>
    Task<IReadOnlyDictionary<string, byte[]>> GetBodiesAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>How many deliveries <see cref="IDeliveryStore.PurgeBatchAsync"/> would delete (a count of the state's index range).</summary>
    Task<long> CountPurgeableAsync(RelayDeliveryState state, DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>The paused routes and schedules.</summary>
    Task<IReadOnlyList<RelayPause>> ListPausedAsync(CancellationToken cancellationToken);

    /// <summary>Whether a route or schedule is paused.</summary>
    Task<bool> IsPausedAsync(RelayPauseTarget target, CancellationToken cancellationToken);

    /// <summary>
    /// The id of a delivery on <paramref name="route"/> with <paramref name="dedupeKey"/>, or carrying the sender's
    /// <paramref name="senderId"/> (its label); null when there is none. Backfill's question: did the relay receive it?
    /// </summary>
    Task<string?> FindIdAsync(string route, string dedupeKey, string? senderId, CancellationToken cancellationToken);

    /// <summary>The instances' heartbeats, the latest first (at most 1,000).</summary>
    Task<IReadOnlyList<RelayInstance>> ListInstancesAsync(CancellationToken cancellationToken);

    /// <summary>One round trip to the database (a health check): throws when it cannot be reached.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>The per-minute counters of each outcome (succeeded, failed, unknown, ignored) since <paramref name="from"/>: never the deliveries.</summary>
    Task<IReadOnlyList<(long Minute, string Outcome, long Count)>> OutcomesPerMinuteAsync(DateTimeOffset from, CancellationToken cancellationToken);

    /// <summary>Ignored deliveries by route since <paramref name="from"/> (the counters), and by route and event over the latest <paramref name="sample"/>.</summary>
    Task<IgnoredSummary> IgnoredSummaryAsync(DateTimeOffset from, int sample, CancellationToken cancellationToken);

    /// <summary>
    /// The deliveries a text finds (an id, an event name or a sender id exactly, or a fragment of the payload's bytes),
    /// among at most <see cref="DeliverySearch.Scan"/> deliveries from the page's cursor, newest first: a bounded cost,
    /// whatever the store holds. Says where the scanned range ended, for the next page.
    /// </summary>
    Task<DeliverySearchPage> SearchAsync(DeliverySearch search, CancellationToken cancellationToken);

    /// <summary>
    /// What the dashboard's overview shows besides the counts by state: deliveries by route, sends
    /// started in the last hour and day, the oldest pending delivery, and a delivery's receive trace id.
    /// </summary>
    Task<DeliveryOverview> OverviewAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

// TraceParent: the receive span's W3C context; SenderTraceParent: the sender's traceparent header.
// A later dispatch, after a restart too, links to both.
// SenderId: the sender's own, unsigned delivery id (X-GitHub-Delivery), a label for show and the logs.
/// <summary>A store that announces new deliveries to every relay sharing it (PostgreSQL's LISTEN/NOTIFY).</summary>
internal interface IDeliveryNotifications
{
    /// <summary>Calls <paramref name="onNotified"/> when any relay stores a delivery, until <paramref name="cancellationToken"/>.</summary>
    Task ListenAsync(Action onNotified, Action<Exception> onFailure, CancellationToken cancellationToken);
}

/// <summary>What the dashboard's Ignored page shows: by route (counters), and by route and event over the latest <c>Sample</c> ignored deliveries.</summary>
internal sealed record IgnoredSummary(IReadOnlyList<(string Route, long Count)> ByRoute, IReadOnlyList<(string Route, string? Event, long Count)> ByEvent, int Sample);

/// <summary>A search: the filters and cursor of <see cref="Page"/> (its limit is the results' limit), a text (null for none), and how many deliveries one request may read.</summary>
internal sealed record DeliverySearch(DeliveryPageQuery Page, string? Text, int Scan);

/// <summary>
/// A search's results (one more than asked when the page is full), how many deliveries it read, and, when it read
/// <see cref="DeliverySearch.Scan"/> of them, the oldest it read (its arrival and id): the next page goes on after it.
/// </summary>
internal sealed record DeliverySearchPage(IReadOnlyList<RelayDelivery> Rows, long Scanned, (DateTimeOffset ReceivedAt, string Id)? ScannedTo);

/// <summary>The dashboard's overview figures (see <see cref="IDeliveryReader.OverviewAsync"/>).</summary>
internal sealed record DeliveryOverview(IReadOnlyList<(string Route, long Count)> ByRoute, long SentLastHour, long SentLastDay, DateTimeOffset? OldestPending);

/// <summary>A page of the delivery list: filters, the cursor (received_at and id of the last row seen), and the page size.</summary>
internal sealed record DeliveryPageQuery(RelayDeliveryState? State, string? Route, string? Event, DateTimeOffset? BeforeReceivedAt, string? BeforeId, int Limit)
{
    /// <summary>Only deliveries received at or after this time; null for any.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>The WHERE clause both stores use, with <c>@name</c> parameters (those set are added by <see cref="Bind"/>).</summary>
    public string Where(char parameterPrefix = '@')
    {
        var conditions = new List<string>();
        if (State is not null) conditions.Add("state = @state");
        if (Route is not null) conditions.Add("route = @route");
        if (Event is not null) conditions.Add("event_name = @event");
        // A row value: both databases start the index range at the cursor (an OR of the two made PostgreSQL read from the top).
        if (BeforeReceivedAt is not null && BeforeId is not null) conditions.Add("(received_at, id) < (@beforeReceived, @beforeId)");
        if (Since is not null) conditions.Add("received_at >= @since");
        var where = conditions.Count == 0 ? "1 = 1" : string.Join(" AND ", conditions);
        return parameterPrefix == '@' ? where : where.Replace('@', parameterPrefix);
    }

    /// <summary>Adds the parameters <see cref="Where"/> uses.</summary>
    public void Bind(System.Data.Common.DbCommand command, char parameterPrefix = '@')
    {
        void Add(string name, object value) => DeliveryRows.AddParameter(command, parameterPrefix + name, value);

        if (State is { } state) Add("state", DeliveryStates.Name(state));
        if (Route is not null) Add("route", Route);
        if (Event is not null) Add("event", Event);
        if (BeforeReceivedAt is { } before && BeforeId is not null)
        {
            Add("beforeReceived", before.ToUnixTimeMilliseconds());
            Add("beforeId", BeforeId);
        }

        if (Since is { } since) Add("since", since.ToUnixTimeMilliseconds());
        Add("limit", Limit);
    }
}

internal sealed record NewDelivery(string Id, string Route, string JobId, string DedupeKey, byte[] Body, DateTimeOffset ReceivedAt, string? TraceParent = null, string? SenderTraceParent = null, string? SenderId = null, string? Event = null, string? FlowId = null)
{
    /// <summary>
    /// <c>pending</c> (it runs); <c>ignored</c> (the route's Events or When did not select it); or <c>failed</c>, never
    /// run (its When could not be evaluated, or a schedule's tick skipped while the previous run went on).
    /// </summary>
    public RelayDeliveryState State { get; init; } = RelayDeliveryState.Pending;

    /// <summary>Why it is ignored or failed: kept as its <c>last_error</c>.</summary>
    public string? Reason { get; init; }

    /// <summary>Where it came from when not from its webhook (<see cref="RelayDelivery.Source"/>).</summary>
    public string? Source { get; init; }
}

/// <summary>What became of a new delivery: stored, a duplicate of <see cref="Id"/>, or a conflict with it (same key, another body).</summary>
internal readonly record struct AddResult(string Id, bool Duplicate, bool Conflict = false)
{
    /// <summary>A repeat of (route, dedupe key) found as <paramref name="id"/>: a duplicate if the bodies are equal, else a conflict.</summary>
    public static AddResult Existing(string id, byte[] storedBody, byte[] newBody) =>
        new(id, Duplicate: true, Conflict: !storedBody.AsSpan().SequenceEqual(newBody));
}

internal sealed record ClaimedDelivery(string Id, string Route, string JobId, byte[] Body, int Attempts, string? TraceParent = null, string? SenderTraceParent = null)
{
    /// <summary>The event name stored with the delivery.</summary>
    public string? Event { get; init; }

    /// <summary>The sender's own id for the event: the signed id of the dedupe key, else the unsigned label (X-GitHub-Delivery).</summary>
    public string? EventId { get; init; }

    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>The flow a FlowId route's delivery runs; null for an agent job.</summary>
    public string? FlowId { get; init; }

    /// <summary>The text the agent receives, rendered from the route's Message when the delivery was claimed; null to send the payload whole.</summary>
    public string? Message { get; init; }

    /// <summary>Whether the delivery's route posts a reply (PostReply) once the run has ended.</summary>
    public bool PostsReply { get; init; }
}

/// <param name="Owner">Who claims (one id per relay process).</param>
/// <param name="Now">The claim time.</param>
/// <param name="LeaseUntil">When the claims expire if their holder stops renewing them.</param>
/// <param name="Max">How many deliveries to claim at most.</param>
internal sealed record ClaimRequest(string Owner, DateTimeOffset Now, DateTimeOffset LeaseUntil, int Max);

/// <param name="Id">The claimed delivery.</param>
/// <param name="Owner">Its holder.</param>
/// <param name="Now">The send time.</param>
/// <param name="LeaseUntil">The lease while the run is in flight.</param>
/// <param name="MaxConcurrentRuns">No send while this many deliveries are <c>sending</c> in the whole store.</param>
/// <param name="MaxRunsPerMinute">No send while this many sends started in the last 60 seconds in the whole store.</param>
/// <param name="Message">The exact text the agent receives (the route's Message rendered), recorded as the send starts; null when the payload goes whole.</param>
internal sealed record StartRequest(string Id, string Owner, DateTimeOffset Now, DateTimeOffset LeaseUntil, int MaxConcurrentRuns, int MaxRunsPerMinute, string? Message = null);

/// <summary>What <see cref="IDeliveryStore.StartSendAsync"/> did.</summary>
/// <param name="Outcome">Started, held back by a limit, or no longer this owner's.</param>
/// <param name="Attempts">The attempt this send is, when started.</param>
internal readonly record struct SendStart(SendStartOutcome Outcome, int Attempts);

internal enum SendStartOutcome
{
    /// <summary>Committed as <c>sending</c>: send it now.</summary>
    Started,

    /// <summary>A limit is reached: keep the claim and try again later.</summary>
    LimitReached,

    /// <summary>The claim is no longer this owner's (its lease lapsed and another relay took it): drop it.</summary>
    Lost,
}

/// <summary>What is known of a run once its send has ended.</summary>
internal sealed record RunResult(string? Status, string? FinalReply, string? Error)
{
    /// <summary>The run's Runchat id, as the answer named it.</summary>
    public string? RunchatId { get; init; }

    /// <summary>The credits the run spent, as the answer's metadata said them (the number as written).</summary>
    public string? Credits { get; init; }
}

/// <summary>The names of the states, as stored and shown (lower case).</summary>
internal static class DeliveryStates
{
    public static string Name(RelayDeliveryState state) => state switch
    {
        RelayDeliveryState.Pending => "pending",
        RelayDeliveryState.Sending => "sending",
        RelayDeliveryState.Succeeded => "succeeded",
        RelayDeliveryState.Failed => "failed",
        RelayDeliveryState.Unknown => "unknown",
        RelayDeliveryState.Ignored => "ignored",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    public static RelayDeliveryState Parse(string text) => Enum.Parse<RelayDeliveryState>(text, ignoreCase: true);

    /// <summary>A state's lower-case name, as the command line and the dashboard take it (no numbers).</summary>
    public static bool TryParse(string text, out RelayDeliveryState state) =>
        Enum.TryParse(text, ignoreCase: true, out state) && !char.IsDigit(text[0]) && !text.StartsWith("-", StringComparison.Ordinal);
}

/// <summary>The <c>Store</c> setting: <c>&lt;kind&gt;:&lt;target&gt;</c>, such as <c>sqlite:&lt;path&gt;</c> or <c>postgres:&lt;Npgsql connection string&gt;</c>.</summary>
internal sealed record DeliveryStoreLocation(string Kind, string Target)
{
    public static bool TryParse(string? setting, out DeliveryStoreLocation? location, out string? error)
    {
        location = null;
        var text = string.IsNullOrWhiteSpace(setting) ? RunchatRelayOptions.DefaultStore : setting!.Trim();
        var colon = text.IndexOf(':');
        var name = colon < 0 ? string.Empty : text.Substring(0, colon).ToLowerInvariant();
        var target = colon < 0 ? string.Empty : text.Substring(colon + 1).Trim();
        if (!DeliveryStoreKinds.TryGet(name, out var kind))
        {
            error = "use " + DeliveryStoreKinds.Examples + ".";
            return false;
        }

        if (target.Length == 0)
        {
            error = $"{name}: needs {kind!.Needs}.";
            return false;
        }

        if (kind!.Validate(target) is { } invalid)
        {
            error = invalid;
            return false;
        }

        location = new DeliveryStoreLocation(kind.Name, target);
        error = null;
        return true;
    }

    /// <summary>For logs and messages: a password is never shown.</summary>
    public string Display => DeliveryStoreKinds.Get(Kind).Display(Target);

    /// <inheritdoc />
    public override string ToString() => Display;

    public IDeliveryStore Open() => new SqlDeliveryStore(DeliveryStoreKinds.Get(Kind).Create(Target));
}

/// <summary>
/// The kinds of store, registered by name (<c>Relay:Store</c>'s prefix): each makes its dialect, checks its target, and
/// shows it without secrets. A new database is one entry here and one <see cref="SqlDialect"/>.
/// </summary>
internal static class DeliveryStoreKinds
{
    private static readonly Dictionary<string, DeliveryStoreKind> Kinds = new(StringComparer.Ordinal)
    {
        ["sqlite"] = new("sqlite", "a file path, such as sqlite:runchat-relay.db", static path => new SqliteDialect(path), static _ => null, static path => "sqlite:" + path),
        ["postgres"] = new("postgres", "an Npgsql connection string, such as postgres:Host=db;Database=relay;Username=relay;Password=...",
            static target => new PostgresDialect(target), static target => PostgresDialect.TryValidate(target, out var error) ? null : error, static target => "postgres:" + PostgresDialect.Redact(target)),
    };

    /// <summary>The settings the error for an unknown kind shows.</summary>
    public static string Examples => "sqlite:<path>, such as sqlite:runchat-relay.db, or postgres:<Npgsql connection string>, such as postgres:Host=db;Database=relay;Username=relay";

    public static bool TryGet(string name, out DeliveryStoreKind? kind) => Kinds.TryGetValue(name == "postgresql" ? "postgres" : name, out kind);

    public static DeliveryStoreKind Get(string name) => TryGet(name, out var kind) ? kind! : throw new InvalidOperationException($"No store of kind '{name}'.");
}

/// <param name="Name">The kind, as <c>Relay:Store</c> names it.</param>
/// <param name="Needs">What its target is, for an error.</param>
/// <param name="Create">Its dialect, for a target.</param>
/// <param name="Validate">Why a target cannot be one, or null; never repeating a secret.</param>
/// <param name="Display">A target as logs and messages show it.</param>
internal sealed record DeliveryStoreKind(string Name, string Needs, Func<string, SqlDialect> Create, Func<string, string?> Validate, Func<string, string> Display);
