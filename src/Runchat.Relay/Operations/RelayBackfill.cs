using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Runchat.Relay;

/// <summary>A delivery a sender's API says it made (or an event it holds), before the relay decides anything.</summary>
/// <param name="Id">The id the authenticated API vouches for: GitHub's delivery GUID, Stripe's event id.</param>
/// <param name="Event">The event as the API names it, for the report.</param>
/// <param name="At">When the sender made it.</param>
internal sealed record BackfillCandidate(string Id, string? Event, DateTimeOffset At);

/// <summary>One candidate and what became of it.</summary>
internal sealed record BackfillLine(BackfillCandidate Candidate, BackfillResult Result);

/// <summary>A backfill that cannot go on: credentials refused, a rate limit spent for long, a webhook that does not exist. What was stored stays stored.</summary>
internal sealed class BackfillException : Exception
{
    public BackfillException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// <c>relay backfill</c>: reads what a sender sent (or holds) from its own authenticated API, and stores each delivery
/// the relay never received through the ingest's path (<see cref="RelayIngest.StoreFromSourceAsync"/>), oldest first,
/// marked with its source. GitHub: the webhook's deliveries (<c>GET /repos/{owner}/{repo}/hooks/{id}/deliveries</c>, or
/// the App's <c>GET /app/hook/deliveries</c>), each payload fetched only for a delivery the relay does not have (matched by
/// the <c>X-GitHub-Delivery</c> GUID it stored as a label). Stripe: <c>GET /v1/events</c> since then (the event id is the
/// dedupe key, as live).
/// </summary>
/// <remarks>
/// The APIs are read politely: pages of 100; a <c>429</c>, or a <c>403</c> with <c>Retry-After</c> or
/// <c>X-RateLimit-Remaining: 0</c>, waits as long as asked (up to <see cref="MaxWait"/>, then stops with the time to
/// come back); a page that spends the last request waits for the reset before the next. A read is a GET: repeating one
/// changes nothing.
/// </remarks>
internal sealed class RelayBackfill
{
    /// <summary>The longest wait for a rate limit before the backfill stops and says when to run it again.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(2);

    private const int MaxAttempts = 5;

    private readonly RelayIngest _ingest;
    private readonly IDeliveryStore _store;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    public RelayBackfill(RelayIngest ingest, IDeliveryStore store, HttpClient http, TimeProvider time)
    {
        _ingest = ingest;
        _store = store;
        _http = http;
        _time = time;
    }

    /// <summary>Every delivery of the route's source since <paramref name="since"/>, and what became of each, oldest first.</summary>
    /// <exception cref="BackfillException">The source refused or failed; the message says what to do.</exception>
    public async Task<IReadOnlyList<BackfillLine>> RunAsync(RelayRoute route, RelayRouteOptions options, DateTimeOffset since, bool dryRun, CancellationToken cancellationToken)
    {
        if (options.GitHub is { } github)
        {
            return await GitHubAsync(route, github, since, dryRun, cancellationToken).ConfigureAwait(false);
        }

        if (options.Stripe is { } stripe)
        {
            return await StripeAsync(route, stripe, since, dryRun, cancellationToken).ConfigureAwait(false);
        }

        throw new BackfillException($"the route {route.Path} has no source to backfill from: give it GitHub (Repository, HookId, Token, or an App) or Stripe (ApiKey).");
    }

