using System;

namespace Runchat.Relay;

/// <summary>
/// A route's <c>PostReply</c>: where the agent's answer goes once its run has ended (<c>succeeded</c> or
/// <c>failed</c>; never after <c>unknown</c>, when the run may not have happened). Posted exactly once per
/// delivery: a second attempt after an outcome the relay cannot know first looks for what it may have posted.
/// </summary>
public sealed class RelayReplyOptions
{
    /// <summary>
    /// <c>github-comment</c> (a comment on the issue, pull request or discussion the payload names),
    /// <c>slack-thread</c> (a slash command's or interaction's <c>response_url</c>, or the Events API message's thread),
    /// or <c>webhook</c> (a Standard Webhooks signed POST of the run's outcome to <see cref="Url"/>).
    /// </summary>
    public string? To { get; set; }

    /// <summary>
    /// For <c>github-comment</c> and <c>slack-thread</c>: a Liquid template of the text posted; the route's model plus
    /// <c>run.status</c>, <c>run.final_reply</c>, <c>run.error</c>, <c>run.credits</c>. Default: <c>{{ run.final_reply }}</c>
    /// when the run succeeded, and a line with <c>run.error</c> when it failed.
    /// </summary>
    public string? Template { get; set; }

    /// <summary>For <c>webhook</c>: where the outcome is posted (https, or http on loopback).</summary>
    public string? Url { get; set; }

    /// <summary>For <c>webhook</c>: the Standard Webhooks secret (<c>whsec_…</c>) the receiver verifies with. Not shown anywhere.</summary>
    public string? Secret { get; set; }

    /// <summary>For <c>github-comment</c>: how the relay authenticates to GitHub, and where GitHub's API is.</summary>
    public RelayGitHubOptions GitHub { get; set; } = new();

    /// <summary>For <c>slack-thread</c> on Events API deliveries: the bot token, and where Slack's API is.</summary>
    public RelaySlackOptions Slack { get; set; } = new();

    /// <inheritdoc />
    public override string ToString() => $"reply to {To}";
}

/// <summary>GitHub as the relay reaches it: a GitHub App (<see cref="AppId"/> and <see cref="PrivateKey"/>) or a <see cref="Token"/>.</summary>
public sealed class RelayGitHubOptions
{
    /// <summary>The GitHub App's id: the relay signs a JWT (RS256) with <see cref="PrivateKey"/> and exchanges it for the payload's installation's token.</summary>
    public long? AppId { get; set; }

    /// <summary>The GitHub App's private key, PEM (<c>-----BEGIN RSA PRIVATE KEY-----</c> or PKCS#8). Not shown anywhere.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>Instead of an App: a token (fine-grained or classic) that may comment on the repositories. Not shown anywhere.</summary>
    public string? Token { get; set; }

    /// <summary>GitHub's REST API: <c>https://api.github.com/</c>, or a GitHub Enterprise Server's <c>https://HOST/api/v3/</c>.</summary>
    public Uri ApiUrl { get; set; } = new("https://api.github.com/");

    /// <inheritdoc />
    public override string ToString() => AppId is { } app ? $"GitHub App {app} at {ApiUrl}" : $"GitHub token at {ApiUrl}";
}

/// <summary>Slack as the relay reaches it for Events API replies.</summary>
public sealed class RelaySlackOptions
{
    /// <summary>The bot token (<c>xoxb-…</c>) that posts with <c>chat.postMessage</c>. Not shown anywhere.</summary>
    public string? BotToken { get; set; }

    /// <summary>Slack's Web API: <c>https://slack.com/api/</c>.</summary>
    public Uri ApiUrl { get; set; } = new("https://slack.com/api/");

    /// <inheritdoc />
    public override string ToString() => $"Slack at {ApiUrl}";
}
