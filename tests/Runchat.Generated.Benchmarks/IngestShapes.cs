using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Benchmarks;

/// <summary>
/// The relay's work on one body, as its ingest and dispatch do it: parse under the limits, name the event, hash it
/// for the dedupe key, run the route's Events and When, and (with rules) render its Message from the stored body.
/// Flat, deep and wide bodies of 10 KB to 10 MB: the cost per byte should depend on the size, not the shape
/// (<c>build/bench.sh shapes</c> prints the per-byte table and the ratio of its largest to its smallest entry).
/// </summary>
[MemoryDiagnoser]
public class IngestShapes
{
    private static readonly RelayRoute Plain = RelayRoute.Create("/hooks/plain", "shape-agent", null, WebhookSignature.None);

    private static readonly RelayRoute Rules = RelayRoute.Create("/hooks/rules", "shape-agent", null, WebhookSignature.None).WithRules(new RelayRouteOptions
    {
        Events = { "shape.*" },
        When = "$..[?(@.name == 'agent')]",
        Message = "{{ payload.type }}: {{ payload.title }} ({{ event.name }}, {{ delivery.id }})",
    });

    private byte[] _body = null!;
    private WebhookRequest _request = null!;

    [Params("flat", "deep", "wide")]
    public string Shape { get; set; } = "flat";

    [Params(10, 100, 1_000, 10_000)]
    public int Kilobytes { get; set; }

    [Params(false, true)]
    public bool WithRules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = Body(Shape, Kilobytes * 1024);
        _request = new WebhookRequest(new HeaderDictionary(), _body, new Uri("http://127.0.0.1/hooks/shape"), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
    }

    [Benchmark]
    public async Task<string?> IngestAndRender()
    {
        var route = WithRules ? Rules : Plain;
        if (!WebhookPayload.TryParse(route.Scheme.ReadPayload(_request), 64, out var payload, out var refusal))
        {
            throw new InvalidOperationException(refusal);
        }

        string? name;
        using (payload)
        {
            var described = route.Scheme.Describe(_request, payload!.Root);
            name = described.Name;
            var (key, _) = DeliveryIdentity.KeyOf(route.Scheme, WebhookVerification.Valid(), described, null, payload.Bytes.Span);
            if (key is null || route.Filter.Decide(name, payload.Root).State != RelayDeliveryState.Pending)
            {
                throw new InvalidOperationException("the benchmark's body must run");
            }
        }

        var (message, error) = await RouteRules.RenderAsync(route, new ClaimedDelivery("dlv_bench", route.Path, "shape-agent", _body, 0) { Event = name, ReceivedAt = DateTimeOffset.UtcNow });
        return error is null ? message : throw new InvalidOperationException(error);
    }

    /// <summary>A body of about <paramref name="bytes"/> bytes: many short members, chains 50 deep, or one long key over a huge array.</summary>
    public static byte[] Body(string shape, int bytes)
    {
        var text = new StringBuilder(bytes + 1024);
        text.Append("{\"type\":\"shape.").Append(shape).Append("\",\"title\":\"t\",\"labels\":[{\"name\":\"agent\"}],");
        switch (shape)
        {
            case "flat":
                for (var i = 0; text.Length < bytes; i++)
                {
                    text.Append("\"key").Append(i).Append("\":\"value value value\",");
                }

                break;
            case "deep":
                text.Append("\"chains\":[");
                while (text.Length < bytes)
                {
                    text.Append(string.Concat(Enumerable.Repeat("{\"a\":", 50))).Append("{\"v\":1}").Append('}', 50).Append(',');
                }

                text.Length--;
                text.Append("],");
                break;
            default:
                text.Append('"').Append('k', Math.Min(bytes / 4, 500_000)).Append("\":[");
                while (text.Length < bytes)
                {
                    text.Append("0,");
                }

                text.Length--;
                text.Append("],");
                break;
        }

        text.Append("\"end\":true}");
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
