using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json.Linq;
using NUnit.Framework;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Runchat;
using Runchat.Relay;
using Runchat.Relay.Signatures;
using Runchat.Tests.Relay;
using Runchat.Tests.TestSupport;
using StandardWebhooks;

namespace Runchat.Tests.Snippets;

/// <summary>
/// Every C# sample in README.md lives here between "#region Snippet:" markers, compiles with the
/// tests, and the ReadMeIsInSyncWithTheSnippets test fails when the README's copy drifts.
/// </summary>
[TestFixture]
[Category("Snippets")]
[NonParallelizable]
public class ReadMeSnippets : WireMockTest
{
    [Test]
    public async Task Quickstart()
    {
        RespondWithSuccess("Digest posted to #support.");
        Environment.SetEnvironmentVariable("RUNCHAT_API_KEY", ApiKey);
        Environment.SetEnvironmentVariable("RUNCHAT_BASE_URL", Server.Url);
        try
        {
            #region Snippet:Quickstart
            using var client = new RunchatClient(RunchatClientOptions.FromEnvironment());

            AgentJobResponse run = await client.TriggerAgentJobAsync(
                "support-digest", "Summarize today's tickets and post the digest to #support.");

            Console.WriteLine(run.EnsureSuccess().FinalReply);
            #endregion

            Assert.That(run.FinalReply, Is.EqualTo("Digest posted to #support."));
        }
        finally
        {
            Environment.SetEnvironmentVariable("RUNCHAT_API_KEY", null);
            Environment.SetEnvironmentVariable("RUNCHAT_BASE_URL", null);
        }
    }

    [Test]
    public async Task TriggerModes()
    {
        RespondWithSuccess();
        using var client = CreateClient();
        var cancellationToken = CancellationToken.None;
        var webhookBody = "{\"event\":\"invoice.paid\",\"amount\":1.10}"u8.ToArray();

        #region Snippet:TriggerAsIs
        // No body at all: the agent runs its saved chat template as-is.
        AgentJobResponse nightly = await client.TriggerAgentJobAsync("nightly-digest", cancellationToken);
        #endregion

        #region Snippet:TriggerWithMessage
        // Body {"message":"..."}: the text is appended as the user message.
        AgentJobResponse answer = await client.TriggerAgentJobAsync(
            "support-agent", "Customer #4411 cannot log in; check the auth logs.", cancellationToken);
        #endregion

        #region Snippet:TriggerWithPayload
        // The webhook body, byte for byte: the agent receives the whole payload as its message.
        JobPayload payload = JobPayload.FromBytes(webhookBody);
        AgentJobResponse triage = await client.TriggerAgentJobAsync("billing-agent", payload, cancellationToken);

        // Or build one: JobPayload.FromJson(text), JobPayload.FromObject(new { alert = "disk full" }),
        // await JobPayload.FromStreamAsync(stream).
        #endregion

        Assert.That(Requests, Has.Count.EqualTo(3));
        Assert.That(Requests.Any(r => r.BodyAsBytes is { } b && b.SequenceEqual(webhookBody)), Is.True);
        Assert.That(new[] { nightly, answer, triage }.All(r => r.IsSuccess), Is.True);
    }

    #region Snippet:ForwardAspNetCoreWebhook
    public static void MapFormWebhook(WebApplication app) =>
        app.MapPost("/webhooks/form-submitted", async (HttpRequest request, IRunchatClient runchat, ILogger<RunchatClient> log, CancellationToken cancellationToken) =>
        {
            JobPayload payload;
            try
            {
                // Forwarded verbatim: no model binding, no re-serialization.
                payload = await JobPayload.FromStreamAsync(request.Body, cancellationToken);
            }
            catch (ArgumentException invalid)
            {
                log.LogWarning("Refused a form webhook: {Reason}", invalid.Message); // details in your log,
                return Results.BadRequest(new { error = "The body must be one JSON object." }); // not to the sender
            }

            try
            {
                AgentJobResponse run = await runchat.TriggerAgentJobAsync("lead-triage-agent", payload, cancellationToken);
                return Results.Ok(new { status = run.IsSuccess ? "done" : "failed" });
            }
            catch (Exception failure) when (failure is RunchatApiException or TimeoutException or HttpRequestException)
            {
                // The agent may have run (a timeout, a 5xx, a dropped connection). A 5xx here would make
                // the sender retry and run it again, so answer 200 and decide from the log.
                log.LogError("Form webhook: the run's outcome is unknown: {Error}", failure.Message);
                return Results.Ok(new { status = "unknown" });
            }
        });
    #endregion

