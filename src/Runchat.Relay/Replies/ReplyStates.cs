using System;

namespace Runchat.Relay;

/// <summary>Where a delivery's reply (its route's <c>PostReply</c>) stands.</summary>
public enum RelayReplyState
{
    /// <summary>The run ended (succeeded or failed): the reply waits to be posted, first or again after a post that provably did not happen.</summary>
    Pending,

    /// <summary>A relay is posting it: committed before the request leaves.</summary>
    Posting,

    /// <summary>Posted: <see cref="RelayDelivery.ReplyUrl"/> names the comment or message (for a webhook, the URL it was posted to).</summary>
    Posted,

    /// <summary>The target refused it (a 4xx other than 429), or the attempts ran out: <see cref="RelayDelivery.ReplyError"/> says why. Not posted.</summary>
    Failed,

    /// <summary>
    /// A post may or may not have arrived (a timeout, a dropped connection, a 5xx, a relay killed while posting). It is
    /// resolved before any second post: the relay looks for the reply's marker and posts only when it is absent.
    /// </summary>
    Unknown,
}

/// <summary>What completing a run does to its reply: <c>post</c> it, <c>withheld</c> (say why not), or <c>none</c> (no PostReply).</summary>
/// <param name="Plan">As the store binds it: <c>post</c>, <c>withheld</c> or <c>none</c>.</param>
/// <param name="Withheld">For <c>withheld</c>: why no reply is posted, shown as <see cref="RelayDelivery.ReplyError"/>.</param>
internal sealed record ReplyPlan(string Plan, string? Withheld)
{
    public static readonly ReplyPlan None = new("none", null);

    public static readonly ReplyPlan Post = new("post", null);
}

/// <summary>The reply states' names (lower case, as stored and shown), and the one rule of which runs are answered.</summary>
internal static class ReplyStates
{
    /// <summary>Why an <c>unknown</c> run posts no reply, as the dashboard and <c>relay show</c> say it.</summary>
    public const string WithheldForUnknown = "No reply was posted: the run's outcome is unknown (it may not have happened). A replay that succeeds or fails posts it.";

    /// <summary>Replies go out for <c>succeeded</c> and <c>failed</c> runs, never for <c>unknown</c> ones.</summary>
    public static ReplyPlan OnCompletion(bool postsReply, RelayDeliveryState state) => !postsReply
        ? ReplyPlan.None
        : state is RelayDeliveryState.Succeeded or RelayDeliveryState.Failed ? ReplyPlan.Post : new ReplyPlan("withheld", WithheldForUnknown);

    public static string Name(RelayReplyState state) => state switch
    {
        RelayReplyState.Pending => "pending",
        RelayReplyState.Posting => "posting",
        RelayReplyState.Posted => "posted",
        RelayReplyState.Failed => "failed",
        RelayReplyState.Unknown => "unknown",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    public static RelayReplyState Parse(string name) => name switch
    {
        "pending" => RelayReplyState.Pending,
        "posting" => RelayReplyState.Posting,
        "posted" => RelayReplyState.Posted,
        "failed" => RelayReplyState.Failed,
        "unknown" => RelayReplyState.Unknown,
        _ => throw new FormatException($"'{name}' is not a reply state."),
    };
}
