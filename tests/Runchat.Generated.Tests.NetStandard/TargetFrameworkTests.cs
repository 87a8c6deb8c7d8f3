using System.Reflection;
using System.Runtime.Versioning;
using NUnit.Framework;

namespace Runchat.Tests;

[TestFixture]
[Category("Contract")]
public class TargetFrameworkTests
{
    [Test]
    public void TheseTestsExerciseTheNetStandardBuild()
    {
        var framework = typeof(RunchatClient).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()!.FrameworkName;

        Assert.That(framework, Is.EqualTo(".NETStandard,Version=v2.0"));
    }
}
