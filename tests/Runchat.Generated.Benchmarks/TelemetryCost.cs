using System;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Runchat.Benchmarks;

/// <summary>
/// What the client's telemetry costs a small trigger: nothing listening (the default: one check per
/// call) against an ActivityListener and a MeterListener that record everything. BenchmarkDotNet runs
/// each method in its own process, so the listener of one never reaches the other.
/// </summary>
[MemoryDiagnoser]
public class TelemetryCost
{
    private RunchatClient _client = null!;
    private IDisposable _owner = null!;
    private ActivityListener? _activities;
    private MeterListener? _meters;

    [GlobalSetup(Target = nameof(NoListener))]
    public void SetupQuiet() => (_client, _owner) = Clients.Library(new InMemoryAgentHandler(Payloads.Response(messages: 6, targetBytes: 2048)));

    [GlobalSetup(Target = nameof(TracesAndMetricsRecorded))]
    public void SetupListening()
    {
        SetupQuiet();
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Runchat.Generated" or "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_activities);
        _meters = new MeterListener { InstrumentPublished = (instrument, listener) => { if (instrument.Meter.Name == "Runchat.Generated") listener.EnableMeasurementEvents(instrument); } };
        _meters.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
        _meters.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
        _meters.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _activities?.Dispose();
        _meters?.Dispose();
        _owner.Dispose();
    }

    [Benchmark(Baseline = true)]
    public async Task<string?> NoListener() => (await _client.TriggerAgentJobAsync("support-agent", "Summarize today's tickets.")).FinalReply;

    [Benchmark]
    public async Task<string?> TracesAndMetricsRecorded() => (await _client.TriggerAgentJobAsync("support-agent", "Summarize today's tickets.")).FinalReply;
}
