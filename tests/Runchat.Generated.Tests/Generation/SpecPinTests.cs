using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.OpenApi;
using NUnit.Framework;
using Runchat.SpecTool;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Generation;

/// <summary>
/// `SpecTool pin`, which the build runs before NSwag: it sets our operationIds on the parsed
/// document, and refuses (with a sentence, changing nothing) what it cannot pin.
/// </summary>
[TestFixture]
[Category("Generation")]
public class SpecPinTests
{
    private static readonly SpecPin.Pin Trigger = SpecPin.Pin.Parse("POST /job/{runchat_job_id}=TriggerAgentJobWithMessage");

    private static async Task<OpenApiDocument> LoadAsync(Func<string, string>? edit = null)
    {
        var text = await File.ReadAllTextAsync(Repository.Path("openapi", "runchat.yaml"));
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, edit is null ? text : edit(text));
        try
        {
            var (document, problems) = await SpecChecks.LoadAsync(file);
            Assert.That(problems, Is.Empty);
            return document!;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static OpenApiOperation Post(OpenApiDocument document) => document.Paths[SpecChecks.Path].Operations![System.Net.Http.HttpMethod.Post];

    [Test]
    public void PinParsesMethodPathAndId()
    {
        Assert.That(Trigger, Is.EqualTo(new SpecPin.Pin("POST", "/job/{runchat_job_id}", "TriggerAgentJobWithMessage")));
        Assert.That(SpecPin.Pin.Parse("post /a=B").Method, Is.EqualTo("POST"));
    }

    [TestCase("POST/job=X")]
    [TestCase("POST /job")]
    [TestCase("POST /job=")]
    [TestCase("/job=X")]
    public void MalformedPinIsRefusedWithTheExpectedForm(string text)
    {
        var error = Assert.Throws<FormatException>(() => SpecPin.Pin.Parse(text))!;

        Assert.That(error.Message, Does.Contain($"'{text}' is not a pin").And.Contain("POST /job/{runchat_job_id}=TriggerAgentJobWithMessage"));
    }

    [Test]
    public async Task UpstreamHasNoIdAndThePinSetsOurs()
    {
        var document = await LoadAsync();
        Assert.That(Post(document).OperationId, Is.Null, "today's upstream spec sets no operationId");

        Assert.That(SpecPin.Apply(document, new[] { Trigger }), Is.Empty);

        Assert.That(Post(document).OperationId, Is.EqualTo("TriggerAgentJobWithMessage"));
    }

    [Test]
    public async Task AnIdUpstreamSetsIsReplacedByThePin()
    {
        var document = await LoadAsync(t => t.Replace("    post:\n", "    post:\n      operationId: triggerJob\n"));
        Assert.That(Post(document).OperationId, Is.EqualTo("triggerJob"), "the mutation must apply");

        Assert.That(SpecPin.Apply(document, new[] { Trigger }), Is.Empty);

        Assert.That(Post(document).OperationId, Is.EqualTo("TriggerAgentJobWithMessage"));
    }

    [Test]
    public async Task AMissingOperationIsNamedAndNothingIsPinned()
    {
        var document = await LoadAsync();

        var problems = SpecPin.Apply(document, new[] { Trigger, SpecPin.Pin.Parse("DELETE /job/{runchat_job_id}=DeleteJob") });

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain("no longer has the operation 'DELETE /job/{runchat_job_id}'").And.Contain("pinned as DeleteJob"));
        Assert.That(Post(document).OperationId, Is.Null, "a pin that cannot be applied leaves the whole document unchanged");
    }

    [Test]
    public async Task AnIdAnotherOperationAlreadyHasIsRefused()
    {
        var document = await LoadAsync(t => t.Replace("    get:\n      tags:\n        - Jobs\n", "    get:\n      operationId: TriggerAgentJobWithMessage\n      tags:\n        - Jobs\n"));
        Assert.That(document.Paths[SpecChecks.Path].Operations!.Keys, Does.Contain(System.Net.Http.HttpMethod.Get), "the mutation must apply");

        var problems = SpecPin.Apply(document, new[] { Trigger });

        Assert.That(problems.Single(), Does.Contain("already has the operationId TriggerAgentJobWithMessage"));
        Assert.That(Post(document).OperationId, Is.Null);
    }
}
