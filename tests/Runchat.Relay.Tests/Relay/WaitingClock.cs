using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace Runchat.Tests.Relay;

/// <summary>
/// A fake clock that tells when a timer is asked of it, and for when: a background loop (the scheduler, retention, the
/// heartbeat) that asks for one is waiting, so a test moves time only then, instead of sleeping.
/// </summary>
internal sealed class WaitingClock : TimeProvider
{
    private readonly FakeTimeProvider _fake;
    private TaskCompletionSource _nextWait = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset? _due;

    public WaitingClock(DateTimeOffset start) => _fake = new FakeTimeProvider(start);

    /// <summary>When the latest timer asked for is due.</summary>
    public DateTimeOffset? Due
    {
        get
        {
            lock (_fake)
            {
                return _due;
            }
        }
    }

    /// <summary>Completes when the next timer is asked for.</summary>
    public Task NextWait()
    {
        lock (_fake)
        {
            return (_nextWait = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    public void Advance(TimeSpan by) => _fake.Advance(by);

    public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

    public override long GetTimestamp() => _fake.GetTimestamp();

    public override long TimestampFrequency => _fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = _fake.CreateTimer(callback, state, dueTime, period);
        lock (_fake)
        {
            _due = dueTime == Timeout.InfiniteTimeSpan ? null : _fake.GetUtcNow() + dueTime;
            _nextWait.TrySetResult();
        }

        return timer;
    }
}
