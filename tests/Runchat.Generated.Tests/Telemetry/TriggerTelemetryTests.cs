using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Internal;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Telemetry;

/// <summary>
/// The invoke_agent span, its attributes and children, and the gen_ai metrics, for each way a
/// trigger ends. Non-parallel: listeners are process-wide.
/// </summary>
[TestFixture]
[Category("Telemetry")]
[NonParallelizable]
public class TriggerTelemetryTests : WireMockTest
{
    private const string Message = "Customer 4411 cannot log in; the secret phrase is PURPLE-OTTER.";
    private static readonly ActivitySource TestSource = new("Runchat.Tests");

    private TelemetryCapture _capture = null!;

    [SetUp]
    public void Listen() => _capture = new TelemetryCapture("Runchat.Generated", "Runchat.Generated", "System.Net.Http", "Runchat.Tests");

    [TearDown]
    public void StopListening() => _capture.Dispose();

    /// <summary>Runs the call under a test root span and returns the spans of its trace.</summary>
    private async Task<(Exception? Error, Activity Agent, Activity[] Http)> TraceAsync(Func<Task> call)
    {
        Exception? error = null;
        ActivityTraceId trace;
        using (var root = TestSource.StartActivity("test")!)
        {
            trace = root.TraceId;
            try
            {
                await call();
            }
            catch (Exception exception)
            {
                error = exception;
            }
        }

        var spans = _capture.Activities.Where(a => a.TraceId == trace).ToArray();
        var agent = spans.Single(a => a.Source.Name == "Runchat.Generated");
        return (error, agent, spans.Where(a => a.Source.Name == "System.Net.Http").ToArray());
    }

    private static object? Tag(Activity activity, string name) => activity.TagObjects.FirstOrDefault(t => t.Key == name).Value;

    [Test]
    public async Task ASuccessfulTriggerIsOneClientSpanWithTheGenAiAttributesAndTheHttpSpanBelowIt()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        var (error, agent, http) = await TraceAsync(() => client.TriggerAgentJobAsync("support-agent-ok", Message));

        Assert.That(error, Is.Null);
        Assert.That(agent.DisplayName, Is.EqualTo("invoke_agent support-agent-ok"));
        Assert.That(agent.Kind, Is.EqualTo(ActivityKind.Client));
        Assert.That(agent.Status, Is.EqualTo(ActivityStatusCode.Unset));
        Assert.That(Tag(agent, "gen_ai.operation.name"), Is.EqualTo("invoke_agent"));
        Assert.That(Tag(agent, "gen_ai.provider.name"), Is.EqualTo("runchat"));
        Assert.That(Tag(agent, "gen_ai.agent.id"), Is.EqualTo("support-agent-ok"));
        Assert.That(Tag(agent, "server.address"), Is.EqualTo(new Uri(Server.Url!).Host));
        Assert.That(Tag(agent, "server.port"), Is.EqualTo(new Uri(Server.Url!).Port));
        Assert.That(Tag(agent, "runchat.body_mode"), Is.EqualTo("message"));
        Assert.That(Tag(agent, "gen_ai.usage.input_tokens"), Is.EqualTo(12L));
        Assert.That(Tag(agent, "gen_ai.usage.output_tokens"), Is.EqualTo(34L));
        Assert.That(Tag(agent, "runchat.credits"), Is.EqualTo(0.10));
        Assert.That(Tag(agent, "runchat.runchat_id"), Is.Not.Null);
        Assert.That(Tag(agent, "error.type"), Is.Null);
        Assert.That(http, Has.Length.EqualTo(1));
        Assert.That(http[0].ParentSpanId, Is.EqualTo(agent.SpanId), "the HTTP client span is the agent span's child");

