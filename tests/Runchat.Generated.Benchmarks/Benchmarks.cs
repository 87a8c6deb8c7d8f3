using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Runchat.Benchmarks;

/// <summary>Scenario 1: an explicit message, a ~2 KB transcript back.</summary>
[MemoryDiagnoser]
public class SmallTrigger
{
    private RunchatClient _client = null!;
    private IDisposable _owner = null!;
    private HandWrittenClient _baseline = null!;

    [GlobalSetup]
    public void Setup()
    {
        var response = Payloads.Response(messages: 6, targetBytes: 2048);
        (_client, _owner) = Clients.Library(new InMemoryAgentHandler(response));
        _baseline = Clients.HandWritten(new InMemoryAgentHandler(response));
    }

    [GlobalCleanup]
    public void Cleanup() => _owner.Dispose();

    [Benchmark(Baseline = true)]
    public Task<string?> HandWritten() => _baseline.TriggerAsync("support-agent", "Summarize today's tickets.");

    [Benchmark]
    public async Task<string?> Library() => (await _client.TriggerAgentJobAsync("support-agent", "Summarize today's tickets.")).FinalReply;
}

/// <summary>Scenario 2: a 10 MB transcript of 20,000 messages, read through FinalReply.</summary>
[MemoryDiagnoser]
public class LargeTranscript
{
    private RunchatClient _client = null!;
    private IDisposable _owner = null!;
    private HandWrittenClient _baseline = null!;

    public static byte[] Response { get; } = Payloads.Response(messages: 20_000, targetBytes: 10 * 1024 * 1024);

    [GlobalSetup]
    public void Setup()
    {
        (_client, _owner) = Clients.Library(new InMemoryAgentHandler(Response));
        _baseline = Clients.HandWritten(new InMemoryAgentHandler(Response));
    }

    [GlobalCleanup]
    public void Cleanup() => _owner.Dispose();

    [Benchmark(Baseline = true)]
    public Task<string?> HandWritten() => _baseline.TriggerAsync("digest-agent", "go");

    [Benchmark]
    public async Task<string?> Library() => (await _client.TriggerAgentJobAsync("digest-agent", "go")).FinalReply;
}

/// <summary>Scenario 3: a 1 MB raw payload forwarded, from bytes and from a forward-only stream.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PassThrough
{
    public const int PayloadBytes = 1024 * 1024;

    private RunchatClient _client = null!;
    private IDisposable _owner = null!;
    private HandWrittenClient _baseline = null!;
    private byte[] _payload = null!;

    [GlobalSetup]
    public void Setup()
    {
        var response = Payloads.Response(messages: 3, targetBytes: 400);
        _payload = Payloads.Webhook(PayloadBytes);
        (_client, _owner) = Clients.Library(new InMemoryAgentHandler(response));
        _baseline = Clients.HandWritten(new InMemoryAgentHandler(response));
    }

    [GlobalCleanup]
    public void Cleanup() => _owner.Dispose();

    [BenchmarkCategory("FromBytes"), Benchmark(Baseline = true)]
    public Task<string?> HandWrittenBytes() => _baseline.ForwardAsync("relay", _payload, _payload.Length);

    [BenchmarkCategory("FromBytes"), Benchmark]
    public async Task<string?> LibraryFromBytes() => (await _client.TriggerAgentJobAsync("relay", JobPayload.FromBytes(_payload))).FinalReply;

    [BenchmarkCategory("FromStream"), Benchmark(Baseline = true)]
    public Task<string?> HandWrittenStream() => _baseline.ForwardAsync("relay", new ForwardOnlyStream(_payload));

    [BenchmarkCategory("FromStream"), Benchmark]
    public async Task<string?> LibraryFromStream() =>
        (await _client.TriggerAgentJobAsync("relay", await JobPayload.FromStreamAsync(new ForwardOnlyStream(_payload)))).FinalReply;
}

/// <summary>Scenario 1 over a real socket: Kestrel on loopback answering the ~2 KB transcript.</summary>
[MemoryDiagnoser]
public class LoopbackSmallTrigger
{
    private WebApplication _server = null!;
    private RunchatClient _client = null!;
    private IDisposable _owner = null!;
    private HandWrittenClient _baseline = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var response = Payloads.Response(messages: 6, targetBytes: 2048);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _server = builder.Build();
        _server.MapPost("/api/v1/job/{id}", async (HttpContext context) =>
        {
            await context.Request.Body.CopyToAsync(System.IO.Stream.Null);
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(response);
        });
        await _server.StartAsync();
        var baseUrl = new Uri(_server.Urls.First() + "/api/v1/");
        (_client, _owner) = Clients.Library(new SocketsHttpHandler { AllowAutoRedirect = false }, baseUrl);
        _baseline = Clients.HandWritten(new SocketsHttpHandler { AllowAutoRedirect = false }, baseUrl);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _owner.Dispose();
        await _server.StopAsync();
    }

    [Benchmark(Baseline = true)]
    public Task<string?> HandWritten() => _baseline.TriggerAsync("support-agent", "Summarize today's tickets.");

    [Benchmark]
    public async Task<string?> Library() => (await _client.TriggerAgentJobAsync("support-agent", "Summarize today's tickets.")).FinalReply;
}
