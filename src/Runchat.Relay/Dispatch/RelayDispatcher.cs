using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Runchat.Relay;

/// <summary>
/// Sends stored deliveries to Runchat: claims the next due one (committed as <c>sending</c> before the
/// request leaves), triggers the job with the delivery's exact bytes, and records the outcome.
/// </summary>
/// <remarks>
/// On start, deliveries a dead relay left in <c>sending</c> become <c>unknown</c>. On stop, runs in
/// flight are awaited until the host's shutdown timeout; those cut off then become <c>unknown</c>,
/// never <c>pending</c>. The limits are enforced by the store's claim, so they hold for every relay
/// sharing the store.
/// </remarks>
internal sealed class RelayDispatcher : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(15);

    private readonly IDeliveryStore _store;
    private readonly IRunchatClient _client;
    private readonly RunchatRelayOptions _options;
    private readonly TimeProvider _time;
    private readonly DispatchSignal _signal;
    private readonly ILogger<RelayDispatcher> _logger;
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<string, Task> _inFlight = new();
    private readonly CancellationTokenSource _abandon = new();

    public RelayDispatcher(IDeliveryStore store, IRunchatClient client, IOptions<RunchatRelayOptions> options, TimeProvider time, DispatchSignal signal, ILogger<RelayDispatcher> logger)
    {
        _store = store;
        _client = client;
        _options = options.Value;
        _time = time;
        _signal = signal;
        _logger = logger;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // cancellationToken fires when the host's shutdown timeout runs out: then the runs still in
        // flight are abandoned, and each records itself as unknown.
        using var abandon = cancellationToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), _abandon);
        await base.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await Task.WhenAll(_inFlight.Values).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _abandon.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recovered = await _store.RecoverInterruptedAsync(_time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
        if (recovered > 0)
        {
            _logger.LogWarning("{Count} deliveries were in flight when the relay last stopped; they are now unknown. List them with: runchat-job relay list --state unknown", recovered);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            ClaimedDelivery? claimed;
            try
            {
                // Not cancellable: a claim committed but never read would leave a delivery 'sending'
                // that nobody sends, and it would turn 'unknown' though it never left.
                var now = _time.GetUtcNow();
                claimed = await _store.ClaimNextAsync(
                    new ClaimRequest(_owner, now, now + Lease, _options.MaxConcurrentRuns, _options.MaxRunsPerMinute), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                _logger.LogError(exception, "The relay could not read its store; trying again in a second.");
                await DelayAsync(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                continue;
            }

            if (claimed is null)
            {
                await _signal.WaitAsync(IdlePoll, stoppingToken).ConfigureAwait(false);
                continue;
            }

            var run = SendAsync(claimed);
            _inFlight[claimed.Id] = run;
            _ = run.ContinueWith((_, state) => ((DispatchSignal)state!).Notify(), _signal, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task SendAsync(ClaimedDelivery delivery)
    {
        await Task.Yield();
        // The parent of the client's invoke_agent span, linked to the receive span stored with the delivery.
        using var activity = RelayTelemetry.StartDispatch(delivery);
        Outcome outcome;
        try
        {
            var response = await _client.TriggerAgentJobAsync(delivery.JobId, JobPayload.FromBytes(delivery.Body), _abandon.Token).ConfigureAwait(false);
            outcome = OutcomeClassifier.Classify(response);
        }
        catch (Exception exception)
        {
            outcome = OutcomeClassifier.Classify(exception, shuttingDown: _abandon.IsCancellationRequested);
        }

        activity?.SetTag("runchat.relay.state", SqliteDeliveryStore.StateName(outcome.State));
        if (outcome.State is RelayDeliveryState.Failed or RelayDeliveryState.Unknown)
        {
            activity?.SetStatus(ActivityStatusCode.Error, SqliteDeliveryStore.StateName(outcome.State));
        }

        try
        {
            var now = _time.GetUtcNow();
            if (outcome.State == RelayDeliveryState.Pending)
            {
                var wait = outcome.RetryAfter ?? Backoff(delivery.Attempts);
                await _store.RescheduleAsync(delivery.Id, now + wait, outcome.Result.Error ?? "retry", now, CancellationToken.None).ConfigureAwait(false);
                _logger.LogInformation("Delivery {DeliveryId} to job {JobId} did not reach the agent (attempt {Attempts}); trying again in {Wait}: {Error}", delivery.Id, delivery.JobId, delivery.Attempts, wait, outcome.Result.Error);
            }
            else
            {
                await _store.CompleteAsync(delivery.Id, outcome.State, outcome.Result, now, CancellationToken.None).ConfigureAwait(false);
                var level = outcome.State == RelayDeliveryState.Succeeded ? LogLevel.Information : LogLevel.Warning;
                _logger.Log(level, "Delivery {DeliveryId} to job {JobId}: {State}{Error}", delivery.Id, delivery.JobId, SqliteDeliveryStore.StateName(outcome.State), outcome.Result.Error is null ? string.Empty : " (" + outcome.Result.Error + ")");
            }
        }
        catch (Exception exception)
        {
            // The row stays 'sending' and becomes 'unknown' at the next start: never sent again unasked.
            _logger.LogError(exception, "Could not record the outcome of delivery {DeliveryId}; it will be unknown after the next start.", delivery.Id);
        }
        finally
        {
            _inFlight.TryRemove(delivery.Id, out _);
        }
    }

    private TimeSpan Backoff(int attempts)
    {
        var delay = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(Math.Max(attempts - 1, 0), 16));
        return TimeSpan.FromMilliseconds(Math.Min(delay, TimeSpan.FromMinutes(5).TotalMilliseconds));
    }

    private static async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>Wakes the dispatcher when a delivery is stored or a run ends, so it need not poll hard.</summary>
internal sealed class DispatchSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, int.MaxValue);

    public void Notify()
    {
        if (_semaphore.CurrentCount == 0)
        {
            _semaphore.Release();
        }
    }

    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _semaphore.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
