using System;
using System.Collections.Generic;
using System.Text.Json;

namespace Runchat.Relay.Signatures;

/// <summary>
/// GitHub: <c>X-Hub-Signature-256: sha256=&lt;hex&gt;</c> over the body. <c>X-GitHub-Delivery</c> is not signed, so it
/// is only a label: the body's hash tells deliveries apart (a copy with a fresh header is the same delivery).
/// The event name is <c>X-GitHub-Event</c>, with the body's <c>action</c> after a dot when it has one.
/// </summary>
/// <remarks>
/// <c>X-GitHub-Event</c> is not signed either: a signed <c>pull_request</c> body sent again as <c>issues</c> must not
/// pass an <c>issues.*</c> route. So a body that lacks its event's object (an <c>issues</c> event without <c>issue</c>)
/// is refused (400), for the events in <see cref="Subjects"/>; the same bytes under another header are a duplicate
/// of the first delivery of them anyway (the same hash), whatever that one's state.
/// </remarks>
internal sealed class GitHubSignature : WebhookSignature
{
    /// <summary>The members every payload of an event has, from GitHub's payloads (shared/webhooks/github).</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> Subjects = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["branch_protection_rule"] = new[] { "rule" },
        ["check_run"] = new[] { "check_run" },
        ["check_suite"] = new[] { "check_suite" },
        ["code_scanning_alert"] = new[] { "alert" },
        ["commit_comment"] = new[] { "comment" },
        ["create"] = new[] { "ref", "ref_type" },
        ["delete"] = new[] { "ref", "ref_type" },
        ["dependabot_alert"] = new[] { "alert" },
        ["deploy_key"] = new[] { "key" },
        ["deployment"] = new[] { "deployment" },
        ["deployment_status"] = new[] { "deployment", "deployment_status" },
        ["discussion"] = new[] { "discussion" },
        ["discussion_comment"] = new[] { "discussion", "comment" },
        ["fork"] = new[] { "forkee" },
        ["gollum"] = new[] { "pages" },
        ["installation"] = new[] { "installation" },
        ["installation_repositories"] = new[] { "installation" },
        ["issue_comment"] = new[] { "issue", "comment" },
        ["issues"] = new[] { "issue" },
        ["label"] = new[] { "label" },
        ["marketplace_purchase"] = new[] { "marketplace_purchase" },
        ["member"] = new[] { "member" },
        ["membership"] = new[] { "member" },
        ["merge_group"] = new[] { "merge_group" },
        ["milestone"] = new[] { "milestone" },
        ["organization"] = new[] { "organization" },
        ["package"] = new[] { "package" },
        ["page_build"] = new[] { "build" },
        ["ping"] = new[] { "hook_id" },
        ["project"] = new[] { "project" },
        ["project_card"] = new[] { "project_card" },
        ["project_column"] = new[] { "project_column" },
        ["projects_v2_item"] = new[] { "projects_v2_item" },
        ["pull_request"] = new[] { "pull_request" },
        ["pull_request_review"] = new[] { "pull_request", "review" },
        ["pull_request_review_comment"] = new[] { "pull_request", "comment" },
        ["pull_request_review_thread"] = new[] { "pull_request", "thread" },
        ["push"] = new[] { "ref", "commits" },
        ["registry_package"] = new[] { "registry_package" },
        ["release"] = new[] { "release" },
        ["repository_vulnerability_alert"] = new[] { "alert" },
        ["secret_scanning_alert"] = new[] { "alert" },
        ["security_advisory"] = new[] { "security_advisory" },
        ["sponsorship"] = new[] { "sponsorship" },
        ["status"] = new[] { "sha", "state" },
        ["team"] = new[] { "team" },
        ["team_add"] = new[] { "team" },
        ["workflow_dispatch"] = new[] { "workflow" },
        ["workflow_job"] = new[] { "workflow_job" },
        ["workflow_run"] = new[] { "workflow_run" },
    };

    private readonly byte[] _key;

    public GitHubSignature(string secret) => _key = RequireSecret(secret, "github");

    public override string Name => "github";

    public override string? EventHeader => "X-GitHub-Event";

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) => new[]
    {
        Header("X-Hub-Signature-256", "sha256=" + Convert.ToHexString(HmacSha256(_key, default, body)).ToLowerInvariant()),
        Header("X-GitHub-Delivery", deliveryId),
    };

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var header = request.Header("X-Hub-Signature-256");
        if (header is null || !header.StartsWith("sha256=", StringComparison.Ordinal))
        {
            return WebhookVerification.Invalid("the X-Hub-Signature-256 header is missing or not sha256=<hex>");
        }

        return HexEquals(HmacSha256(_key, default, request.Body.Span), header.AsSpan("sha256=".Length))
            ? WebhookVerification.Valid(signedId: null, label: request.Header("X-GitHub-Delivery"))
            : WebhookVerification.Invalid("X-Hub-Signature-256 does not match the body");
    }

    /// <summary>
    /// A webhook set to <c>application/x-www-form-urlencoded</c> posts the JSON as the form's <c>payload</c> field (and signs
    /// the form): the payload is that field, so both content types are one delivery of the same JSON.
    /// </summary>
    public override ReadOnlyMemory<byte> ReadPayload(WebhookRequest request)
    {
        if (!request.IsForm)
        {
            return request.Body;
        }

        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(System.Text.Encoding.UTF8.GetString(request.Body.Span));
        return form.TryGetValue("payload", out var payload) && payload.Count == 1
            ? System.Text.Encoding.UTF8.GetBytes(payload[0]!)
            : throw new WebhookRefusedException("a form-encoded GitHub delivery carries its JSON in one payload field, and this one has none; set the webhook's content type to application/json");
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload)
    {
        var header = request.Header(EventHeader!);
        if (string.IsNullOrWhiteSpace(header))
        {
            return WebhookEvent.Named(null);
        }

        if (Subjects.TryGetValue(header, out var members))
        {
            foreach (var member in members)
            {
                if (!payload.TryGetProperty(member, out _))
                {
                    return WebhookEvent.Refused($"X-GitHub-Event says '{header}', but the body has no '{member}', which every {header} event has");
                }
            }
        }

        return WebhookEvent.Named(StringProperty(payload, "action") is { Length: > 0 } action ? header + "." + action : header);
    }
}
