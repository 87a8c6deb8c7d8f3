using System;
using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Transport;

/// <summary>The key never reaches an exception, however the server spells it back; a password in the base URL is never shown.</summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class SecretRedactionTests : WireMockTest
{
    private static void AssertKeyAbsent(RunchatApiException exception)
    {
        var texts = new[] { exception.Message, exception.ToString(), exception.ServerError ?? string.Empty, exception.Response ?? string.Empty }
            .Concat(exception.Headers.SelectMany(h => h.Value.Select(v => h.Key + ": " + v)));
        foreach (var text in texts)
        {
            Assert.That(text, Does.Not.Contain(ApiKey));
            Assert.That(Uri.UnescapeDataString(text), Does.Not.Contain(ApiKey));
        }
    }

    [Test]
    public void A401BodyThatEchoesTheKeyJsonEscapedDoesNotLeakIt()
    {
        var escaped = ApiKey.Replace("_", "\\u005f");
        RespondWith(401, "{\"error\":\"Bearer " + escaped + " is revoked\",\"detail\":{\"" + escaped + "\":true}}");
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception!.StatusCode, Is.EqualTo(401));
        Assert.That(exception.ServerError, Is.EqualTo("Bearer [REDACTED] is revoked"));
        AssertKeyAbsent(exception);
    }

    [TestCase("plain")]
    [TestCase("percent-encoded")]
    public void ARedirectWhoseLocationEchoesTheKeyDoesNotLeakIt(string spelling)
    {
        var key = spelling == "plain" ? ApiKey : string.Concat(ApiKey.Select(c => c == '_' ? "%5F" : c.ToString()));
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(302)
                .WithHeader("Location", "https://login.runchat.example/?token=" + key)
                .WithHeader("X-Echo", "Bearer " + key));
        using var client = CreateClient();

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception!.StatusCode, Is.EqualTo(302));
        Assert.That(exception.Message, Does.Contain("login.runchat.example"));
        AssertKeyAbsent(exception);
        Assert.That(exception.Headers["Location"].Single(), Does.Contain("[REDACTED]"));
    }

    [Test]
    public void APasswordInTheBaseUrlIsNeverShown()
    {
        var options = new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = new Uri("https://deploy:hunter2secret@runchat.example/api/v1/") };

        var invalid = Assert.Throws<InvalidOperationException>(() => new RunchatClient(options));

        Assert.That(options.ToString(), Does.Not.Contain("hunter2secret").And.Contain("***@runchat.example"));
        Assert.That(invalid!.Message, Does.Not.Contain("hunter2secret").And.Contain("user info"));
        options.BaseUrl = new Uri("ftp://deploy:hunter2secret@runchat.example/");
        Assert.That(Assert.Throws<InvalidOperationException>(() => new RunchatClient(options))!.Message, Does.Not.Contain("hunter2secret"));
    }
}