        var mine = _capture.Measurements.Where(m => (string?)m.Tags.GetValueOrDefault("gen_ai.agent.id") == "support-agent-ok").ToList();
        Assert.That(mine.Where(m => m.Instrument == "gen_ai.client.operation.duration").Select(m => m.Tags["runchat.outcome"]), Is.EqualTo(new[] { "success" }));
        Assert.That(mine.Where(m => m.Instrument == "gen_ai.client.token.usage").Select(m => (m.Tags["gen_ai.token.type"], m.Value)),
            Is.EquivalentTo(new[] { ((object?)"input", 12.0), ("output", 34.0) }));
        Assert.That(mine.Single(m => m.Instrument == "runchat.client.credits").Value, Is.EqualTo(0.10).Within(1e-9));
    }

    [Test]
    public async Task ARunThatFinishedWithStatusErrorIsAnAgentError()
    {
        RespondWith(200, "{\"status\":\"error\",\"error\":\"tool failed\",\"messages\":[]}");
        using var client = CreateClient();

        var (_, agent, _) = await TraceAsync(() => client.TriggerAgentJobAsync("agent-error"));

        Assert.That(Tag(agent, "error.type"), Is.EqualTo("agent_error"));
        Assert.That(agent.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(Tag(agent, "runchat.body_mode"), Is.EqualTo("none"));
        Assert.That(_capture.Measurements.Single(m => m.Instrument == "gen_ai.client.operation.duration" && (string?)m.Tags["gen_ai.agent.id"] == "agent-error").Tags["runchat.outcome"], Is.EqualTo("agent_error"));
    }

    [Test]
    public async Task A404IsErrorType404()
    {
        RespondWith(404, "{\"error\":\"no such job\"}");
        using var client = CreateClient();

        var (error, agent, _) = await TraceAsync(() => client.TriggerAgentJobAsync("missing-job", JobPayload.FromJson("{\"a\":1}")));

        Assert.That(error, Is.InstanceOf<RunchatApiException>());
        Assert.That(Tag(agent, "error.type"), Is.EqualTo("404"));
        Assert.That(Tag(agent, "runchat.body_mode"), Is.EqualTo("payload"));
        Assert.That(agent.Status, Is.EqualTo(ActivityStatusCode.Error));
        var duration = _capture.Measurements.Single(m => m.Instrument == "gen_ai.client.operation.duration" && (string?)m.Tags["gen_ai.agent.id"] == "missing-job");
        Assert.That(duration.Tags["error.type"], Is.EqualTo("404"));
    }

    [Test]
    public async Task ATimeoutIsErrorTypeTimeout()
    {
        using var agentPeer = Track(new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()), delay: TimeSpan.FromSeconds(10)));
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = agentPeer.BaseUrl, Timeout = TimeSpan.FromMilliseconds(500) });

        var (error, agent, _) = await TraceAsync(() => client.TriggerAgentJobAsync("slow-job"));

        Assert.That(error, Is.InstanceOf<TimeoutException>());
        Assert.That(Tag(agent, "error.type"), Is.EqualTo("timeout"));
    }

    [Test]
    public async Task CancellationIsErrorTypeOfTheCancellationException()
    {
        using var agentPeer = Track(new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()), delay: TimeSpan.FromSeconds(10)));
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = agentPeer.BaseUrl });
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var (error, agent, _) = await TraceAsync(() => client.TriggerAgentJobAsync("cancelled-job", cancel.Token));

        Assert.That(error, Is.InstanceOf<OperationCanceledException>());
        Assert.That((string)Tag(agent, "error.type")!, Does.EndWith("CanceledException"));
    }

    [Test]
    public async Task A429ThenA200IsOneAgentSpanWithTwoHttpChildren()
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost()).InScenario("busy").WillSetStateTo("free")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "0"));
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost()).InScenario("busy").WhenStateIs("free")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));
        using var client = CreateClient();

        var (error, agent, http) = await TraceAsync(() => client.TriggerAgentJobAsync("retried-job", "go"));

        Assert.That(error, Is.Null);
        Assert.That(http, Has.Length.EqualTo(2));
        Assert.That(http.Select(h => h.ParentSpanId), Is.All.EqualTo(agent.SpanId));
        Assert.That(Tag(agent, "error.type"), Is.Null);
    }

    [Test]
    public async Task NoAttributeOrEventHoldsTheKeyOrTheMessageEvenWithMetadataRecorded()
    {
        RespondWithSuccess();
        using var client = CreateClient(o => o.RecordMetadataInTraces = true);

        var (_, agent, http) = await TraceAsync(() => client.TriggerAgentJobAsync("private-job", Message));

        Assert.That(agent.Events.Single().Name, Is.EqualTo("runchat.metadata"), "the opt-in metadata event");
        foreach (var span in http.Append(agent))
        {
            var everything = string.Join(" ", span.TagObjects.Select(t => $"{t.Key}={t.Value}"))
                + string.Join(" ", span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}:{t.Key}={t.Value}")))
                + span.DisplayName + span.StatusDescription;
            Assert.That(everything, Does.Not.Contain(ApiKey).And.Not.Contain("PURPLE-OTTER"));
        }
    }

    private const string LoneSurrogateMetadata = "{\"status\":\"success\",\"metadata\":\"{\\\"note\\\":\\\"cut \\\\ud83d\\\",\\\"input_tokens\\\":5}\",\"messages\":[]}";

    [Test]
    public async Task MetadataWithAnEscapedLoneSurrogateDoesNotTurnTheFinishedRunIntoAnException()
    {
        RespondWith(200, LoneSurrogateMetadata);
        using var client = CreateClient();

        var (error, agent, _) = await TraceAsync(() => client.TriggerAgentJobAsync("cut-emoji"));

        Assert.That(error, Is.Null);
        Assert.That(Tag(agent, "gen_ai.usage.input_tokens"), Is.EqualTo(5L));
    }

    [Test]
    public async Task WithOnlyAMeterListenerTheSameRunSucceedsAndGetMetadataDoesNotThrow()
    {
        _capture.Dispose();
        var measured = new ConcurrentQueue<string>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Runchat.Generated") listener.EnableMeasurementEvents(instrument);
            },
        };
        meters.SetMeasurementEventCallback<long>((i, _, _, _) => measured.Enqueue(i.Name));
        meters.SetMeasurementEventCallback<double>((i, _, _, _) => measured.Enqueue(i.Name));
        meters.Start();
        RespondWith(200, LoneSurrogateMetadata);
        using var client = CreateClient();

        var run = await client.TriggerAgentJobAsync("cut-emoji");

        Assert.That(run.GetMetadata()!["note"]!.ToString(), Is.EqualTo("cut \uFFFD"));
        Assert.That(measured, Does.Contain("gen_ai.client.token.usage"));
    }

    [Test]
    public async Task TokenCountsThatAreNotNonNegativeIntegersAndNegativeCreditsAreNotRecorded()
    {
        RespondWith(200, "{\"status\":\"success\",\"metadata\":\"{\\\"input_tokens\\\":-5,\\\"output_tokens\\\":1.5,\\\"credits\\\":-2}\",\"messages\":[]}");
        using var client = CreateClient();

        var (error, agent, _) = await TraceAsync(() => client.TriggerAgentJobAsync("odd-usage"));

        Assert.That(error, Is.Null);
        var mine = _capture.Measurements.Where(m => (string?)m.Tags.GetValueOrDefault("gen_ai.agent.id") == "odd-usage").ToArray();
        Assert.That(mine.Select(m => m.Instrument), Is.EquivalentTo(new[] { "gen_ai.client.operation.duration" }));
        Assert.That(Tag(agent, "gen_ai.usage.input_tokens"), Is.Null);
        Assert.That(Tag(agent, "gen_ai.usage.output_tokens"), Is.Null);
        Assert.That(Tag(agent, "runchat.credits"), Is.Null);
    }

    [Test]
    public async Task AListenerThatThrowsDoesNotTurnTheFinishedRunIntoAnException()
    {
        RespondWithSuccess();
        using var throwing = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Runchat.Generated") listener.EnableMeasurementEvents(instrument);
            },
        };
        throwing.SetMeasurementEventCallback<long>((_, _, _, _) => throw new InvalidOperationException("exporter broke"));
        throwing.SetMeasurementEventCallback<double>((_, _, _, _) => throw new InvalidOperationException("exporter broke"));
        throwing.Start();
        using var client = CreateClient();

        var run = await client.TriggerAgentJobAsync("listened");

        Assert.That(run.IsSuccess, Is.True);
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public void WithoutListenersATriggerStartsNoTelemetry()
    {
        _capture.Dispose();

        Assert.That(RunchatTelemetry.Start("quiet-job", "none", new Uri("https://runchat.com/api/v1/"), recordMetadata: false), Is.Null);
    }

    [Test]
    public async Task AFlowRunIsAnExecuteFlowSpanWithItsCreditsAndASchemaReadIsItsOwn()
    {
        Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/api/v1/demo-flow").UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("{\"metadata\":\"{\\\"credits\\\":0.5}\",\"runchat_instance_id\":\"inst_1\",\"data\":[]}"));
        Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/api/v1/demo-flow/schema").UsingGet())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("{\"name\":\"x\",\"inputs\":[],\"outputs\":[]}"));
        using var client = CreateClient();

        var (runError, run, _) = await TraceAsync(() => client.RunFlowAsync("demo-flow", FlowInputs.Create().Set("p", Message)));
        var (schemaError, schema, _) = await TraceAsync(() => client.GetFlowSchemaAsync("demo-flow"));

        Assert.That(runError, Is.Null);
        Assert.That(schemaError, Is.Null);
        Assert.That(run.DisplayName, Is.EqualTo("execute_flow demo-flow"));
        Assert.That(Tag(run, "gen_ai.operation.name"), Is.EqualTo("execute_flow"));
        Assert.That(Tag(run, "runchat.flow.id"), Is.EqualTo("demo-flow"));
        Assert.That(Tag(run, "runchat.credits"), Is.EqualTo(0.5));
        Assert.That(Tag(run, "gen_ai.agent.id"), Is.Null, "a flow is not an agent");
        Assert.That(schema.DisplayName, Is.EqualTo("get_flow_schema demo-flow"));
        Assert.That(string.Join(" ", run.TagObjects.Select(t => t.Value?.ToString())), Does.Not.Contain("PURPLE-OTTER"), "no input text is recorded");
        Assert.That(_capture.Measurements.Any(m => m.Instrument == "runchat.client.credits" && m.Tags.TryGetValue("gen_ai.operation.name", out var op) && (string?)op == "execute_flow"), Is.True);
    }
}
