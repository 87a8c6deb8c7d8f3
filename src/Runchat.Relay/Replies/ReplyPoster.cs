using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Runchat.Relay.Signatures;

namespace Runchat.Relay;

/// <summary>
/// Posts the replies of finished runs (a route's <c>PostReply</c>), exactly once: each is claimed as <c>posting</c>
/// (committed before the post leaves, under a lease), posted, and recorded. A post that provably did not happen (429,
/// a rate limit, no connection) is pending again with backoff; one that may have happened (a timeout, a 5xx, a relay
/// killed mid-post) is <c>unknown</c>, and before it is posted again the target is read for the reply's marker.
/// The reply never changes or delays the run's own state.
/// </summary>
internal sealed class ReplyPoster : BackgroundService
{
    /// <summary>The IHttpClientFactory name of the replies' client (resilience handlers removed: this class owns its retries).</summary>
    public const string HttpClientName = "Runchat.Relay.Replies";

    /// <summary>How many attempts a reply gets before it is given up (failed, or unknown when the last may have arrived).</summary>
    public const int MaxAttempts = 8;

    /// <summary>A claim's lease: the relay's <c>ClaimLease</c> (30 s by default), after which a dead poster's reply is recovered as unknown.</summary>
    private readonly TimeSpan _lease;

    /// <summary>How long one reply's requests may take, its lookup, token and post together: four fifths of the lease, so a live poster never loses it mid-post.</summary>
    private readonly TimeSpan _postTimeout;

    /// <summary>The longest wait between two attempts, a Retry-After included.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private const int Batch = 4;

    private readonly IDeliveryStore _store;
    private readonly RelayRouteTable _routes;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly ILogger<ReplyPoster> _logger;
    private readonly TimeSpan _retryBaseDelay;
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    public ReplyPoster(IDeliveryStore store, RelayRouteTable routes, IHttpClientFactory http, IOptions<RunchatRelayOptions> options, TimeProvider time, ILogger<ReplyPoster> logger)
    {
        _store = store;
        _routes = routes;
        _http = http;
        _time = time;
        _logger = logger;
        _retryBaseDelay = options.Value.RetryBaseDelay;
        _lease = options.Value.ClaimLease;
        _postTimeout = _lease * 0.8;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!System.Linq.Enumerable.Any(_routes.Configured, route => route.PostReply is not null))
        {
            return; // No route posts replies: nothing to claim, ever.
        }

        var atStart = true;
        var nextRecovery = DateTimeOffset.MinValue;
        DateTimeOffset? storeDownSince = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<ClaimedReply> claimed;
            try
            {
                var now = _time.GetUtcNow();
                if (now >= nextRecovery)
                {
                    // At start, then twice per lease: a dead poster's reply waits at most a lease and a half.
                    if (await _store.RecoverRepliesAsync(now, atStart, CancellationToken.None).ConfigureAwait(false) is > 0 and var recovered)
                    {
                        _logger.LogWarning("{Count} reply post(s) were cut off by a relay that stopped; each is looked for before it is posted again.", recovered);
                    }

                    atStart = false;
                    nextRecovery = now + (_lease / 2);
                }

                // Not cancellable: a claim committed but never read would wait for its lease.
                claimed = await _store.ClaimRepliesAsync(_owner, now, now + _lease, Batch, CancellationToken.None).ConfigureAwait(false);
                storeDownSince = null;
            }
            catch (Exception exception)
            {
                if (storeDownSince is null)
                {
                    storeDownSince = _time.GetUtcNow();
                    _logger.LogError(exception, "The reply poster could not read the relay's store; trying again every second.");
                }

                await Task.Delay(Poll, _time, stoppingToken).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                continue;
            }

            if (claimed.Count == 0)
            {
                await Task.Delay(Poll, _time, stoppingToken).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                continue;
            }

            var posts = new List<Task>(claimed.Count);
            foreach (var reply in claimed)
            {
                posts.Add(PostAsync(reply));
            }