    /// <summary>An app with the README's form webhook, its client pointed at this test's WireMock.</summary>
    private async Task<WebApplication> StartFormWebhookAppAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });
        var app = builder.Build();
        MapFormWebhook(app);
        await app.StartAsync();
        return app;
    }

    [Test]
    public async Task ForwardingAnAspNetCoreRequestBodyIsVerbatim()
    {
        RespondWithSuccess("Lead triaged.");
        await using var app = await StartFormWebhookAppAsync();
        var address = app.Urls.First();
        using var http = new HttpClient();
        const string form = "{\"form_id\": \"contact-us\", \"fields\": {\"email\": \"ada@example.com\", \"budget\": 1.10}}";

        var forwarded = await http.PostAsync(address + "/webhooks/form-submitted", new StringContent(form));
        var rejected = await http.PostAsync(address + "/webhooks/form-submitted", new StringContent("[not an object]"));

        Assert.That((int)forwarded.StatusCode, Is.EqualTo(200), await forwarded.Content.ReadAsStringAsync());
        Assert.That((int)rejected.StatusCode, Is.EqualTo(400));
        Assert.That(await rejected.Content.ReadAsStringAsync(), Is.EqualTo("{\"error\":\"The body must be one JSON object.\"}"), "no parser details to the sender");
        Assert.That(SingleRequest().Body, Is.EqualTo(form));
        await app.StopAsync();
    }

    [Test]
    public async Task TheForwardingSampleNeverAnswersA5xxOnceTheAgentMayHaveRun()
    {
        RespondWith(500, "{\"error\":\"boom\"}");
        await using var app = await StartFormWebhookAppAsync();
        using var http = new HttpClient();

        var answer = await http.PostAsync(app.Urls.First() + "/webhooks/form-submitted", new StringContent("{\"form_id\":\"contact-us\"}"));

        Assert.That((int)answer.StatusCode, Is.EqualTo(200), "a 5xx would make the sender retry and run the agent again");
        Assert.That(await answer.Content.ReadAsStringAsync(), Is.EqualTo("{\"status\":\"unknown\"}"));
        Assert.That(Requests, Has.Count.EqualTo(1));
        await app.StopAsync();
    }

    [Test]
    public async Task ReadingResults()
    {
        RespondWithSuccess("All good.");
        using var client = CreateClient();
        AgentJobResponse run = await client.TriggerAgentJobAsync("support-agent", "status?");

        #region Snippet:ReadResults
        if (run.IsSuccess)
        {
            Console.WriteLine(run.FinalReply);                   // last assistant text
            foreach (AgentMessage message in run.Transcript)     // typed views of run.Messages
            {
                Console.WriteLine($"{message.Role}: {message.Text}");
            }

            JObject? metadata = run.GetMetadata();               // the stringified "metadata", parsed
            Console.WriteLine($"credits used: {metadata?["credits"]}");
        }
        else
        {
            Console.WriteLine($"run {run.JobId} failed: {run.Error}"); // or run.EnsureSuccess() to throw
        }
        #endregion

        Assert.That(run.GetMetadata()?["credits"]?.ToString(), Is.EqualTo("0.10"));
    }

    [Test]
    public async Task ReadingStatusAndHeaders()
    {
        Server.Given(WireMock.RequestBuilders.Request.Create().UsingPost()).RespondWith(WireMock.ResponseBuilders.Response.Create()
            .WithStatusCode(200).WithHeader("Content-Type", "application/json").WithHeader("X-Request-Id", "req_8f2a").WithBody(ResponseBodies.Success("All good.")));
        IRunchatClient client = CreateClient();

        #region Snippet:ReadStatusAndHeaders
        RunchatResponse<AgentJobResponse> response = await client.TriggerAgentJobWithResponseAsync("support-agent", "status?");
        AgentJobResponse run = response.Value;                       // what TriggerAgentJobAsync returns
        Console.WriteLine($"{response.StatusCode}, request id {response.GetHeader("x-request-id")}");
        #endregion

        Assert.That(response.GetHeader("x-request-id"), Is.EqualTo("req_8f2a"));
        Assert.That(run.FinalReply, Is.EqualTo("All good."));
    }

    [Test]
    public async Task HandlingErrors()
    {
        RespondWith(400, "{\"error\":\"Job nightly-report is a flow job\"}");
        using var client = CreateClient();
        var handled = false;

        #region Snippet:HandleErrors
        try
        {
            AgentJobResponse run = (await client.TriggerAgentJobAsync("nightly-report")).EnsureSuccess();
        }
        catch (RunchatApiException e) when (e.StatusCode == 400)
        {
            Console.WriteLine($"rejected: {e.ServerError}");    // the server's own "error" text
            handled = true;
        }
        catch (RunchatAgentRunException e)
        {
            Console.WriteLine($"the agent ran but failed: {e.Error}");
        }
        catch (TimeoutException)
        {
            // The job may still be running on the server: check its history before triggering it again.
        }
        #endregion

        Assert.That(handled, Is.True);
    }

    [Test]
    public async Task RetryingAcrossCallsFollowsTheClientsRule()
    {
        RespondWith(429, "{\"error\":\"slow down\"}");
        using var client = CreateClient(o => o.MaxRetries = 0);
        var message = "Summarize today's tickets.";
        var attempt = 0;
        var requeued = TimeSpan.Zero;
        void Requeue(string text, TimeSpan after) => requeued = after;

        #region Snippet:RetryAcrossCalls
        try
        {
            await client.TriggerAgentJobAsync("support-digest", message);
        }
        catch (Exception e) when (RunchatRetry.IsSafeToResend(e))   // a 429, or nothing was sent
        {
            // The agent did not run: put the message back, after the wait Runchat asked for (RetryAfter) or a backoff.
            Requeue(message, after: RunchatRetry.GetDelay(e, attempt, baseDelay: TimeSpan.FromSeconds(5), maxDelay: TimeSpan.FromMinutes(10)));
        }
        #endregion

        Assert.That(requeued, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(5)).And.LessThanOrEqualTo(TimeSpan.FromSeconds(6.25)));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task RunningAFlow()
    {
        await using var sandbox = await Runchat.Cli.Sandbox.SandboxServer.StartAsync();
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = "sandbox-key-0123456789", BaseUrl = sandbox.BaseUrl });

        #region Snippet:RunAFlow
        FlowSchema schema = await client.GetFlowSchemaAsync("demo-flow");          // its inputs and outputs
        FlowRunResponse run = await client.RunFlowAsync("demo-flow",
            FlowInputs.From(schema).Set("Prompt", "Summarize today").Set("Count", 3));
        string? summary = (string?)run.Outputs.First(o => o.Label == "Summary").Data[0];

        FlowJobResponse job = await client.TriggerFlowJobAsync("demo-flow-job");  // a flow job, as scheduled
        #endregion

        Assert.That(summary, Is.EqualTo("Sandbox flow demo-flow ran with Prompt \"Summarize today\" and Count 3."));
        Assert.That(job.Data.Single().Label, Is.EqualTo("Summary"));
        Assert.That(sandbox.Requests.Select(r => r.Method), Is.EqualTo(new[] { "GET", "POST", "GET" }));
    }

    [Test]
    public async Task RelayHealthChecks()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });
        builder.Services.AddRunchatRelay(o => o.Store = "sqlite:" + Path.Combine(Path.GetTempPath(), $"snippet-health-{Guid.NewGuid():N}.db"));
        var app = builder.Build();

        #region Snippet:RelayHealthChecks
        app.MapRunchatRelayHealthChecks();            // /healthz (live: no check) and /readyz (the checks tagged "ready")
        #endregion

        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            Assert.That((int)(await http.GetAsync("/healthz")).StatusCode, Is.EqualTo(200));
            await Eventually.HoldsAsync(async () => (int)(await http.GetAsync("/readyz")).StatusCode == 200, TimeSpan.FromSeconds(10), "ready: the store answers, the dispatcher went round");
            var ready = JsonDocument.Parse(await http.GetStringAsync("/readyz")).RootElement.GetProperty("checks");
            Assert.That(ready.EnumerateObject().Select(c => c.Name), Is.EquivalentTo(new[] { Runchat.Relay.RelayHealthChecks.Store, Runchat.Relay.RelayHealthChecks.Dispatcher }));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Test]
    public async Task ReplyWebhookReceiver()
    {
        // The receiver: an app of yours that takes the relay's signed replies.
        var receiverBuilder = WebApplication.CreateSlimBuilder();
        receiverBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        var replySecret = "whsec_" + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("reply-receiver-snippet-secret!!"));
        receiverBuilder.Configuration["Replies:Secret"] = replySecret;
        var handled = new System.Collections.Concurrent.ConcurrentQueue<(string Delivery, string Status, string? Reply)>();
        var receiver = receiverBuilder.Build();

        #region Snippet:ReplyWebhookReceiver
        var secret = receiver.Configuration["Replies:Secret"]!;           // the route's PostReply.Secret (whsec_…)
        var seen = new ConcurrentDictionary<string, bool>();               // in production: a unique index in your database
        receiver.MapPost("/agent-replies", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            new StandardWebhook(secret).Verify(body, request.Headers);     // throws unless the relay signed it, recently
            if (!seen.TryAdd(request.Headers["webhook-id"].ToString(), true))
            {
                return Results.Ok();                                       // "<delivery id>.reply" again: a re-send, handled once
            }

            var reply = JsonDocument.Parse(body).RootElement;              // delivery_id, event, status, final_reply, error, job_id, runchat_id
            handled.Enqueue((reply.GetProperty("delivery_id").GetString()!, reply.GetProperty("status").GetString()!, reply.GetProperty("final_reply").GetString()));
            return Results.Ok();
        });
        #endregion

        await receiver.StartAsync();
        var store = Path.Combine(Path.GetTempPath(), $"snippet-replies-{Guid.NewGuid():N}.db");
        var relayBuilder = WebApplication.CreateSlimBuilder();
        relayBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        relayBuilder.Services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });
        relayBuilder.Services.AddRunchatRelay(o =>
        {
            o.Store = "sqlite:" + store;
            o.Routes.Add(new RelayRouteOptions
            {
                Path = "/hooks/forms", JobId = "lead-agent", Signature = "none",
                PostReply = new RelayReplyOptions { To = "webhook", Url = receiver.Urls.First() + "/agent-replies", Secret = replySecret },
            });
        });
        var relay = relayBuilder.Build();
        relay.MapRunchatRelay();
        RespondWithSuccess("Lead qualified.");
        await relay.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(relay.Urls.First()) };
            using var accepted = await http.PostAsync("/hooks/forms", new StringContent("{\"type\":\"form.submitted\"}"));
            var id = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("delivery_id").GetString();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (handled.IsEmpty && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.That(handled.ToArray(), Is.EqualTo(new[] { (id!, "succeeded", (string?)"Lead qualified.") }));
        }
        finally
        {
            await relay.StopAsync();
            await relay.DisposeAsync();
            await receiver.StopAsync();
            await receiver.DisposeAsync();
            File.Delete(store);
        }
    }

    [Test]
    public async Task RelayInYourApp()
    {
        var store = Path.Combine(Path.GetTempPath(), $"snippet-relay-{Guid.NewGuid():N}.db");
        var stripeSecret = "whsec_snippet_stripe";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new System.Collections.Generic.Dictionary<string, string?>
        {
            ["Runchat:ApiKey"] = ApiKey,
            ["Runchat:BaseUrl"] = Server.Url,
            ["Relay:Store"] = "sqlite:" + store,
            ["Relay:Routes:0:Path"] = "/hooks/open",
            ["Relay:Routes:0:JobId"] = "demo-agent",
            ["Relay:Routes:0:Signature"] = "none",
        });

        #region Snippet:RelayInYourApp
        builder.Services.AddRunchatClient(builder.Configuration.GetSection("Runchat"));
        builder.Services.AddRunchatRelay(builder.Configuration.GetSection("Relay"));   // Store, limits, Routes
        var app = builder.Build();
        app.MapRunchatRelay();                                                         // every route from configuration
        app.MapRunchatWebhook("/hooks/stripe", "billing-agent", WebhookSignature.Stripe(stripeSecret)); // or one in code
        #endregion

        RespondWithSuccess();
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            using var accepted = await http.PostAsync("/hooks/open", new StringContent("{\"event\":\"x\"}"));
            using var refused = await http.PostAsync("/hooks/stripe", new StringContent("{\"id\":\"evt_1\"}"));
            Assert.That((int)accepted.StatusCode, Is.EqualTo(202));
            Assert.That((int)refused.StatusCode, Is.EqualTo(401), "no Stripe-Signature");

            #region Snippet:RelayMonitor
            var monitor = app.Services.GetRequiredService<IRelayMonitor>();
            var counts = await monitor.CountByStateAsync();      // every state; AtLeast when a count reached its cap
            var unknown = await monitor.ListAsync(new RelayDeliveryQuery { State = RelayDeliveryState.Unknown, Limit = 50 });
            var latest = await monitor.ListAsync(new RelayDeliveryQuery { Route = "/hooks/open", Limit = 1 });
            byte[]? payload = await monitor.GetPayloadAsync(latest.Deliveries[0].Id);   // customer data: show it with care
            var overview = await monitor.GetOverviewAsync();     // by route, runs started in the last hour and day, oldest pending
            #endregion

            Assert.That(counts, Has.Count.EqualTo(Enum.GetValues<RelayDeliveryState>().Length));
            Assert.That(unknown.Deliveries, Is.Empty);
            Assert.That(payload, Is.EqualTo("{\"event\":\"x\"}"u8.ToArray()));
            Assert.That(overview.ReceivedByRoute.Single().Route, Is.EqualTo("/hooks/open"));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            SqliteFiles.Delete(store);
        }
    }

    [Test]
    public async Task RegisterAWebhookScheme()
    {
        var store = Path.Combine(Path.GetTempPath(), $"snippet-scheme-{Guid.NewGuid():N}.db");
        const string secret = "an-acme-alerts-secret-of-32-chars";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new System.Collections.Generic.Dictionary<string, string?>
        {
            ["Relay:Store"] = "sqlite:" + store,
            ["Relay:Routes:0:Path"] = "/hooks/alerts",
            ["Relay:Routes:0:JobId"] = "ops-agent",
            ["Relay:Routes:0:Signature"] = "acme-alerts",
            ["Relay:Routes:0:Secret"] = secret,
            ["Relay:Routes:0:Events:0"] = "disk.*",
        });
        builder.Services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });

        #region Snippet:RegisterWebhookScheme
        builder.Services.AddRunchatRelay(builder.Configuration.GetSection("Relay"))
            .AddScheme("acme-alerts", settings => new AcmeAlertsScheme(settings.Secret));   // "Signature": "acme-alerts"
        #endregion

        var app = builder.Build();
        app.MapRunchatRelay();
        RespondWithSuccess();
        await app.StartAsync();
        try
        {
            const string body = "{\"alert\":\"disk.full\",\"host\":\"db-1\"}";
            var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            var signature = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.alert-7.{body}")));
            HttpRequestMessage Post(string sig)
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/alerts") { Content = new StringContent(body) };
                request.Headers.Add("X-Acme-Timestamp", timestamp);
                request.Headers.Add("X-Acme-Delivery", "alert-7");
                request.Headers.Add("X-Acme-Signature", sig);
                return request;
            }

            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            using var refused = await http.SendAsync(Post(signature.Replace(signature[0], signature[0] == 'A' ? 'B' : 'A')));
            using var accepted = await http.SendAsync(Post(signature));
            using var again = await http.SendAsync(Post(signature));

            Assert.That((int)refused.StatusCode, Is.EqualTo(401));
            Assert.That(await refused.Content.ReadAsStringAsync(), Does.Contain("X-Acme-Signature does not match"));
            Assert.That((int)accepted.StatusCode, Is.EqualTo(202));
            Assert.That(await again.Content.ReadAsStringAsync(), Does.Contain("\"duplicate\":true"), "the signed delivery id tells deliveries apart");
            var relay = app.Services.GetRequiredService<IRunchatRelay>();
            await Eventually.HoldsAsync(async () => (await relay.ListAsync(RelayDeliveryState.Succeeded)).Count == 1, TimeSpan.FromSeconds(10), "the alert ran");
            var delivery = (await relay.ListAsync()).Single();
            Assert.That((delivery.Event, delivery.DedupeKey), Is.EqualTo(("disk.full", "id:alert-7")));
            Assert.That(Server.LogEntries.Count(), Is.EqualTo(1), "one run");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            SqliteFiles.Delete(store);
        }
    }

    [Test]
    public async Task OpenTelemetryWiring()
    {
        // A web app: the trigger runs inside a real HTTP request to a real port, and its span must be
        // exported under the request's span (without the ASP.NET Core source, the parent-based sampler
        // drops it: the request's Activity exists but is not recorded).
        RespondWithSuccess();
        var spans = new System.Collections.Generic.List<System.Diagnostics.Activity>();
        var exported = new System.Collections.Generic.List<OpenTelemetry.Metrics.Metric>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });

        #region Snippet:OpenTelemetry
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()   // the request's span: without it, spans inside a request are not sampled
                .AddSource("Runchat.*")           // invoke_agent, and the relay's receive and dispatch spans
                .AddInMemoryExporter(spans))      // or .AddOtlpExporter()
            .WithMetrics(metrics => metrics.AddMeter("Runchat.*").AddInMemoryExporter(exported));
        #endregion

        await using var app = builder.Build();
        app.MapPost("/digest", async (IRunchatClient runchat) => (await runchat.TriggerAgentJobAsync("otel-agent", "hello")).FinalReply);
        await app.StartAsync();
        using (var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) })
        using (var response = await http.PostAsync("/digest", null))
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
        }

        app.Services.GetRequiredService<OpenTelemetry.Trace.TracerProvider>().ForceFlush();
        app.Services.GetRequiredService<OpenTelemetry.Metrics.MeterProvider>().ForceFlush();
        await app.StopAsync();

        var agent = spans.Single(s => s.DisplayName == "invoke_agent otel-agent");
        var request = spans.Single(s => s.Source.Name == "Microsoft.AspNetCore" && s.DisplayName == "POST /digest");
        Assert.That(agent.ParentSpanId, Is.EqualTo(request.SpanId), "the run is a child of the request");
        Assert.That(exported.Select(m => m.Name), Does.Contain("gen_ai.client.operation.duration").And.Contain("gen_ai.client.token.usage"));
    }

    [Test]
    public async Task TestHostFake()
    {
        // The recipe for a test host: the fake replaces IRunchatClient; validation still runs at start-up.
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddRunchatClient(builder.Configuration.GetSection("Runchat"));
        IRunchatClient fake = new FakeRunchat();

        #region Snippet:TestHostFake
        builder.Services.AddSingleton<IRunchatClient>(fake);
        builder.Services.PostConfigure<RunchatClientOptions>(o => o.ApiKey ??= "test-key");
        #endregion

        using var host = builder.Build();
        await host.StartAsync();
        Assert.That(host.Services.GetRequiredService<IRunchatClient>(), Is.SameAs(fake));
        await host.StopAsync();
    }

    private sealed class FakeRunchat : IRunchatClient
    {
        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, CancellationToken cancellationToken = default) => Task.FromResult(RunchatModelFactory.AgentJobResponse());

        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, string message, CancellationToken cancellationToken = default) => Task.FromResult(RunchatModelFactory.AgentJobResponse());

        public Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, JobPayload payload, CancellationToken cancellationToken = default) => Task.FromResult(RunchatModelFactory.AgentJobResponse());
    }

    [Test]
    public async Task AspireServiceDefaults()
    {
        RespondWith(500, "{\"error\":\"boom\"}");
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new System.Collections.Generic.Dictionary<string, string?>
        {
            ["Runchat:ApiKey"] = ApiKey,
            ["Runchat:BaseUrl"] = Server.Url,
        });

        #region Snippet:AspireServiceDefaults
        // What ServiceDefaults' AddServiceDefaults() does; the Runchat client stays exactly-once under it.
        builder.Services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler());
        builder.Services.AddRunchatClient(builder.Configuration.GetSection("Runchat"));
        #endregion

        using var host = builder.Build();
        var exception = Assert.CatchAsync<RunchatApiException>(() => host.Services.GetRequiredService<IRunchatClient>().TriggerAgentJobAsync("demo"));
        await Task.Yield();
        Assert.That(exception!.StatusCode, Is.EqualTo(500));
        Assert.That(Requests, Has.Count.EqualTo(1), "the standard handler would have sent it 4 times");
    }

    /// <summary>Configuration with a "Runchat" section pointing at this test's WireMock, as an app's appsettings would.</summary>
    private IConfiguration RunchatConfiguration() =>
        new ConfigurationBuilder().AddInMemoryCollection(new System.Collections.Generic.Dictionary<string, string?>
        {
            ["Runchat:ApiKey"] = ApiKey,
            ["Runchat:BaseUrl"] = Server.Url,
        }).Build();

    [Test]
    public async Task ProxyConfiguration()
    {
        RespondWithSuccess();
        var configuration = RunchatConfiguration();
        var services = new ServiceCollection();

        #region Snippet:ProxyConfiguration
        services.AddRunchatClient(configuration.GetSection("Runchat"))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                Proxy = new WebProxy("http://proxy.internal:3128") { BypassProxyOnLocal = true },
                // Required: a redirect would re-send the trigger as a GET. The client checks it, and never changes your handler.
                AllowAutoRedirect = false,
            });
        #endregion

        // BypassProxyOnLocal covers loopback, so the request reaches WireMock directly, with the key.
        using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IRunchatClient>().TriggerAgentJobAsync("demo");
        Assert.That(Header(SingleRequest(), "Authorization"), Is.EqualTo("Bearer " + ApiKey));
    }

    [Test]
    public async Task DependencyInjection()
    {
        RespondWithSuccess();
        var configuration = RunchatConfiguration();
        var services = new ServiceCollection();

        #region Snippet:DependencyInjection
        // appsettings.json: { "Runchat": { "Timeout": "00:15:00", "MaxRetries": 2 } }; the key from user-secrets
        // or the environment (Runchat__ApiKey), never from a file in the repository
        services.AddRunchatClient(configuration.GetSection("Runchat"))
            .AddHttpMessageHandler(() => new MyAuditHandler()); // the IHttpClientBuilder is yours to extend

        // or in code:
        // services.AddRunchatClient(options => options.ApiKey = Environment.GetEnvironmentVariable("RUNCHAT_API_KEY"));
        #endregion

        using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IRunchatClient>().TriggerAgentJobAsync("demo");
        Assert.That(MyAuditHandler.Seen, Is.GreaterThan(0));
    }

    /// <summary>The namespaces each snippet needs: every page shows them above the code (and this file imports them).</summary>
    private static readonly System.Collections.Generic.Dictionary<string, string[]> SnippetUsings = new()
    {
        ["Quickstart"] = new[] { "Runchat" },
        ["TriggerAsIs"] = new[] { "Runchat" },
        ["TriggerWithMessage"] = new[] { "Runchat" },
        ["TriggerWithPayload"] = new[] { "Runchat" },
        ["ForwardAspNetCoreWebhook"] = new[] { "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Http", "Microsoft.Extensions.Logging", "Runchat" },
        ["ReadResults"] = new[] { "Newtonsoft.Json.Linq", "Runchat" },
        ["ReadStatusAndHeaders"] = new[] { "Runchat" },
        ["HandleErrors"] = new[] { "Runchat" },
        ["RetryAcrossCalls"] = new[] { "Runchat" },
        ["RunAFlow"] = new[] { "System.Linq", "Runchat" },
        ["RelayMonitor"] = new[] { "Microsoft.Extensions.DependencyInjection", "Runchat.Relay" },
        ["ReplyWebhookReceiver"] = new[] { "System.Collections.Concurrent", "System.IO", "System.Text.Json", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Http", "StandardWebhooks" },
        ["RelayHealthChecks"] = new[] { "Microsoft.AspNetCore.Builder" },
        ["CustomWebhookScheme"] = new[] { "System", "System.Text", "System.Text.Json", "Runchat.Relay.Signatures" },
        ["RegisterWebhookScheme"] = new[] { "Microsoft.Extensions.DependencyInjection" },
        ["RelayInYourApp"] = new[] { "Microsoft.AspNetCore.Builder", "Microsoft.Extensions.DependencyInjection", "Runchat.Relay.Signatures" },
        ["OpenTelemetry"] = new[] { "Microsoft.Extensions.DependencyInjection", "OpenTelemetry.Metrics", "OpenTelemetry.Trace" },
        ["AspireServiceDefaults"] = new[] { "Microsoft.Extensions.DependencyInjection" },
        ["ProxyConfiguration"] = new[] { "System.Net", "System.Net.Http", "Microsoft.Extensions.DependencyInjection" },
        ["DependencyInjection"] = new[] { "Microsoft.Extensions.DependencyInjection" },
        ["TestHostFake"] = new[] { "Microsoft.Extensions.DependencyInjection", "Runchat" },
    };

    /// <summary>Every snippet as the pages show it: its using lines, a blank line, then the compiled code.</summary>
    private static System.Collections.Generic.Dictionary<string, string> ShownSnippets()
    {
        var source = File.ReadAllText(Repository.Path("tests", "Runchat.Generated.Tests", "Snippets", "ReadMeSnippets.cs")).Replace("\r\n", "\n");
        var shown = new System.Collections.Generic.Dictionary<string, string>();
        foreach (System.Text.RegularExpressions.Match snippet in System.Text.RegularExpressions.Regex.Matches(source, @"#region Snippet:(\w+)\n(.*?)\n\s*#endregion", System.Text.RegularExpressions.RegexOptions.Singleline))
        {
            var name = snippet.Groups[1].Value;
            Assert.That(SnippetUsings.ContainsKey(name), Is.True, $"snippet {name} has no entry in SnippetUsings");
            foreach (var ns in SnippetUsings[name])
            {
                Assert.That("\n" + source, Does.Contain($"\nusing {ns};\n"), $"snippet {name} shows 'using {ns};', which this file (where it compiles) does not import");
            }

            shown[name] = string.Join("\n", SnippetUsings[name].Select(ns => $"using {ns};")) + "\n\n" + Dedent(snippet.Groups[2].Value);
        }

        return shown;
    }

    private static string[] Pages() =>
        new[] { Repository.Path("README.md") }
            .Concat(Directory.GetFiles(Repository.Path("docs"), "*.md"))
            .Concat(new[] { "Runchat.Generated", "Runchat.Relay", "Runchat.Cli" }.Select(p => Repository.Path("src", p, "README.md")))
            .ToArray();

    [Test]
    public void EveryCSharpSampleOfEveryPageIsACompiledSnippetWithItsUsings()
    {
        var shown = ShownSnippets();
        foreach (var page in Pages())
        {
            var text = File.ReadAllText(page).Replace("\r\n", "\n");
            foreach (System.Text.RegularExpressions.Match sample in System.Text.RegularExpressions.Regex.Matches(text, @"```csharp\n(.*?)\n```", System.Text.RegularExpressions.RegexOptions.Singleline))
            {
                Assert.That(shown.Values, Does.Contain(sample.Groups[1].Value), $"{Path.GetFileName(page)} has a C# sample that is not a compiled snippet with its using lines:\n{sample.Groups[1].Value}");
            }
        }
    }

    [Test]
    public void EverySnippetIsShownOnAPage()
    {
        var all = string.Join("\n", Pages().Select(p => File.ReadAllText(p).Replace("\r\n", "\n")));
        var shown = ShownSnippets();

        Assert.That(shown, Has.Count.GreaterThanOrEqualTo(13));
        foreach (var (name, code) in shown)
        {
            Assert.That(all, Does.Contain(code), $"no page shows the current text of snippet '{name}':\n{code}");
        }
    }

    private static string Dedent(string block)
    {
        var lines = block.Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l.Substring(indent) : l.TrimStart()));
    }

    private sealed class MyAuditHandler : DelegatingHandler
    {
        public static int Seen;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Seen);
            return base.SendAsync(request, cancellationToken);
        }
    }
}

