namespace Runchat.Relay;

/// <summary>
/// Where a delivery stands: <c>pending</c> → <c>sending</c> → <c>succeeded</c> | <c>failed</c> | <c>unknown</c>;
/// or <c>ignored</c>, verified and kept but never run. Lower case in JSON and on the command line.
/// </summary>
public enum RelayDeliveryState
{
    /// <summary>Stored and waiting for its run (first time, or after a send that provably did not happen).</summary>
    Pending,

    /// <summary>The request to Runchat is in flight. Committed before the request leaves the relay.</summary>
    Sending,

    /// <summary>The agent ran and answered <c>status: success</c>.</summary>
    Succeeded,

    /// <summary>The API or the agent reported an error: a 4xx, or <c>status: error</c>. Not retried.</summary>
    Failed,

    /// <summary>
    /// The run may or may not have happened (a timeout, a connection dropped after sending, a 5xx, the
    /// relay stopping mid-run). Never retried automatically: check the job's history, then replay it or not.
    /// </summary>
    Unknown,

    /// <summary>
    /// Verified and stored, but not run: the route's <c>Events</c> or <c>When</c> did not select it (the reason is in
    /// <see cref="RelayDelivery.LastError"/>). Kept so that the same signed bytes later under another event header
    /// are a duplicate of it, and so an operator can see what was dropped.
    /// </summary>
    Ignored,
}
