using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Generation;

/// <summary>
/// Generates the client from today's spec and from an evolved one (a GET on the same path, a new
/// status value, a new property) through the real MSBuild step, and compares the public surface.
/// </summary>
[TestFixture]
[Category("Generation")]
[NonParallelizable]
public class EvolutionTests
{
    private static readonly string Project = Repository.Path("src", "Runchat.Generated", "Runchat.Generated.csproj");
    private static readonly string EvolvedSpec = Repository.Path("tests", "Runchat.Generated.Tests", "Fixtures", "evolution", "runchat.evolved.yaml");
    private string _work = null!;

    [OneTimeSetUp]
    public void CreateWorkDirectory() => _work = Directory.CreateTempSubdirectory("runchat-evolution-").FullName;

    [OneTimeTearDown]
    public void DeleteWorkDirectory() => Directory.Delete(_work, recursive: true);

    private string Generate(string name, string spec, bool pin = true)
    {
        var output = Path.Combine(_work, name) + Path.DirectorySeparatorChar;
        var (exitCode, log) = Repository.Run(Repository.DotNet,
            $"msbuild \"{Project}\" -t:RunchatGenerateClient -p:TargetFramework=net8.0 -nologo -v:m " +
            $"-p:RunchatSpecFile=\"{spec}\" -p:RunchatGeneratedDirectory=\"{output}\" -p:RunchatPinOperationIds={pin.ToString().ToLowerInvariant()}");
        Assert.That(exitCode, Is.EqualTo(0), log);
        return File.ReadAllText(Path.Combine(output, "RunchatClient.g.cs"));
    }

    // The request builder and the sender of one operation: "internal ... CreateXRequest(" and "internal ... SendXAsync(".
    private static string[] OperationSignatures(string code, string operation) =>
        code.Split('\n').Select(l => l.Trim()).Where(l => Regex.IsMatch(l, $@" (Create{operation}Request|Send{operation}Async)\(")).ToArray();