    private async Task<IReadOnlyList<BackfillLine>> GitHubAsync(RelayRoute route, RelayGitHubSourceOptions github, DateTimeOffset since, bool dryRun, CancellationToken cancellationToken)
    {
        var api = github.ApiUrl.AbsoluteUri.EndsWith('/') ? github.ApiUrl : new Uri(github.ApiUrl.AbsoluteUri + "/");
        var hook = github.AppId is null ? $"repos/{github.Repository}/hooks/{github.HookId}/deliveries" : "app/hook/deliveries";
        var app = github.AppId is null ? null : new GitHubCommentTarget(new RelayGitHubOptions { AppId = github.AppId, PrivateKey = github.PrivateKey, ApiUrl = api }, _time);
        string Bearer() => app?.AppJwt(_time.GetUtcNow()) ?? github.Token!;

        // The list: newest first, one entry per attempt (a redelivery repeats the GUID); stop at the first older than since.
        var listed = new List<(long Id, BackfillCandidate Candidate)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (Uri? page = new(api, hook + "?per_page=100"); page is not null;)
        {
            using var response = await SendAsync("GitHub", () => GitHubRequest(page, Bearer()), cancellationToken).ConfigureAwait(false);
            var (entries, older) = await ReadAsync("GitHub", response, root =>
            {
                var entries = new List<(long Id, BackfillCandidate Candidate)>();
                foreach (var item in Items(root))
                {
                    var at = Time(item, "delivered_at");
                    if (at < since)
                    {
                        return (entries, true);
                    }

                    var action = item.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String ? "." + a.GetString() : string.Empty;
                    entries.Add((Number(item, "id"), new BackfillCandidate(Text(item, "guid"), Text(item, "event") + action, at)));
                }

                return (entries, false);
            }, cancellationToken).ConfigureAwait(false);
            listed.AddRange(entries.Where(entry => seen.Add(entry.Candidate.Id)));
            page = older ? null : GitHubCommentTarget.NextPage(response);
        }

        var lines = new List<BackfillLine>();
        foreach (var (id, candidate) in Enumerable.Reverse(listed))
        {
            if (await _store.FindIdAsync(route.Path, "id:" + candidate.Id, candidate.Id, cancellationToken).ConfigureAwait(false) is { } had)
            {
                // Received live (its GUID is the stored label) or backfilled before: its payload is not even fetched.
                lines.Add(new BackfillLine(candidate, new BackfillResult(false, had, candidate.Event, $"skipped: the relay has it ({had})")));
                continue;
            }

            using var response = await SendAsync("GitHub", () => GitHubRequest(new Uri(api, $"{hook}/{id}"), Bearer()), cancellationToken).ConfigureAwait(false);
            var (headers, body) = await ReadAsync("GitHub", response, root =>
            {
                var request = Member(root, "request");
                // The API gives the payload as JSON whatever content type the hook sends (so no Content-Type: it is read
                // as JSON), and the scheme reads one header of the request as sent: the event name.
                var headers = new HeaderDictionary { ["X-GitHub-Event"] = Text(root, "event") };
                return (headers, Encoding.UTF8.GetBytes(Member(request, "payload").GetRawText()));
            }, cancellationToken).ConfigureAwait(false);
            lines.Add(new BackfillLine(candidate, await _ingest.StoreFromSourceAsync(route, headers, body, candidate.Id, candidate.Id, "backfill:github", dryRun, cancellationToken).ConfigureAwait(false)));
        }

        return lines;
    }

    private static HttpRequestMessage GitHubRequest(Uri url, string bearer)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        request.Headers.Accept.ParseAdd("application/vnd.github+json");
        request.Headers.TryAddWithoutValidation("X-GitHub-Api-Version", "2022-11-28");
        request.Headers.UserAgent.ParseAdd("Runchat.Relay");
        return request;
    }

    private async Task<IReadOnlyList<BackfillLine>> StripeAsync(RelayRoute route, RelayStripeSourceOptions stripe, DateTimeOffset since, bool dryRun, CancellationToken cancellationToken)
    {
        var api = stripe.ApiUrl.AbsoluteUri.EndsWith('/') ? stripe.ApiUrl : new Uri(stripe.ApiUrl.AbsoluteUri + "/");
        var events = new List<(BackfillCandidate Candidate, byte[] Body)>();
        var skipped = new List<BackfillLine>();
        string? after = null;
        while (true)
        {
            var query = $"v1/events?limit=100&created%5Bgte%5D={since.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}" + (after is null ? string.Empty : "&starting_after=" + Uri.EscapeDataString(after));
            using var response = await SendAsync("Stripe", () => StripeRequest(new Uri(api, query), stripe.ApiKey!), cancellationToken).ConfigureAwait(false);
            var (listedEvents, more) = await ReadAsync("Stripe", response, root =>
            {
                var listedEvents = new List<(BackfillCandidate Candidate, byte[] Body)>();
                foreach (var item in Items(Member(root, "data")))
                {
                    listedEvents.Add((new BackfillCandidate(Text(item, "id"), Text(item, "type"), DateTimeOffset.FromUnixTimeSeconds(Number(item, "created"))), Encoding.UTF8.GetBytes(item.GetRawText())));
                }

                return (listedEvents, root.TryGetProperty("has_more", out var more) && more.ValueKind == JsonValueKind.True);
            }, cancellationToken).ConfigureAwait(false);
            foreach (var (candidate, body) in listedEvents)
            {
                after = candidate.Id;
                if (route.Filter.TakesEvent(candidate.Event))
                {
                    events.Add((candidate, body));
                }
                else
                {
                    // The account's events are all listed; the endpoint was sent only those it subscribes to, as the route's Events say.
                    skipped.Add(new BackfillLine(candidate, new BackfillResult(false, null, candidate.Event, "skipped: not one of the route's Events")));
                }
            }

            if (!more || after is null)
            {
                break;
            }
        }

        var lines = new List<BackfillLine>(skipped);
        foreach (var (candidate, body) in Enumerable.Reverse(events))
        {
            lines.Add(new BackfillLine(candidate, await _ingest.StoreFromSourceAsync(route, new HeaderDictionary(), body, candidate.Id, null, "backfill:stripe", dryRun, cancellationToken).ConfigureAwait(false)));
        }

        return lines.OrderBy(l => l.Candidate.At).ToList();
    }

