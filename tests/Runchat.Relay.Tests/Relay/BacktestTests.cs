using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Relay;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Tests.Cli;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// <c>relay test --against-store</c> on a store a running relay wrote (deliveries that ran, were ignored and were
/// replayed), through a new configuration that changes a route's <c>Events</c> and its <c>Message</c>: the counts per
/// route before and after, the deliveries that change and how, and nothing stored or sent.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class BacktestTests : PerStoreFixture
{
    public BacktestTests(string storeKind)
        : base(storeKind)
    {
    }

    private SandboxServer _sandbox = null!;
    private TestStore _store = null!;
    private TempDirectory _directory = null!;
    private string _crash = null!;
    private string _closed = null!;

    /// <summary>A relay with the old routes takes four deliveries (one ran, one ignored, one ran whole, one replayed), then stops.</summary>
    [SetUp]
    public async Task FillTheStoreAsync()
    {
        _sandbox = await SandboxServer.StartAsync();
        _store = NewStore();
        _directory = new TempDirectory();
        await using (var relay = await StartRelayAsync(_sandbox.BaseUrl, o =>
        {
            o.Routes.Add(new RelayRouteOptions { Path = "/hooks/issues", JobId = "triage-agent", Signature = "none", Events = { "issue.opened" }, Message = "Issue: {{ payload.title }}" });
            o.Routes.Add(new RelayRouteOptions { Path = "/hooks/pings", JobId = "ping-agent", Signature = "none" });
            o.Routes.Add(new RelayRouteOptions { Path = "/hooks/retired", JobId = "old-agent", Signature = "none" });
        }, store: _store))
        {
            var (_, crash) = await relay.PostAsync("/hooks/issues", "{\"type\":\"issue.opened\",\"title\":\"Crash on save\"}");
            var (_, closed) = await relay.PostAsync("/hooks/issues", "{\"type\":\"issue.closed\",\"title\":\"Old bug\"}");
            await relay.PostAsync("/hooks/pings", "{\"type\":\"ping\",\"n\":1}");
            await relay.PostAsync("/hooks/retired", "{\"type\":\"old\"}");
            _crash = crash.GetProperty("delivery_id").GetString()!;
            _closed = closed.GetProperty("delivery_id").GetString()!;
            await relay.SettledAsync(4, TimeSpan.FromSeconds(15));
            Assert.That(await relay.Relay.ReplayAsync(_crash), Is.Not.Null, "replayed");
            await Eventually.HoldsAsync(() => _sandbox.Requests.Count == 4, TimeSpan.FromSeconds(15), "the replay ran");
            await relay.SettledAsync(4, TimeSpan.FromSeconds(15));
        }
    }

    [TearDown]
    public async Task CleanAsync()
    {
        await _sandbox.DisposeAsync();
        await _store.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>The configuration an operator would deploy next: every issue event runs, with a new message; /hooks/retired is gone.</summary>
    private string NewConfiguration() => Configuration(
        "new.json",
        new { Path = "/hooks/issues", JobId = "triage-agent", Signature = "none", Events = new[] { "issue.*" }, Message = "New issue: {{ payload.title }}\nEvent: {{ event.name }}" },
        new { Path = "/hooks/pings", JobId = "ping-agent", Signature = "none" });

    /// <summary>A configuration file of this store and sandbox with <paramref name="routes"/>.</summary>
    private string Configuration(string name, params object[] routes)
    {
        var path = Path.Combine(_directory.Path, name);
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "sandbox-key-0123456789", BaseUrl = _sandbox.BaseUrl.ToString() },
            Relay = new { Store = _store.Setting, Routes = routes },
        }));
        return path;
    }

    private async Task<string> StoredStatesAsync()
    {
        var store = _store.Open();
        try
        {
            var all = await store.ListAsync(null, default);
            return string.Join("\n", all.OrderBy(d => d.Id).Select(d => $"{d.Id} {d.State} {d.Attempts} {d.UpdatedAt:O} {d.ReplayedAt:O} {d.Message}"));
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }

    [Test]
    public async Task ItCountsEachRouteBeforeAndAfterListsWhatChangesAndSendsNothing()
    {
        var states = await StoredStatesAsync();

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "test", "--config", NewConfiguration(), "--against-store", "--since", "1h");

        Assert.That(exitCode, Is.EqualTo(0), error);
        TestContext.Out.WriteLine(output);
        var lines = output.Split(Environment.NewLine);
        Assert.That(lines[0], Does.StartWith("Backtest of 4 deliveries received since ").And.EndWith("Nothing was stored or sent."));
        Assert.That(lines.Single(l => l.StartsWith("/hooks/issues", StringComparison.Ordinal)), Does.Match(@"^/hooks/issues\s+2\s+1/1/0\s+2/0/0\s+2$"));
        Assert.That(lines.Single(l => l.StartsWith("/hooks/pings", StringComparison.Ordinal)), Does.Match(@"^/hooks/pings\s+1\s+1/0/0\s+1/0/0\s+0$"));
        Assert.That(lines.Single(l => l.StartsWith("/hooks/retired", StringComparison.Ordinal)), Does.Match(@"^/hooks/retired\s+1\s+1/0/0\s+0/0/0\s+1  \(no such route in the new configuration: 1\)$"));
        Assert.That(output, Does.Contain("3 deliveries change (--diff shows each message's change):"));
        Assert.That(lines.Single(l => l.Contains(_closed, StringComparison.Ordinal)), Does.EndWith("/hooks/issues  issue.closed: ignored -> ran"));
        Assert.That(lines.Single(l => l.Contains(_crash, StringComparison.Ordinal)), Does.EndWith("/hooks/issues  issue.opened: runs, with another message"), "the replayed delivery, once");
        Assert.That(_sandbox.Requests, Has.Count.EqualTo(4), "nothing sent: the sandbox saw only the relay's own four runs");
        Assert.That(await StoredStatesAsync(), Is.EqualTo(states), "nothing stored, claimed or changed");
    }

    [Test]
    public async Task ADeliveryTheNewRulesWouldIgnoreOrFailIsCountedSoWithTheReason()
    {
        var path = Configuration(
            "stricter.json",
            // Reads a member these payloads do not have: each render fails.
            new { Path = "/hooks/issues", JobId = "triage-agent", Signature = "none", Events = new[] { "issue.opened" }, Message = "{{ payload.issue.title }}" },
            new { Path = "/hooks/pings", JobId = "ping-agent", Signature = "none", Events = new[] { "pong" } });

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "test", "--config", path, "--against-store", "--since", "1h");

        Assert.That(exitCode, Is.EqualTo(0), error);
        TestContext.Out.WriteLine(output);
        var lines = output.Split(Environment.NewLine);
        Assert.That(lines.Single(l => l.StartsWith("/hooks/issues", StringComparison.Ordinal)), Does.Match(@"^/hooks/issues\s+2\s+1/1/0\s+0/1/1\s+1$"));
        Assert.That(lines.Single(l => l.StartsWith("/hooks/pings", StringComparison.Ordinal)), Does.Match(@"^/hooks/pings\s+1\s+1/0/0\s+0/1/0\s+1$"));
        Assert.That(lines.Single(l => l.Contains(_crash, StringComparison.Ordinal)), Does.EndWith("/hooks/issues  issue.opened: ran -> failed (The Message template could not be rendered: payload has no 'issue' (it has: type, title). Nothing was sent.)"));
        Assert.That(lines.Single(l => l.Contains("/hooks/pings  ping", StringComparison.Ordinal)), Does.EndWith("/hooks/pings  ping: ran -> ignored (The event 'ping' is not one this route runs (pong).)"));
        Assert.That(_sandbox.Requests, Has.Count.EqualTo(4), "nothing sent");
    }

    private static RelayDelivery Stored(RelayDeliveryState state, int attempts, string? message) => new()
    {
        Id = "dlv_1", Route = "/hooks/issues", DedupeKey = "sha256:x", State = state, Attempts = attempts, ReceivedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch,
        LastError = state is RelayDeliveryState.Ignored or RelayDeliveryState.Failed ? "why" : null, Message = message,
    };

    [TestCase(RelayDeliveryState.Ignored, 0, null, "ignored", null, false, "why")]
    [TestCase(RelayDeliveryState.Failed, 0, null, "fails", null, false, "why")]
    [TestCase(RelayDeliveryState.Failed, 2, "sent text", "runs", "sent text", true, null)]
    [TestCase(RelayDeliveryState.Unknown, 1, null, "runs", null, true, null)]
    [TestCase(RelayDeliveryState.Succeeded, 1, "sent text", "runs", "sent text", true, null)]
    [TestCase(RelayDeliveryState.Pending, 0, null, "runs", null, false, null)]
    [TestCase(RelayDeliveryState.Pending, 0, "rendered", "runs", "rendered", true, null)]
    public void WhatTheRelayDidIsReadFromTheStoredState(RelayDeliveryState state, int attempts, string? message, string decision, string? before, bool known, string? reason)
    {
        // A failure with no attempt was the relay's own decision (a When or a template); with attempts, the run happened.
        // A pending delivery whose text is not yet rendered has no known message to compare.
        Assert.That(RelayBacktest.Before(Stored(state, attempts, message)), Is.EqualTo(new BacktestOutcome(decision, before, known, reason)));
    }

    [TestCase("runs", "a", true, "runs", "b", true, true)]
    [TestCase("runs", "a", true, "runs", "a", true, false)]
    [TestCase("runs", null, false, "runs", "b", true, false)]
    [TestCase("runs", "a", true, "runs", null, false, false)]
    [TestCase("ignored", null, false, "ignored", null, false, false)]
    [TestCase("ignored", null, false, "runs", "b", true, true)]
    [TestCase("runs", "a", true, "no route", null, false, true)]
    public void AChangeIsAnotherDecisionOrAnotherKnownText(string before, string? beforeText, bool beforeKnown, string after, string? afterText, bool afterKnown, bool changes)
    {
        Assert.That(RelayBacktest.Changes(new BacktestOutcome(before, beforeText, beforeKnown, null), new BacktestOutcome(after, afterText, afterKnown, null)), Is.EqualTo(changes));
    }

    [Test]
    public async Task ATemplatesEventIdIsTheOneTheDeliveryWasStoredUnder()
    {
        var store = _store.Open();
        try
        {
            // A backfilled delivery is kept under its sender's id ("id:" and the id); a live one from a sender that names no
            // signed id is kept under its body's hash, and its event id is its label (GitHub's X-GitHub-Delivery).
            var now = DateTimeOffset.UtcNow;
            await store.AddAsync(new NewDelivery("dlv_01backfilled00000000000001", "/hooks/pings", "ping-agent", "id:evt_9", Encoding.UTF8.GetBytes("{\"type\":\"ping\",\"n\":9}"), now, Event: "ping") { State = RelayDeliveryState.Ignored, Reason = "kept" }, default);
            await store.AddAsync(new NewDelivery("dlv_01labelled0000000000000001", "/hooks/pings", "ping-agent", "sha256:" + new string('0', 64), Encoding.UTF8.GetBytes("{\"type\":\"ping\",\"n\":7}"), now, SenderId: "guid-7", Event: "ping") { State = RelayDeliveryState.Ignored, Reason = "kept" }, default);
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }

        // As if each had run with the old text: the backtest shows the new one beside it.
        _store.Execute($"UPDATE {(_store.Kind == TestStore.Postgres ? "runchat_relay_deliveries" : "deliveries")} SET state = 'succeeded', attempts = 1, message = 'old text' WHERE id IN ('dlv_01backfilled00000000000001', 'dlv_01labelled0000000000000001')");
        var path = Configuration("event-id.json", new { Path = "/hooks/pings", JobId = "ping-agent", Signature = "none", Message = "ping {{ payload.n }} as {{ event.id }}" });

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "test", "--config", path, "--against-store", "--route", "/hooks/pings", "--diff");

        Assert.That(exitCode, Is.EqualTo(0), error);
        TestContext.Out.WriteLine(output);
        Assert.That(output, Does.Contain("ping 9 as evt_9").And.Contain("ping 7 as guid-7"));
    }

    [Test]
    public async Task DiffShowsEachChangedMessageLineByLine()
    {
        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "test", "--config", NewConfiguration(), "--against-store", "--route", "/hooks/issues", "--diff");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("Backtest of 2 deliveries received since").And.Contain(" on /hooks/issues,"));
        var n = Environment.NewLine;
        Assert.That(output, Does.Contain($"issue.opened: runs, with another message{n}      - Issue: Crash on save{n}      + New issue: Crash on save{n}      + Event: issue.opened{n}"));
        Assert.That(output, Does.Contain($"issue.closed: ignored -> ran{n}  "), "an ignored delivery had no message to compare: no diff");
        Assert.That(output, Does.Not.Contain("/hooks/pings"));
    }

    [Test]
    public async Task ThePeriodLeavesOutOlderDeliveries()
    {
        var store = _store.Open();
        await store.AddAsync(new NewDelivery("dlv_old_1", "/hooks/issues", "triage-agent", "sha256:old", "{\"type\":\"issue.closed\",\"title\":\"Older\"}"u8.ToArray(), DateTimeOffset.UtcNow.AddDays(-2), Event: "issue.closed") { State = RelayDeliveryState.Ignored, Reason = "not issue.opened" }, default);
        (store as IDisposable)?.Dispose();

        var week = await InProcessCli.RunAsync("relay", "test", "--config", NewConfiguration(), "--against-store", "--since", "7d");
        var hour = await InProcessCli.RunAsync("relay", "test", "--config", NewConfiguration(), "--against-store", "--since", "1h");

        Assert.That(week.Out, Does.StartWith("Backtest of 5 deliveries").And.Contain("dlv_old_1"));
        Assert.That(hour.Out, Does.StartWith("Backtest of 4 deliveries").And.Not.Contain("dlv_old_1"));
    }

    [Test]
    public async Task ItReadsEveryPageOfALongPeriodOnce()
    {
        // 1,203 more deliveries, ignored by the old route: with the four above, three pages of 500 and a part.
        var store = _store.Open();
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        for (var i = 0; i < 1203; i++)
        {
            await store.AddAsync(new NewDelivery($"dlv_page_{i:D5}", "/hooks/issues", "triage-agent", $"sha256:{i}", Encoding.UTF8.GetBytes($"{{\"type\":\"issue.labeled\",\"title\":\"n{i}\"}}"), start.AddMilliseconds(i), Event: "issue.labeled")
            {
                State = RelayDeliveryState.Ignored,
                Reason = "not issue.opened",
            }, default);
        }

        (store as IDisposable)?.Dispose();

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "test", "--config", NewConfiguration(), "--against-store", "--route", "/hooks/issues", "--since", "1h");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.StartWith("Backtest of 1,205 deliveries"));
        Assert.That(output.Split(Environment.NewLine).Single(l => l.StartsWith("/hooks/issues", StringComparison.Ordinal)), Does.Match(@"^/hooks/issues\s+1205\s+1/1204/0\s+1205/0/0\s+1205$"), "each delivery once, across the pages");
        Assert.That(output, Does.Contain("… and 1,005 more (narrow with --route or --since)."));
    }

    [TestCase("--payload", "{}", "--against-store reads the stored deliveries: it takes no --payload or --event.")]
    [TestCase("--since", "1h", "--since and --diff go with --against-store.")]
    public async Task AnAgainstStoreOptionMixedWithAPayloadIsAUsageError(string option, string value, string message)
    {
        var args = option == "--payload"
            ? new[] { "relay", "test", "--config", NewConfiguration(), "--against-store", option, value }
            : new[] { "relay", "test", "--config", NewConfiguration(), "--route", "/hooks/issues", "--payload", "{}", option, value };

        var (exitCode, _, error) = await InProcessCli.RunAsync(args);

        Assert.That(exitCode, Is.EqualTo(Runchat.Cli.ExitCodes.Usage));
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public async Task TheCommandDocsRelayMdShowsRunsAsWritten()
    {
        var page = File.ReadAllText(Repository.Path("docs", "relay.md")).Replace("\r\n", "\n");
        var chapter = page.Substring(page.IndexOf("#### Before you change a route", StringComparison.Ordinal));
        var shown = System.Text.RegularExpressions.Regex.Match(chapter, @"^runchat-job (relay test [^\n]*)$", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value;
        var args = System.Text.RegularExpressions.Regex.Replace(shown, @"\[([^\]]*)\]", "$1").Replace("/hooks/github", "/hooks/issues")
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a == "relay.next.json" ? NewConfiguration() : a).ToArray();

        var (exitCode, output, error) = await InProcessCli.RunAsync(args);

        Assert.That(shown, Does.Contain("--against-store"));
        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("issue.opened: runs, with another message"));
    }

    [Test]
    public void TheDiffMarksLinesOnlyBeforeOnlyAfterAndInBoth()
    {
        Assert.That(BacktestOutput.Diff("a\nb\nc", "a\nc\nd"), Is.EqualTo(new[] { "  a", "- b", "  c", "+ d" }));
        Assert.That(BacktestOutput.Diff("same", "same"), Is.EqualTo(new[] { "  same" }));
    }
}
