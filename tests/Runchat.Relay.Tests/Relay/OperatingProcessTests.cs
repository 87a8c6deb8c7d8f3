using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.Cli;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// The operator's verbs (<c>pause</c>, <c>resume</c>, <c>replay --state</c>, <c>purge</c>, <c>forget</c>,
/// <c>instances</c>) against a store a real <c>relay serve</c> process is using, its health endpoints, and its
/// retention in real time; on PostgreSQL, a pause shared by two instances.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
[Platform(Exclude = "Win", Reason = "POSIX signals")]
[ProcessTest]
public class OperatingProcessTests : PerStoreFixture
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private readonly List<RelayProcess> _relays = new();
    private string _directory = null!;
    private TestStore? _store;
    private SandboxServer? _sandbox;

    public OperatingProcessTests(string storeKind)
        : base(storeKind)
    {
    }

    [SetUp]
    public async Task CreateAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "relay-operating-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _store = NewStore();
        _sandbox = await SandboxServer.StartAsync();
    }

    [TearDown]
    public async Task RemoveAsync()
    {
        foreach (var relay in _relays)
        {
            relay.Dispose();
        }

        if (_sandbox is not null)
        {
            await _sandbox.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private TestStore Store => _store!;

    private SandboxServer Sandbox => _sandbox!;

    /// <summary>A relay.json on this test's store and sandbox, with routes /hooks/a (agent-a) and /hooks/b (agent-b), and <paramref name="relay"/>'s other keys.</summary>
    private string Config(object? retention = null, object? schedules = null)
    {
        var path = Path.Combine(_directory, $"relay-{Guid.NewGuid():N}.json");
        var relay = new Dictionary<string, object?>
        {
            ["Store"] = Store.Setting,
            ["MaxRunsPerMinute"] = 1_000_000,
            ["Routes"] = new[] { new { Path = "/hooks/a", JobId = "agent-a", Signature = "none" }, new { Path = "/hooks/b", JobId = "agent-b", Signature = "none" } },
        };
        if (retention is not null)
        {
            relay["Retention"] = retention;
        }

        if (schedules is not null)
        {
            relay["Schedules"] = schedules;
        }

        File.WriteAllText(path, JsonSerializer.Serialize(new { Runchat = new { ApiKey = "sandbox-key", BaseUrl = Sandbox.BaseUrl.ToString() }, Relay = relay }));
        return path;
    }

    private async Task<RelayProcess> ServeAsync(string config, params string[] extra)
    {
        var relay = await RelayProcess.StartAsync(config, extra);
        _relays.Add(relay);
        return relay;
    }

    private static Task<(int ExitCode, string Out, string Error)> CliAsync(params string[] args) => InProcessCli.RunAsync(args);

    private static async Task<string> PostAsync(Uri relay, string path, string body)
    {
        using var response = await Http.PostAsync(new Uri(relay, path), new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(202), text);
        return JsonDocument.Parse(text).RootElement.GetProperty("delivery_id").GetString()!;
    }

    private async Task<RelayDelivery> StateAsync(string id) => (await StateOrNullAsync(id))!;

    private async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds = 20) =>
        await Eventually.HoldsAsync(condition, TimeSpan.FromSeconds(seconds), what + "; " + string.Join(Environment.NewLine, _relays.Select(r => r.Output)));

    [Test]
    public async Task ServeAnswersLivenessAndReadinessAndListsItselfAsAnInstanceUntilItStops()
    {
        var config = Config();
        var relay = await ServeAsync(config);

        using (var live = await Http.GetAsync(new Uri(relay.Url, "/healthz")))
        {
            Assert.That(((int)live.StatusCode, JsonDocument.Parse(await live.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString()), Is.EqualTo((200, "Healthy")));
        }

        await UntilAsync(async () =>
        {
            using var ready = await Http.GetAsync(new Uri(relay.Url, "/readyz"));
            return (int)ready.StatusCode == 200;
        }, "ready");
        using (var ready = await Http.GetAsync(new Uri(relay.Url, "/readyz")))
        {
            var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
            Assert.That(checks.EnumerateObject().Select(c => (c.Name, c.Value.GetProperty("status").GetString())), Is.EquivalentTo(new[]
            {
                ("runchat-relay-store", "Healthy"), ("runchat-relay-dispatcher", "Healthy"),
            }));
        }

        var listed = (ExitCode: -1, Out: string.Empty, Error: string.Empty);
        await UntilAsync(async () => (listed = await CliAsync("relay", "instances", "--config", config)).Out.Contains($" {relay.Id} ", StringComparison.Ordinal), "the instance's first heartbeat");
        var line = listed.Out.Split('\n').Single(l => l.Contains($" {relay.Id} ", StringComparison.Ordinal));
        Assert.That(line, Does.StartWith(Environment.MachineName).And.EndWith("alive").And.Contains("   0  "), listed.Out);
        Assert.That(listed.ExitCode, Is.EqualTo(0));

        await relay.StopWithAsync("TERM");
        var after = await CliAsync("relay", "instances", "--config", config);
        Assert.That(after.Out, Does.StartWith("No relay instance has recorded a heartbeat"), "a clean stop removes its heartbeat");
    }

    [Test]
    public async Task PauseFromTheCommandLineHoldsARunningRelaysRouteAndResumeSendsWhatWaitedOnce()
    {
        var config = Config();
        var relay = await ServeAsync(config);
        var paused = await CliAsync("relay", "pause", "--config", config, "--route", "/hooks/a");
        Assert.That((paused.ExitCode, paused.Out.Trim()), Is.EqualTo((0, "route /hooks/a is paused: its deliveries are acknowledged and stored, and wait until it is resumed.")), paused.Error);

        var waiting = new[] { await PostAsync(relay.Url, "/hooks/a", "{\"n\":1}"), await PostAsync(relay.Url, "/hooks/a", "{\"n\":2}") };
        var other = await PostAsync(relay.Url, "/hooks/b", "{\"n\":3}");
        await UntilAsync(async () => (await StateAsync(other)).State == RelayDeliveryState.Succeeded, "route b runs while a is paused");
        Assert.That(Sandbox.Requests.Select(r => r.JobId), Is.EqualTo(new[] { "agent-b" }));
        foreach (var id in waiting)
        {
            Assert.That((await StateAsync(id)).State, Is.EqualTo(RelayDeliveryState.Pending));
        }

        var list = await CliAsync("relay", "list", "--config", config, "--state", "pending");
        Assert.That(list.Out, Does.Contain(waiting[0]).And.Contain(waiting[1]).And.Match(@"\(paused: route /hooks/a since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"), "the table says why they wait");
        var again = await CliAsync("relay", "pause", "--config", config, "--route", "/hooks/a");
        Assert.That(again.Out.Trim(), Is.EqualTo("route /hooks/a was paused already."));
        var typo = await CliAsync("relay", "pause", "--config", config, "--route", "/hooks/c");
        Assert.That((typo.ExitCode, typo.Error.Trim()), Is.EqualTo((2, "error: No route is mapped at /hooks/c (Relay:Routes).")));
        var neither = await CliAsync("relay", "resume", "--config", config);
        Assert.That((neither.ExitCode, neither.Error.Trim()), Is.EqualTo((2, "error: name one: --route PATH or --schedule NAME.")));

        var resumed = await CliAsync("relay", "resume", "--config", config, "--route", "/hooks/a");
        Assert.That((resumed.ExitCode, resumed.Out.Trim()), Is.EqualTo((0, "route /hooks/a is resumed: what waited is sent, oldest first, within the relay's limits.")));
        await UntilAsync(async () => (await StateAsync(waiting[0])).State == RelayDeliveryState.Succeeded && (await StateAsync(waiting[1])).State == RelayDeliveryState.Succeeded,
            "what waited is sent after the resume (another process: at the dispatcher's next poll at the latest)");
        Assert.That(Sandbox.Requests.Count(r => r.JobId == "agent-a"), Is.EqualTo(2));
        Assert.That((await CliAsync("relay", "list", "--config", config)).Out, Does.Not.Contain("(paused:"));
    }

    [Test]
    public async Task ABulkReplayListsFirstThenWithYesReplaysAndTheRunningRelaySendsEachOnce()
    {
        var seeded = Store.Open();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 5; i++)
        {
            await seeded.AddAsync(new NewDelivery($"dlv_failed_{i}", "/hooks/a", "agent-a", $"key:{i}", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"), now.AddMinutes(-i), Event: "thing.happened") { State = RelayDeliveryState.Failed, Reason = "HTTP 500 from the agent" }, default);
        }

        await seeded.AddAsync(new NewDelivery("dlv_failed_old", "/hooks/a", "agent-a", "key:old", "{}"u8.ToArray(), now.AddHours(-3)) { State = RelayDeliveryState.Failed, Reason = "old" }, default);
        await seeded.AddAsync(new NewDelivery("dlv_failed_b", "/hooks/b", "agent-b", "key:b", "{}"u8.ToArray(), now) { State = RelayDeliveryState.Failed, Reason = "b" }, default);
        (seeded as IDisposable)?.Dispose();
        var config = Config();
        var relay = await ServeAsync(config);

        var listed = await CliAsync("relay", "replay", "--config", config, "--state", "failed", "--route", "/hooks/a", "--since", "1h");
        Assert.That(listed.ExitCode, Is.EqualTo(2));
        Assert.That(listed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split("  ")[1]), Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"dlv_failed_{i}")), listed.Out);
        Assert.That(listed.Error.Trim(), Is.EqualTo("error: nothing was replayed: 5 deliveries match; add --yes to replay them (each can run the agent again)."));
        Assert.That((await StateAsync("dlv_failed_0")).State, Is.EqualTo(RelayDeliveryState.Failed));

        var mixed = await CliAsync("relay", "replay", "--config", config, "dlv_failed_0", "--yes");
        Assert.That((mixed.ExitCode, mixed.Error.Trim()), Is.EqualTo((2, "error: --route, --event, --since and --yes go with --state (a bulk replay); a delivery id is replayed alone.")));

        var replayed = await CliAsync("relay", "replay", "--config", config, "--state", "failed", "--route", "/hooks/a", "--since", "1h", "--yes");
        Assert.That(replayed.ExitCode, Is.EqualTo(0), replayed.Error);
        Assert.That(replayed.Out, Does.Contain("replayed  dlv_failed_4").And.EndWith("5 replayed, 0 not (changed since they were read); a running relay sends them at its own pace (MaxConcurrentRuns, MaxRunsPerMinute)." + Environment.NewLine));
        await UntilAsync(() => AllSucceededAsync(Enumerable.Range(0, 5).Select(i => $"dlv_failed_{i}")), "the replays run");
        Assert.That(Sandbox.Requests.Count(r => r.JobId == "agent-a"), Is.EqualTo(5), "each once");
        Assert.That((await StateAsync("dlv_failed_old")).State, Is.EqualTo(RelayDeliveryState.Failed), "older than --since");
        Assert.That((await StateAsync("dlv_failed_b")).State, Is.EqualTo(RelayDeliveryState.Failed), "another route");

        var none = await CliAsync("relay", "replay", "--config", config, "--state", "unknown", "--yes");
        Assert.That((none.ExitCode, none.Out.Trim()), Is.EqualTo((0, "0 replayed, 0 not (changed since they were read); a running relay sends them at its own pace (MaxConcurrentRuns, MaxRunsPerMinute).")));
        GC.KeepAlive(relay);
    }

    [Test]
    public async Task PurgeAndForgetDeleteWhatARunningRelayFinishedInRealTime()
    {
        var config = Config();
        var relay = await ServeAsync(config);
        var ran = new[] { await PostAsync(relay.Url, "/hooks/a", "{\"n\":1}"), await PostAsync(relay.Url, "/hooks/a", "{\"n\":2}") };
        await UntilAsync(async () => (await StateAsync(ran[0])).State == RelayDeliveryState.Succeeded && (await StateAsync(ran[1])).State == RelayDeliveryState.Succeeded, "the runs end");
        await Task.Delay(1100);

        var dry = await CliAsync("relay", "purge", "--config", config, "--older-than", "1s", "--dry-run");
        Assert.That((dry.ExitCode, dry.Out.Trim()), Is.EqualTo((0, "Would delete 2 deliveries older than 00:00:01 (2 succeeded, 0 failed, 0 unknown, 0 ignored); nothing was deleted (--dry-run).")), dry.Error);
        var fresh = await PostAsync(relay.Url, "/hooks/b", "{\"n\":3}");
        var purged = await CliAsync("relay", "purge", "--config", config, "--older-than", "1s", "--state", "succeeded");
        Assert.That((purged.ExitCode, purged.Out.Trim()), Is.EqualTo((0, "Deleted 2 deliveries older than 00:00:01 (2 succeeded).")));
        Assert.That(await StateOrNullAsync(ran[0]), Is.Null);
        Assert.That(await StateOrNullAsync(fresh), Is.Not.Null, "younger than a second");
        var pending = await CliAsync("relay", "purge", "--config", config, "--older-than", "30d", "--state", "pending");
        Assert.That(pending.ExitCode, Is.EqualTo(2), "pending is never purged: the option refuses it");
        var badPeriod = await CliAsync("relay", "purge", "--config", config, "--older-than", "soon");
        Assert.That((badPeriod.ExitCode, badPeriod.Error.Trim()), Is.EqualTo((2, "error: --older-than takes a period such as 45s, 30m, 12h or 30d; got 'soon'.")));

        var seeded = Store.Open();
        await seeded.AddAsync(new NewDelivery("dlv_of_ada_1", "/hooks/a", "agent-a", "key:ada1", "{\"email\":\"ada@example.com\"}"u8.ToArray(), DateTimeOffset.UtcNow, SenderId: "ada-7") { State = RelayDeliveryState.Ignored, Reason = "x" }, default);
        await seeded.AddAsync(new NewDelivery("dlv_of_ada_2", "/hooks/b", "agent-b", "key:ada2", "{\"email\":\"ada@example.com\"}"u8.ToArray(), DateTimeOffset.UtcNow, SenderId: "ada-7") { State = RelayDeliveryState.Failed, Reason = "x" }, default);
        (seeded as IDisposable)?.Dispose();
        var forgot = await CliAsync("relay", "forget", "--config", config, "--sender", "ada-7");
        Assert.That((forgot.ExitCode, forgot.Out.Trim()), Is.EqualTo((0, "Deleted 2 deliveries of sender ada-7.")), forgot.Error);
        Assert.That(await StateOrNullAsync("dlv_of_ada_1"), Is.Null);
        Assert.That(await StateOrNullAsync("dlv_of_ada_2"), Is.Null);
    }

    [Test]
    public async Task RetentionDeletesDeliveriesPastTheirPeriodWhenTheRelayStarts()
    {
        var seeded = Store.Open();
        await seeded.AddAsync(new NewDelivery("dlv_ignored_2d", "/hooks/a", "agent-a", "key:1", "{}"u8.ToArray(), DateTimeOffset.UtcNow.AddDays(-2)) { State = RelayDeliveryState.Ignored, Reason = "x" }, default);
        await seeded.AddAsync(new NewDelivery("dlv_ignored_1h", "/hooks/a", "agent-a", "key:2", "{}"u8.ToArray(), DateTimeOffset.UtcNow.AddHours(-1)) { State = RelayDeliveryState.Ignored, Reason = "x" }, default);
        (seeded as IDisposable)?.Dispose();

        await ServeAsync(Config(retention: new { Ignored = "06:00:00" }));

        await UntilAsync(async () => await StateOrNullAsync("dlv_ignored_2d") is null, "retention at start");
        Assert.That(await StateOrNullAsync("dlv_ignored_1h"), Is.Not.Null);
    }

    [Test]
    public async Task APauseIsSharedByTwoInstancesAndAResumeSendsEachWaitingDeliveryOnceBetweenThem()
    {
        if (StoreKind != TestStore.Postgres)
        {
            Assert.Ignore("Several instances share a PostgreSQL store only.");
        }

        var config = Config();
        var first = await ServeAsync(config);
        var second = await ServeAsync(config);
        var paused = await CliAsync("relay", "pause", "--config", config, "--route", "/hooks/a");
        Assert.That(paused.ExitCode, Is.EqualTo(0), paused.Error);

        var waiting = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            waiting.Add(await PostAsync((i % 2 == 0 ? first : second).Url, "/hooks/a", $"{{\"n\":{i}}}"));
        }

        var marker = await PostAsync(second.Url, "/hooks/b", "{\"n\":99}");
        await UntilAsync(async () => (await StateAsync(marker)).State == RelayDeliveryState.Succeeded, "route b runs");
        Assert.That(Sandbox.Requests.Count(r => r.JobId == "agent-a"), Is.Zero, "neither instance sends the paused route");

        var resumed = await CliAsync("relay", "resume", "--config", config, "--route", "/hooks/a");
        Assert.That(resumed.ExitCode, Is.EqualTo(0), resumed.Error);
        await UntilAsync(() => AllSucceededAsync(waiting), "all ten run after the resume");
        Assert.That(Sandbox.Requests.Count(r => r.JobId == "agent-a"), Is.EqualTo(10), "each once, between the two instances");
    }

    [Test]
    public async Task APausedSchedulesTicksAreSkippedByTheRunningRelayAndShownAndItsNextTickAfterResumeRuns()
    {
        var config = Config(schedules: new[] { new { Name = "every-2s", Cron = "*/2 * * * * *", JobId = "digest-agent" } });
        await ServeAsync(config);
        await UntilAsync(async () => (await TicksAsync()).Any(t => t.State == RelayDeliveryState.Succeeded), "a tick runs", 30);

        var paused = await CliAsync("relay", "pause", "--config", config, "--schedule", "every-2s");
        Assert.That((paused.ExitCode, paused.Out.Trim()), Is.EqualTo((0, "schedule every-2s is paused: its ticks are skipped until it is resumed.")), paused.Error);
        await UntilAsync(async () => (await TicksAsync()).Count(t => t.State == RelayDeliveryState.Ignored) >= 2, "two ticks skipped", 30);
        var ran = Sandbox.Requests.Count(r => r.JobId == "digest-agent");
        var ticks = await TicksAsync();
        Assert.That(ticks.TakeWhile(t => t.State == RelayDeliveryState.Ignored).Count(), Is.GreaterThanOrEqualTo(2), "the newest ticks are the skipped ones");
        Assert.That(ticks.Where(t => t.State == RelayDeliveryState.Ignored).Select(t => t.LastError).Distinct(), Is.EqualTo(new[] { "Skipped: the schedule is paused (runchat-job relay resume --schedule every-2s)." }));
        var listed = await CliAsync("relay", "schedules", "--config", config);
        Assert.That(listed.Out, Does.Match(@"every-2s  \*/2 \* \* \* \* \*  UTC  -> job digest-agent  PAUSED since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(its ticks are skipped\)"), listed.Out + listed.Error);

        var resumed = await CliAsync("relay", "resume", "--config", config, "--schedule", "every-2s");
        Assert.That((resumed.ExitCode, resumed.Out.Trim()), Is.EqualTo((0, "schedule every-2s is resumed: its next tick runs.")));
        await UntilAsync(async () => (await TicksAsync()).First().State == RelayDeliveryState.Succeeded, "the next tick runs", 30);
        Assert.That(Sandbox.Requests.Count(r => r.JobId == "digest-agent"), Is.GreaterThan(ran));
        Assert.That((await CliAsync("relay", "schedules", "--config", config)).Out, Does.Not.Contain("PAUSED"));
    }

    [Test]
    public async Task RunNowAndPauseOnOneInstancesDashboardHoldForBoth()
    {
        if (StoreKind != TestStore.Postgres)
        {
            Assert.Ignore("Several instances share a PostgreSQL store only.");
        }

        var config = Config(schedules: new[] { new { Name = "nightly", Cron = "0 3 * * *", JobId = "digest-agent" } });
        var first = await ServeAsync(config, "--dashboard");
        var second = await ServeAsync(config, "--dashboard");

        // Run now, on the first instance's dashboard: one tick, run once between the two.
        var notice = await PostFormAsync(first.Url, "/relay/schedules", "form[action$='/nightly/run']", "confirm=yes");
        var id = System.Text.RegularExpressions.Regex.Match(notice, "dlv_[0-9a-f]+").Value;
        Assert.That(notice, Is.EqualTo($"nightly runs now: delivery {id}."));
        await UntilAsync(async () => (await StateAsync(id)).State == RelayDeliveryState.Succeeded, "the manual tick runs");
        await Task.Delay(1000);
        Assert.That(Sandbox.Requests.Count(r => r.JobId == "digest-agent"), Is.EqualTo(1), "run once between the two instances");

        // Pause /hooks/a on the second instance's dashboard: the first holds a delivery posted to it.
        Assert.That(await PostFormAsync(second.Url, "/relay/routes", "tr[data-route='/hooks/a'] form", null), Is.EqualTo("/hooks/a is paused: its deliveries are acknowledged and stored, and wait."));
        var waiting = await PostAsync(first.Url, "/hooks/a", "{\"n\":1}");
        var marker = await PostAsync(first.Url, "/hooks/b", "{\"n\":2}");
        await UntilAsync(async () => (await StateAsync(marker)).State == RelayDeliveryState.Succeeded, "route b runs on the first instance");
        Assert.That((await StateAsync(waiting)).State, Is.EqualTo(RelayDeliveryState.Pending));
        Assert.That(await PostFormAsync(first.Url, "/relay/routes", "tr[data-route='/hooks/a'] form", null), Is.EqualTo("/hooks/a is resumed: what waited is sent, oldest first."));
        await UntilAsync(async () => (await StateAsync(waiting)).State == RelayDeliveryState.Succeeded, "sent after the resume");
        Assert.That(Sandbox.Requests.Count(r => r.JobId == "agent-a"), Is.EqualTo(1));
    }

    /// <summary>
    /// Submits one of a dashboard page's forms as a browser would: reads the page (its antiforgery cookie and token), posts
    /// the form's fields (and <paramref name="extra"/>), follows the redirect, and returns the notice it shows.
    /// </summary>
    private static async Task<string> PostFormAsync(Uri relay, string page, string form, string? extra)
    {
        using var handler = new HttpClientHandler { CookieContainer = new System.Net.CookieContainer(), AllowAutoRedirect = true };
        using var client = new HttpClient(handler) { BaseAddress = relay };
        var html = await client.GetStringAsync(page);
        var action = FormOf(html, form);
        var fields = System.Text.RegularExpressions.Regex.Matches(action.Body, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")
            .Select(m => new KeyValuePair<string, string>(m.Groups[1].Value, System.Net.WebUtility.HtmlDecode(m.Groups[2].Value))).ToList();
        if (extra is not null)
        {
            fields.AddRange(extra.Split('&').Select(pair => new KeyValuePair<string, string>(pair.Split('=')[0], pair.Split('=')[1])));
        }

        using var response = await client.PostAsync(System.Net.WebUtility.HtmlDecode(action.Action), new FormUrlEncodedContent(fields));
        var answer = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), answer);
        return System.Net.WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Match(answer, "<p class=\"notice\">(.*?)</p>").Groups[1].Value);
    }

    /// <summary>The form a selector names in a page's HTML, for the two selectors these tests use.</summary>
    private static (string Action, string Body) FormOf(string html, string selector)
    {
        var forms = System.Text.RegularExpressions.Regex.Matches(html, "<form method=\"post\" action=\"([^\"]+)\"[^>]*>(.*?)</form>", System.Text.RegularExpressions.RegexOptions.Singleline);
        if (selector.StartsWith("form[action$='", StringComparison.Ordinal))
        {
            var suffix = selector["form[action$='".Length..^2];
            var match = forms.Single(f => f.Groups[1].Value.EndsWith(suffix, StringComparison.Ordinal));
            return (match.Groups[1].Value, match.Groups[2].Value);
        }

        var route = System.Text.RegularExpressions.Regex.Match(selector, "data-route='([^']+)'").Groups[1].Value;
        var row = System.Text.RegularExpressions.Regex.Match(html, $"<tr data-route=\"{System.Text.RegularExpressions.Regex.Escape(route)}\">(.*?)</tr>", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;
        var inRow = System.Text.RegularExpressions.Regex.Match(row, "<form method=\"post\" action=\"([^\"]+)\"[^>]*>(.*?)</form>", System.Text.RegularExpressions.RegexOptions.Singleline);
        return (inRow.Groups[1].Value, inRow.Groups[2].Value);
    }

    /// <summary>The schedule's ticks, newest first.</summary>
    private async Task<RelayDelivery[]> TicksAsync()
    {
        var store = Store.Open();
        try
        {
            return (await store.ListAsync(null, default)).Where(d => d.Route == "schedule:every-2s").ToArray();
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }

    private async Task<bool> AllSucceededAsync(IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            if ((await StateAsync(id)).State != RelayDeliveryState.Succeeded)
            {
                return false;
            }
        }

        return true;
    }

    private async Task<RelayDelivery?> StateOrNullAsync(string id)
    {
        var store = Store.Open();
        try
        {
            return await store.GetAsync(id, default);
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }
}
