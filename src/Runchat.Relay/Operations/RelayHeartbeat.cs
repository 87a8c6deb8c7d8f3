using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Runchat.Relay;

/// <summary>
/// Records this instance's heartbeat (<see cref="RelayInstance"/>) every <see cref="RelayInstance.HeartbeatInterval"/>,
/// and removes it when the host stops cleanly; a crashed instance's row stays, silent, until retention removes it a
/// day later.
/// </summary>
internal sealed class RelayHeartbeat : BackgroundService
{
    private readonly IDeliveryStore _store;
    private readonly RelayInstanceStatus _status;
    private readonly TimeProvider _time;
    private readonly ILogger<RelayHeartbeat> _logger;

    public RelayHeartbeat(IDeliveryStore store, RelayInstanceStatus status, TimeProvider time, ILogger<RelayHeartbeat> logger)
    {
        _store = store;
        _status = status;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _store.HeartbeatAsync(_status.Snapshot(_time.GetUtcNow()), stoppingToken).ConfigureAwait(false);
                failing = false;
            }
            catch (Exception failure) when (!stoppingToken.IsCancellationRequested)
            {
                // Once per outage: the dispatcher reports the store's state; this is only the heartbeat.
                if (!failing)
                {
                    _logger.LogWarning("The relay could not record its heartbeat: {Error}", failure.Message);
                    failing = true;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await Task.Delay(RelayInstance.HeartbeatInterval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _store.RemoveInstancesAsync(_status.Id, DateTimeOffset.MinValue, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception failure)
        {
            _logger.LogDebug("The relay could not remove its heartbeat at stop; it is removed a day later: {Error}", failure.Message);
        }
    }
}
