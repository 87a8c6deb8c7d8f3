using System;
using System.IO;
using System.Linq;
using System.Text;
using NUnit.Framework;
using PublicApiGenerator;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.PublicApi;

/// <summary>
/// The whole public surface of Runchat.Generated (generated and handwritten) against an approved
/// snapshot. To accept a deliberate change, run the tests with RUNCHAT_APPROVE_PUBLIC_API=1 (or copy
/// PublicApi.received.txt over PublicApi.approved.txt) and commit the approved file.
/// </summary>
[TestFixture]
[Category("Generation")]
public class PublicApiTests
{
    public static string ApprovedPath => Repository.Path("tests", "Runchat.Generated.Tests", "PublicApi", "PublicApi.approved.txt");

    public static string Current() =>
        typeof(RunchatClient).Assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            // PublicApiGenerator skips Microsoft.* by default; AddRunchatClient lives there.
            AllowNamespacePrefixes = new[] { "Microsoft.Extensions.DependencyInjection" },
            ExcludeAttributes = new[]
            {
                "System.Runtime.Versioning.TargetFrameworkAttribute",
                "System.Reflection.AssemblyMetadataAttribute",
                "System.CodeDom.Compiler.GeneratedCodeAttribute",
                "System.Runtime.CompilerServices.InternalsVisibleToAttribute",
            },
        }).Replace("\r\n", "\n");

    [Test]
    public void PublicApiMatchesTheApprovedSnapshot()
    {
        var current = Current();
        var receivedPath = Path.ChangeExtension(ApprovedPath, ".received.txt").Replace(".approved.received", ".received");
        if (Environment.GetEnvironmentVariable("RUNCHAT_APPROVE_PUBLIC_API") == "1")
        {
            File.WriteAllText(ApprovedPath, current);
        }

        var approved = File.Exists(ApprovedPath) ? File.ReadAllText(ApprovedPath).Replace("\r\n", "\n") : "";
        if (approved == current)
        {
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, current);
        Assert.Fail("The public API of Runchat.Generated changed. If that is deliberate, re-approve it " +
                    "(RUNCHAT_APPROVE_PUBLIC_API=1 dotnet test --filter PublicApiMatchesTheApprovedSnapshot) and commit " +
                    "tests/Runchat.Generated.Tests/PublicApi/PublicApi.approved.txt.\n\n" + TextDiff.Lines(approved, current));
    }

    [Test]
    public void ContractNamesArePublicAndTrapNamesAreNot()
    {
        var api = Current();
        foreach (var name in new[] { "JobId", "RunchatId", "TriggerAgentJobAsync", "ServerError", "FinalReply", "Transcript" })
        {
            Assert.That(api, Does.Contain(" " + name), name);
        }

        Assert.That(api, Does.Not.Contain("Job_id").And.Not.Contain("Runchat_id").And.Not.Contain("Error1").And.Not.Contain("JobPOSTAsync").And.Not.Contain("TriggerAgentJobWithMessageAsync"));
    }

    /// <summary>A minimal line diff (added and removed lines, in order), readable in a test log.</summary>
}
