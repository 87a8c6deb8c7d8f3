using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.SpecTool;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Generation;

/// <summary>
/// The checked-in spec parses as OpenAPI and still has everything the handwritten layer is built
/// on (the same checks build/update-spec.sh runs). A failure names the broken assumption.
/// </summary>
[TestFixture]
[Category("Generation")]
public class SpecLintTests
{
    [Test]
    public async Task CheckedInSpecParsesAndHasWhatTheHandwrittenLayerNeeds()
    {
        var (document, problems) = await SpecChecks.LoadAsync(Repository.Path("openapi", "runchat.yaml"));

        Assert.That(problems, Is.Empty);
        Assert.That(document!.Paths, Contains.Key(SpecChecks.Path));
    }

    [Test]
    public void ProvenanceNoteRecordsTheCheckedInSpec()
    {
        var spec = System.IO.File.ReadAllBytes(Repository.Path("openapi", "runchat.yaml"));
        var hash = System.Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(spec)).ToLowerInvariant();

        Assert.That(System.IO.File.ReadAllText(Repository.Path("openapi", "PROVENANCE.md")), Does.Contain("| sha256 | " + hash + " |"),
            "openapi/runchat.yaml changed without build/update-spec.sh updating openapi/PROVENANCE.md");
    }

    [Test]
    public async Task EvolvedFixturePassesTheSameChecks()
    {
        var (_, problems) = await SpecChecks.LoadAsync(Repository.Path("tests", "Runchat.Generated.Tests", "Fixtures", "evolution", "runchat.evolved.yaml"));

        Assert.That(problems, Is.Empty);
    }

    [TestCase("    post:\n", "    put:\n", "no POST /job/{runchat_job_id}", TestName = "DroppedOperationIsNamed")]
    [TestCase("      requestBody:\n        required: false", "      requestBody:\n        required: true", "became required", TestName = "RequiredBodyIsCaught")]
    [TestCase("        job_id:\n", "        jobId:\n", "lost 'job_id'", TestName = "RenamedResponsePropertyIsCaught")]
    [TestCase("            - success\n", "            - succeeded\n", "'success' or 'error'", TestName = "RenamedStatusValueIsCaught")]
    [TestCase("openapi: 3.1.0", "openapi: [3.1.0", "Unable to parse", TestName = "BrokenYamlIsCaught")]
    public async Task BreakingChangeIsReportedInWords(string from, string to, string expected)
    {
        var original = await System.IO.File.ReadAllTextAsync(Repository.Path("openapi", "runchat.yaml"));
        Assert.That(original, Does.Contain(from), "the mutation must apply");
        var file = System.IO.Path.GetTempFileName();
        await System.IO.File.WriteAllTextAsync(file, original.Replace(from, to));
        try
        {
            var (_, problems) = await SpecChecks.LoadAsync(file);

            Assert.That(string.Join("\n", problems), Does.Contain(expected).IgnoreCase);
        }
        finally
        {
            System.IO.File.Delete(file);
        }
    }
}
