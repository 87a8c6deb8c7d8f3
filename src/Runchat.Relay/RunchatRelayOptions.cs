using System;
using System.Collections.Generic;
using System.Linq;
using Runchat.Relay.Signatures;

namespace Runchat.Relay;

/// <summary>
/// The relay's settings: where deliveries are stored, how fast runs may start, and the routes.
/// Bound from the <c>Relay</c> configuration section and validated at start-up, naming the route at fault.
/// </summary>
public sealed class RunchatRelayOptions
{
    /// <summary>The default store: a SQLite file in the working directory.</summary>
    public const string DefaultStore = "sqlite:runchat-relay.db";

    /// <summary>
    /// <c>sqlite:&lt;path&gt;</c> (embedded, one relay process per file), or
    /// <c>postgres:&lt;Npgsql connection string&gt;</c> (any number of relay instances on one database).
    /// Defaults to <see cref="DefaultStore"/>. A password in it is never logged or shown.
    /// </summary>
    public string Store { get; set; } = DefaultStore;

    /// <summary>
    /// How many agent runs may be in flight at once. Defaults to 4. With a shared store (PostgreSQL)
    /// this is a global limit: all instances together, counted in the database.
    /// </summary>
    public int MaxConcurrentRuns { get; set; } = 4;

    /// <summary>
    /// How many runs may start in any 60 seconds. Defaults to 10, the limit Runchat's docs state. With a
    /// shared store (PostgreSQL) this is a global limit: all instances together, counted in the database.
    /// Starts are counted per whole second, so a start may wait up to a second longer than an exact
    /// count would make it wait, never less.
    /// </summary>
    public int MaxRunsPerMinute { get; set; } = 10;

    /// <summary>
    /// How long a relay's claim on a delivery lasts unless renewed (it renews every third of this while
    /// it runs). When an instance dies, its unsent claims pass to another after this long, and its runs
    /// in flight become <c>unknown</c>. Defaults to 30 seconds; between 1 second and 1 hour. Instances
    /// sharing a store must have clocks within a small part of it (NTP).
    /// </summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest webhook body accepted; a larger one is answered 413. Defaults to 1 MiB.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The deepest a body's JSON may nest, the body itself being level 1: a deeper one is answered 400. Defaults to 64 (what System.Text.Json and Newtonsoft.Json read by default); at most 1000.</summary>
    public int MaxBodyDepth { get; set; } = 64;

    /// <summary>The largest <see cref="MaxBodyDepth"/> accepted.</summary>
    internal const int MaxBodyDepthLimit = 1000;

    /// <summary>How far a signed timestamp may be from the relay's clock. Defaults to 5 minutes.</summary>
    public TimeSpan SignatureTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The first wait before a send that provably did not happen is tried again; it doubles per attempt, up to 5 minutes.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The routes mapped by <c>MapRunchatRelay()</c>.</summary>
    public List<RelayRouteOptions> Routes { get; set; } = new();

    /// <summary>Runs started on a cron, each tick a delivery (see <see cref="RelayScheduleOptions"/>).</summary>
    public List<RelayScheduleOptions> Schedules { get; set; } = new();

    /// <summary>How long finished deliveries are kept, per state (see <see cref="RelayRetentionOptions"/>).</summary>
    public RelayRetentionOptions Retention { get; set; } = new();

    /// <summary>Every problem that would stop the relay working, each naming its route; empty when there is none.</summary>
    /// <param name="schemes">The schemes a route may name; the built-in ones when null.</param>
    internal IReadOnlyList<string> Validate(WebhookSchemes? schemes = null)
    {
        schemes ??= WebhookSchemes.BuiltIn;
        var errors = new List<string>();
        if (!DeliveryStoreLocation.TryParse(Store, out var store, out var storeError))
        {
            errors.Add("Relay:Store: " + storeError);
        }
        else if (store!.Kind == "sqlite" && System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(store.Target)) is { } folder && !System.IO.Directory.Exists(folder))
        {
            errors.Add($"Relay:Store: the folder {folder} does not exist; create it, or point Relay:Store at a file in a folder that does.");
        }

