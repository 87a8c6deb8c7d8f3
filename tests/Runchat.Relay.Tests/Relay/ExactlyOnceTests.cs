using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Tests.Relay;

/// <summary>1,000 deliveries from 8 concurrent senders over real HTTP, 30% of them repeats: exactly 700 runs.</summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
public class ExactlyOnceTests : PerStoreFixture
{
    public ExactlyOnceTests(string storeKind)
        : base(storeKind)
    {
    }

    private const string Secret = "whsec_ZXhhY3RseS1vbmNlLXRlc3Qtc2VjcmV0LXh5eg==";

    [Test]
    public async Task ThousandDeliveriesWithThirtyPercentRepeatsRunExactlySevenHundredTimes()
    {
        await using var sandbox = await SandboxServer.StartAsync();
        await using var relay = await StartRelayAsync(sandbox.BaseUrl, o =>
        {
            o.MaxConcurrentRuns = 8;
            o.Routes.Add(RelayHost.Route("/hooks/forms", "lead-agent", "standard-webhooks", Secret));
        });
        var scheme = WebhookSignature.StandardWebhooks(Secret);

        // 700 distinct deliveries; the 300 repeats re-send earlier ones (same webhook-id), interleaved.
        var random = new Random(20261128);
        var plan = Enumerable.Range(0, 700).Select(i => i).ToList();
        for (var i = 0; i < 300; i++)
        {
            plan.Insert(random.Next(plan.Count / 2, plan.Count + 1), random.Next(0, 700));
        }

        var answers = new ConcurrentBag<(int Delivery, string Id, bool Duplicate)>();
        var next = -1;
        var senders = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = System.Threading.Interlocked.Increment(ref next)) < plan.Count)
            {
                var delivery = plan[index];
                var body = $"{{\"event\":\"form.submitted\",\"n\":{delivery},\"amount\":1.10}}";
                var (status, answer) = await relay.PostAsync("/hooks/forms", body, scheme.Sign(Encoding.UTF8.GetBytes(body), DateTimeOffset.UtcNow, $"msg_{delivery}"));
                Assert.That(status, Is.EqualTo(202));
                answers.Add((delivery, answer.GetProperty("delivery_id").GetString()!, answer.GetProperty("duplicate").GetBoolean()));
            }
        })).ToArray();
        await Task.WhenAll(senders);

        var deliveries = await relay.SettledAsync(700, TimeSpan.FromSeconds(60));
        TestContext.Out.WriteLine($"answers {answers.Count}, duplicates {answers.Count(a => a.Duplicate)}, sandbox requests {sandbox.Requests.Count}, succeeded {deliveries.Count(d => d.State == RelayDeliveryState.Succeeded)}");
        Assert.That(answers, Has.Count.EqualTo(1000));
        Assert.That(answers.Count(a => a.Duplicate), Is.EqualTo(300));
        Assert.That(answers.GroupBy(a => a.Delivery).All(g => g.Select(a => a.Id).Distinct().Count() == 1), Is.True, "a repeat is answered with the first id");
        Assert.That(sandbox.Requests, Has.Count.EqualTo(700));
        Assert.That(sandbox.Requests.Select(r => r.BodySha256).Distinct().Count(), Is.EqualTo(700), "each delivery ran once");
        Assert.That(deliveries.Count(d => d.State == RelayDeliveryState.Succeeded), Is.EqualTo(700));
        Assert.That(deliveries.All(d => d.Attempts == 1), Is.True);
    }
}
