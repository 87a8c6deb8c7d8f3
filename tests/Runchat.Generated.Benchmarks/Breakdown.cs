using System;
using System.Net.Http;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Runchat.Internal;

namespace Runchat.Benchmarks;

[MemoryDiagnoser]
public class SmallTriggerBreakdown
{
    private RunchatClient _client = null!;
    private HandWrittenClient _baseline = null!;
    private HandWrittenClient _baselineOverPipeline = null!;
    private HandWrittenClient _baselineOverPipelineNoRetry = null!;
    private HandWrittenClient _baselineOverFactoryOnly = null!;

    [GlobalSetup]
    public void Setup()
    {
        var response = Payloads.Response(messages: 6, targetBytes: 2048);
        (_client, _) = Clients.Library(new InMemoryAgentHandler(response));
        _baseline = Clients.HandWritten(new InMemoryAgentHandler(response));
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = Clients.ApiKey; o.BaseUrl = Clients.BaseUrl; })
            .ConfigurePrimaryHttpMessageHandler(() => new InMemoryAgentHandler(response));
        var http = services.BuildServiceProvider().GetRequiredService<IHttpClientFactory>().CreateClient(RunchatHttpPipeline.HttpClientName);
        _baselineOverPipeline = new HandWrittenClient(http, Clients.ApiKey);

        var services2 = new ServiceCollection();
        services2.AddRunchatClient(o => { o.ApiKey = Clients.ApiKey; o.BaseUrl = Clients.BaseUrl; o.MaxRetries = 0; })
            .ConfigurePrimaryHttpMessageHandler(() => new InMemoryAgentHandler(response));
        _baselineOverPipelineNoRetry = new HandWrittenClient(services2.BuildServiceProvider().GetRequiredService<IHttpClientFactory>().CreateClient(RunchatHttpPipeline.HttpClientName), Clients.ApiKey);

        var services3 = new ServiceCollection();
        services3.AddHttpClient("plain", c => c.BaseAddress = Clients.BaseUrl).ConfigurePrimaryHttpMessageHandler(() => new InMemoryAgentHandler(response));
        _baselineOverFactoryOnly = new HandWrittenClient(services3.BuildServiceProvider().GetRequiredService<IHttpClientFactory>().CreateClient("plain"), Clients.ApiKey);
    }

    [Benchmark]
    public Task<string?> HandWrittenOverPipelineNoRetry() => _baselineOverPipelineNoRetry.TriggerAsync("support-agent", "Summarize today's tickets.");

    [Benchmark]
    public Task<string?> HandWrittenOverFactoryOnly() => _baselineOverFactoryOnly.TriggerAsync("support-agent", "Summarize today's tickets.");

    [Benchmark(Baseline = true)]
    public Task<string?> HandWritten() => _baseline.TriggerAsync("support-agent", "Summarize today's tickets.");

    [Benchmark]
    public Task<string?> HandWrittenOverPipeline() => _baselineOverPipeline.TriggerAsync("support-agent", "Summarize today's tickets.");

    [Benchmark]
    public async Task<string?> Library() => (await _client.TriggerAgentJobAsync("support-agent", "Summarize today's tickets.")).FinalReply;
}
