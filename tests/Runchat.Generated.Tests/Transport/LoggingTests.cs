using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Transport;

/// <summary>The library's own "Runchat" log lines: one per trigger, never the key or the message text.</summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class LoggingTests : WireMockTest
{
    private const string Secret = "the-customer-said-PURPLE-OTTER";

    private (IRunchatClient Client, FakeLogCollector Logs) Build()
    {
        var logs = Track(new FakeLoggerProvider());
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(logs));
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });
        return (Track(services.BuildServiceProvider()).GetRequiredService<IRunchatClient>(), logs.Collector);
    }

    [Test]
    public async Task ATriggerIsOneInformationLineWithJobModeBytesStatusAndDuration()
    {
        RespondWithSuccess();
        var (client, logs) = Build();

        await client.TriggerAgentJobAsync("support-agent", Secret);

        var line = logs.GetSnapshot().Single(r => r.Category == "Runchat");
        TestContext.Out.WriteLine(line.Message);
        Assert.That(line.Level, Is.EqualTo(LogLevel.Information));
        Assert.That(line.Message, Does.Match(@"^Triggered job support-agent \(message, 44 bytes\): status success in \d+ ms$"));
        Assert.That(logs.GetSnapshot().Select(r => r.Message + r.Exception), Has.None.Contains(Secret).And.None.Contains(ApiKey));
    }

    [Test]
    public async Task AFailedTriggerIsOneWarningLineWithoutAStackTrace()
    {
        RespondWith(404, "{\"error\":\"Job not found\"}");
        var (client, logs) = Build();

        Assert.ThrowsAsync<RunchatApiException<Error>>(() => client.TriggerAgentJobAsync("missing-agent", Secret));
        await Task.Yield();

        var line = logs.GetSnapshot().Single(r => r.Category == "Runchat");
        TestContext.Out.WriteLine(line.Message);
        Assert.That(line.Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(line.Exception, Is.Null, "no stack trace in the log");
        Assert.That(line.Message, Does.StartWith("Trigger of job missing-agent (message, 44 bytes) failed after ").And.EndWith("Server error: Job not found"));
        Assert.That(line.Message, Does.Not.Contain("\n"), "one line");
    }

    [Test]
    public async Task APayloadWithATopLevelMessageKeyIsWrappedWithAWarning()
    {
        RespondWithSuccess();
        var (client, logs) = Build();

        await client.TriggerAgentJobAsync("form-agent", JobPayload.FromJson("{\"message\":\"" + Secret + "\",\"email\":\"a@b.c\"}"));

        var warning = logs.GetSnapshot().Single(r => r.Category == "Runchat" && r.Level == LogLevel.Warning);
        Assert.That(warning.Message, Does.Contain("form-agent").And.Contain("top-level \"message\" key").And.Not.Contain(Secret));
    }
}
