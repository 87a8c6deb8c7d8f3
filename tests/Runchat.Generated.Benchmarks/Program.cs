using System;
using System.Diagnostics;
using System.Threading.Tasks;
using BenchmarkDotNet.Running;
using Runchat.Benchmarks;

// "peak <library|handwritten>" measures the peak working set of one large-transcript call in this
// process (BenchmarkDotNet reports allocations, not peaks); "ingest" load-tests the relay's HTTP
// ingest against a hand-written floor (Ingest.cs); "scale" measures the relay on PostgreSQL with one
// and two instances (ScaleOut.cs); anything else goes to BenchmarkDotNet.
if (args.Length == 2 && args[0] == "peak")
{
    var response = LargeTranscript.Response;
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    using var process = Process.GetCurrentProcess();
    process.Refresh();
    var before = process.WorkingSet64;
    string? reply;
    if (args[1] == "library")
    {
        var (client, owner) = Clients.Library(new InMemoryAgentHandler(response));
        reply = (await client.TriggerAgentJobAsync("digest-agent", "go")).FinalReply;
        owner.Dispose();
    }
    else
    {
        reply = await Clients.HandWritten(new InMemoryAgentHandler(response)).TriggerAsync("digest-agent", "go");
    }

    process.Refresh();
    var peak = process.PeakWorkingSet64 - before;
    Console.WriteLine($"{args[1]}\t{response.Length}\t{peak}\t{(double)peak / response.Length:0.00}\t{reply}");
    return 0;
}

if (args.Length >= 1 && args[0] == "ingest")
{
    return await Ingest.RunAsync(args);
}

if (args.Length >= 1 && args[0] == "purge")
{
    return await Runchat.Benchmarks.PurgeWhileIngesting.RunAsync(args);
}

if (args.Length >= 1 && args[0] == "dashboard")
{
    return await Runchat.Benchmarks.DashboardTtfb.RunAsync(args);
}

if (args.Length == 1 && args[0] == "shape-tokens")
{
    // For build/bench.sh shapes: the size and token count of each IngestShapes body, to report the cost per token too.
    foreach (var shape in new[] { "flat", "deep", "wide" })
    {
        foreach (var kilobytes in new[] { 10, 100, 1_000, 10_000 })
        {
            var body = IngestShapes.Body(shape, kilobytes * 1024);
            var reader = new System.Text.Json.Utf8JsonReader(body);
            var tokens = 0;
            while (reader.Read())
            {
                tokens++;
            }

            Console.WriteLine($"{shape}\t{kilobytes}\t{body.Length}\t{tokens}");
        }
    }

    return 0;
}

if (args.Length >= 1 && args[0] == "cost")
{
    return await Runchat.Benchmarks.RelayCost.RunAsync(args);
}

if (args.Length == 3 && args[0] == "relay-host")
{
    return await Runchat.Benchmarks.RelayCost.HostAsync(args);
}

if (args.Length >= 1 && args[0] == "scale")
{
    return await Runchat.Benchmarks.ScaleOut.RunAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(SmallTrigger).Assembly).Run(args);
return 0;
