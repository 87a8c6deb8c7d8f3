using System;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// Where one kind of reply goes (<c>PostReply.To</c>): what in the payload names the place, how a post is made, and
/// how a reply already posted is found again by its marker. Every HTTP answer and failure becomes a
/// <see cref="ReplyOutcome"/> in one table (<see cref="ReplyOutcome.Of(HttpResponseMessage, string)"/>).
/// </summary>
internal abstract class ReplyTarget
{
    /// <summary>As configured: <c>github-comment</c>, <c>slack-thread</c>, <c>webhook</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the post is text from the template (<c>github-comment</c>, <c>slack-thread</c>) rather than the run's fields as JSON (<c>webhook</c>).</summary>
    public virtual bool PostsText => true;

    /// <summary>Where this payload's reply goes, or why it has nowhere to go (the payload names no issue, no channel).</summary>
    public abstract ReplyAddress? Address(JsonElement payload, out string? error);

    /// <summary>
    /// After a post whose outcome is unknown: the reply already posted for <paramref name="deliveryId"/> (its URL), or
    /// null when there is none. Throws when it cannot tell (then nothing is posted).
    /// </summary>
    /// <exception cref="ReplyLookupException">The target could not be read; the reply stays unknown and is looked for again later.</exception>
    public abstract Task<string?> FindAsync(HttpClient http, ReplyAddress address, string deliveryId, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Whether a reply to <paramref name="address"/> whose post is unknown can be resolved: found by its marker, or re-sent so that the receiver deduplicates it.</summary>
    public virtual bool CanResolveUnknown(ReplyAddress address) => true;

    /// <summary>Posts the reply once. Never throws for what the target answered: the outcome says it.</summary>
    public abstract Task<ReplyOutcome> PostAsync(HttpClient http, ReplyAddress address, ReplyContent content, CancellationToken cancellationToken);

    /// <summary>Whether a reply may be sent to <paramref name="url"/>: https, or http only on loopback (a test's fake, a local receiver).</summary>
    public static bool IsSafeUrl(Uri? url) =>
        url is { IsAbsoluteUri: true } && (url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && url.IsLoopback));

    /// <summary>An API's base URL, checked by <see cref="IsSafeUrl"/> and ending with '/' so that relative paths append to it.</summary>
    /// <exception cref="ArgumentException">It is not; the message names <paramref name="key"/> and gives <paramref name="example"/>.</exception>
    public static Uri ApiBase(Uri api, string key, string example) =>
        !IsSafeUrl(api) ? throw new ArgumentException($"{key} must be an absolute https URL (http only on loopback), such as {example}.")
        : api.AbsoluteUri.EndsWith('/') ? api : new Uri(api.AbsoluteUri + "/");

    /// <summary>The hidden marker a reply carries: the delivery id, so that the relay can find its own reply again.</summary>
    public static string Marker(string deliveryId) => $"<!-- runchat-relay:{deliveryId} -->";
}

/// <summary>The place a reply goes, as a target reads it from the payload: a URL and what else the target needs.</summary>
/// <param name="Url">The API endpoint that takes the post (a comments URL, a response_url, a webhook URL).</param>
/// <param name="Display">What the place is, for messages: <c>octo/repo#12</c>, <c>Slack channel C123, thread 1700…</c>.</param>
internal sealed record ReplyAddress(Uri Url, string Display)
{
    /// <summary>A GitHub App's installation id (from the payload), when the relay authenticates as an App.</summary>
    public long? Installation { get; init; }

    /// <summary>GitHub: the discussion's node id, for a discussion's reply (GraphQL).</summary>
    public string? Discussion { get; init; }

    /// <summary>Slack: the channel and the thread's ts.</summary>
    public (string Channel, string ThreadTs)? SlackThread { get; init; }
}

/// <summary>What is posted: the rendered text, or the run's fields, and the ids that make it recognisable.</summary>
internal sealed record ReplyContent(string DeliveryId, string? Text, RunFacts Run, string? Event, string? JobId, string? RunchatId, DateTimeOffset ReceivedAt, DateTimeOffset Now);

