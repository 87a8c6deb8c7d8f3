using System;
using System.IO;
using NUnit.Framework;
using PublicApiGenerator;
using Runchat.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// The public surface of Runchat.Relay against an approved snapshot, as for the client: a change is
/// deliberate only when RelayPublicApi.approved.txt changes with it (RUNCHAT_APPROVE_PUBLIC_API=1).
/// </summary>
[TestFixture]
[Category("Generation")]
public class RelayPublicApiTests
{
    private static string ApprovedPath => Repository.Path("tests", "Runchat.Relay.Tests", "Relay", "RelayPublicApi.approved.txt");

    private static string Current() =>
        typeof(RunchatRelayOptions).Assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            // AddRunchatRelay and MapRunchatRelay live in Microsoft.* namespaces, which the generator skips by default.
            AllowNamespacePrefixes = new[] { "Microsoft.Extensions.DependencyInjection", "Microsoft.AspNetCore.Builder" },
            ExcludeAttributes = new[]
            {
                "System.Runtime.Versioning.TargetFrameworkAttribute",
                "System.Reflection.AssemblyMetadataAttribute",
                "System.Runtime.CompilerServices.InternalsVisibleToAttribute",
            },
        }).Replace("\r\n", "\n");

    [Test]
    public void RelayPublicApiMatchesTheApprovedSnapshot()
    {
        var current = Current();
        if (Environment.GetEnvironmentVariable("RUNCHAT_APPROVE_PUBLIC_API") == "1")
        {
            File.WriteAllText(ApprovedPath, current);
        }

        var approved = File.Exists(ApprovedPath) ? File.ReadAllText(ApprovedPath).Replace("\r\n", "\n") : "";
        Assert.That(approved == current, Is.True,
            "The public API of Runchat.Relay changed. If that is deliberate, re-approve it " +
            "(RUNCHAT_APPROVE_PUBLIC_API=1 dotnet test --filter RelayPublicApiMatchesTheApprovedSnapshot) and commit " +
            "tests/Runchat.Relay.Tests/Relay/RelayPublicApi.approved.txt.\n\n" + TextDiff.Lines(approved, current));
    }

    [Test]
    public void TheContractNamesOfTheRelayArePublic()
    {
        var api = Current();
        foreach (var name in new[] { "AddRunchatRelay", "MapRunchatRelay", "MapRunchatWebhook", "IRunchatRelay", "RelayDelivery", "RelayDeliveryState", "Store", "MaxConcurrentRuns", "MaxRunsPerMinute", "ClaimLease", "ReplayAsync" })
        {
            Assert.That(api, Does.Contain(" " + name), name);
        }

        Assert.That(api, Does.Not.Contain("SqlDeliveryStore").And.Not.Contain("Dialect"), "the store's implementation is internal");
    }
}