#region Snippet:CustomWebhookScheme
/// <summary>Acme's alerting webhooks: the base64 HMAC-SHA256 of "timestamp.delivery.body" in X-Acme-Signature.</summary>
public sealed class AcmeAlertsScheme : WebhookScheme
{
    private readonly byte[] _key;

    public AcmeAlertsScheme(string? secret) => _key = secret is { Length: >= 32 }
        ? Encoding.UTF8.GetBytes(secret)
        : throw new ArgumentException("The acme-alerts scheme needs a Secret of 32 characters or more.");   // exit 2, naming the route

    public override string Name => "acme-alerts";

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var (timestamp, delivery, signature) = (request.Header("X-Acme-Timestamp"), request.Header("X-Acme-Delivery"), request.Header("X-Acme-Signature"));
        if (timestamp is null || delivery is null || signature is null)
        {
            return WebhookVerification.Invalid("an X-Acme-Timestamp, X-Acme-Delivery or X-Acme-Signature header is missing");   // a 401 that says why
        }

        if (CheckTimestamp(timestamp, request.Now, request.Tolerance, "X-Acme-Timestamp header") is { } stale)
        {
            return WebhookVerification.Invalid(stale);
        }

        var expected = HmacSha256(_key, Encoding.UTF8.GetBytes($"{timestamp}.{delivery}."), request.Body.Span);
        return Base64Equals(expected, signature)                                    // constant time
            ? WebhookVerification.Valid(signedId: delivery)                          // signed, so it may tell deliveries apart
            : WebhookVerification.Invalid("X-Acme-Signature does not match the body");
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload) =>
        WebhookEvent.Named(StringProperty(payload, "alert"));                        // what a route's Events match
}
#endregion