/// <summary>How a post ended, in the reply's states: posted, failed (refused), unknown (may have arrived), or again (provably did not).</summary>
internal sealed record ReplyOutcome(RelayReplyState State, string? Url, string? Error, TimeSpan? RetryAfter = null)
{
    public static ReplyOutcome Posted(string url) => new(RelayReplyState.Posted, url, null);

    public static ReplyOutcome Failed(string error) => new(RelayReplyState.Failed, null, error);

    public static ReplyOutcome Unknown(string error) => new(RelayReplyState.Unknown, null, error);

    /// <summary>Provably not posted (429, a rate limit, no connection): pending again, after <paramref name="retryAfter"/> when the target said.</summary>
    public static ReplyOutcome Again(string error, TimeSpan? retryAfter = null) => new(RelayReplyState.Pending, null, error, retryAfter);

    /// <summary>
    /// The one table for an HTTP answer: 2xx posted; 429, and GitHub's rate limits (403 with <c>Retry-After</c> or
    /// <c>x-ratelimit-remaining: 0</c>), again; another 3xx or 4xx, failed; 5xx and anything else, unknown (it may
    /// have been posted).
    /// </summary>
    /// <param name="response">The answer.</param>
    /// <param name="what">The target, for the message: <c>GitHub</c>, <c>Slack</c>, <c>the webhook</c>.</param>
    public static ReplyOutcome Of(HttpResponseMessage response, string what)
    {
        var status = (int)response.StatusCode;
        var retryAfter = RetryAfterOf(response);
        if (status == 429 || (status == 403 && (retryAfter is not null || Header(response, "x-ratelimit-remaining") == "0")))
        {
            return Again($"{what} answered {status} (rate limited): not posted; trying again later.", retryAfter ?? ResetOf(response));
        }

        return status switch
        {
            >= 200 and < 300 => Posted(string.Empty),
            >= 300 and < 500 => Failed($"{what} refused the reply: {status} {response.ReasonPhrase}."),
            _ => Unknown($"{what} answered {status} {response.ReasonPhrase}: the reply may or may not have been posted."),
        };
    }

    /// <summary>The one table for a failure: no connection (nothing left this machine), again; a timeout or a dropped connection, unknown.</summary>
    public static ReplyOutcome Of(Exception failure, string what) => failure switch
    {
        HttpRequestException http when RunchatRetry.IsSafeToResend(http) => Again($"Could not connect to {what} (nothing was sent): {http.Message}"),
        HttpRequestException dropped => Unknown($"The connection to {what} failed after the reply was sent: {dropped.Message}"),
        OperationCanceledException or TimeoutException => Unknown($"{what} did not answer in time: the reply may or may not have been posted."),
        _ => Unknown($"The post to {what} ended unexpectedly ({failure.GetType().Name}): {failure.Message}"),
    };

    private static TimeSpan? RetryAfterOf(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow > TimeSpan.Zero ? date - DateTimeOffset.UtcNow : TimeSpan.Zero,
        _ => null,
    };

    // GitHub's primary rate limit: x-ratelimit-reset is the Unix second the window opens again.
    private static TimeSpan? ResetOf(HttpResponseMessage response) =>
        long.TryParse(Header(response, "x-ratelimit-reset"), NumberStyles.None, CultureInfo.InvariantCulture, out var reset)
            ? TimeSpan.FromMilliseconds(Math.Max(0, (reset * 1000) - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))
            : null;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}

/// <summary>A target could not be read to find a reply already posted; nothing is posted until it can be.</summary>
internal sealed class ReplyLookupException : Exception
{
    public ReplyLookupException(string message)
        : base(message)
    {
    }

    public ReplyLookupException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Reading a payload's places, shared by the targets.</summary>
internal static class PayloadPaths
{
    public static string? String(JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return null;
            }
        }

        return element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number => element.GetRawText(),
            _ => null,
        };
    }

    public static long? Number(JsonElement element, params string[] path) =>
        long.TryParse(String(element, path), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}
