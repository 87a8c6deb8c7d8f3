using System;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace Runchat.Tests.TestSupport;

/// <summary>
/// A test or fixture that starts real processes (<c>runchat-job</c>, a browser): category <c>Process</c>, which
/// <c>build/test.sh --fast</c> leaves out. Under mutation testing (<c>build/mutation.sh</c> sets
/// <see cref="SkipVariable"/>) these are skipped: Stryker activates a mutant inside the test host only, and sees the
/// coverage of code run there only, so a child process runs unmutated code and could neither kill a mutant nor be
/// credited with covering one; it would only cost minutes.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class ProcessTestAttribute : CategoryAttribute, IApplyToTest
{
    /// <summary>Set to <c>1</c> to skip every test marked with this attribute, saying why.</summary>
    public const string SkipVariable = "RUNCHAT_TEST_SKIP_PROCESS";

    public ProcessTestAttribute()
        : base("Process")
    {
    }

    /// <inheritdoc />
    public new void ApplyToTest(Test test)
    {
        base.ApplyToTest(test);
        if (Environment.GetEnvironmentVariable(SkipVariable) == "1" && test.RunState != RunState.NotRunnable)
        {
            test.RunState = RunState.Ignored;
            test.Properties.Set(PropertyNames.SkipReason, $"{SkipVariable}=1 (a mutation run): this test starts real processes, which run no mutant");
        }
    }
}

/// <summary>
/// Under mutation testing (<see cref="ProcessTestAttribute.SkipVariable"/> set), every test runs alone, one after
/// another: Stryker records which mutants a test covers in one list per test host, so tests running side by side
/// would be credited with each other's coverage, or lose their own (mutants reported "no coverage", or "survived"
/// against a test that never reached them). Otherwise NUnit's own parallelism is left as the fixtures ask.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class SequentialUnderMutationAttribute : NUnitAttribute, IApplyToTest
{
    /// <inheritdoc />
    public void ApplyToTest(Test test)
    {
        if (Environment.GetEnvironmentVariable(ProcessTestAttribute.SkipVariable) == "1")
        {
            // No parallel dispatcher at all: NUnit runs every test on one thread (NumberOfTestWorkers=0).
            test.Properties.Set(PropertyNames.LevelOfParallelism, 0);
        }
    }
}
