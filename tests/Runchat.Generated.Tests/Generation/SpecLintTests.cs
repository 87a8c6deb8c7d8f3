using System;
using System.Linq;
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

    [Test]
    public async Task TheCheckedInSpecIsTheMergeOfTheCheckedInPages()
    {
        // What build/update-spec.sh openapi/pages/*.md does: each page's yaml block, merged in name order.
        var pages = System.IO.Directory.GetFiles(Repository.Path("openapi", "pages"), "*.md").OrderBy(p => p, StringComparer.Ordinal).ToList();
        Assert.That(pages.Select(System.IO.Path.GetFileName), Is.EqualTo(new[] { "job-message.md", "job-trigger.md", "run.md", "schema.md" }));
        var work = System.IO.Directory.CreateTempSubdirectory("runchat-merge-").FullName;
        try
        {
            var specs = pages.Select((page, i) =>
            {
                var lines = System.IO.File.ReadAllLines(page);
                var start = Array.FindIndex(lines, l => l.StartsWith("```", StringComparison.Ordinal) && l.TrimStart('`').TrimStart().StartsWith("yaml", StringComparison.Ordinal));
                var fence = lines[start].Substring(0, lines[start].Length - lines[start].TrimStart('`').Length);
                var end = Array.FindIndex(lines, start + 1, l => l == fence);
                var file = System.IO.Path.Combine(work, $"page{i}.yaml");
                System.IO.File.WriteAllLines(file, lines[(start + 1)..end]);
                return file;
            }).ToList();

            var (merged, problems) = await SpecChecks.LoadAsync(specs[0], check: false);
            var all = problems.ToList();
            foreach (var spec in specs.Skip(1))
            {
                var (page, pageProblems) = await SpecChecks.LoadAsync(spec, check: false);
                all.AddRange(pageProblems);
                all.AddRange(SpecMerge.Into(merged!, page!, spec));
            }

            Assert.That(all, Is.Empty);
            var output = System.IO.Path.Combine(work, "merged.yaml");
            await SpecMerge.WriteAsync(merged!, specs[0], output);
            Assert.That(await System.IO.File.ReadAllTextAsync(output), Is.EqualTo(await System.IO.File.ReadAllTextAsync(Repository.Path("openapi", "runchat.yaml"))),
                "openapi/runchat.yaml is not the merge of openapi/pages/: run build/update-spec.sh openapi/pages/*.md");
        }
        finally
        {
            System.IO.Directory.Delete(work, recursive: true);
        }
    }

    [Test]
    public async Task TwoPagesThatDisagreeOnASharedSchemaAreRefused()
    {
        var seed = Repository.Path("openapi", "runchat.yaml");
        var other = System.IO.Path.GetTempFileName();
        await System.IO.File.WriteAllTextAsync(other, (await System.IO.File.ReadAllTextAsync(seed)).Replace("description: A message describing the error.", "description: Something else."));
        try
        {
            var (first, _) = await SpecChecks.LoadAsync(seed, check: false);
            var (second, _) = await SpecChecks.LoadAsync(other, check: false);

            var problems = SpecMerge.Into(first!, second!, "other.md");

            Assert.That(problems, Does.Contain("other.md: the schema Error differs from the one an earlier page defines; upstream's pages must agree on shared components."));
            Assert.That(problems.Any(p => p.Contains("is defined by two pages", StringComparison.Ordinal)), Is.True, "the same operations twice");
        }
        finally
        {
            System.IO.File.Delete(other);
        }
    }

    [TestCase("    post:\n", "    put:\n", "no POST /job/{runchat_job_id}", TestName = "DroppedOperationIsNamed")]
    [TestCase("      requestBody:\n        content:", "      requestBody:\n        required: true\n        content:", "became required", TestName = "RequiredBodyIsCaught")]
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
