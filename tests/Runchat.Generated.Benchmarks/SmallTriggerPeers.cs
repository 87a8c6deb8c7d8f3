using System;
using System.Net.Http;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Runchat.Benchmarks.NSwagDefault;
using Runchat.Internal;

namespace Runchat.Benchmarks;

/// <summary>
/// Scenario 1 against its peers, in one run: what the library adds over the same pipeline, how it
/// compares with NSwag's default client over that pipeline, and with plain HttpClient.
/// </summary>
[MemoryDiagnoser]
public class SmallTriggerPeers
{
    private const string JobId = "support-agent";
    private const string Message = "Summarize today's tickets.";

    private RunchatClient _library = null!;
    private HandWrittenClient _handWritten = null!;
    private HandWrittenClient _handWrittenOverPipeline = null!;
    private DefaultClient _nswagDefaultOverPipeline = null!;
    private HandWrittenClient _handWrittenOverFactoryOnly = null!;

    [GlobalSetup]
    public void Setup()
    {
        var response = Payloads.Response(messages: 6, targetBytes: 2048);
        (_library, _) = Clients.Library(new InMemoryAgentHandler(response));
        _handWritten = Clients.HandWritten(new InMemoryAgentHandler(response));

        // The library's own pipeline (deadline, retry policy, IHttpClientFactory, bearer handler).
        HttpClient Pipeline()
        {
            var services = new ServiceCollection();
            services.AddRunchatClient(o => { o.ApiKey = Clients.ApiKey; o.BaseUrl = Clients.BaseUrl; })
                .ConfigurePrimaryHttpMessageHandler(() => new InMemoryAgentHandler(response));
            // The pipeline's send guard lets through only requests that carry a send ledger, which
            // RunchatTransport attaches; a hand-written caller of the same pipeline attaches it too.
            var handler = services.BuildServiceProvider().GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(RunchatHttpPipeline.HttpClientName);
            return new HttpClient(new AttachSendLedger { InnerHandler = handler }) { BaseAddress = Clients.BaseUrl, Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        }

        _handWrittenOverPipeline = new HandWrittenClient(Pipeline(), Clients.ApiKey);
        _nswagDefaultOverPipeline = new DefaultClient(Pipeline()) { BaseUrl = Clients.BaseUrl.ToString() };

        var plain = new ServiceCollection();
        plain.AddHttpClient("plain", c => c.BaseAddress = Clients.BaseUrl).ConfigurePrimaryHttpMessageHandler(() => new InMemoryAgentHandler(response));
        _handWrittenOverFactoryOnly = new HandWrittenClient(plain.BuildServiceProvider().GetRequiredService<IHttpClientFactory>().CreateClient("plain"), Clients.ApiKey);
    }

    /// <summary>Plain HttpClient, written by hand: the goal is library ≤ 1.15× this.</summary>
    [Benchmark]
    public Task<string?> HandWritten() => _handWritten.TriggerAsync(JobId, Message);

    /// <summary>The same hand-written call over a bare IHttpClientFactory client (its logging and lifetime handlers).</summary>
    [Benchmark]
    public Task<string?> HandWrittenOverFactoryOnly() => _handWrittenOverFactoryOnly.TriggerAsync(JobId, Message);

    /// <summary>The same hand-written call over the library's own pipeline: the goal is library ≤ 1.05× this.</summary>
    [Benchmark(Baseline = true)]
    public Task<string?> HandWrittenOverPipeline() => _handWrittenOverPipeline.TriggerAsync(JobId, Message);

    /// <summary>NSwag's default client over the same pipeline: the goal is library ≤ 1.00× this.</summary>
    [Benchmark]
    public async Task<int> NSwagDefaultOverPipeline() =>
        // JobPOSTAsync: NSwag renames the POST once the spec has a GET on the same path (the trap the library pins its ids against).
        (await _nswagDefaultOverPipeline.JobPOSTAsync(new NSwagDefault.AgentJobRequest { Message = Message }, JobId).ConfigureAwait(false)).Messages.Count;

    [Benchmark]
    public async Task<string?> Library() => (await _library.TriggerAgentJobAsync(JobId, Message)).FinalReply;
}

/// <summary>What RunchatTransport does before the pipeline: one send ledger per request.</summary>
internal sealed class AttachSendLedger : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, System.Threading.CancellationToken cancellationToken)
    {
        SendLedger.Attach(request);
        return base.SendAsync(request, cancellationToken);
    }
}
