using System.Threading;
using NUnit.Framework;

[assembly: Runchat.Tests.TestSupport.SequentialUnderMutation]

namespace Runchat.Tests.TestSupport;

/// <summary>
/// NUnit's Assert.ThrowsAsync blocks a thread per running test; with tests in parallel that can
/// starve the thread pool, which grows about one thread a second, and timing assertions would
/// then measure the test harness instead of the client.
/// </summary>
[SetUpFixture]
public class AssemblySetup
{
    [OneTimeSetUp]
    public void GiveTheThreadPoolRoom()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(System.Math.Max(workers, 64), System.Math.Max(io, 64));
    }
}
