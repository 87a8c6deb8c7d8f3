using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, driven by Playwright): what an on-call engineer
/// does when a webhook "didn't do anything". Also its refusals, over plain HTTP. Both stores.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[NonParallelizable]
public class DashboardTests : PerStoreFixture
{
    private const string Payload = "{\"type\":\"form.submitted\",\"note\":\"<script>document.title='owned'</script>\",\"email\":\"ada@example.com\"}";

    private SandboxServer _sandbox = null!;
    private TestStore _testStore = null!;
    private RelayHost _relay = null!;
    private string _unknownId = null!;

    public DashboardTests(string storeKind)
        : base(storeKind)
    {
    }

    [SetUp]
    public async Task StartAsync()
    {
        _sandbox = await SandboxServer.StartAsync();

        // A delivery whose run ended unknown (a relay that stopped mid-run), as the store records it:
        // written before the relay starts, so its dispatcher cannot claim and send it first.
        _testStore = NewStore();
        var store = _testStore.Open();
        try
        {
            _unknownId = "dlv_dashboard_unknown";
            var now = DateTimeOffset.UtcNow;
            await store.AddAsync(new NewDelivery(_unknownId, "/hooks/open", "demo-agent", "sha256:dashboard", Encoding.UTF8.GetBytes(Payload), now.AddMinutes(-5), Event: "form.submitted"), default);
            await store.ClaimAsync(new ClaimRequest("test-owner", now, now.AddMinutes(1), 100), default);
            await store.StartSendAsync(new StartRequest(_unknownId, "test-owner", now, now.AddMinutes(1), 100, 100_000), default);
            await store.CompleteAsync(_unknownId, "test-owner", RelayDeliveryState.Unknown, new RunResult(null, null, "The relay shut down while the request to Runchat was in flight: the agent may or may not have run."), ReplyPlan.None, now, default);
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }

        _relay = await StartRelayAsync(_sandbox.BaseUrl, o => o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent")), map: m => m.App.MapRunchatRelayDashboard(), store: _testStore);
        Assert.That((await _relay.Relay.GetAsync(_unknownId))!.State, Is.EqualTo(RelayDeliveryState.Unknown), "set up as unknown");
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _relay.DisposeAsync();
        await _sandbox.DisposeAsync();
        await _testStore.DisposeAsync();
    }

    private static string Chromium() => ChromiumPath();

    /// <summary>Debian's chromium (or RUNCHAT_TEST_CHROMIUM); without one, the test is skipped locally and failed in CI.</summary>
    internal static string ChromiumPath()
    {
        var path = Environment.GetEnvironmentVariable("RUNCHAT_TEST_CHROMIUM") ?? "/usr/bin/chromium";
        if (!File.Exists(path))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail($"No chromium at {path}; in CI the dashboard's browser tests must run (build/test.sh installs Debian's chromium).");
            }

            Assert.Ignore($"No chromium at {path} (apt-get install chromium, or set RUNCHAT_TEST_CHROMIUM): the dashboard's browser test is skipped.");
        }

