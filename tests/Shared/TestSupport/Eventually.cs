using System;
using System.Diagnostics;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Runchat.Tests.TestSupport;

/// <summary>Waits for a condition with a deadline, instead of a fixed sleep: fast when it holds early, a clear failure when it never does.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> every 25 ms until it holds; fails the test naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan> HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds:0.#} s waiting until {what}");
            }

            await Task.Delay(25);
        }

        return waited.Elapsed;
    }

    /// <inheritdoc cref="HoldsAsync(Func{Task{bool}}, TimeSpan, string)"/>
    public static Task<TimeSpan> HoldsAsync(Func<bool> condition, TimeSpan timeout, string what) => HoldsAsync(() => Task.FromResult(condition()), timeout, what);
}