        if (MaxConcurrentRuns is < 1 or > 1000) errors.Add($"Relay:MaxConcurrentRuns must be between 1 and 1000; got {MaxConcurrentRuns}.");
        if (MaxRunsPerMinute is < 1 or > 1_000_000) errors.Add($"Relay:MaxRunsPerMinute must be between 1 and 1000000; got {MaxRunsPerMinute}.");
        if (MaxBodyBytes is < 2 or > 100 * 1024 * 1024) errors.Add($"Relay:MaxBodyBytes must be between 2 and 104857600; got {MaxBodyBytes}.");
        if (MaxBodyDepth is < 2 or > MaxBodyDepthLimit) errors.Add($"Relay:MaxBodyDepth must be between 2 and {MaxBodyDepthLimit}; got {MaxBodyDepth}.");
        if (SignatureTolerance <= TimeSpan.Zero) errors.Add($"Relay:SignatureTolerance must be positive; got {SignatureTolerance}.");
        if (ClaimLease < TimeSpan.FromSeconds(1) || ClaimLease > TimeSpan.FromHours(1)) errors.Add($"Relay:ClaimLease must be between 00:00:01 and 01:00:00; got {ClaimLease}.");
        if (RetryBaseDelay <= TimeSpan.Zero) errors.Add($"Relay:RetryBaseDelay must be positive; got {RetryBaseDelay}.");
        errors.AddRange(Retention.Validate());

        for (var i = 0; i < Routes.Count; i++)
        {
            var route = Routes[i];
            var name = $"Relay:Routes:{i} ({route.Path ?? "no path"})";
            if (route.CreateRoute(schemes, out var error) is null)
            {
                errors.Add($"{name}: {error}");
            }
        }

        for (var i = 0; i < Schedules.Count; i++)
        {
            if (Schedules[i].Create(out var scheduleError) is null)
            {
                errors.Add($"Relay:Schedules:{i} ({Schedules[i].Name ?? "no name"}): {scheduleError}");
            }
        }

        // Ignoring case: a schedule's ticks are the route schedule:<Name>, and routes are matched ignoring case.
        foreach (var twice in Schedules.Where(s => s.Name is not null).GroupBy(s => s.Name!, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            errors.Add($"Relay:Schedules: the name {twice.Key} is used {twice.Count()} times ({string.Join(", ", twice.Select(s => s.Name))}; case does not make names different): each schedule's ticks are told apart by its name.");
        }

        // ASP.NET Core matches paths case-insensitively and with or without a trailing slash, so
        // /hooks/a and /hooks/a/ are one endpoint mapped twice (every request would be a 500).
        foreach (var duplicate in Routes.Where(r => r.Path is not null).GroupBy(r => RelayRoute.Normalize(r.Path!), StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            errors.Add($"Relay:Routes: the path {duplicate.Key} is mapped {duplicate.Count()} times ({string.Join(", ", duplicate.Select(r => r.Path))}; case and a trailing slash do not make paths different).");
        }

        return errors;
    }
}

/// <summary>One webhook route: where it listens, which job it triggers, and how its senders sign.</summary>
public sealed class RelayRouteOptions
{
    /// <summary>The path, such as <c>/hooks/stripe</c>.</summary>
    public string? Path { get; set; }

    /// <summary>The Runchat job to trigger with each delivery's body.</summary>
    public string? JobId { get; set; }

    /// <summary>
    /// Instead of <see cref="JobId"/>: the Runchat flow each delivery runs. The body is posted to
    /// <c>POST /{runchat_id}</c> byte for byte, as the input of the flow's Webhook node. Exactly one of
    /// <see cref="JobId"/> and <see cref="FlowId"/> per route; a flow route takes no <see cref="Message"/>.
    /// </summary>
    public string? FlowId { get; set; }

    /// <summary>
    /// The scheme its senders sign with: <c>standard-webhooks</c>, <c>stripe</c>, <c>github</c>, <c>slack</c>, <c>gitlab</c>,
    /// <c>shopify</c>, <c>linear</c>, <c>twilio</c>, <c>pagerduty</c>, <c>discord</c>, <c>hmac-sha256</c>, <c>none</c>, or the
    /// name of a scheme registered with <c>AddScheme</c>.
    /// </summary>
    public string? Signature { get; set; }

    /// <summary>The signing secret (from an environment variable or a secret store, as any configuration value). Not shown anywhere.</summary>
    public string? Secret { get; set; }

    /// <summary>For <c>hmac-sha256</c>: the header that carries the signature.</summary>
    public string? Header { get; set; }

