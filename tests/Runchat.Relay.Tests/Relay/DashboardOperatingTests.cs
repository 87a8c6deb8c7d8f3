using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.TestSupport;
using Runchat.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// The dashboard's operating pages in a real browser (Debian's chromium): routes and schedules paused and resumed, a
/// schedule run now, the ignored deliveries, a search, a bulk replay confirmed, the instances, and the outcome chart.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class DashboardOperatingTests : PerStoreFixture
{
    private SandboxServer _sandbox = null!;
    private TestStore _testStore = null!;
    private RelayHost _relay = null!;

    public DashboardOperatingTests(string storeKind)
        : base(storeKind)
    {
    }

    [SetUp]
    public async Task StartAsync()
    {
        _sandbox = await SandboxServer.StartAsync();
        _testStore = NewStore();
        var store = _testStore.Open();
        try
        {
            // Three failed deliveries an outage left, one of them long ago; written before the relay starts.
            var now = DateTimeOffset.UtcNow;
            foreach (var (id, age) in new[] { ("dlv_failed_1", 10), ("dlv_failed_2", 20), ("dlv_failed_old", 60 * 24 * 3) })
            {
                await store.AddAsync(new NewDelivery(id, "/hooks/forms", "lead-agent", "key:" + id, Encoding.UTF8.GetBytes($"{{\"type\":\"form.submitted\",\"id\":\"{id}\"}}"), now.AddMinutes(-age), Event: "form.submitted")
                {
                    State = RelayDeliveryState.Failed,
                    Reason = "HTTP 503 from Runchat (an outage)",
                }, default);
            }
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }

        _relay = await StartRelayAsync(_sandbox.BaseUrl, o =>
        {
            var forms = RelayHost.Route("/hooks/forms", "lead-agent");
            forms.Events = new List<string> { "form.submitted" };
            o.Routes.Add(forms);
            o.Routes.Add(RelayHost.Route("/hooks/alerts", "ops-agent"));
            o.Schedules.Add(new RelayScheduleOptions { Name = "weekday-digest", Cron = "0 9 * * 1-5", TimeZone = "Europe/Berlin", JobId = "digest-agent" });
        }, map: m => m.App.MapRunchatRelayDashboard(), store: _testStore);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _relay.DisposeAsync();
        await _sandbox.DisposeAsync();
        await _testStore.DisposeAsync();
    }

    private string Url(string path) => _relay.BaseUrl.ToString().TrimEnd('/') + "/relay" + path;

    private async Task<IPage> BrowserPageAsync(IPlaywright playwright, List<IAsyncDisposable> close)
    {
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = DashboardTests.ChromiumPath(), Headless = true, Args = new[] { "--no-sandbox" } });
        close.Add(browser);
        return await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 800 } });
    }

    private async Task ScreenshotAsync(IPage page, string name)
    {
        if (StoreKind == TestStore.Sqlite)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Repository.Path("docs", "images", name), FullPage = true });
        }
    }

    [Test]
    [ProcessTest] // a real browser
    public async Task AnOperatorPausesAndResumesARouteAndASchedulesRunsItNowAndReadsTheInstances()
    {
        using var playwright = await Playwright.CreateAsync();
        var close = new List<IAsyncDisposable>();
        try
        {
            var page = await BrowserPageAsync(playwright, close);

            // Routes: pause /hooks/alerts; a webhook then waits.
            await page.GotoAsync(Url("/routes"));
            await page.ClickAsync("tr[data-route='/hooks/alerts'] button");
            Assert.That(await page.TextContentAsync("p.notice"), Is.EqualTo("/hooks/alerts is paused: its deliveries are acknowledged and stored, and wait."));
            Assert.That(await page.TextContentAsync("tr[data-route='/hooks/alerts']"), Does.Contain("paused").And.Contain("since"));
            await ScreenshotAsync(page, "dashboard-routes.png");
            var (status, answer) = await _relay.PostAsync("/hooks/alerts", "{\"type\":\"disk.full\"}");
            Assert.That(status, Is.EqualTo(202));
            var waiting = answer.GetProperty("delivery_id").GetString()!;
            await Task.Delay(1500);
            Assert.That((await _relay.Relay.GetAsync(waiting))!.State, Is.EqualTo(RelayDeliveryState.Pending));
            Assert.That(_sandbox.Requests.Count(r => r.JobId == "ops-agent"), Is.Zero);
            await page.ClickAsync("tr[data-route='/hooks/alerts'] button");
            Assert.That(await page.TextContentAsync("p.notice"), Is.EqualTo("/hooks/alerts is resumed: what waited is sent, oldest first."));
            await Eventually.HoldsAsync(async () => (await _relay.Relay.GetAsync(waiting))!.State == RelayDeliveryState.Succeeded, TimeSpan.FromSeconds(15), "sent after the resume");
            Assert.That(_sandbox.Requests.Count(r => r.JobId == "ops-agent"), Is.EqualTo(1));

            // Schedules: the next fire times, pause, and Run now (confirmed), which runs it once.
            await page.GotoAsync(Url("/schedules"));
            var row = "tr[data-schedule='weekday-digest']";
            Assert.That(await page.TextContentAsync(row), Does.Contain("0 9 * * 1-5").And.Contain("Europe/Berlin").And.Contain("job digest-agent").And.Contain("no tick yet"));
            Assert.That(Regex.Matches((await page.TextContentAsync(row + " td:nth-child(4)"))!, @"\d{4}-\d\d-\d\d (07|08):00:00").Count, Is.EqualTo(3), "three next fire times, 09:00 Berlin in UTC");
            await page.ClickAsync(row + " form[action$='/pause'] button");
            Assert.That(await page.TextContentAsync("p.notice"), Is.EqualTo("weekday-digest is paused: its ticks are skipped (stored as ignored) until it is resumed."));
            Assert.That((await _relay.Relay.ListPausedAsync()).Single().Target, Is.EqualTo(RelayPauseTarget.Schedule("weekday-digest")));
            var before = page.Url;
            await page.ClickAsync(row + " form[action$='/run'] button");
            Assert.That(page.Url, Is.EqualTo(before), "the browser does not submit Run now unconfirmed");
            Assert.That(_sandbox.Requests.Count(r => r.JobId == "digest-agent"), Is.Zero);
            await page.CheckAsync(row + " form[action$='/run'] input[name=confirm]");
            await page.ClickAsync(row + " form[action$='/run'] button");
            var notice = (await page.TextContentAsync("p.notice"))!;
            Assert.That(notice, Does.Match(@"^weekday-digest runs now: delivery dlv_[0-9a-f]+\.$"));
            var manual = Regex.Match(notice, "dlv_[0-9a-f]+").Value;
            await Eventually.HoldsAsync(async () => (await _relay.Relay.GetAsync(manual))!.State == RelayDeliveryState.Succeeded, TimeSpan.FromSeconds(15), "the manual tick runs, paused or not");
            Assert.That((await _relay.Relay.GetAsync(manual))!.DedupeKey, Is.EqualTo("schedule:weekday-digest:manual:" + manual));
            Assert.That(_sandbox.Requests.Count(r => r.JobId == "digest-agent"), Is.EqualTo(1));
            await page.GotoAsync(Url("/schedules"));
            Assert.That(await page.TextContentAsync(row), Does.Contain("succeeded").And.Contain("paused"));
            await ScreenshotAsync(page, "dashboard-schedules.png");
            await page.ClickAsync(row + " form[action$='/resume'] button");
            Assert.That(await page.TextContentAsync("p.notice"), Is.EqualTo("weekday-digest is resumed: its next tick runs."));

            // Instances: this relay, alive.
            await Eventually.HoldsAsync(async () => (await _relay.Relay.ListInstancesAsync()).Count == 1, TimeSpan.FromSeconds(10), "the heartbeat");
            await page.GotoAsync(Url("/instances"));
            Assert.That(await page.TextContentAsync("tbody tr"), Does.Contain(Environment.MachineName).And.Contain(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)).And.Contain("alive"));
            await ScreenshotAsync(page, "dashboard-instances.png");
        }
        finally
        {
            foreach (var item in close)
            {
                await item.DisposeAsync();
            }
        }
    }

    [Test]
    [ProcessTest] // a real browser
    public async Task AnOperatorFindsIgnoredAndSearchedDeliveriesAndReplaysTheOutagesFailuresOnceAfterConfirming()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.That((await _relay.PostAsync("/hooks/forms", $"{{\"type\":\"form.spam\",\"n\":{i}}}")).Status, Is.EqualTo(200), "ignored: not an event the route takes");
        }

        var (_, found) = await _relay.PostAsync("/hooks/forms", "{\"type\":\"form.submitted\",\"email\":\"ada@example.com\"}");
        var ada = found.GetProperty("delivery_id").GetString()!;
        await Eventually.HoldsAsync(async () => (await _relay.Relay.GetAsync(ada))!.State == RelayDeliveryState.Succeeded, TimeSpan.FromSeconds(15), "the form runs");

        using var playwright = await Playwright.CreateAsync();
        var close = new List<IAsyncDisposable>();
        try
        {
            var page = await BrowserPageAsync(playwright, close);

            // Ignored: counted by route (the counters) and by event, and the latest listed with why.
            await page.GotoAsync(Url("/ignored"));
            var tables = page.Locator("table");
            Assert.That(await tables.Nth(0).TextContentAsync(), Does.Contain("/hooks/forms").And.Contain("3"));
            Assert.That(await tables.Nth(1).TextContentAsync(), Does.Contain("form.spam").And.Contain("3"));
            Assert.That(await tables.Nth(2).Locator("tbody tr").CountAsync(), Is.EqualTo(3));
            await ScreenshotAsync(page, "dashboard-ignored.png");

            // Search: a fragment of a payload, then an event name, within a period.
            await page.GotoAsync(Url("/deliveries"));
            await page.FillAsync("#q", "ada@example.com");
            await page.ClickAsync("form.filters button");
            Assert.That(await page.Locator("tbody tr").CountAsync(), Is.EqualTo(1));
            Assert.That(await page.TextContentAsync("tbody tr"), Does.Contain(ada));
            Assert.That(await page.TextContentAsync("p.searched"), Is.EqualTo("Searched 7 deliveries: 1 found."));
            await ScreenshotAsync(page, "dashboard-search.png");
            await page.FillAsync("#q", "form.spam");
            await page.SelectOptionAsync("#since", "1h");
            await page.ClickAsync("form.filters button");
            Assert.That(await page.Locator("tbody tr").CountAsync(), Is.EqualTo(3));

            // Bulk replay: the failed deliveries of the last 24 hours, listed, confirmed, replayed once each.
            await page.GotoAsync(Url("/deliveries?state=failed&since=24h"));
            await page.ClickAsync("a.button.danger");
            Assert.That(await page.TextContentAsync("h2"), Is.EqualTo("Replay failed deliveries, last 24 hours"));
            Assert.That(await page.Locator("tbody tr").CountAsync(), Is.EqualTo(2), "the old one is outside the period");
            await ScreenshotAsync(page, "dashboard-replay.png");
            await page.ClickAsync("form button.danger");
            Assert.That(page.Url, Does.Contain("/deliveries/replay?"), "not submitted unconfirmed");
            await page.CheckAsync("input[name=confirm]");
            await page.ClickAsync("form button.danger");
            Assert.That(await page.TextContentAsync("p.notice"), Does.StartWith("2 replayed, 0 kept"));
            await Eventually.HoldsAsync(async () => (await _relay.Relay.GetAsync("dlv_failed_1"))!.State == RelayDeliveryState.Succeeded && (await _relay.Relay.GetAsync("dlv_failed_2"))!.State == RelayDeliveryState.Succeeded,
                TimeSpan.FromSeconds(15), "the replays run");
            await _relay.IdleAsync();
            Assert.That(_sandbox.Requests.Count(r => r.JobId == "lead-agent"), Is.EqualTo(3), "the form, and each replay once");
            Assert.That((await _relay.Relay.GetAsync("dlv_failed_old"))!.State, Is.EqualTo(RelayDeliveryState.Failed));

            // The overview's chart: bars from the counters for what ran, failed and was ignored.
            await page.GotoAsync(Url("/"));
            Assert.That(await page.Locator("svg rect.o-succeeded").CountAsync(), Is.GreaterThan(0));
            Assert.That(await page.Locator("svg rect.o-ignored").CountAsync(), Is.GreaterThan(0));
            Assert.That(await page.TextContentAsync("figcaption"), Does.StartWith("Outcomes per 10 minutes over the last 24 hours"));
        }
        finally
        {
            foreach (var item in close)
            {
                await item.DisposeAsync();
            }
        }
    }

    [TestCase("/routes/pause", "route=%2Fhooks%2Falerts", "Nothing was changed.")]
    [TestCase("/schedules/weekday-digest/pause", "", "Nothing was changed.")]
    [TestCase("/schedules/weekday-digest/run", "confirm=yes", "Nothing was run.")]
    [TestCase("/deliveries/replay", "state=failed&confirm=yes", "Nothing was replayed.")]
    public async Task AChangeWithoutTheFormsTokenIsRefusedAndChangesNothing(string path, string body, string unchanged)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(Url(path), new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.That((int)response.StatusCode, Is.EqualTo(400));
        Assert.That(System.Net.WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()), Does.Contain("antiforgery token is missing or wrong. " + unchanged));
        Assert.That(await _relay.Relay.ListPausedAsync(), Is.Empty);
        Assert.That((await _relay.Relay.GetAsync("dlv_failed_1"))!.State, Is.EqualTo(RelayDeliveryState.Failed));
        await _relay.IdleAsync();
        Assert.That(_sandbox.Requests, Is.Empty);
    }

    [TestCase("/deliveries?since=2h", 400, "is not a period the search offers")]
    [TestCase("/deliveries/replay?state=succeeded", 400, "A bulk replay takes failed or unknown deliveries")]
    [TestCase("/deliveries/replay?state=failed&since=forever", 400, "is not a period the page offers")]
    [TestCase("/deliveries/replay?state=failed&route=%2Fhooks%00", 400, "'/hooks?' is not a route: a route's path has no control characters. Nothing was replayed.")]
    [TestCase("/deliveries/replay?state=unknown&event=a%1Fb", 400, "'a?b' is not an event name: an event name has no control characters. Nothing was replayed.")]
    public async Task AnInputTheOperatingPagesCannotTakeIsA4xxThatSaysWhy(string path, int status, string phrase)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(Url(path));
        Assert.That((int)response.StatusCode, Is.EqualTo(status));
        Assert.That(System.Net.WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()), Does.Contain(phrase));
        Assert.That(_relay.Errors, Does.Not.Contain("Exception"), "nothing was a 500");
    }
}