    private static HttpRequestMessage StripeRequest(Uri url, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        request.Headers.UserAgent.ParseAdd("Runchat.Relay");
        return request;
    }

    /// <summary>A GET, repeated after the waits a rate limit asks for; any other failure is a <see cref="BackfillException"/> that says what to do.</summary>
    private async Task<HttpResponseMessage> SendAsync(string sender, Func<HttpRequestMessage> make, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = make();
            var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                if (Header(response, "X-RateLimit-Remaining") == "0" && ResetWait(response) is { } spent)
                {
                    // This answer spent the last request of the window: wait for the reset before the next one.
                    await WaitAsync(sender, spent, cancellationToken).ConfigureAwait(false);
                }

                return response;
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                var message = sender == "GitHub" ? await GitHubCommentTarget.GitHubMessageAsync(response, cancellationToken).ConfigureAwait(false) : await StripeMessageAsync(response, cancellationToken).ConfigureAwait(false);
                if (status == 401)
                {
                    throw new BackfillException($"{sender} refused the credentials (401):{message} The token or key may have expired or been revoked: give the route's {(sender == "GitHub" ? "GitHub.Token (or App)" : "Stripe.ApiKey")} a valid one.");
                }

                var wait = status is 429 or 403 ? RetryAfter(response) ?? (Header(response, "X-RateLimit-Remaining") == "0" ? ResetWait(response) : null) ?? (status == 429 ? TimeSpan.FromSeconds(attempt) : null) : null;
                if (wait is null || attempt == MaxAttempts)
                {
                    throw new BackfillException($"{sender} answered {status} for {request.RequestUri!.AbsolutePath}:{message}" + (status == 404 ? " Check the route's repository and webhook id (and that the token may read its webhooks)." : string.Empty));
                }

                await WaitAsync(sender, wait.Value, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task WaitAsync(string sender, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait > MaxWait)
        {
            throw new BackfillException($"{sender}'s rate limit is spent until {_time.GetUtcNow().Add(wait):yyyy-MM-dd HH:mm:ss} UTC: run the backfill again then. What was stored so far stays stored, and is not stored twice.");
        }

        await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta is { } delta ? delta
        : response.Headers.RetryAfter?.Date is { } date ? Max(TimeSpan.Zero, date - _time.GetUtcNow())
        : null;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// An answer's JSON, read by <paramref name="read"/> with the accessors below. An answer that is not what the API
    /// documents (not JSON, a member missing or of another type: an ApiUrl that is not the sender's API, a proxy's page)
    /// is a <see cref="BackfillException"/> naming the request and what was wrong, never a crash.
    /// </summary>
    private static async Task<T> ReadAsync<T>(string sender, HttpResponseMessage response, Func<JsonElement, T> read, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(bytes);
            return read(document.RootElement);
        }
        catch (Exception wrong) when (wrong is JsonException or FormatException)
        {
            throw new BackfillException($"{sender}'s answer to {response.RequestMessage?.RequestUri?.AbsolutePath} is not what its API documents ({(wrong is JsonException ? "not JSON" : wrong.Message)}). Check the route's ApiUrl; what was stored so far stays stored.");
        }
    }

    private static JsonElement.ArrayEnumerator Items(JsonElement list) =>
        list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : throw new FormatException($"a list was expected, not {Kind(list)}");

    private static JsonElement Member(JsonElement item, string name) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var value) ? value : throw new FormatException($"\"{name}\" is missing");

    private static string Text(JsonElement item, string name) =>
        Member(item, name) is { ValueKind: JsonValueKind.String } value && value.GetString() is { Length: > 0 } text ? text : throw new FormatException($"\"{name}\" is not a non-empty string");

    private static long Number(JsonElement item, string name) =>
        Member(item, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out var number) ? number : throw new FormatException($"\"{name}\" is not a whole number");

    private static DateTimeOffset Time(JsonElement item, string name) =>
        Member(item, name) is { ValueKind: JsonValueKind.String } value && value.TryGetDateTimeOffset(out var time) ? time : throw new FormatException($"\"{name}\" is not a date and time");

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Null => "null",
        _ => element.ValueKind.ToString().ToLowerInvariant(),
    };

    private TimeSpan? ResetWait(HttpResponseMessage response) =>
        long.TryParse(Header(response, "X-RateLimit-Reset"), NumberStyles.None, CultureInfo.InvariantCulture, out var reset)
            ? TimeSpan.FromSeconds(Math.Max(0, reset - _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0))
            : null;

    private static async Task<string> StripeMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var error = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            return error.RootElement.TryGetProperty("error", out var inner) && inner.TryGetProperty("message", out var text) && text.ValueKind == JsonValueKind.String
                ? " Stripe says: " + text.GetString()
                : string.Empty;
        }
        catch (JsonException)
        {
            return string.Empty;
        }
    }
}
