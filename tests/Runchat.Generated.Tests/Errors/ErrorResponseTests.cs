using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Errors;

[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class ErrorResponseTests : WireMockTest
{
    [TestCase(400, "Job job-1 is a flow job; use GET")]
    [TestCase(403, "You do not have access to this Runchat")]
    [TestCase(404, "Job not found")]
    [TestCase(500, "Database unavailable")]
    public async Task SpecStatusesThrowTypedErrorWithTheServersText(int status, string serverText)
    {
        RespondWith(status, "{\"error\":\"" + serverText + "\"}");
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException<Error>>(() => client.TriggerAgentJobAsync("job-1", "go"));

        Assert.Multiple(() =>
        {
            Assert.That(exception!.StatusCode, Is.EqualTo(status));
            Assert.That(exception.Result.Message, Is.EqualTo(serverText));
            Assert.That(exception.ServerError, Is.EqualTo(serverText));
            Assert.That(exception.Message, Does.Contain(serverText));
            Assert.That(exception.Response, Is.EqualTo("{\"error\":\"" + serverText + "\"}"));
            Assert.That(exception.Headers.Keys, Does.Contain("Content-Type"));
        });
        Assert.That(Requests, Has.Count.EqualTo(1), "errors are never retried");
    }

    [Test]
    public async Task ErrorObjectWithMessageGivesServerError()
    {
        RespondWith(422, "{\"error\":{\"message\":\"message must be a string\",\"code\":\"bad_body\"}}");
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("job-1", "go"));

        Assert.That(exception!.StatusCode, Is.EqualTo(422));
        Assert.That(exception.ServerError, Is.EqualTo("message must be a string"));
        Assert.That(exception.Message, Does.Contain("message must be a string"));
    }

    [Test]
    public async Task HtmlBadGatewayPageGivesApiExceptionWithStatus()
    {
        RespondWith(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html");
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("job-1"));

        Assert.That(exception!.GetType(), Is.EqualTo(typeof(RunchatApiException)));
        Assert.That(exception.StatusCode, Is.EqualTo(502));
        Assert.That(exception.ServerError, Is.Null);
        Assert.That(exception.Response, Does.Contain("502 Bad Gateway"));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task EmptyServerErrorGivesApiExceptionWithStatus()
    {
        RespondWith(500, "");
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("job-1"));

        Assert.That(exception!.GetType(), Is.EqualTo(typeof(RunchatApiException)));
        Assert.That(exception.StatusCode, Is.EqualTo(500));
        Assert.That(exception.ServerError, Is.Null);
        Assert.That(exception.Message, Does.Contain("not retried"));
    }

    [TestCase("{\"job_id\":\"j\",\"status\":\"succ", TestName = "TruncatedJsonOn200GivesApiException")]
    [TestCase("", TestName = "EmptyBodyOn200GivesApiException")]
    [TestCase("[1,2,3]", TestName = "ArrayOn200GivesApiException")]
    [TestCase("<html>ok</html>", TestName = "HtmlOn200GivesApiException")]
    public async Task UndocumentedSuccessBodyGivesApiExceptionWithStatus200(string body)
    {
        RespondWith(200, body);
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("job-1"));

        Assert.That(exception!.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task UnauthorizedSaysTheKeyIsMissingInvalidOrRevoked()
    {
        RespondWith(401, "{\"error\":\"Unauthorized\"}");
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("job-1"));

        Assert.That(exception!.StatusCode, Is.EqualTo(401));
        Assert.That(exception.Message, Does.Contain("missing, invalid or revoked"));
        Assert.That(exception.ServerError, Is.EqualTo("Unauthorized"));
    }

    [TestCase(301)]
    [TestCase(302)]
    [TestCase(303)]
    [TestCase(307)]
    [TestCase(308)]
    public async Task RedirectIsNeverFollowed(int status)
    {
        Server.Given(Request.Create().WithPath(JobPath + "job-1").UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Location", Server.Url + "/elsewhere"));
        Server.Given(Request.Create().WithPath("/elsewhere").UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("job-1", "go"));

        Assert.That(exception!.StatusCode, Is.EqualTo(status));
        Assert.That(exception.Message, Does.Contain("never followed"));
        var request = SingleRequest();
        Assert.That(request.Method, Is.EqualTo("POST"));
        Assert.That(Requests.Any(r => r.Method == "GET"), Is.False);
    }

    [Test]
    public async Task ApiKeyEchoedByTheServerIsRedactedFromTheException()
    {
        RespondWith(400, "{\"error\":\"bad header Authorization: Bearer " + ApiKey + "\"}");
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException<Error>>(() => client.TriggerAgentJobAsync("job-1"));

        Assert.That(exception!.Message, Does.Not.Contain(ApiKey));
        Assert.That(exception.ToString(), Does.Not.Contain(ApiKey));
        Assert.That(exception.Response, Does.Not.Contain(ApiKey));
        Assert.That(exception.ServerError, Does.Contain("[REDACTED]"));
    }
}