        return path;
    }

    [Test]
    [ProcessTest] // a real browser
    public async Task AnOperatorFindsTheUnknownDeliveryReadsItAndReplaysItOnce()
    {
        var chromium = Chromium();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = new[] { "--no-sandbox" } });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 800 } });
        var dialogs = 0;
        page.Dialog += (_, dialog) => { dialogs++; _ = dialog.DismissAsync(); };
        var baseUrl = _relay.BaseUrl.ToString().TrimEnd('/');

        // The overview: the unknown delivery is counted and flagged for a decision.
        var overview = await page.GotoAsync(baseUrl + "/relay/");
        Assert.That(overview!.Status, Is.EqualTo(200));
        Assert.That(await overview.HeaderValueAsync("content-security-policy"), Does.Contain("script-src 'self'"));
        Assert.That(await page.TextContentAsync("[data-count='unknown']"), Is.EqualTo("1"));
        Assert.That(await page.TextContentAsync(".warning"), Does.Contain("need a decision"));
        Assert.That(await page.TextContentAsync("main"), Does.Contain("Received in the last 24 hours, by route").And.Contain("/hooks/open").And.Contain("Sends started in the last hour: 1"));
        if (StoreKind == TestStore.Sqlite)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Repository.Path("docs", "images", "dashboard-overview.png"), FullPage = true });
        }

        // Filter to unknown, open the delivery.
        await page.ClickAsync("a.card[href$='state=unknown']");
        Assert.That(page.Url, Does.EndWith("/relay/deliveries?state=unknown"));
        await page.ClickAsync($"a:text('{_unknownId}')");
        Assert.That(await page.TextContentAsync("h2"), Does.Contain(_unknownId).And.Contain("unknown"));
        Assert.That(await page.TextContentAsync("pre"), Does.Contain("<script>document.title='owned'</script>"), "the payload is shown as text");
        Assert.That(await page.TitleAsync(), Does.Not.Contain("owned"), "and never run");
        Assert.That(await page.TextContentAsync("p.warning"), Does.Contain("may or may not have happened"));
        if (StoreKind == TestStore.Sqlite)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Repository.Path("docs", "images", "dashboard-detail.png"), FullPage = true });
        }

        // Replay: the form asks for the confirmation first.
        var before = _sandbox.Requests.Count;
        await page.ClickAsync("button.danger");
        Assert.That(page.Url, Does.Not.Contain("replayed"), "not sent without the confirmation");
        await page.CheckAsync("input[name=confirm]");
        await page.ClickAsync("button.danger");
        Assert.That(await page.TextContentAsync("p.notice"), Does.Contain("pending again"));

        // The state changes on the open page, without a reload (the relay sends it), and the agent ran exactly once more.
        await page.WaitForSelectorAsync("[data-state].state-succeeded", new PageWaitForSelectorOptions { Timeout = 15_000 });
        Assert.That(await page.TextContentAsync("[data-state]"), Is.EqualTo("succeeded"), _relay.Errors);
        await _relay.IdleAsync();
        Assert.That(_sandbox.Requests.Count, Is.EqualTo(before + 1));
        Assert.That(dialogs, Is.Zero, "no script from the payload ran");
    }

    [Test]
    public async Task ARemoteLookingRequestIsRefusedAndAReplayWithoutTheTokenReplaysNothing()
    {
        using var http = new HttpClient { BaseAddress = _relay.BaseUrl };

        using var forwarded = new HttpRequestMessage(HttpMethod.Get, "/relay/");
        forwarded.Headers.Add("X-Forwarded-For", "203.0.113.9");
        using var refused = await http.SendAsync(forwarded);
        Assert.That((int)refused.StatusCode, Is.EqualTo(403));
        Assert.That(await refused.Content.ReadAsStringAsync(), Does.Contain("only requests from this machine"));

        var before = _sandbox.Requests.Count;
        using var replay = await http.PostAsync($"/relay/deliveries/{_unknownId}/replay", new FormUrlEncodedContent(new[] { new System.Collections.Generic.KeyValuePair<string, string>("confirm", "yes") }));
        Assert.That((int)replay.StatusCode, Is.EqualTo(400));
        Assert.That(await replay.Content.ReadAsStringAsync(), Does.Contain("Nothing was replayed"));
        await _relay.IdleAsync();
        Assert.That(_sandbox.Requests.Count, Is.EqualTo(before));
        Assert.That((await _relay.Relay.GetAsync(_unknownId))!.State, Is.EqualTo(RelayDeliveryState.Unknown));

        using var list = await http.GetAsync("/relay/deliveries?state=unknown");
        Assert.That(list.Headers.GetValues("X-Frame-Options").Single(), Is.EqualTo("DENY"));
        Assert.That(list.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("default-src 'none'"));
        Assert.That(await list.Content.ReadAsStringAsync(), Does.Contain(_unknownId).And.Not.Contain("<script>document"));
    }

    [TestCase("rebind.attacker.test", 421)]
    [TestCase("localhost.attacker.test", 421)]
    [TestCase("127.0.0.1.nip.io", 421)]
    [TestCase("localhost", 200)]
    [TestCase("127.0.0.1", 200)]
    [TestCase("[::1]", 200)]
    public async Task OnlyThisMachinesOwnNamesAreAnsweredBeforeAnythingIsRead(string host, int status)
    {
        using var http = new HttpClient { BaseAddress = _relay.BaseUrl };
        var port = _relay.BaseUrl.Port;
        var before = _sandbox.Requests.Count;

        foreach (var (method, path) in new[] { (HttpMethod.Get, "/relay/"), (HttpMethod.Get, $"/relay/deliveries/{_unknownId}"), (HttpMethod.Get, "/relay/api/summary"), (HttpMethod.Post, $"/relay/deliveries/{_unknownId}/replay") })
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Host = $"{host}:{port}";
            if (method == HttpMethod.Post)
            {
                request.Content = new FormUrlEncodedContent(new[] { new System.Collections.Generic.KeyValuePair<string, string>("confirm", "yes") });
            }

            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.That((int)response.StatusCode, Is.EqualTo(method == HttpMethod.Post && status == 200 ? 400 : status), $"{method} {path} as {host}: {text}");
            if (status == 421)
            {
                Assert.That(text, Does.Contain("answers only requests for this machine by name").And.Not.Contain("ada@example.com"), "nothing of the store is read");
            }
        }

        Assert.That((await _relay.Relay.GetAsync(_unknownId))!.State, Is.EqualTo(RelayDeliveryState.Unknown), "nothing was replayed");
        Assert.That(_sandbox.Requests.Count, Is.EqualTo(before));
    }

    [Test]
    [ProcessTest] // a real browser
    public async Task APageServedUnderARebindingNameInTheBrowserShowsNothingAndReplaysNothing()
    {
        var chromium = Chromium();
        using var playwright = await Playwright.CreateAsync();
        // The attacker's name resolves to this machine, as a DNS-rebinding page makes it.
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = new[] { "--no-sandbox", "--host-resolver-rules=MAP rebind.attacker.test 127.0.0.1" },
        });
        var page = await browser.NewPageAsync();
        var attacker = $"http://rebind.attacker.test:{_relay.BaseUrl.Port}";

        var overview = await page.GotoAsync(attacker + "/relay/");
        Assert.That(overview!.Status, Is.EqualTo(421));
        Assert.That(await page.ContentAsync(), Does.Not.Contain("ada@example.com").And.Not.Contain(_unknownId));

        // The attacker's script, same-origin under its own name, tries the detail page and the replay.
        var results = await page.EvaluateAsync<int[]>($$"""
            async () => {
              const detail = await fetch('/relay/deliveries/{{_unknownId}}');
              const replay = await fetch('/relay/deliveries/{{_unknownId}}/replay', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'confirm=yes' });
              return [detail.status, replay.status];
            }
            """);
        Assert.That(results, Is.EqualTo(new[] { 421, 421 }));
        Assert.That((await _relay.Relay.GetAsync(_unknownId))!.State, Is.EqualTo(RelayDeliveryState.Unknown), "nothing was replayed");
    }

    [TestCase("GET", "/relay/deliveries?before=99999999999999999:x", 400, "is not a list cursor")]
    [TestCase("GET", "/relay/deliveries?before=:", 400, "is not a list cursor")]
    [TestCase("GET", "/relay/deliveries?state=bogus", 400, "There is no state 'bogus'")]
    [TestCase("GET", "/relay/deliveries?route=%2Fhooks%00x", 400, "'/hooks?x' is not a route: a route's path has no control characters.")]
    [TestCase("GET", "/relay/deliveries?event=issues%00", 400, "'issues?' is not an event name")]
    [TestCase("GET", "/relay/deliveries?q=ab%00c", 400, "A search is at most 200 characters, with no control characters.")]
    [TestCase("GET", "/relay/deliveries?q=ab%7Fc", 400, "with no control characters")]
    [TestCase("GET", "/relay/deliveries?q=x&event=a%0Ab", 400, "'a?b' is not an event name")]
    [TestCase("GET", "/relay/deliveries/dlv_nope", 404, "There is no delivery dlv_nope")]
    [TestCase("POST", "/relay/deliveries/dlv_dashboard_unknown/replay", 415, "Nothing was replayed")]
    [TestCase("GET", "/relay/assets/nope.js", 404, "")]
    public async Task EveryInputErrorIsA4xxThatSaysWhy(string method, string path, int status, string phrase)
    {
        using var http = new HttpClient { BaseAddress = _relay.BaseUrl };
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("{\"confirm\":\"yes\"}", Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);

        Assert.That((int)response.StatusCode, Is.EqualTo(status));
        // As a browser shows it: the page encodes every value (an apostrophe is &#x27;).
        Assert.That(System.Net.WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()), Does.Contain(phrase));
        Assert.That(_relay.Errors, Does.Not.Contain("Exception"), "nothing was a 500");
    }

    [Test]
    public async Task APayloadsTextIsShownAsWrittenEmojiIncluded()
    {
        var store = _relay.Services.GetRequiredService<IDeliveryStore>();
        await store.AddAsync(new NewDelivery("dlv_emoji", "/hooks/other", "demo-agent", "sha256:emoji", Encoding.UTF8.GetBytes("{\"note\":\"shipped 🎉 — café\"}"), DateTimeOffset.UtcNow), default);
        using var http = new HttpClient { BaseAddress = _relay.BaseUrl };

        var page = await http.GetStringAsync("/relay/deliveries/dlv_emoji");

        // HTML-encoded (a browser shows the characters themselves), never JSON-escaped.
        Assert.That(System.Net.WebUtility.HtmlDecode(page), Does.Contain("shipped 🎉 — café"));
        Assert.That(page, Does.Not.Contain("\\uD83C").And.Not.Contain("\\u00E9"));
    }

    [Test]
    public async Task ViewingADeliveryLogsNoWarning()
    {
        using var http = new HttpClient { BaseAddress = _relay.BaseUrl };
        for (var i = 0; i < 3; i++)
        {
            using var detail = await http.GetAsync($"/relay/deliveries/{_unknownId}");
            Assert.That((int)detail.StatusCode, Is.EqualTo(200));
            Assert.That(detail.Headers.CacheControl!.NoStore, Is.True);
        }

        Assert.That(_relay.Errors, Is.Empty, "no antiforgery Cache-Control warning per page view");
    }

    [Test]
    public async Task TheListPagesByKeysetThroughItsOlderLink()
    {
        var store = _relay.Services.GetRequiredService<IDeliveryStore>();
        var at = DateTimeOffset.UtcNow.AddDays(-1);
        for (var i = 0; i < 120; i++)
        {
            await store.AddAsync(new NewDelivery($"dlv_page_{i:D3}", "/hooks/other", "demo-agent", $"sha256:page{i}", Encoding.UTF8.GetBytes("{\"i\":" + i + "}"), at.AddSeconds(i), Event: i % 2 == 0 ? "even" : "odd"), default);
        }

        using var http = new HttpClient { BaseAddress = _relay.BaseUrl };
        var pages = new List<List<string>>();
        string? next = "/relay/deliveries?route=%2Fhooks%2Fother&event=even";
        while (next is not null && pages.Count < 5)
        {
            var html = await http.GetStringAsync(next);
            pages.Add(Regex.Matches(html, "href=\"/relay/deliveries/(dlv_page_\\d+)\"").Select(m => m.Groups[1].Value).ToList());
            var older = Regex.Match(html, "<a href=\"([^\"]+)\">Older");
            next = older.Success ? System.Net.WebUtility.HtmlDecode(older.Groups[1].Value) : null;
        }

        Assert.That(pages.Select(p => p.Count), Is.EqualTo(new[] { 50, 10 }), "a full page, then the rest, and no Older link after it");
        Assert.That(pages[0].Take(2), Is.EqualTo(new[] { "dlv_page_118", "dlv_page_116" }), "newest first");
        Assert.That(pages.SelectMany(p => p).Distinct().Count(), Is.EqualTo(60), "no row twice across pages");
        Assert.That(pages[1][^1], Is.EqualTo("dlv_page_000"));
    }
}