            await Task.WhenAll(posts).ConfigureAwait(false);
        }
    }

    /// <summary>One claimed reply, from the route's PostReply to the target and back to the store. Never throws.</summary>
    private async Task PostAsync(ClaimedReply reply)
    {
        ReplyOutcome outcome;
        var found = false;
        ReplyTarget? target = null;
        ReplyAddress? address = null;
        try
        {
            (outcome, found, target, address) = await AttemptAsync(reply).ConfigureAwait(false);
        }
        catch (Exception unexpected)
        {
            outcome = ReplyOutcome.Unknown($"The reply ended unexpectedly ({unexpected.GetType().Name}): {unexpected.Message}");
        }

        var (state, error, next) = Decide(reply, outcome, target, address);
        try
        {
            if (!await _store.FinishReplyAsync(reply.Id, _owner, state, outcome.Url, error, next, CancellationToken.None).ConfigureAwait(false))
            {
                _logger.LogWarning("Delivery {DeliveryId}: the reply's lease lapsed before its outcome ({State}) was recorded; it is recovered as unknown.", reply.Id, ReplyStates.Name(state));
                return;
            }
        }
        catch (Exception exception)
        {
            // It stays posting; its lease runs out, and it becomes unknown: looked for before it is posted again.
            _logger.LogError(exception, "Delivery {DeliveryId}: could not record the reply's outcome ({State}).", reply.Id, ReplyStates.Name(state));
            return;
        }

        var level = state == RelayReplyState.Posted ? LogLevel.Information : LogLevel.Warning;
        _logger.Log(level, "Delivery {DeliveryId}: reply {State}{Where}{Error}", reply.Id, ReplyStates.Name(state),
            outcome.Url is { Length: > 0 } url ? " (" + url + (found ? ", found from an earlier attempt" : string.Empty) + ")" : string.Empty,
            error is null ? string.Empty : ": " + error);
    }

    /// <summary>What one attempt came to: the route's target and address, a lookup when an earlier attempt may have posted, then the post.</summary>
    private async Task<(ReplyOutcome Outcome, bool Found, ReplyTarget? Target, ReplyAddress? Address)> AttemptAsync(ClaimedReply reply)
    {
        if (_routes.Find(reply.Route)?.PostReply is not { } route)
        {
            return (ReplyOutcome.Failed("Not posted: the route no longer has PostReply."), false, null, null);
        }

        WebhookPayload payload;
        try
        {
            payload = WebhookPayload.ParseStored(reply.Body, RunchatRelayOptions.MaxBodyDepthLimit);
        }
        catch (JsonException invalid)
        {
            // Before any post: nothing was posted.
            return (ReplyOutcome.Failed($"Not posted: the stored payload is not JSON the reply can read ({invalid.Message})."), false, null, null);
        }

        using var _ = payload;
        var target = route.Target;
        if (target.Address(payload.Root, out var nowhere) is not { } address)
        {
            return (ReplyOutcome.Failed("Not posted: " + nowhere + "."), false, target, null);
        }

        var run = new RunFacts(DeliveryStates.Name(reply.State), reply.Run.FinalReply, reply.Run.Error, reply.Run.Credits);
        string? text = null;
        if (route.Template is { } template)
        {
            var (rendered, error) = await template.RenderAsync(new MessageModel(payload.Root, reply.Event, null, reply.Id, reply.ReceivedAt, reply.Route, reply.JobId ?? reply.FlowId ?? string.Empty) { Run = run }).ConfigureAwait(false);
            if (error is not null)
            {
                return (ReplyOutcome.Failed(error), false, target, address);
            }

            text = rendered;
        }

        var http = _http.CreateClient(HttpClientName);
        using var timeout = new CancellationTokenSource(_postTimeout, _time);
        try
        {
            // An earlier attempt may have posted it: look for its marker first, and post only if it is absent.
            if (reply.Attempts > 1 && await LookUpAsync(target, http, address, reply, timeout.Token).ConfigureAwait(false) is { } earlier)
            {
                return (earlier, earlier.State == RelayReplyState.Posted, target, address);
            }

            var content = new ReplyContent(reply.Id, text, run, reply.Event, reply.JobId ?? reply.FlowId, reply.Run.RunchatId, reply.ReceivedAt, _time.GetUtcNow());
            return (await target.PostAsync(http, address, content, timeout.Token).ConfigureAwait(false), false, target, address);
        }
        catch (GitHubAuthenticationException refused)
        {
            // Before the post: nothing was posted.
            return (refused.Status >= 500 ? ReplyOutcome.Again(refused.Message) : ReplyOutcome.Failed(refused.Message), false, target, address);
        }
        catch (Exception failure) when (failure is HttpRequestException or OperationCanceledException or TimeoutException)
        {
            return (ReplyOutcome.Of(failure, address.Display), false, target, address);
        }
    }

    /// <summary>The reply an earlier attempt posted (posted, with its URL), none (null: post it), or unknown when the target cannot be read.</summary>
    private static async Task<ReplyOutcome?> LookUpAsync(ReplyTarget target, HttpClient http, ReplyAddress address, ClaimedReply reply, CancellationToken cancellationToken)
    {
        try
        {
            return await target.FindAsync(http, address, reply.Id, reply.ReceivedAt, cancellationToken).ConfigureAwait(false) is { } posted ? ReplyOutcome.Posted(posted) : null;
        }
        catch (ReplyLookupException cannotTell)
        {
            return ReplyOutcome.Unknown(cannotTell.Message);
        }
        catch (Exception lookup) when (lookup is HttpRequestException or OperationCanceledException or JsonException)
        {
            return ReplyOutcome.Unknown($"Could not look for the reply an earlier attempt may have posted: {lookup.Message} Nothing was posted.");
        }
    }

    /// <summary>The reply's next state: as the attempt ended, within the attempts allowed, and never a second post that cannot be looked for.</summary>
    private (RelayReplyState State, string? Error, DateTimeOffset? Next) Decide(ClaimedReply reply, ReplyOutcome outcome, ReplyTarget? target, ReplyAddress? address)
    {
        switch (outcome.State)
        {
            case RelayReplyState.Posted:
                return (RelayReplyState.Posted, null, null);
            case RelayReplyState.Failed:
                return (RelayReplyState.Failed, outcome.Error, null);
        }

        if (outcome.State == RelayReplyState.Unknown && (target is null || address is null || !target.CanResolveUnknown(address)))
        {
            return (RelayReplyState.Unknown, outcome.Error + " It cannot be looked for, so it is not posted again (never twice).", null);
        }

        if (reply.Attempts >= MaxAttempts)
        {
            return outcome.State == RelayReplyState.Pending
                ? (RelayReplyState.Failed, $"{outcome.Error} Gave up after {reply.Attempts} attempts.", null)
                : (RelayReplyState.Unknown, $"{outcome.Error} Gave up after {reply.Attempts} attempts; it may have been posted.", null);
        }

        return (outcome.State, outcome.Error, _time.GetUtcNow() + Delay(outcome.RetryAfter, reply.Attempts));
    }

    /// <summary>Retry-After when the target said, else the relay's base delay doubled per attempt, with up to 25% jitter; at most <see cref="MaxDelay"/>.</summary>
    private TimeSpan Delay(TimeSpan? retryAfter, int attempts)
    {
        if (retryAfter is { } asked)
        {
            return asked < MaxDelay ? asked : MaxDelay;
        }

        var exponential = _retryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 20));
        var jittered = exponential * (1 + (RandomNumberGenerator.GetInt32(0, 250) / 1000.0));
        return TimeSpan.FromMilliseconds(Math.Min(jittered, MaxDelay.TotalMilliseconds));
    }
}