    private static string[] PublicProperties(string code, string type)
    {
        var start = code.IndexOf($"public partial class {type}\n", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), type);
        var end = code.IndexOf("\n    }\n", start, StringComparison.Ordinal);
        return code.Substring(start, end - start).Split('\n').Select(l => l.Trim())
            .Where(l => l.StartsWith("public ", StringComparison.Ordinal) && !l.Contains('(') && !l.Contains(" class "))
            .Select(l => Regex.Match(l, @"(\w+)\s*(\{.*)?$").Groups[1].Value)
            .ToArray();
    }

    [Test]
    public void ExistingOperationKeepsItsNameAndSignaturesWhenUpstreamAddsAGetAndNewValues()
    {
        var today = Generate("today", Repository.Path("openapi", "runchat.yaml"));
        var evolved = Generate("evolved", EvolvedSpec);

        // The POST keeps its pinned name, which the handwritten TriggerAgentJobAsync overloads call;
        // the generated class has no public operation, and no operation takes the spec's request DTO.
        var todaySignatures = OperationSignatures(today, "TriggerAgentJobWithMessage");
        Assert.That(todaySignatures, Is.EqualTo(new[]
        {
            "internal System.Net.Http.HttpRequestMessage CreateTriggerAgentJobWithMessageRequest(string runchat_job_id, System.Net.Http.HttpContent? content)",
            "internal async System.Threading.Tasks.Task<RunchatResponse<AgentJobResponse>> SendTriggerAgentJobWithMessageAsync(System.Net.Http.HttpRequestMessage request, System.Threading.CancellationToken cancellationToken)",
        }));
        Assert.That(OperationSignatures(evolved, "TriggerAgentJobWithMessage"), Is.EqualTo(todaySignatures));
        Assert.That(evolved, Does.Not.Match(@"\n\s*(public|protected)[^\n]*\((AgentJobRequest|Runchat\.RunchatTransport)"), "nothing public takes the request DTO or the transport");
        Assert.That(evolved, Does.Not.Contain("ReadResponseAsString").And.Not.Contain("interface IRunchatClient"));

        foreach (var pinned in new[] { "TriggerFlowJob", "RunFlow", "GetFlowSchema" })
        {
            Assert.That(OperationSignatures(evolved, pinned), Is.EqualTo(OperationSignatures(today, pinned)).And.Length.EqualTo(2), pinned);
        }

        Assert.That(Regex.Matches(evolved, @"internal System.Net.Http.HttpRequestMessage Create\w+Request\(").Count, Is.EqualTo(5), "the new operation arrives through the same template");
        Assert.That(evolved, Does.Contain("// Operation Path: \"job/{runchat_job_id}/history\""));
        Assert.That(evolved, Does.Contain("public async System.Threading.Tasks.Task<AgentJobResponse> HistoryAsync(string runchat_job_id, System.Threading.CancellationToken cancellationToken = default)"),
            "an operation upstream adds is public at once, through the same builder and sender (public-api.md)");
        Assert.That(today, Does.Not.Contain("public async"), "the wrapped operations' public faces are handwritten");
        Assert.That(PublicProperties(evolved, "AgentJobResponse"), Is.SupersetOf(PublicProperties(today, "AgentJobResponse")));
        Assert.That(PublicProperties(evolved, "AgentJobResponse"), Does.Contain("DurationMs"));
        Assert.That(evolved, Does.Contain("Queued = 2"));
        Assert.That(PublicProperties(evolved, "Error"), Is.EqualTo(PublicProperties(today, "Error")));
    }

    [Test]
    public void PublicNamesAreDotNetStyleWhileWireNamesStaySnakeCase()
    {
        var today = Generate("names", Repository.Path("openapi", "runchat.yaml"));

        Assert.That(PublicProperties(today, "AgentJobResponse"), Is.EquivalentTo(new[] { "Metadata", "Messages", "JobId", "RunchatId", "Status", "Error", "AdditionalProperties" }));
        Assert.That(PublicProperties(today, "Error"), Is.EquivalentTo(new[] { "Message", "AdditionalProperties" }));
        Assert.That(today, Does.Contain("[Newtonsoft.Json.JsonProperty(\"job_id\"").And.Contain("[Newtonsoft.Json.JsonProperty(\"runchat_id\""));
        Assert.That(today, Does.Not.Contain("Job_id").And.Not.Contain("Runchat_id").And.Not.Contain("Error1"));
    }

    [Test]
    public void WithoutPinnedIdsNSwagWouldHaveRenamedTheOperation()
    {
        // The trap the pinning exists for: renamed, the POST's builder would no longer be the one the
        // handwritten layer calls, and the build would break. If NSwag ever stops renaming, this documents it.
        var unpinned = Generate("unpinned", EvolvedSpec, pin: false);

        Assert.That(OperationSignatures(unpinned, "TriggerAgentJobWithMessage"), Is.Empty);
        Assert.That(unpinned, Does.Match(@"CreateJob(POST|Post)Request\(string runchat_job_id"));
    }

    [Test]
    public void SpecThatDroppedTheWrappedOperationFailsTheBuildWithItsName()
    {
        var spec = Path.Combine(_work, "dropped.yaml");
        File.WriteAllText(spec, File.ReadAllText(Repository.Path("openapi", "runchat.yaml")).Replace("    post:\n", "    put:\n"));
        var output = Path.Combine(_work, "dropped") + Path.DirectorySeparatorChar;

        var (exitCode, log) = Repository.Run(Repository.DotNet,
            $"msbuild \"{Project}\" -t:RunchatGenerateClient -p:TargetFramework=net8.0 -nologo -v:m -p:RunchatSpecFile=\"{spec}\" -p:RunchatGeneratedDirectory=\"{output}\"");

        Assert.That(exitCode, Is.Not.EqualTo(0));
        Assert.That(log, Does.Contain("error : spec: The spec has no POST /job/{runchat_job_id}").And.Contain("pinned as TriggerAgentJobWithMessage"));
        Assert.That(File.Exists(Path.Combine(output, "RunchatClient.g.cs")), Is.False, "nothing is generated from a spec that fails the checks");
    }

    [Test]
    public void BothTargetFrameworksShareOneGeneration()
    {
        // The multi-targeting build's own dispatch, with RunchatGenerateClient as each framework's
        // target: netstandard2.0 and net8.0 both ask, one generation runs, and both compile its file.
        var output = Path.Combine(_work, "once") + Path.DirectorySeparatorChar;

        var (exitCode, log) = Repository.Run(Repository.DotNet,
            $"msbuild \"{Project}\" -t:DispatchToInnerBuilds -p:InnerTargets=RunchatGenerateClient -nologo -v:d -p:RunchatGeneratedDirectory=\"{output}\"");

        Assert.That(exitCode, Is.EqualTo(0), log);
        Assert.That(Regex.Matches(log, @"is building ""[^""]*Runchat\.Generated\.csproj"" \([0-9:]+\) on node \d+ \(RunchatGenerateClient target\(s\)\)").Count, Is.EqualTo(2), "each framework asks");
        Assert.That(Regex.Matches(log, @"Target ""RunchatGenerateClientFiles"" in file").Count, Is.EqualTo(1), "one generation runs");
        Assert.That(Regex.Matches(log, @"Target ""RunchatGenerateClientOnce"" skipped\. Previously built successfully\.").Count, Is.EqualTo(1), "the other framework reuses its result");
        Assert.That(Regex.Matches(log, "Runchat: generated ").Count, Is.EqualTo(1));
        Assert.That(File.ReadAllText(Path.Combine(output, "RunchatClient.g.cs")), Does.Contain("CreateTriggerAgentJobWithMessageRequest"));
    }

    [Test]
    public void GenerationIsSkippedWhenNothingChangedAndRerunsWhenATemplateIsDeleted()
    {
        var templates = Path.Combine(_work, "templates");
        Directory.CreateDirectory(templates);
        foreach (var file in Directory.GetFiles(Repository.Path("build", "templates")))
        {
            File.Copy(file, Path.Combine(templates, Path.GetFileName(file)));
        }

        var output = Path.Combine(_work, "incremental") + Path.DirectorySeparatorChar;
        string Run()
        {
            var (exitCode, log) = Repository.Run(Repository.DotNet,
                $"msbuild \"{Project}\" -t:RunchatGenerateClient -p:TargetFramework=net8.0 -nologo -v:n -p:RunchatTemplateDirectory=\"{templates}\" -p:RunchatGeneratedDirectory=\"{output}\"");
            Assert.That(exitCode, Is.EqualTo(0), log);
            return log;
        }

        Assert.That(Run(), Does.Contain("Runchat: generated"));
        var before = File.ReadAllText(Path.Combine(output, "RunchatClient.g.cs"));
        Assert.That(before, Does.Contain("Runchat: the body excerpt only when there is a body"), "File.liquid is in use");

        Assert.That(Run(), Does.Not.Contain("Runchat: generated").And.Contain("Skipping target \"RunchatGenerateClientFiles\""), "nothing changed");

        // A deletion leaves every remaining input older than the output: only the manifest sees it.
        File.Delete(Path.Combine(templates, "File.liquid"));
        Assert.That(Run(), Does.Contain("Runchat: generated"));
        Assert.That(File.ReadAllText(Path.Combine(output, "RunchatClient.g.cs")), Does.Not.Contain("Runchat: the body excerpt"), "NSwag's own File.liquid is used again");
    }

    [Test]
    public void ADesignTimeBuildOnAFreshCloneBuildsSpecToolItselfAndGenerates()
    {
        // An IDE's design-time build passes BuildProjectReferences=false, so ResolveProjectReferences
        // does not build SpecTool. A copy of it that was never built stands in for a fresh clone's
        // (inside the repository, so it finds Directory.Build.props and the central package versions).
        var copy = Repository.Path("artifacts", "design-time-" + Guid.NewGuid().ToString("N")[..8], "SpecTool");
        Directory.CreateDirectory(copy);
        try
        {
            foreach (var file in Directory.GetFiles(Repository.Path("build", "SpecTool")).Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal)))
            {
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            }

            var project = Path.Combine(copy, "SpecTool.csproj");
            var (restored, restoreLog) = Repository.Run(Repository.DotNet, $"restore \"{project}\" -nologo -v:q");
            Assert.That(restored, Is.EqualTo(0), restoreLog);
            var tool = Path.Combine(copy, "bin", "Debug", "net10.0", "SpecTool.dll");
            Assert.That(File.Exists(tool), Is.False, "not built yet");
            var output = Path.Combine(_work, "design-time") + Path.DirectorySeparatorChar;

            var (exitCode, log) = Repository.Run(Repository.DotNet,
                $"msbuild \"{Project}\" -t:Compile -p:TargetFramework=net8.0 -p:DesignTimeBuild=true -p:BuildProjectReferences=false " +
                $"-p:SkipCompilerExecution=true -p:ProvideCommandLineArgs=true -nologo -v:m -p:RunchatSpecToolProject=\"{project}\" -p:RunchatGeneratedDirectory=\"{output}\"");

            Assert.That(exitCode, Is.EqualTo(0), log);
            Assert.That(File.Exists(tool), Is.True, "the design-time build built SpecTool:\n" + log);
            Assert.That(File.ReadAllText(Path.Combine(output, "RunchatClient.g.cs")), Does.Contain("CreateTriggerAgentJobWithMessageRequest"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }
}
