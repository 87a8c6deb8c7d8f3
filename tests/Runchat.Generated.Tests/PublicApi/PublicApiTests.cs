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
                    "tests/Runchat.Generated.Tests/PublicApi/PublicApi.approved.txt.\n\n" + LineDiff(approved, current));
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
    public static string LineDiff(string before, string after)
    {
        var a = before.Split('\n');
        var b = after.Split('\n');
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        for (var j = b.Length - 1; j >= 0; j--)
            lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);

        var diff = new StringBuilder();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y]) { x++; y++; }
            else if (y < b.Length && (x == a.Length || lcs[x, y + 1] >= lcs[x + 1, y])) diff.Append("+ ").AppendLine(b[y++]);
            else diff.Append("- ").AppendLine(a[x++]);
        }

        return diff.ToString();
    }
}
