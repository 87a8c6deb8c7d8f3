using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace Runchat.Relay;

/// <summary>
/// Sends one delivery the dispatcher started, and records what came of it: the outcome
/// (<see cref="OutcomeClassifier"/>), or, for a send that provably did not reach the agent, the next
/// attempt (<see cref="RunchatRetry"/>'s formula from the relay's base delay).
/// </summary>
internal sealed class DeliverySender : IDisposable
{
    /// <summary>The longest a delivery waits before it is sent again, a 429's Retry-After included.</summary>
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);

    private readonly IDeliveryStore _store;
    private readonly IRunchatClient _client;
    private readonly string _owner;
    private readonly TimeSpan _retryBaseDelay;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _abandon = new();
    private readonly Action<DateTimeOffset> _wakeAt;

    public DeliverySender(IDeliveryStore store, IRunchatClient client, string owner, TimeSpan retryBaseDelay, TimeProvider time, ILogger logger, Action<DateTimeOffset> wakeAt)
    {
        _wakeAt = wakeAt;
        _store = store;
        _client = client;
        _owner = owner;
        _retryBaseDelay = retryBaseDelay;
        _time = time;
        _logger = logger;
    }

    /// <summary>Cuts off the runs in flight (the host's shutdown timeout ran out): each records itself as unknown.</summary>
    public void Abandon() => _abandon.Cancel();

    public void Dispose() => _abandon.Dispose();

    /// <summary>A FlowId route: the body, byte for byte, is the input of the flow's Webhook node.</summary>
    private async Task<Outcome> RunFlowAsync(string flowId, ClaimedDelivery delivery) =>
        OutcomeClassifier.Classify(await _client.RunFlowAsync(flowId, JobPayload.FromBytes(delivery.Body), cancellationToken: _abandon.Token).ConfigureAwait(false));

    /// <summary>An agent job: the payload whole, or the message rendered from the route's Message when it was claimed.</summary>
    private async Task<Outcome> TriggerJobAsync(ClaimedDelivery delivery)
    {
        var response = delivery.Message is not { } message
            ? await _client.TriggerAgentJobAsync(delivery.JobId, JobPayload.FromBytes(delivery.Body), _abandon.Token).ConfigureAwait(false)
            : await _client.TriggerAgentJobAsync(delivery.JobId, message, _abandon.Token).ConfigureAwait(false);
        return OutcomeClassifier.Classify(response);
    }

    /// <summary>Sends one started delivery and records its outcome. Never throws: what cannot be recorded stays <c>sending</c>, and becomes <c>unknown</c>.</summary>
    public async Task SendAsync(ClaimedDelivery delivery)
    {
        // The parent of the client's invoke_agent span, linked to the receive span stored with the delivery.
        using var activity = RelayTelemetry.StartDispatch(delivery);
        Outcome outcome;
        Exception? failure = null;
        try
        {
            outcome = delivery.FlowId is { } flowId
                ? await RunFlowAsync(flowId, delivery).ConfigureAwait(false)
                : await TriggerJobAsync(delivery).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            failure = exception;
            outcome = OutcomeClassifier.Classify(exception, shuttingDown: _abandon.IsCancellationRequested);
        }

        activity?.SetTag("runchat.relay.state", DeliveryStates.Name(outcome.State));
        if (outcome.State is RelayDeliveryState.Failed or RelayDeliveryState.Unknown)
        {
            activity?.SetStatus(ActivityStatusCode.Error, DeliveryStates.Name(outcome.State));
        }

        try
        {
            var now = _time.GetUtcNow();
            if (outcome.State == RelayDeliveryState.Pending)
            {
                // The client's formula: Retry-After when Runchat sent one, else exponential from the relay's base delay.
                var wait = RunchatRetry.GetDelay(failure!, Math.Max(delivery.Attempts - 1, 0), _retryBaseDelay, MaxRetryDelay);
                await _store.RescheduleAsync(delivery.Id, _owner, now + wait, outcome.Result.Error ?? "retry", now, CancellationToken.None).ConfigureAwait(false);
                _wakeAt(now + wait);
                _logger.LogInformation("Delivery {DeliveryId} to job {JobId} did not reach the agent (attempt {Attempts}); trying again in {Wait}: {Error}", delivery.Id, delivery.JobId, delivery.Attempts, wait, outcome.Result.Error);
            }
            else
            {
                await _store.CompleteAsync(delivery.Id, _owner, outcome.State, outcome.Result, ReplyStates.OnCompletion(delivery.PostsReply, outcome.State), now, CancellationToken.None).ConfigureAwait(false);
                var level = outcome.State == RelayDeliveryState.Succeeded ? LogLevel.Information : LogLevel.Warning;
                _logger.Log(level, "Delivery {DeliveryId} to job {JobId}: {State}{Error}", delivery.Id, delivery.JobId, DeliveryStates.Name(outcome.State), outcome.Result.Error is null ? string.Empty : " (" + outcome.Result.Error + ")");
            }
        }
        catch (Exception exception)
        {
            // The row stays 'sending' and becomes 'unknown' at the next start: never sent again unasked.
            _logger.LogError(exception, "Could not record the outcome of delivery {DeliveryId}; it will be unknown after the next start.", delivery.Id);
        }
    }
}
