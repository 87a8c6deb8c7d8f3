using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.Tests.TestSupport;
using Runchat.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// A <see cref="RelayScheduler"/> on a fake clock: the test moves time, and waits for the scheduler to be waiting
/// again (it has asked the clock for its next timer) instead of sleeping. What it enqueues is recorded.
/// </summary>
internal sealed class SchedulerHarness : IAsyncDisposable
{
    private readonly WaitingClock _clock;
    private readonly RelayScheduler _scheduler;
    private readonly RecordingStore _store;

    private readonly FakeLogger<RelayScheduler> _logger;

    private SchedulerHarness(WaitingClock clock, RelayScheduler scheduler, RecordingStore store, RunchatRelayOptions options, DispatchSignal signal, FakeLogger<RelayScheduler> logger)
    {
        _logger = logger;
        Signal = signal;
        _clock = clock;
        _scheduler = scheduler;
        _store = store;
        Options = options;
    }

    public RunchatRelayOptions Options { get; }

    /// <summary>The signal the scheduler wakes the dispatcher with.</summary>
    public DispatchSignal Signal { get; }

    /// <summary>What the scheduler stored, in order.</summary>
    public IReadOnlyList<NewDelivery> Added => _store.Added;

    /// <summary>The scheduler's warnings, as an operator reads them, in order.</summary>
    public IReadOnlyList<string> Warnings => _logger.Collector.GetSnapshot().Where(r => r.Level == LogLevel.Warning).Select(r => r.Message).ToList();

    /// <summary>Set to make the next AddAsync throw as a store that is down would; cleared when it has.</summary>
    public bool FailNextAdd
    {
        get => _store.FailNext;
        set => _store.FailNext = value;
    }

    /// <summary>The scheduler's failure, if its loop ended with one.</summary>
    public Exception? Faulted => _scheduler.ExecuteTask?.Exception;

    public static async Task<SchedulerHarness> StartAsync(IDeliveryStore store, DateTimeOffset start, params RelayScheduleOptions[] schedules)
    {
        var options = new RunchatRelayOptions();
        options.Schedules.AddRange(schedules);
        Assert.That(options.Validate(), Is.Empty);
        var clock = new WaitingClock(start);
        var recording = new RecordingStore(store);
        var signal = new DispatchSignal();
        var logger = new FakeLogger<RelayScheduler>();
        var scheduler = new RelayScheduler(new RelayRouteTable(Microsoft.Extensions.Options.Options.Create(options)), recording, clock, signal, logger);
        var harness = new SchedulerHarness(clock, scheduler, recording, options, signal, logger);
        var waiting = clock.NextWait();
        await scheduler.StartAsync(default);
        await harness.UntilWaitingAsync(waiting, "the scheduler waits for its first tick");
        return harness;
    }

    /// <summary>
    /// Moves the clock by <paramref name="by"/> as time passes: to each moment the scheduler waits for, waking it
    /// on time, and waiting until it waits again, then to the end.
    /// </summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        var target = _clock.GetUtcNow() + by;
        while (_clock.Due is { } due && due <= target && !_scheduler.ExecuteTask!.IsCompleted)
        {
            var waiting = _clock.NextWait();
            _clock.Advance(due - _clock.GetUtcNow());
            await UntilWaitingAsync(waiting, $"the scheduler waits again after {due:u}");
        }

        _clock.Advance(target - _clock.GetUtcNow());
    }

    /// <summary>Moves the clock by <paramref name="by"/> at once, as a process stopped and resumed sees it, and waits until the scheduler waits again.</summary>
    public async Task StallAsync(TimeSpan by)
    {
        var waiting = _clock.NextWait();
        _clock.Advance(by);
        await UntilWaitingAsync(waiting, $"the scheduler waits again after a stall of {by}");
    }

    private async Task UntilWaitingAsync(Task waiting, string what)
    {
        if (await Task.WhenAny(waiting, _scheduler.ExecuteTask ?? Task.CompletedTask, Task.Delay(TimeSpan.FromSeconds(10))) is var done && done != waiting && !(_scheduler.ExecuteTask?.IsCompleted ?? true))
        {
            Assert.Fail("timed out waiting until " + what);
        }
    }

    /// <summary>Waits until the scheduler has stored nothing for a moment (what is due has been done).</summary>
    public async Task SettleAsync()
    {
        var count = -1;
        await Eventually.HoldsAsync(() =>
        {
            var now = Added.Count;
            var settled = now == count;
            count = now;
            return settled;
        }, TimeSpan.FromSeconds(10), "the scheduler has stored what was due");
    }

    public Task StopAsync() => _scheduler.StopAsync(default);

    public async ValueTask DisposeAsync()
    {
        await _scheduler.StopAsync(default);
        _scheduler.Dispose();
    }

    /// <summary>The store, recording each AddAsync, and failing the next one on demand.</summary>
    private sealed class RecordingStore : DelegatingStore
    {
        private readonly List<NewDelivery> _added = new();

        public RecordingStore(IDeliveryStore inner)
            : base(inner)
        {
        }

        public bool FailNext { get; set; }

        public IReadOnlyList<NewDelivery> Added
        {
            get
            {
                lock (_added)
                {
                    return _added.ToList();
                }
            }
        }

        public override async Task<AddResult> AddAsync(NewDelivery delivery, CancellationToken cancellationToken)
        {
            if (FailNext)
            {
                FailNext = false;
                throw new Microsoft.Data.Sqlite.SqliteException("the store is down (a test)", 10);
            }

            var result = await base.AddAsync(delivery, cancellationToken);
            if (!result.Duplicate)
            {
                lock (_added)
                {
                    _added.Add(delivery);
                }
            }

            return result;
        }
    }
}
