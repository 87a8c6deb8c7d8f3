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

    private (IRunchatClient Client, FakeLogCollector Logs) Build(LogLevel level = LogLevel.Information, Action<RunchatClientOptions>? configure = null)
    {
        var logs = Track(new FakeLoggerProvider());
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(level).AddProvider(logs));
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); configure?.Invoke(o); });
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

    [Test]
    public async Task AtInformationASuccessfulTriggerIsTheRunchatLineAndNothingFromTheRetryPipeline()
    {
        RespondWithSuccess();
        var (client, logs) = Build();

        await client.TriggerAgentJobAsync("support-agent", Secret);

        foreach (var record in logs.GetSnapshot())
        {
            TestContext.Out.WriteLine($"{record.Level} {record.Category}: {record.Message}");
        }

        Assert.That(logs.GetSnapshot().Where(r => r.Category?.StartsWith("Polly", StringComparison.Ordinal) == true).Select(r => $"{r.Level} {r.Message}"), Is.Empty);
    }

    [Test]
    public async Task ARetryIsLoggedAtInformationAndEachAttemptAtDebug()
    {
        Server.Given(WireMock.RequestBuilders.Request.Create().UsingPost()).InScenario("busy").WillSetStateTo("free")
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(429).WithHeader("Retry-After", "0").WithBody("{\"error\":\"slow down\"}"));
        Server.Given(WireMock.RequestBuilders.Request.Create().UsingPost()).InScenario("busy").WhenStateIs("free")
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));
        var (client, logs) = Build(LogLevel.Trace);

        await client.TriggerAgentJobAsync("support-agent", Secret);

        var polly = logs.GetSnapshot().Where(r => r.Category == "Polly").ToList();
        foreach (var record in polly)
        {
            TestContext.Out.WriteLine($"{record.Level} {record.Message}");
        }

        Assert.That(polly.Where(r => r.Level >= LogLevel.Information).Select(r => r.Message).ToList(), Has.Count.EqualTo(1).And.All.Contains("OnRetry"));
        Assert.That(polly.Count(r => r.Level == LogLevel.Debug && r.Message.StartsWith("Execution attempt", StringComparison.Ordinal)), Is.EqualTo(2));
        Assert.That(Server.LogEntries.Count(), Is.EqualTo(2));
    }

    [Test]
    public void ATimeoutLogsNoStackTraceBelowWarning()
    {
        Server.Given(WireMock.RequestBuilders.Request.Create().UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(200).WithBody(ResponseBodies.Success()).WithDelay(TimeSpan.FromSeconds(3)));
        var (client, logs) = Build(LogLevel.Trace, o => o.Timeout = TimeSpan.FromMilliseconds(300));

        Assert.ThrowsAsync<TimeoutException>(() => client.TriggerAgentJobAsync("support-agent", Secret));

        foreach (var record in logs.GetSnapshot())
        {
            TestContext.Out.WriteLine($"{record.Level} {record.Category}: {record.Message} {(record.Exception is null ? "" : "[" + record.Exception.GetType().Name + "]")}");
        }

        Assert.That(logs.GetSnapshot().Where(r => r.Level < LogLevel.Warning && r.Exception is not null).Select(r => $"{r.Level} {r.Category}: {r.Message}"), Is.Empty);
        Assert.That(logs.GetSnapshot().Single(r => r.Category == "Runchat").Level, Is.EqualTo(LogLevel.Warning), "the timeout is reported once, by the Runchat line");
    }
}