    /// <summary>For <c>discord</c>: the application's public key, 64 hex characters (Developer Portal, General Information).</summary>
    public string? PublicKey { get; set; }

    /// <summary>
    /// For <c>twilio</c>: the URL Twilio posts to, such as <c>https://relay.example.com/hooks/twilio</c>, when the relay sees
    /// another (behind a proxy or a tunnel); Twilio signs the URL. Unset: the URL of the request as the relay sees it.
    /// </summary>
    public Uri? PublicUrl { get; set; }

    /// <summary>
    /// For <c>slack</c>: the text a slash command or an interaction is answered with at once, within
    /// Slack's 3 seconds, such as "On it: I'll post the answer here." Without it the answer is empty.
    /// </summary>
    public string? Reply { get; set; }

    /// <summary>
    /// Event-name patterns this route runs, such as <c>issues.opened</c> or <c>issue_comment.*</c> (<c>*</c> as a
    /// suffix wildcard). A verified delivery whose event matches none is answered
    /// <c>200 {"ignored": true, "reason": "…"}</c>: not stored, not run. Empty or unset: every event runs.
    /// </summary>
    public IList<string> Events { get; set; } = new List<string>();

    /// <summary>
    /// A JSONPath over the payload, as Newtonsoft.Json's <c>SelectTokens</c> reads it, such as
    /// <c>$.issue.labels[?(@.name == 'agent')]</c>: the delivery runs only when it selects at least one
    /// node, and is ignored otherwise, as for <see cref="Events"/>. An invalid expression fails at start-up.
    /// </summary>
    public string? When { get; set; }

    /// <summary>
    /// A Liquid template for the text the agent receives instead of the whole payload, such as
    /// <c>New issue #{{ payload.issue.number }}: {{ payload.issue.title }}</c>. The model: <c>payload</c>,
    /// <c>event.name</c>, <c>event.id</c>, <c>delivery.id</c>, <c>delivery.received_at</c>, <c>route.path</c>,
    /// <c>route.job_id</c>. A template that does not parse fails at start-up; a render that fails, or is
    /// empty, marks the delivery <c>failed</c> and sends nothing.
    /// </summary>
    public string? Message { get; set; }

    /// <summary>
    /// Where the agent's answer goes once the run has ended: a GitHub comment, a Slack thread, or a signed webhook
    /// (<see cref="RelayReplyOptions"/>). Unset: the answer is stored (<c>relay show</c>) and posted nowhere.
    /// </summary>
    public RelayReplyOptions? PostReply { get; set; }

    /// <summary>For a <c>github</c> route: the webhook whose deliveries <c>relay backfill</c> reads from GitHub's API.</summary>
    public RelayGitHubSourceOptions? GitHub { get; set; }

    /// <summary>For a <c>stripe</c> route: the account whose events <c>relay backfill</c> reads from Stripe's API.</summary>
    public RelayStripeSourceOptions? Stripe { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"{Path} -> {JobId} ({Signature})";

    /// <summary>Why the route's backfill source cannot be used, or null (none, or a good one).</summary>
    private string? BackfillProblem()
    {
        var signature = Signature?.Trim().ToLowerInvariant();
        if (GitHub is not null && signature != "github")
        {
            return $"GitHub (a backfill source) is for a github route; this one's Signature is {Signature}.";
        }

        if (Stripe is not null && signature != "stripe")
        {
            return $"Stripe (a backfill source) is for a stripe route; this one's Signature is {Signature}.";
        }

        return GitHub?.Problem() ?? Stripe?.Problem();
    }

    internal RelayRoute? CreateRoute(WebhookSchemes schemes, out string? error)
    {
        if (string.IsNullOrWhiteSpace(Path) || !Path!.StartsWith("/", StringComparison.Ordinal))
        {
            error = "Path must start with '/', such as /hooks/stripe.";
            return null;
        }

        if (BackfillProblem() is { } backfill)
        {
            error = backfill;
            return null;
        }

        try
        {
            var scheme = schemes.Create(Signature, new WebhookSchemeSettings(Path, Secret, Header, PublicKey, PublicUrl));
            error = null;
            return RelayRoute.Create(Path, JobId, FlowId, scheme).WithRules(this);
        }
        catch (ArgumentException exception)
        {
            error = Messages.WithoutParameter(exception);
            return null;
        }
    }
}
