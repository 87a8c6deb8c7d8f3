using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Relay.Signatures;

namespace Runchat.Relay;

/// <summary>
/// <c>webhook</c>: a Standard Webhooks signed POST of <c>{delivery_id, event, status, final_reply, job_id, runchat_id}</c>
/// to the configured URL, signed by the code that verifies Standard Webhooks (<see cref="StandardWebhooksSignature"/>),
/// with <c>webhook-id</c> = <c>&lt;delivery id&gt;.reply</c>: a post whose outcome is unknown is sent again with the
/// same id, and the receiver deduplicates it, as the specification asks receivers to.
/// </summary>
internal sealed class WebhookReplyTarget : ReplyTarget
{
    private readonly Uri _url;
    private readonly StandardWebhooksSignature _signature;

    /// <exception cref="ArgumentException">The URL or the secret is not usable; the message says which.</exception>
    public WebhookReplyTarget(string? url, string? secret)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || !IsSafeUrl(parsed))
        {
            throw new ArgumentException("PostReply.Url must be an absolute https URL (http only on loopback), such as https://example.com/agent-replies.");
        }

        _url = parsed;
        try
        {
            _signature = new StandardWebhooksSignature(secret ?? string.Empty);
        }
        catch (ArgumentException invalid)
        {
            throw new ArgumentException("PostReply.Secret: " + invalid.Message.Replace("The standard-webhooks scheme needs a Secret", "a webhook reply needs a Secret", StringComparison.Ordinal), invalid);
        }
    }

    public override string Name => "webhook";

    public override bool PostsText => false;

    public override ReplyAddress? Address(JsonElement payload, out string? error)
    {
        error = null;
        return new ReplyAddress(_url, _url.GetLeftPart(UriPartial.Path));
    }

    /// <summary>Nothing to look for: the same <c>webhook-id</c> again is the receiver's to deduplicate.</summary>
    public override Task<string?> FindAsync(HttpClient http, ReplyAddress address, string deliveryId, DateTimeOffset since, CancellationToken cancellationToken) =>
        Task.FromResult<string?>(null);

    /// <summary>The webhook-id of a delivery's reply.</summary>
    public static string MessageId(string deliveryId) => deliveryId + ".reply";

    /// <summary>The body posted: the run's outcome, snake_case.</summary>
    public static byte[] Body(ReplyContent content) => JsonSerializer.SerializeToUtf8Bytes(new JsonObject
    {
        ["delivery_id"] = content.DeliveryId,
        ["event"] = content.Event,
        ["status"] = content.Run.Status,
        ["final_reply"] = content.Run.FinalReply,
        ["error"] = content.Run.Error,
        ["job_id"] = content.JobId,
        ["runchat_id"] = content.RunchatId,
    }, RelayJson.Options);

    public override async Task<ReplyOutcome> PostAsync(HttpClient http, ReplyAddress address, ReplyContent content, CancellationToken cancellationToken)
    {
        var body = Body(content);
        using var request = new HttpRequestMessage(HttpMethod.Post, address.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in _signature.Sign(body, content.Now, MessageId(content.DeliveryId)))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var outcome = ReplyOutcome.Of(response, "the webhook");
        return outcome.State == RelayReplyState.Posted ? ReplyOutcome.Posted(address.Url.GetLeftPart(UriPartial.Path)) : outcome;
    }
}
