using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Generation;

/// <summary>
/// The checked-in spec parses as OpenAPI, and still has everything the handwritten layer is built on.
/// A failing check says which assumption upstream broke, instead of a wall of compiler errors.
/// </summary>
[TestFixture]
[Category("Generation")]
public class SpecLintTests
{
    public static async Task<(OpenApiDocument? Document, string[] Errors)> LoadAsync(string path)
    {
        var settings = new OpenApiReaderSettings();
        settings.AddYamlReader();
        await using var stream = File.OpenRead(path);
        var result = await OpenApiDocument.LoadAsync(stream, "yaml", settings);
        return (result.Document, result.Diagnostic?.Errors.Select(e => e.ToString()).ToArray() ?? Array.Empty<string>());
    }

    private static OpenApiDocument _document = null!;

    [OneTimeSetUp]
    public async Task Load()
    {
        var (document, errors) = await LoadAsync(Repository.Path("openapi", "runchat.yaml"));
        Assert.That(errors, Is.Empty, "openapi/runchat.yaml does not parse as OpenAPI");
        _document = document!;
    }

    [Test]
    public void SpecParsesWithoutErrors() => Assert.That(_document.Paths, Is.Not.Empty);

    [Test]
    public void WrappedOperationStillExists()
    {
        Assert.That(_document.Paths.ContainsKey("/job/{runchat_job_id}"), Is.True,
            "Upstream removed or renamed the path /job/{runchat_job_id}; RunchatClient.Triggers.cs wraps it.");
        var operations = _document.Paths["/job/{runchat_job_id}"].Operations!;
        Assert.That(operations.Keys.Select(k => k.Method.ToUpperInvariant()), Does.Contain("POST"),
            "Upstream removed POST /job/{runchat_job_id}; the handwritten TriggerAgentJobAsync overloads wrap it.");
    }

    [Test]
    public void RequestBodyIsStillOptionalJsonWithAMessageString()
    {
        var post = _document.Paths["/job/{runchat_job_id}"].Operations!.Single(o => o.Key.Method == "POST").Value;
        Assert.That(post.RequestBody?.Required ?? false, Is.False,
            "Upstream made the request body required: TriggerAgentJobAsync(jobId) sends no body and would break.");
        var schema = post.RequestBody!.Content!["application/json"].Schema!;
        Assert.That(schema.Properties!.ContainsKey("message"), Is.True,
            "AgentJobRequest lost its 'message' property: the explicit-message overload sends {\"message\":...}.");
        Assert.That(schema.Properties["message"].Type, Is.EqualTo(JsonSchemaType.String));
    }

    [Test]
    public void ResponseStillHasWhatTheHelpersRead()
    {
        var response = _document.Components!.Schemas!["AgentJobResponse"];
        foreach (var property in new[] { "metadata", "messages", "job_id", "runchat_id", "status", "error" })
        {
            Assert.That(response.Properties!.ContainsKey(property), Is.True,
                $"AgentJobResponse lost '{property}', which AgentJobResponse.Transcript.cs / RunchatAgentRunException read.");
        }

        var statuses = response.Properties!["status"].Enum!.Select(e => e!.ToString().Trim('"')).ToArray();
        Assert.That(statuses, Does.Contain("success").And.Contain("error"),
            "The status enum lost 'success' or 'error', which IsSuccess/EnsureSuccess depend on.");
        Assert.That(_document.Components.Schemas["Error"].Properties!.ContainsKey("error"), Is.True,
            "The Error schema lost 'error', which RunchatApiException.ServerError reads.");
    }

    [Test]
    public void EvolvedFixtureParsesToo()
    {
        var (_, errors) = LoadAsync(Repository.Path("tests", "Runchat.Generated.Tests", "Fixtures", "evolution", "runchat.evolved.yaml")).GetAwaiter().GetResult();
        Assert.That(errors, Is.Empty);
    }
}
