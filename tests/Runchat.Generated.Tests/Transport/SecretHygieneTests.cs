using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Transport;

[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class SecretHygieneTests : WireMockTest
{
    [Test]
    public async Task ApiKeyNeverAppearsInLogOutputAtTraceLevel()
    {
        Server.Given(Request.Create().WithPath(JobPath + "ok").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));
        Server.Given(Request.Create().WithPath(JobPath + "denied").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(401).WithBody("{\"error\":\"Bearer " + ApiKey + " is revoked\"}"));
        Server.Given(Request.Create().WithPath(JobPath + "busy").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "0"));

        using var logs = new FakeLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); o.MaxRetries = 1; });
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IRunchatClient>();

        await client.TriggerAgentJobAsync("ok", "hello");
        Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("denied"));
        Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("busy"));

        var records = logs.Collector.GetSnapshot();
        Assert.That(records.Count, Is.GreaterThan(10), "Trace logging captured the HTTP pipeline");
        Assert.That(records.Any(r => r.Level == LogLevel.Trace), Is.True);
        foreach (var record in records)
        {
            var everything = record.Message + " " + record.Exception + " " +
                string.Join(" ", (record.StructuredState ?? Array.Empty<System.Collections.Generic.KeyValuePair<string, string?>>()).Select(s => s.Key + "=" + s.Value));
            Assert.That(everything, Does.Not.Contain(ApiKey), record.Category + ": " + record.Message);
        }
    }

    [Test]
    public void ApiKeyNeverAppearsInToStringOfTheClientOrItsOptions()
    {
        var options = Options();
        using var client = new RunchatClient(options);

        Assert.That(options.ToString(), Does.Not.Contain(ApiKey));
        Assert.That(options.ToString(), Does.Contain("ApiKey = ").And.Contain("BaseUrl = http://localhost:"), "it does describe the options");
        // RunchatClient keeps object's ToString (its type name); should it ever describe itself, the key stays out.
        Assert.That(client.ToString(), Does.Not.Contain(ApiKey));
        foreach (var property in typeof(RunchatClient).GetProperties())
        {
            Assert.That(property.GetValue(client)?.ToString() ?? string.Empty, Does.Not.Contain(ApiKey), property.Name);
        }
    }

    [Test]
    public async Task ApiKeyNeverAppearsInTimeoutOrCancellationExceptions()
    {
        using var agent = new RawHttpPeer(_ => null, delay: TimeSpan.FromSeconds(10));
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = agent.BaseUrl, Timeout = TimeSpan.FromMilliseconds(200) });

        var exception = Assert.ThrowsAsync<TimeoutException>(() => client.TriggerAgentJobAsync("demo"));

        Assert.That(exception!.ToString(), Does.Not.Contain(ApiKey));
    }
}
