using System;

namespace Runchat.Relay;

/// <summary>One webhook the relay accepted, and what became of its agent run.</summary>
public sealed class RelayDelivery
{
    /// <summary>The relay's id for the delivery, returned to the sender as <c>delivery_id</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The route's path, such as <c>/hooks/stripe</c>.</summary>
    public required string Route { get; init; }

    /// <summary>The Runchat job the delivery triggers; null when it runs a flow (<see cref="FlowId"/>).</summary>
    public string? JobId { get; init; }

    /// <summary>
    /// What makes a repeat of the delivery recognisable, from signed material only: <c>id:</c> and the
    /// scheme's signed id (Standard Webhooks' <c>webhook-id</c>, Stripe's event <c>id</c>, Slack's
    /// <c>event_id</c>), <c>sha256:</c> of the body, or on a <c>none</c> route <c>idempotency-key:</c> and the header.
    /// </summary>
    public required string DedupeKey { get; init; }

    /// <summary>Where the delivery stands.</summary>
    public required RelayDeliveryState State { get; init; }

    /// <summary>How many times a request to Runchat was started for it.</summary>
    public required int Attempts { get; init; }

    /// <summary>When the webhook was accepted.</summary>
    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>When the state last changed.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When a <c>pending</c> delivery is next due.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>Why the last attempt did not succeed, in words; never a secret.</summary>
    public string? LastError { get; init; }

    /// <summary>The run's <c>status</c> once known (<c>success</c>, <c>error</c>, or what the server sent).</summary>
    public string? Status { get; init; }

    /// <summary>The run's final reply once known.</summary>
    public string? FinalReply { get; init; }

    /// <summary>The size of the stored body in bytes.</summary>
    public int BodyBytes { get; init; }

    /// <summary>When an operator last replayed it (null when never); its previous outcome is in <see cref="LastError"/> until the replay's run ends.</summary>
    public DateTimeOffset? ReplayedAt { get; init; }

    /// <summary>The sender's own delivery id where it does not sign it (GitHub's <c>X-GitHub-Delivery</c>): a label, never used to tell deliveries apart.</summary>
    public string? SenderId { get; init; }

    /// <summary>
    /// The event, as its sender names it: GitHub <c>issues.opened</c>, Stripe <c>invoice.paid</c>, Slack
    /// <c>app_mention</c> or a slash command; null when the delivery names none.
    /// </summary>
    public string? Event { get; init; }

    /// <summary>
    /// Where the delivery came from when not from its webhook: <c>backfill:github</c> (GitHub's hook deliveries API) or
    /// <c>backfill:stripe</c> (Stripe's events API), stored by <c>relay backfill</c>; null for a webhook or a schedule's tick.
    /// </summary>
    public string? Source { get; init; }

    /// <summary>The flow the delivery runs (a route with <c>FlowId</c>); null for an agent job (<see cref="JobId"/>).</summary>
    public string? FlowId { get; init; }

    /// <summary>
    /// The exact text sent to the agent: the route's <c>Message</c> as rendered when the send started. Null when the
    /// payload was sent whole (no Message), or before a send started.
    /// </summary>
    public string? Message { get; init; }

    /// <summary>Where the reply (the route's PostReply) stands; null when the route posts none, or the run has not ended.</summary>
    public RelayReplyState? ReplyState { get; init; }

    /// <summary>The comment or message posted (GitHub's comment URL, the Slack thread and message, the webhook URL).</summary>
    public string? ReplyUrl { get; init; }

    /// <summary>Why the reply is not posted (yet), or why none will be (an <c>unknown</c> run); never a secret.</summary>
    public string? ReplyError { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Id} {Route} -> {(FlowId is null ? "job " + JobId : "flow " + FlowId)}: {DeliveryStates.Name(State)} (attempts {Attempts})";
}
