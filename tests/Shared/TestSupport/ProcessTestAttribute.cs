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
