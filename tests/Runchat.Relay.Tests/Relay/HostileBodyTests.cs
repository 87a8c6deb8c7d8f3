using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// The bodies that broke the last round's relay, sent to <c>relay serve</c> as a real process on each store: every one
/// gets a 2xx or a 4xx that says why (never a 5xx), nothing runs that should not, what runs runs fast, and the relay's
/// peak memory stays small.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[ProcessTest]
[NonParallelizable]
public class HostileBodyTests : PerStoreFixture
{
    private const string GitHubSecret = "hostile-github-secret-0123456789";
    private const string StripeSecret = "whsec_hostile-stripe-secret-0123456789";

    private SandboxServer _sandbox = null!;
    private TestStore _store = null!;
    private IDeliveryStore _reader = null!;
    private TempDirectory _temp = null!;
    private RelayProcess _relay = null!;
    private long _heldAtStart;
    private HttpClient _http = null!;

    public HostileBodyTests(string storeKind)
        : base(storeKind)
    {
    }

    [OneTimeSetUp]
    public async Task StartRelay()
    {
        if (StoreKind == TestStore.Postgres && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PostgresServer.Variable)))
        {
            PostgresServer.Require();
        }

        _sandbox = await SandboxServer.StartAsync();
        _store = NewStore();
        _temp = new TempDirectory();
        var config = Path.Combine(_temp.Path, "relay.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "sandbox-key", BaseUrl = _sandbox.BaseUrl.ToString() },
            Relay = new
            {
                Store = _store.Setting,
                MaxRunsPerMinute = 100_000,
                MaxBodyBytes = 12 * 1024 * 1024,
                Routes = new object[]
                {
                    new { Path = "/hooks/typed", JobId = "typed-agent", Signature = "none", Message = "hello {{ payload.type }}" },
                    new { Path = "/hooks/whole", JobId = "whole-agent", Signature = "none" },
                    new { Path = "/hooks/capture", JobId = "capture-agent", Signature = "none", Message = "{% capture x %}{% for i in (1..9999) %}{{ payload.big }}{% endfor %}{% endcapture %}{{ x }}" },
                    new { Path = "/hooks/number", JobId = "number-agent", Signature = "none", Message = "n={{ payload.n }}" },
                    new { Path = "/hooks/plus", JobId = "plus-agent", Signature = "none", Message = "n+1={{ payload.n | plus: 1 }}" },
                    new { Path = "/hooks/strict", JobId = "strict-agent", Signature = "none", Message = "{{ payload.type.nmae }}" },
                    new { Path = "/hooks/json", JobId = "json-agent", Signature = "none", Message = "data={{ payload.data }}" },
                    new { Path = "/hooks/regex", JobId = "regex-agent", Signature = "none", When = @"$.labels[?(@.name =~ /^(\w+\s?)*$/)]" },
                    new { Path = "/hooks/scan", JobId = "scan-agent", Signature = "none", When = "$..[?(@.name == 'agent')]" },
                    new { Path = "/hooks/github", JobId = "triage-agent", Signature = "github", Secret = GitHubSecret, Events = new[] { "issues.opened" } },
                    new { Path = "/hooks/stripe", JobId = "billing-agent", Signature = "stripe", Secret = StripeSecret },
                },
            },
        }));
        _relay = await RelayProcess.StartAsync(config);
        _reader = _store.Open();
        _http = new HttpClient { BaseAddress = _relay.Url, Timeout = TimeSpan.FromSeconds(30) };
    }

    [SetUp]
    public void MeasureThisTestsPeak()
    {
        // What the tests before this one left behind is not this test's: the peak starts again from what is held now.
        _relay.ResetPeakWorkingSet();
        _heldAtStart = _relay.WorkingSet;
    }

    [OneTimeTearDown]
    public async Task StopRelay()
    {
        _http?.Dispose();
        _relay?.Dispose();
        (_reader as IDisposable)?.Dispose();
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        _temp?.Dispose();
        if (_sandbox is not null)
        {
            await _sandbox.DisposeAsync();
        }
    }

    /// <summary>The bodies that took the last round's relay 174 s (840 KB: one 500,000-character key over 170,000 zeros) and 7 GB (250 KB: 50,000 {} under a 100,000-character key).</summary>
    [TestCase("big", 500_000, 170_000, "0", 840_000)]
    [TestCase("wide", 100_000, 50_000, "{}", 250_000)]
    public async Task ABodyWithALongKeyOverManyItemsRunsItsTemplateRouteInUnderASecond(string type, int keyLength, int items, string item, int atLeast)
    {
        var body = $"{{\"type\":\"{type}\",\"" + new string('k', keyLength) + "\":[" + string.Join(",", Enumerable.Repeat(item, items)) + "]}";
        Assert.That(Encoding.UTF8.GetByteCount(body), Is.GreaterThan(atLeast));

        var delivery = await PostAndSettleAsync("/hooks/typed", body, "typed-agent");

        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded), delivery.LastError);
        Assert.That(delivery.Message, Is.EqualTo("hello " + type));
        AssertSmallPeak();
    }

    [Test]
    public async Task ACaptureLoopOverA200KilobyteStringFailsTheDeliveryWithNothingSent()
    {
        var body = "{\"big\":\"" + new string('x', 200_000) + "\"}";

        var delivery = await PostAndSettleAsync("/hooks/capture", body, expectRun: false);

        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Failed));
        Assert.That(delivery.LastError, Does.Contain("'x' grew past 100000 characters").And.Contain("Nothing was sent"));
        Assert.That(delivery.Attempts, Is.EqualTo(0));
        Assert.That(_sandbox.Requests.Count(r => r.JobId == "capture-agent"), Is.EqualTo(0), "nothing was sent for it");
        AssertSmallPeak();
    }

    [TestCase(65)]
    [TestCase(200)]
    [TestCase(1000)]
    public async Task ABodyNestedDeeperThanTheLimitIsA400ThatSaysSo(int depth)
    {
        var body = "{\"type\":\"deep\",\"a\":" + string.Concat(Enumerable.Repeat("[", depth)) + string.Concat(Enumerable.Repeat("]", depth)) + "}";

        var (status, answer) = await PostAsync("/hooks/whole", body);

        Assert.That(status, Is.EqualTo(400), answer);
        Assert.That(answer, Does.Contain("nested deeper than 64 levels (Relay:MaxBodyDepth)"));
    }

    [Test]
    public async Task ABodyNestedToTheLimitIsStoredAndRuns()
    {
        var body = "{\"type\":\"deep\",\"a\":" + string.Concat(Enumerable.Repeat("[", 63)) + string.Concat(Enumerable.Repeat("]", 63)) + "}";

        var delivery = await PostAndSettleAsync("/hooks/whole", body, "whole-agent");

        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded), delivery.LastError);
    }

    [TestCase("/hooks/stripe", "{\"id\":\"evt_1\",\"type\":\"invoice.\\ud800paid\"}", "stripe", "escaped lone surrogate")]
    [TestCase("/hooks/github", "{\"action\":\"op\\udc00ened\",\"issue\":{}}", "github", "escaped lone surrogate")]
    [TestCase("/hooks/whole", "{\"type\":\"x\",\"deep\":{\"\\ud83d\":1}}", "none", "escaped lone surrogate")]
    [TestCase("/hooks/stripe", "{\"id\":\"evt_nul\",\"type\":\"invoice\\u0000paid\"}", "stripe", "the event name contains a NUL character")]
    [TestCase("/hooks/github", "{\"action\":\"op\\u0000ened\",\"issue\":{}}", "github", "the event name contains a NUL character")]
    [TestCase("/hooks/whole", "{\"type\":\"a\\u0000b\"}", "none", "the event name contains a NUL character")]
    public async Task TextNoStoreCanKeepIsA400OnEveryStoreEvenWhenSigned(string path, string body, string scheme, string phrase)
    {
        var (status, answer) = await PostAsync(path, body, Sign(scheme, body, "issues"));

        Assert.That(status, Is.EqualTo(400), answer);
        Assert.That(answer, Does.Contain(phrase));
    }

    [Test]
    public async Task AReplayOfSignedBytesUnderAnotherEventHeaderNeverRuns()
    {
        // A real pull_request.opened payload, and the same with an issue object added: both signed once, then resent as issues.
        var pullRequest = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "webhooks", "github", "pull_request", "opened.payload.json"));
        var both = pullRequest.TrimEnd().TrimEnd('}') + ",\"issue\":{\"number\":1,\"title\":\"smuggled\"}}";
        var before = _sandbox.Requests.Count(r => r.JobId == "triage-agent");

        foreach (var body in new[] { pullRequest, both })
        {
            var signature = Sign("github", body, "pull_request");
            var (first, ignored) = await PostAsync("/hooks/github", body, signature);
            Assert.That(first, Is.EqualTo(200), ignored);
            Assert.That(ignored, Does.Contain("\"ignored\":true").And.Contain("'pull_request.opened' is not one this route runs"));

            var swapped = signature.Select(h => h.Key == "X-GitHub-Event" ? new KeyValuePair<string, string>(h.Key, "issues") : h).ToList();
            var (again, answer) = await PostAsync("/hooks/github", body, swapped);
            Assert.That(again, Is.EqualTo(body == pullRequest ? 400 : 202), answer);
            Assert.That(answer, body == pullRequest ? Does.Contain("the body has no 'issue'") : Does.Contain("\"duplicate\":true"));
        }

        await Task.Delay(500);
        Assert.That(_sandbox.Requests.Count(r => r.JobId == "triage-agent"), Is.EqualTo(before), "nothing ran");
    }

    [Test]
    public async Task ACatastrophicRegexInWhenIsBoundedAndTheDeliveryIsStoredFailedNotIgnored()
    {
        var body = "{\"labels\":[{\"name\":\"" + new string('a', 34) + "!\"}]}";

        var clock = Stopwatch.StartNew();
        var (status, answer) = await PostAsync("/hooks/regex", body);
        var answered = clock.Elapsed;

        Assert.That(status, Is.EqualTo(202), answer);
        Assert.That(answered, Is.LessThan(TimeSpan.FromSeconds(2)), "answered within the sender's timeout");
        var delivery = await _reader.GetAsync(JsonDocument.Parse(answer).RootElement.GetProperty("delivery_id").GetString()!, default);
        Assert.That(delivery!.State, Is.EqualTo(RelayDeliveryState.Failed));
        Assert.That(delivery.LastError, Does.Contain("could not be evaluated").And.Contain("took longer than 100 ms"));
        Assert.That(_sandbox.Requests.Count(r => r.JobId == "regex-agent"), Is.EqualTo(0));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task AFiveMegabyteBodyThroughAWhenScanCostsAboutWhatStoringItCosts(bool matches)
    {
        var items = string.Join(",", Enumerable.Range(0, 60_000).Select(i => $"{{\"name\":\"item-{i}\",\"tags\":[\"a\",\"b\"],\"n\":{i}}}"));
        var body = "{\"type\":\"scan\",\"items\":[" + items + (matches ? ",{\"name\":\"agent\"}" : string.Empty) + "]}";
        Assert.That(Encoding.UTF8.GetByteCount(body), Is.InRange(2_500_000, 6_000_000));
        body = body.Replace("\"tags\":[\"a\",\"b\"]", "\"tags\":[\"a\",\"b\"],\"pad\":\"pppppppppppppppppppppppppppppp\"");
        Assert.That(Encoding.UTF8.GetByteCount(body), Is.GreaterThan(5_000_000));

        // The baseline, in the same run: the same bytes read, parsed and stored by a route whose When does not scan
        // (it looks for labels the body has none of: ignored, stored, never run). A machine under load slows both.
        var baselineClock = Stopwatch.StartNew();
        var (baselineStatus, _) = await PostAsync("/hooks/regex", body);
        var baseline = baselineClock.Elapsed;
        var clock = Stopwatch.StartNew();
        var (status, answer) = await PostAsync("/hooks/scan", body);
        var scan = clock.Elapsed;
        TestContext.Out.WriteLine($"5 MB: {scan.TotalMilliseconds:0} ms through a When that scans every node, {baseline.TotalMilliseconds:0} ms through one that does not ({scan / baseline:0.00}x)");

        Assert.That(baselineStatus, Is.EqualTo(200));
        Assert.That(scan, Is.LessThan(3 * baseline + TimeSpan.FromMilliseconds(300)), "the scan costs about what reading and storing the body costs, not a multiple of it");
        Assert.That(status, Is.EqualTo(matches ? 202 : 200), answer);
        AssertSmallPeak();
        if (matches)
        {
            // Its run goes on after the answer: finished here, so that no later test sees it arrive.
            var id = JsonDocument.Parse(answer).RootElement.GetProperty("delivery_id").GetString()!;
            await Eventually.HoldsAsync(async () => (await _reader.GetAsync(id, default))?.State == RelayDeliveryState.Succeeded, TimeSpan.FromSeconds(20), "the 5 MB delivery ran");
        }
    }

    [Test]
    public async Task ANumberBeyondADecimalRendersAsWrittenAndArithmeticOnItFailsTheDeliveryNotUnknown()
    {
        var written = await PostAndSettleAsync("/hooks/number", "{\"n\":1e300}", "number-agent");
        Assert.That(written.State, Is.EqualTo(RelayDeliveryState.Succeeded), written.LastError);
        Assert.That(written.Message, Is.EqualTo("n=1e300"));

        var computed = await PostAndSettleAsync("/hooks/plus", "{\"n\":1e300}", expectRun: false);
        Assert.That(computed.State, Is.EqualTo(RelayDeliveryState.Failed));
        Assert.That(computed.LastError, Does.Contain("payload.n is 1e300, a number beyond what a template can compute with"));
        Assert.That(_sandbox.Requests.Count(r => r.JobId == "plus-agent"), Is.EqualTo(0));
    }

    [Test]
    public async Task AMemberAStringDoesNotHaveFailsTheRender()
    {
        var delivery = await PostAndSettleAsync("/hooks/strict", "{\"type\":\"invoice.paid\"}", expectRun: false);

        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Failed));
        Assert.That(delivery.LastError, Does.Contain("payload.type is a string; it has no 'nmae'"));
    }

    [Test]
    public async Task AnObjectRendersAsCompactJsonWithItsTextUnescaped()
    {
        var delivery = await PostAndSettleAsync("/hooks/json", "{\"data\": {\"a\": [1, 2.50, \"🎉 é\"], \"b\": null}}", "json-agent");

        Assert.That(delivery.State, Is.EqualTo(RelayDeliveryState.Succeeded), delivery.LastError);
        Assert.That(delivery.Message, Is.EqualTo("data={\"a\":[1,2.50,\"🎉 é\"],\"b\":null}"));
    }

    [Test]
    public void NoRequestHereWasAnsweredWithA5xx()
    {
        Assert.That(_relay.Output, Does.Not.Contain("Unhandled").And.Not.Contain("fail:"), "the relay logged no unhandled exception");
    }

    private void AssertSmallPeak()
    {
        var growth = _relay.PeakWorkingSet - _heldAtStart;
        TestContext.Out.WriteLine($"relay working set grew by at most {growth / (1024 * 1024)} MB in this test (from {_heldAtStart / (1024 * 1024)} MB)");
        Assert.That(growth, Is.LessThan(200L * 1024 * 1024), "how far the relay's working set grew in this test");
    }

    private async Task<RelayDelivery> PostAndSettleAsync(string path, string body, string? jobId = null, bool expectRun = true)
    {
        var clock = Stopwatch.StartNew();
        var (status, answer) = await PostAsync(path, body);
        Assert.That(status, Is.EqualTo(202), answer);
        var id = JsonDocument.Parse(answer).RootElement.GetProperty("delivery_id").GetString()!;
        RelayDelivery? delivery = null;
        await Eventually.HoldsAsync(async () => (delivery = await _reader.GetAsync(id, default))?.State is RelayDeliveryState.Succeeded or RelayDeliveryState.Failed or RelayDeliveryState.Unknown,
            TimeSpan.FromSeconds(20), $"delivery {id} on {path} is finished");
        TestContext.Out.WriteLine($"{path}: {Encoding.UTF8.GetByteCount(body):N0} bytes, {DeliveryStates.Name(delivery!.State)} after {clock.ElapsedMilliseconds} ms");
        if (expectRun)
        {
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), "received, rendered and run in well under a second");
            Assert.That(_sandbox.Requests.Count(r => r.JobId == jobId), Is.GreaterThan(0));
        }

        return delivery;
    }

    private async Task<(int Status, string Body)> PostAsync(string path, string body, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in headers ?? Array.Empty<KeyValuePair<string, string>>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.LessThan(500), $"{path}: never a 5xx ({text})");
        return ((int)response.StatusCode, text);
    }

    private static List<KeyValuePair<string, string>> Sign(string scheme, string body, string gitHubEvent)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        return scheme switch
        {
            "github" => WebhookSignature.GitHub(GitHubSecret).Sign(bytes, DateTimeOffset.UtcNow, Guid.NewGuid().ToString())
                .Append(new KeyValuePair<string, string>("X-GitHub-Event", gitHubEvent)).ToList(),
            "stripe" => WebhookSignature.Stripe(StripeSecret).Sign(bytes, DateTimeOffset.UtcNow, "unused").ToList(),
            _ => new List<KeyValuePair<string, string>>(),
        };
    }
}
