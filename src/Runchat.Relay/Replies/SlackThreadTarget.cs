using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// <c>slack-thread</c>: a slash command's or an interaction's reply goes to its <c>response_url</c> (no token; Slack
/// takes it for 30 minutes after the command); an Events API message's reply is <c>chat.postMessage</c> in the
/// event's thread with the bot token, carrying the delivery id in the message's <c>metadata</c>, so that after a post
/// whose outcome is unknown the thread is read (<c>conversations.replies</c>) for it before any second post.
/// </summary>
/// <remarks>
/// A <c>response_url</c> cannot be read back: a post to it whose outcome is unknown is never made again (the reply
/// stays <c>unknown</c>), so that nothing is posted twice.
/// </remarks>
internal sealed class SlackThreadTarget : ReplyTarget
{
    /// <summary>How long Slack takes posts to a response_url, from the command.</summary>
    public static readonly TimeSpan ResponseUrlLifetime = TimeSpan.FromMinutes(30);

    /// <summary>The metadata event type a relay's reply carries.</summary>
    public const string MetadataEventType = "runchat_relay_reply";

    private readonly RelaySlackOptions _options;
    private readonly Uri _api;

    /// <exception cref="ArgumentException">ApiUrl is not an absolute https URL.</exception>
    public SlackThreadTarget(RelaySlackOptions options)
    {
        _options = options;
        _api = ApiBase(options.ApiUrl, "PostReply.Slack.ApiUrl", "https://slack.com/api/");
    }

    public override string Name => "slack-thread";

    public override ReplyAddress? Address(JsonElement payload, out string? error)
    {
        error = null;
        var responseUrl = PayloadPaths.String(payload, "response_url") ?? PayloadPaths.String(payload, "payload", "response_url");
        if (responseUrl is not null)
        {
            if (!Uri.TryCreate(responseUrl, UriKind.Absolute, out var url) || !IsSafeUrl(url))
            {
                error = "the payload's response_url is not an https URL";
                return null;
            }

            return new ReplyAddress(url, "Slack response_url");
        }

        var channel = PayloadPaths.String(payload, "event", "channel");
        var thread = PayloadPaths.String(payload, "event", "thread_ts") ?? PayloadPaths.String(payload, "event", "ts");
        if (channel is null || thread is null)
        {
            error = "the payload has neither a response_url (a slash command, an interaction) nor an event with a channel and ts (the Events API)";
            return null;
        }

        if (string.IsNullOrWhiteSpace(_options.BotToken))
        {
            error = "an Events API delivery is answered with chat.postMessage, which needs PostReply.Slack.BotToken";
            return null;
        }

        return new ReplyAddress(new Uri(_api, "chat.postMessage"), $"Slack channel {channel}, thread {thread}") { SlackThread = (channel, thread) };
    }

    public override async Task<ReplyOutcome> PostAsync(HttpClient http, ReplyAddress address, ReplyContent content, CancellationToken cancellationToken)
    {
        JsonObject body;
        if (address.SlackThread is not { } thread)
        {
            if (content.Now - content.ReceivedAt > ResponseUrlLifetime)
            {
                return ReplyOutcome.Failed($"Slack takes a response_url for {ResponseUrlLifetime.TotalMinutes:0} minutes after the command; the run ended {(content.Now - content.ReceivedAt).TotalMinutes:0} minutes after it. Not posted.");
            }

            body = new JsonObject { ["text"] = content.Text, ["response_type"] = "in_channel", ["replace_original"] = false };
        }
        else
        {
            body = new JsonObject
            {
                ["channel"] = thread.Channel,
                ["thread_ts"] = thread.ThreadTs,
                ["text"] = content.Text,
                ["metadata"] = new JsonObject { ["event_type"] = MetadataEventType, ["event_payload"] = new JsonObject { ["delivery_id"] = content.DeliveryId } },
            };
        }

        using var request = Request(HttpMethod.Post, address.Url, thread: address.SlackThread is not null);
        request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var outcome = ReplyOutcome.Of(response, "Slack");
        if (outcome.State != RelayReplyState.Posted)
        {
            return outcome;
        }

        if (address.SlackThread is null)
        {
            return ReplyOutcome.Posted(address.Display);
        }

        // The Web API answers 200 with "ok": false for its errors.
        using var answer = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        if (!answer.RootElement.TryGetProperty("ok", out var ok) || ok.ValueKind != JsonValueKind.True)
        {
            var error = PayloadPaths.String(answer.RootElement, "error") ?? "(no error)";
            return error is "ratelimited" ? ReplyOutcome.Again("Slack answered ratelimited: not posted; trying again later.") : ReplyOutcome.Failed($"Slack refused the reply: {error}.");
        }

        return ReplyOutcome.Posted($"{address.Display}, message {PayloadPaths.String(answer.RootElement, "ts")}");
    }

    /// <summary>A thread can be read for the reply's metadata; a response_url cannot be read back.</summary>
    public override bool CanResolveUnknown(ReplyAddress address) => address.SlackThread is not null;

    public override async Task<string?> FindAsync(HttpClient http, ReplyAddress address, string deliveryId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        if (address.SlackThread is not { } thread)
        {
            throw new ReplyLookupException("Slack's response_url cannot be read back: the relay cannot tell whether its reply arrived, and does not post it twice.");
        }

        var url = new Uri(_api, $"conversations.replies?channel={Uri.EscapeDataString(thread.Channel)}&ts={Uri.EscapeDataString(thread.ThreadTs)}&include_all_metadata=true&limit=200");
        using var request = Request(HttpMethod.Get, url, thread: true);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        if (!response.IsSuccessStatusCode || !answer.RootElement.TryGetProperty("ok", out var ok) || ok.ValueKind != JsonValueKind.True)
        {
            throw new ReplyLookupException($"Slack answered {(int)response.StatusCode} ({PayloadPaths.String(answer.RootElement, "error") ?? "no error"}) when the relay read the thread to find its reply.");
        }

        if (answer.RootElement.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray())
            {
                if (PayloadPaths.String(message, "metadata", "event_type") == MetadataEventType
                    && PayloadPaths.String(message, "metadata", "event_payload", "delivery_id") == deliveryId)
                {
                    return $"{address.Display}, message {PayloadPaths.String(message, "ts")}";
                }
            }
        }

        return null;
    }

    private HttpRequestMessage Request(HttpMethod method, Uri url, bool thread)
    {
        var request = new HttpRequestMessage(method, url);
        if (thread)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.BotToken);
        }

        return request;
    }
}
