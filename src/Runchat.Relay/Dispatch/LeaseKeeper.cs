using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace Runchat.Relay;

/// <summary>
/// Keeps this relay's leases, and recovers the sends of relays that died: the one owner of both, as
/// Hangfire's ServerWatchdog is beside its Worker. Every third of a lease it renews what this relay
/// holds (its claims and its runs in flight), then turns the expired <c>sending</c> rows of any relay
/// into <c>unknown</c>. It runs from the dispatcher's start until its last run has ended.
/// </summary>
internal sealed class LeaseKeeper
{
    private readonly IDeliveryStore _store;
    private readonly string _owner;
    private readonly TimeSpan _lease;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public LeaseKeeper(IDeliveryStore store, string owner, TimeSpan lease, TimeProvider time, ILogger logger)
    {
        _store = store;
        _owner = owner;
        _lease = lease;
        _time = time;
        _logger = logger;
    }

    /// <summary>When a lease taken now runs out.</summary>
    public DateTimeOffset LeaseFromNow() => _time.GetUtcNow() + _lease;

    /// <summary>
    /// Once, before the first claim: the sends a previous process left behind become <c>unknown</c>
    /// (SQLite: all of them; a shared store: those whose lease expired). Not cancellable: a recovery
    /// committed but never read is harmless, one cut off halfway is not.
    /// </summary>
    public Task RecoverAtStartAsync() => RecoverAsync(atStart: true);

    /// <summary>Renews and recovers every third of a lease until <paramref name="stop"/>.</summary>
    /// <param name="held">The ids this relay holds now: read at each renewal.</param>
    /// <param name="stop">Set once this relay holds nothing any more.</param>
    public async Task RunAsync(Func<IReadOnlyCollection<string>> held, CancellationToken stop)
    {
        var failing = false;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_lease / 3, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await _store.RenewAsync(_owner, held(), LeaseFromNow(), CancellationToken.None).ConfigureAwait(false);
                await RecoverAsync(atStart: false).ConfigureAwait(false);
                failing = false;
            }
            catch (Exception exception)
            {
                // Once with the exception; the dispatcher reports the store being down as well.
                if (!failing)
                {
                    _logger.LogWarning(exception, "Could not renew this relay's leases; its runs keep going, and their rows become unknown if the lease lapses.");
                    failing = true;
                }
            }
        }
    }

    private async Task RecoverAsync(bool atStart)
    {
        var recovered = await _store.RecoverInterruptedAsync(_time.GetUtcNow(), atStart, CancellationToken.None).ConfigureAwait(false);
        if (recovered > 0)
        {
            _logger.LogWarning("{Count} deliveries were in flight when their relay stopped; they are now unknown. List them with: runchat-job relay list --state unknown", recovered);
        }
    }
}
