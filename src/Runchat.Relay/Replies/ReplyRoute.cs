using System;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>A route's PostReply, parsed once: its target, and the template of the text it posts.</summary>
internal sealed class ReplyRoute
{
    /// <summary>The text posted when PostReply has no Template: the agent's reply, or why the run failed.</summary>
    public const string DefaultTemplate = "{% if run.status == 'succeeded' %}{{ run.final_reply }}{% else %}The agent run failed: {{ run.error }}{% endif %}";

    private ReplyRoute(ReplyTarget target, MessageTemplate? template)
    {
        Target = target;
        Template = template;
    }

    public ReplyTarget Target { get; }

    /// <summary>The text's template; null for a webhook, which posts the run's fields.</summary>
    public MessageTemplate? Template { get; }

    /// <summary>The reply of <paramref name="options"/> on a route whose scheme is <paramref name="scheme"/>.</summary>
    /// <exception cref="ArgumentException">PostReply is incomplete or contradicts itself; the message names the key.</exception>
    public static ReplyRoute Create(RelayReplyOptions options, string scheme, TimeProvider time)
    {
        ReplyTarget target = options.To switch
        {
            "github-comment" when scheme != "github" => throw new ArgumentException($"PostReply.To github-comment answers GitHub deliveries; this route's Signature is {scheme}."),
            "slack-thread" when scheme != "slack" => throw new ArgumentException($"PostReply.To slack-thread answers Slack deliveries; this route's Signature is {scheme}."),
            "github-comment" => new GitHubCommentTarget(options.GitHub, time),
            "slack-thread" => new SlackThreadTarget(options.Slack),
            "webhook" => new WebhookReplyTarget(options.Url, options.Secret),
            null or "" => throw new ArgumentException("PostReply.To is missing: github-comment, slack-thread or webhook."),
            var other => throw new ArgumentException($"PostReply.To '{other}' is not a reply target: github-comment, slack-thread or webhook."),
        };

        if (!target.PostsText)
        {
            return options.Template is null
                ? new ReplyRoute(target, null)
                : throw new ArgumentException("PostReply.Template is for github-comment and slack-thread; a webhook reply posts the run's fields as JSON.");
        }

        return new ReplyRoute(target, MessageTemplate.Parse(options.Template ?? DefaultTemplate, "PostReply.Template"));
    }
}
