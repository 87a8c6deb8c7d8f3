using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli.Sandbox;
using Runchat.Relay;
using Runchat.Relay.Signatures;
using Runchat.Tests.Cli;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Runchat.Tests.Relay;

/// <summary>
/// <c>relay backfill</c> against fakes of GitHub's hook deliveries API and Stripe's events API (shapes from their docs):
/// what the relay received live is recognised (by GUID and event id, not by the body, which the APIs format otherwise) and
/// not stored again, a second backfill stores nothing, pages and rate limits are followed, bad credentials are a clear
/// error, and the deliveries stored run once each when the relay serves again.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class BackfillTests : PerStoreFixture
{
    public BackfillTests(string storeKind)
        : base(storeKind)
    {
    }

    private const string GitHubSecret = "a-github-webhook-secret-0123456789";
    private const string StripeSecret = "whsec_a-stripe-endpoint-secret-0123";
    private const string Deliveries = "/repos/octo/api/hooks/42/deliveries";

    private SandboxServer _sandbox = null!;
    private WireMockServer _api = null!;
    private TestStore _store = null!;
    private TempDirectory _directory = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _sandbox = await SandboxServer.StartAsync();
        _api = WireMockServer.Start();
        _store = NewStore();
        _directory = new TempDirectory();
    }

    [TearDown]
    public async Task StopAsync()
    {
        _api.Stop();
        await _sandbox.DisposeAsync();
        await _store.DisposeAsync();
        _directory.Dispose();
    }

    private RelayRouteOptions GitHubRoute() => new()
    {
        Path = "/hooks/github", JobId = "triage-agent", Signature = "github", Secret = GitHubSecret, Events = { "issues.*" },
        Message = "#{{ payload.issue.number }} {{ payload.issue.title }} ({{ event.name }})",
        GitHub = new RelayGitHubSourceOptions { Repository = "octo/api", HookId = 42, Token = "ghp_backfill_token", ApiUrl = new Uri(_api.Url! + "/") },
    };

    private RelayRouteOptions StripeRoute() => new()
    {
        Path = "/hooks/stripe", JobId = "billing-agent", Signature = "stripe", Secret = StripeSecret, Events = { "invoice.*" },
        Stripe = new RelayStripeSourceOptions { ApiKey = "rk_test_backfill", ApiUrl = new Uri(_api.Url! + "/") },
    };

    /// <summary>The CLI's configuration: this fixture's store and sandbox, and the route.</summary>
    private string Config(RelayRouteOptions route)
    {
        var path = Path.Combine(_directory.Path, "relay.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Runchat = new { ApiKey = "sandbox-key-0123456789", BaseUrl = _sandbox.BaseUrl.ToString() },
            Relay = new { Store = _store.Setting, Routes = new[] { route } },
        }, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
        return path;
    }

    private static string Issue(int number, string title, string action) =>
        $"{{\"action\":\"{action}\",\"issue\":{{\"number\":{number},\"title\":\"{title}\"}},\"repository\":{{\"full_name\":\"octo/api\"}}}}";

    /// <summary>GitHub's list entry for one attempt of a delivery.</summary>
    private static string Listed(long id, string guid, DateTimeOffset at, string action, bool redelivery = false) =>
        $"{{\"id\":{id},\"guid\":\"{guid}\",\"delivered_at\":\"{at:yyyy-MM-ddTHH:mm:ssZ}\",\"redelivery\":{(redelivery ? "true" : "false")},\"duration\":0.27,\"status\":\"failed to connect\",\"status_code\":502,\"event\":\"issues\",\"action\":\"{action}\",\"installation_id\":null,\"repository_id\":1296269}}";

    /// <summary>GitHub's one delivery, with the request as it was sent: its payload pretty-printed, as the API returns it.</summary>
    private void Detail(long id, string guid, DateTimeOffset at, string payload)
    {
        var pretty = JsonSerializer.Serialize(JsonDocument.Parse(payload).RootElement, new JsonSerializerOptions { WriteIndented = true });
        var body = $"{{\"id\":{id},\"guid\":\"{guid}\",\"delivered_at\":\"{at:yyyy-MM-ddTHH:mm:ssZ}\",\"redelivery\":false,\"duration\":0.27,\"status\":\"failed to connect\",\"status_code\":502,\"event\":\"issues\",\"action\":\"opened\",\"installation_id\":null,\"repository_id\":1296269,\"url\":\"https://relay.example.com/hooks/github\"," +
                   $"\"request\":{{\"headers\":{{\"Accept\":\"*/*\",\"X-GitHub-Delivery\":\"{guid}\",\"X-GitHub-Event\":\"issues\",\"X-GitHub-Hook-ID\":\"42\",\"X-Hub-Signature-256\":\"sha256=00\"}},\"payload\":{pretty}}}," +
                   "\"response\":{\"headers\":{},\"payload\":null}}";
        _api.Given(Request.Create().WithPath($"{Deliveries}/{id}").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(body));
    }

    private async Task<IReadOnlyList<RelayDelivery>> StoredAsync()
    {
        var store = _store.Open();
        try
        {
            return await store.ListAsync(null, default);
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }

    private int Requests(string path) => _api.LogEntries.Count(e => e.RequestMessage!.Path == path);

    /// <summary>A live delivery, received and run by a relay that then stops: what the backfill must recognise.</summary>
    private async Task ReceiveLiveAsync(RelayRouteOptions route, string body, params (string, string)[] headers)
    {
        await using var relay = await StartRelayAsync(_sandbox.BaseUrl, o => o.Routes.Add(route), store: _store);
        var (status, answer) = await relay.PostAsync(route.Path!, body, headers);
        Assert.That(status, Is.EqualTo(202), answer.ToString());
        await relay.SettledAsync(1, TimeSpan.FromSeconds(15));
    }

    /// <summary>GitHub's deliveries over two pages: two missed (one also redelivered), one received live, one older than the period.</summary>
    private DateTimeOffset GitHubHistory()
    {
        var now = DateTimeOffset.UtcNow;
        _api.Given(Request.Create().WithPath(Deliveries).WithParam("per_page", "100").UsingGet()).AtPriority(2)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithHeader("Link", $"<{_api.Url}{Deliveries}?per_page=100&cursor=v1_page2>; rel=\"next\"")
                .WithBody($"[{Listed(903, "guid-missed-2", now.AddMinutes(-5), "closed")},{Listed(902, "guid-live", now.AddMinutes(-30), "opened")}]"));
        _api.Given(Request.Create().WithPath(Deliveries).WithParam("cursor", "v1_page2").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody($"[{Listed(901, "guid-missed-1", now.AddHours(-2), "opened", redelivery: true)},{Listed(900, "guid-missed-1", now.AddHours(-2).AddSeconds(-30), "opened")},{Listed(800, "guid-too-old", now.AddHours(-30), "opened")}]"));
        Detail(901, "guid-missed-1", now.AddHours(-2), Issue(1, "Crash on save", "opened"));
        Detail(903, "guid-missed-2", now.AddMinutes(-5), Issue(2, "Typo", "closed"));
        Detail(902, "guid-live", now.AddMinutes(-30), Issue(7, "Received live", "opened"));
        return now;
    }

    [Test]
    public async Task AGitHubBackfillStoresWhatTheRelayMissedOnceEachAndRunsThemOnce()
    {
        var live = Issue(7, "Received live", "opened");
        await ReceiveLiveAsync(GitHubRoute(), live, WebhookSignature.GitHub(GitHubSecret).Sign(Encoding.UTF8.GetBytes(live), DateTimeOffset.UtcNow, "guid-live").Select(h => (h.Key, h.Value)).Append(("X-GitHub-Event", "issues")).ToArray());
        GitHubHistory();
        var config = Config(GitHubRoute());

        var first = await InProcessCli.RunAsync("relay", "backfill", "--config", config, "--route", "/hooks/github", "--since", "24h");
        var second = await InProcessCli.RunAsync("relay", "backfill", "--config", config, "--route", "/hooks/github", "--since", "24h");

        Assert.That(first.ExitCode, Is.EqualTo(0), first.Error);
        TestContext.Out.WriteLine(first.Out);
        Assert.That(first.Out, Does.StartWith("Backfill of /hooks/github from octo/api webhook 42 at "));
        Assert.That(first.Out, Does.Contain("issues.opened  guid-missed-1  stored, runs (dlv_").And.Contain("issues.closed  guid-missed-2  stored, runs (dlv_"));
        Assert.That(first.Out, Does.Contain("issues.opened  guid-live  skipped: the relay has it (dlv_"));
        Assert.That(first.Out, Does.Contain("Stored 2, skipped 1, of 3 the sender lists since then.").And.Not.Contain("guid-too-old"));
        Assert.That(second.Out, Does.Contain("Stored 0, skipped 3, of 3"), "a second backfill stores nothing");
        Assert.That(Requests($"{Deliveries}/902"), Is.Zero, "the delivery received live was matched by its GUID, its payload never fetched");
        Assert.That((Requests($"{Deliveries}/901"), Requests($"{Deliveries}/900"), Requests($"{Deliveries}/903")), Is.EqualTo((1, 0, 1)), "one fetch per GUID, the latest attempt, and none the second time");
        var request = _api.LogEntries.First().RequestMessage!;
        Assert.That(request.Headers!["Authorization"].Single(), Is.EqualTo("Bearer ghp_backfill_token"));
        Assert.That(request.Headers!["X-GitHub-Api-Version"].Single(), Is.EqualTo("2022-11-28"));
        Assert.That(_api.LogEntries.Select(e => (e.RequestMessage!.Headers!["Accept"].Single(), e.RequestMessage.Headers["User-Agent"].Single())).Distinct(),
            Is.EqualTo(new[] { ("application/vnd.github+json", "Runchat.Relay") }), "GitHub refuses a request without a User-Agent");

        await using (var relay = await StartRelayAsync(_sandbox.BaseUrl, o => o.Routes.Add(GitHubRoute()), store: _store))
        {
            var settled = await relay.SettledAsync(3, TimeSpan.FromSeconds(15));
            var backfilled = settled.Where(d => d.Source == "backfill:github").OrderBy(d => d.SenderId).ToList();
            Assert.That(backfilled.Select(d => (d.SenderId, d.DedupeKey, d.Event, d.State)), Is.EqualTo(new[]
            {
                ("guid-missed-1", "id:guid-missed-1", "issues.opened", RelayDeliveryState.Succeeded),
                ("guid-missed-2", "id:guid-missed-2", "issues.closed", RelayDeliveryState.Succeeded),
            }));
            Assert.That(backfilled.Select(d => d.Message), Is.EqualTo(new[] { "#1 Crash on save (issues.opened)", "#2 Typo (issues.closed)" }));
            Assert.That(settled.Single(d => d.Source is null).SenderId, Is.EqualTo("guid-live"));
        }

        Assert.That(_sandbox.Requests, Has.Count.EqualTo(3), "the live one once, and each backfilled one once");
        var id = System.Text.RegularExpressions.Regex.Match(first.Out, @"guid-missed-1  stored, runs \((dlv_\w+)\)").Groups[1].Value;
        var shown = await InProcessCli.RunAsync("relay", "show", "--config", config, id);
        var json = await InProcessCli.RunAsync("relay", "show", "--config", config, id, "--json");
        Assert.That(shown.Out, Does.Contain("source:      backfill:github").And.Contain("sender_id:   guid-missed-1"));
        Assert.That(JsonDocument.Parse(json.Out).RootElement.GetProperty("source").GetString(), Is.EqualTo("backfill:github"));
    }

    [Test]
    public async Task AGitHubAppsOwnWebhookIsReadWithTheAppsJwt()
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var now = DateTimeOffset.UtcNow;
        _api.Given(Request.Create().WithPath("/app/hook/deliveries").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody($"[{Listed(501, "guid-app-1", now.AddMinutes(-9), "opened")}]"));
        var detail = Issue(3, "From the App", "opened").Replace("{\"action\"", "{\"installation\":{\"id\":77},\"action\"");
        _api.Given(Request.Create().WithPath("/app/hook/deliveries/501").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody($"{{\"id\":501,\"guid\":\"guid-app-1\",\"event\":\"issues\",\"action\":\"opened\",\"request\":{{\"headers\":{{\"X-GitHub-Event\":\"issues\"}},\"payload\":{detail}}},\"response\":{{}}}}"));
        var route = GitHubRoute();
        route.GitHub = new RelayGitHubSourceOptions { AppId = 123456, PrivateKey = key.ExportPkcs8PrivateKeyPem(), ApiUrl = new Uri(_api.Url! + "/") };

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(route), "--route", "/hooks/github", "--since", "1h");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("guid-app-1  stored, runs").And.Contain("from GitHub App 123456's webhook"));
        foreach (var entry in _api.LogEntries)
        {
            // An RS256 JWT the App's public key verifies, issued by the App: GitHub's rule for the App's own endpoints.
            var jwt = entry.RequestMessage!.Headers!["Authorization"].Single()["Bearer ".Length..].Split('.');
            static byte[] Base64Url(string text) => Convert.FromBase64String(text.Replace('-', '+').Replace('_', '/').PadRight(text.Length + (4 - text.Length % 4) % 4, '='));
            Assert.That(key.VerifyData(Encoding.ASCII.GetBytes(jwt[0] + "." + jwt[1]), Base64Url(jwt[2]), System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1), Is.True);
            Assert.That(JsonDocument.Parse(Base64Url(jwt[1])).RootElement.GetProperty("iss").ToString(), Is.EqualTo("123456"));
        }
    }

    [Test]
    public async Task ADryRunSaysWhatItWouldStoreAndStoresNothing()
    {
        GitHubHistory();

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(GitHubRoute()), "--route", "/hooks/github", "--since", "24h", "--dry-run");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("(dry run: nothing is stored)").And.Contain("guid-missed-1  would be stored, runs").And.Contain("Would store 3, skipped 0"));
        var store = _store.Open();
        Assert.That(await store.ListAsync(null, default), Is.Empty);
        (store as IDisposable)?.Dispose();
    }

    [Test]
    public async Task AnExpiredTokenIsAClearErrorAndStoresNothing()
    {
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json").WithBody("{\"message\":\"Bad credentials\",\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"401\"}"));

        var (exitCode, _, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(GitHubRoute()), "--route", "/hooks/github", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Is.EqualTo("error: GitHub refused the credentials (401): GitHub says: Bad credentials The token or key may have expired or been revoked: give the route's GitHub.Token (or App) a valid one." + Environment.NewLine));
        Assert.That(error, Does.Not.Contain("ghp_backfill_token"));
    }

    [Test]
    public async Task GitHubsRateLimitsAreWaitedForAsAsked()
    {
        var now = DateTimeOffset.UtcNow;
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet()).InScenario("limit").WillSetStateTo("waited")
            .RespondWith(Response.Create().WithStatusCode(403).WithHeader("Retry-After", "1").WithHeader("Content-Type", "application/json").WithBody("{\"message\":\"You have exceeded a secondary rate limit.\"}"));
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet()).InScenario("limit").WhenStateIs("waited")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithHeader("X-RateLimit-Remaining", "0").WithHeader("X-RateLimit-Reset", (now.ToUnixTimeSeconds() + 2).ToString(System.Globalization.CultureInfo.InvariantCulture))
                .WithBody($"[{Listed(901, "guid-missed-1", now.AddHours(-1), "opened")}]"));
        Detail(901, "guid-missed-1", now.AddHours(-1), Issue(1, "Crash on save", "opened"));

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(GitHubRoute()), "--route", "/hooks/github", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("Stored 1, skipped 0"));
        var times = _api.LogEntries.Select(e => e.RequestMessage!.DateTime).OrderBy(t => t).ToArray();
        Assert.That(times, Has.Length.EqualTo(3), "the list twice (after the 403), then the delivery");
        Assert.That(times[1] - times[0], Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(950)), "Retry-After: 1 was waited for");
        Assert.That(new DateTimeOffset(DateTime.SpecifyKind(times[2].ToUniversalTime(), DateTimeKind.Utc)), Is.GreaterThanOrEqualTo(DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds() + 2).AddMilliseconds(-50)),
            "the page that spent the last request was followed by a wait for X-RateLimit-Reset");
    }

    [Test]
    public async Task ARateLimitSpentForAnHourStopsAndSaysWhenToComeBack()
    {
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(403).WithHeader("X-RateLimit-Remaining", "0").WithHeader("X-RateLimit-Reset", (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600).ToString(System.Globalization.CultureInfo.InvariantCulture))
                .WithBody("{\"message\":\"API rate limit exceeded\"}"));

        var (exitCode, _, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(GitHubRoute()), "--route", "/hooks/github", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.StartWith("error: GitHub's rate limit is spent until ").And.Contain("run the backfill again then"));
        Assert.That(_api.LogEntries.Count(), Is.EqualTo(1), "no request after the limit");
    }

    [TestCase("not JSON", "<html><body>Sign in to the proxy</body></html>", "not JSON")]
    [TestCase("an object", "{\"message\":\"Not a list\"}", "a list was expected, not an object")]
    [TestCase("no guid", "[{\"id\":1,\"delivered_at\":\"2030-01-01T00:00:00Z\",\"event\":\"issues\"}]", "\"guid\" is missing")]
    [TestCase("a null guid", "[{\"id\":1,\"guid\":null,\"delivered_at\":\"2030-01-01T00:00:00Z\",\"event\":\"issues\"}]", "\"guid\" is not a non-empty string")]
    [TestCase("a text id", "[{\"id\":\"1\",\"guid\":\"g\",\"delivered_at\":\"2030-01-01T00:00:00Z\",\"event\":\"issues\"}]", "\"id\" is not a whole number")]
    [TestCase("a bad date", "[{\"id\":1,\"guid\":\"g\",\"delivered_at\":\"yesterday\",\"event\":\"issues\"}]", "\"delivered_at\" is not a date and time")]
    public async Task AGitHubListThatIsNotWhatTheApiDocumentsIsAClearErrorNotACrash(string what, string answer, string reason)
    {
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(answer));

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(GitHubRoute()), "--route", "/hooks/github", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(1), what + ": " + output);
        Assert.That(error, Is.EqualTo($"error: GitHub's answer to {Deliveries} is not what its API documents ({reason}). Check the route's ApiUrl; what was stored so far stays stored." + Environment.NewLine), what);
        Assert.That(await StoredAsync(), Is.Empty);
    }

    [Test]
    public async Task AGitHubDeliveryWithoutItsRequestIsAClearErrorAndWhatCameBeforeStaysStored()
    {
        var now = DateTimeOffset.UtcNow;
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
            .WithBody($"[{Listed(902, "guid-broken", now.AddMinutes(-5), "closed")},{Listed(901, "guid-fine", now.AddHours(-1), "opened")}]"));
        Detail(901, "guid-fine", now.AddHours(-1), Issue(1, "Crash on save", "opened"));
        _api.Given(Request.Create().WithPath($"{Deliveries}/902").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
            .WithBody("{\"id\":902,\"guid\":\"guid-broken\",\"event\":\"issues\"}"));

        var (exitCode, _, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(GitHubRoute()), "--route", "/hooks/github", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Is.EqualTo($"error: GitHub's answer to {Deliveries}/902 is not what its API documents (\"request\" is missing). Check the route's ApiUrl; what was stored so far stays stored." + Environment.NewLine));
        Assert.That((await StoredAsync()).Select(d => d.SenderId), Is.EqualTo(new[] { "guid-fine" }), "the older delivery, stored before the broken one was read");
    }

    [TestCase("{\"object\":\"list\",\"has_more\":false}", "\"data\" is missing")]
    [TestCase("{\"object\":\"list\",\"data\":[{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}],\"has_more\":false}", "\"created\" is missing")]
    public async Task AStripePageThatIsNotWhatTheApiDocumentsIsAClearErrorNotACrash(string answer, string reason)
    {
        _api.Given(Request.Create().WithPath("/v1/events").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(answer));

        var (exitCode, _, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(StripeRoute()), "--route", "/hooks/stripe", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Is.EqualTo($"error: Stripe's answer to /v1/events is not what its API documents ({reason}). Check the route's ApiUrl; what was stored so far stays stored." + Environment.NewLine));
        Assert.That(error, Does.Not.Contain("rk_test_backfill"));
    }

    [Test]
    public async Task ARetryAfterDateAlreadyPastIsRetriedAtOnceAndOneAnHourAheadStops()
    {
        var now = DateTimeOffset.UtcNow;
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet()).InScenario("limit").WillSetStateTo("past")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", now.AddMinutes(-1).ToString("R", System.Globalization.CultureInfo.InvariantCulture)).WithBody("{\"message\":\"slow down\"}"));
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet()).InScenario("limit").WhenStateIs("past")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", now.AddHours(1).ToString("R", System.Globalization.CultureInfo.InvariantCulture)).WithBody("{\"message\":\"slow down\"}"));

        var (exitCode, _, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(GitHubRoute()), "--route", "/hooks/github", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(1), error);
        Assert.That(error, Does.StartWith($"error: GitHub's rate limit is spent until {now.AddHours(1):yyyy-MM-dd HH:}").And.Contain("run the backfill again then"));
        var times = _api.LogEntries.Select(e => e.RequestMessage!.DateTime).OrderBy(t => t).ToArray();
        Assert.That(times, Has.Length.EqualTo(2), "a date already past is no wait at all, and no crash; an hour ahead is not waited for");
        Assert.That(times[1] - times[0], Is.LessThan(TimeSpan.FromSeconds(1)), "the date in the past was not taken as the 1 s fallback");
    }

    /// <summary>A Stripe event as the events API lists it (pretty-printed), and as its webhook sends it.</summary>
    private static string StripeEvent(string id, string type, DateTimeOffset created, bool pretty)
    {
        var compact = $"{{\"id\":\"{id}\",\"object\":\"event\",\"api_version\":\"2025-10-29.clover\",\"created\":{created.ToUnixTimeSeconds()},\"data\":{{\"object\":{{\"id\":\"in_{id}\",\"object\":\"invoice\",\"amount_paid\":1100}}}},\"livemode\":false,\"pending_webhooks\":1,\"type\":\"{type}\"}}";
        return pretty ? JsonSerializer.Serialize(JsonDocument.Parse(compact).RootElement, new JsonSerializerOptions { WriteIndented = true }) : compact;
    }

    [Test]
    public async Task AGitHubEnterpriseApiUrlKeepsItsPathAndAPageReachingPastThePeriodIsTheLast()
    {
        var now = DateTimeOffset.UtcNow;
        var route = GitHubRoute();
        route.GitHub!.ApiUrl = new Uri(_api.Url + "/api/v3");
        _api.Given(Request.Create().WithPath("/api/v3" + Deliveries).WithParam("per_page", "100").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithHeader("Link", $"<{_api.Url}/api/v3{Deliveries}?per_page=100&cursor=v1_page2>; rel=\"next\"")
                .WithBody($"[{Listed(905, "guid-recent", now.AddMinutes(-3), "opened")},{Listed(804, "guid-last-week", now.AddDays(-7), "opened")}]"));
        var detail = $"{{\"id\":905,\"guid\":\"guid-recent\",\"event\":\"issues\",\"request\":{{\"headers\":{{}},\"payload\":{Issue(5, "On the enterprise server", "opened")}}}}}";
        _api.Given(Request.Create().WithPath($"/api/v3{Deliveries}/905").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(detail));

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(route), "--route", "/hooks/github", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(0), error + output);
        Assert.That(output, Does.Contain("issues.opened  guid-recent  stored, runs").And.Contain("Stored 1, skipped 0, of 1"));
        Assert.That(_api.LogEntries.Select(e => e.RequestMessage!.Path), Is.EqualTo(new[] { "/api/v3" + Deliveries, $"/api/v3{Deliveries}/905" }),
            "the API's path kept; the next page not read, the first already reached a delivery older than the period");
        Assert.That((await StoredAsync()).Single().Event, Is.EqualTo("issues.opened"));
    }

    [TestCase(404, "", "GitHub answered 404 for /repos/octo/api/hooks/42/deliveries: GitHub says: Not Found Check the route's repository and webhook id")]
    [TestCase(403, "59", "GitHub answered 403 for /repos/octo/api/hooks/42/deliveries: GitHub says: Not Found")]
    [TestCase(500, "", "GitHub answered 500 for /repos/octo/api/hooks/42/deliveries")]
    public async Task AnAnswerThatIsNotARateLimitIsAnErrorAtOnceNotRetried(int status, string remaining, string message)
    {
        var answer = Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody("{\"message\":\"Not Found\",\"documentation_url\":\"https://docs.github.com/rest\"}");
        if (remaining.Length > 0)
        {
            // A 403 that is no rate limit: requests remain, so the reset time is not a reason to wait.
            answer = answer.WithHeader("X-RateLimit-Remaining", remaining).WithHeader("X-RateLimit-Reset", DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        _api.Given(Request.Create().WithPath(Deliveries).UsingGet()).RespondWith(answer);

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(GitHubRoute()), "--route", "/hooks/github", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(1), output);
        Assert.That(error, Does.Contain(message));
        Assert.That(_api.LogEntries, Has.Count.EqualTo(1), "asked once");
        Assert.That(await StoredAsync(), Is.Empty);
    }

    [Test]
    public async Task A429WithoutRetryAfterIsWaitedForASecondThenAskedAgain()
    {
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet()).InScenario("limited").WillSetStateTo("once")
            .RespondWith(Response.Create().WithStatusCode(429).WithBody("{\"message\":\"Too many requests\"}"));
        _api.Given(Request.Create().WithPath(Deliveries).UsingGet()).InScenario("limited").WhenStateIs("once")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("[]"));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(GitHubRoute()), "--route", "/hooks/github", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("Stored 0, skipped 0, of 0"));
        Assert.That(_api.LogEntries, Has.Count.EqualTo(2));
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(950)), "a second between the two");
    }

    [Test]
    public async Task StripesOwnWordsAreInTheErrorWithoutTheKey()
    {
        _api.Given(Request.Create().WithPath("/v1/events").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json")
                .WithBody("{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Invalid API Key provided: rk_test_***fill\"}}"));

        var (exitCode, output, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", Config(StripeRoute()), "--route", "/hooks/stripe", "--since", "24h");

        Assert.That(exitCode, Is.EqualTo(1), output);
        Assert.That(error, Does.Contain("Stripe refused the credentials (401): Stripe says: Invalid API Key provided").And.Contain("Stripe.ApiKey"));
        Assert.That(error + output, Does.Not.Contain("rk_test_backfill"));
    }

    [Test]
    public async Task AStripeBackfillStoresMissedEventsAndKnowsTheLiveOneByItsId()
    {
        var now = DateTimeOffset.UtcNow;
        var live = StripeEvent("evt_live", "invoice.paid", now.AddMinutes(-40), pretty: false);
        await ReceiveLiveAsync(StripeRoute(), live, WebhookSignature.Stripe(StripeSecret).Sign(Encoding.UTF8.GetBytes(live), DateTimeOffset.UtcNow, "x").Select(h => (h.Key, h.Value)).ToArray());
        _api.Given(Request.Create().WithPath("/v1/events").WithParam("starting_after", "evt_live").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody($"{{\"object\":\"list\",\"url\":\"/v1/events\",\"has_more\":false,\"data\":[{StripeEvent("evt_1", "invoice.created", now.AddHours(-3), true)},{StripeEvent("evt_cus", "customer.created", now.AddHours(-4), true)}]}}"));
        _api.Given(Request.Create().WithPath("/v1/events").UsingGet()).AtPriority(2)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody($"{{\"object\":\"list\",\"url\":\"/v1/events\",\"has_more\":true,\"data\":[{StripeEvent("evt_3", "invoice.paid", now.AddMinutes(-2), true)},{StripeEvent("evt_live", "invoice.paid", now.AddMinutes(-40), true)}]}}"));
        var config = Config(StripeRoute());

        var first = await InProcessCli.RunAsync("relay", "backfill", "--config", config, "--route", "/hooks/stripe", "--since", "24h");
        var second = await InProcessCli.RunAsync("relay", "backfill", "--config", config, "--route", "/hooks/stripe", "--since", "24h");

        Assert.That(first.ExitCode, Is.EqualTo(0), first.Error);
        TestContext.Out.WriteLine(first.Out);
        Assert.That(first.Out, Does.Contain("invoice.created  evt_1  stored, runs").And.Contain("invoice.paid  evt_3  stored, runs"));
        Assert.That(first.Out, Does.Contain("invoice.paid  evt_live  skipped: the relay has it (dlv_"), "the same event id, though the API's JSON is not the webhook's bytes");
        Assert.That(first.Out, Does.Contain("customer.created  evt_cus  skipped: not one of the route's Events"));
        Assert.That(first.Out, Does.Contain("Stored 2, skipped 2, of 4"));
        Assert.That(second.Out, Does.Contain("Stored 0, skipped 4, of 4"));
        var listed = _api.LogEntries.Where(e => e.RequestMessage!.Path == "/v1/events").Select(e => e.RequestMessage!).ToList();
        Assert.That(long.Parse(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(listed[0].Url).Query)["created[gte]"].Single()!, System.Globalization.CultureInfo.InvariantCulture), Is.InRange(now.ToUnixTimeSeconds() - 86400, now.ToUnixTimeSeconds() - 86400 + 60), "24 hours back");
        Assert.That(listed[0].Headers!["Authorization"].Single(), Is.EqualTo("Bearer rk_test_backfill"));
        Assert.That(listed.Select(r => r.Headers!["User-Agent"].Single()).Distinct(), Is.EqualTo(new[] { "Runchat.Relay" }));
        var order = first.Out.Split(Environment.NewLine).Where(l => l.Contains("  evt_", StringComparison.Ordinal)).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).First(w => w.StartsWith("evt_", StringComparison.Ordinal))).ToList();
        Assert.That(order, Is.EqualTo(new[] { "evt_cus", "evt_1", "evt_live", "evt_3" }), "listed oldest first, as they happened");

        await using (var relay = await StartRelayAsync(_sandbox.BaseUrl, o => o.Routes.Add(StripeRoute()), store: _store))
        {
            var settled = await relay.SettledAsync(3, TimeSpan.FromSeconds(15));
            Assert.That(settled.Where(d => d.Source == "backfill:stripe").Select(d => d.DedupeKey).OrderBy(k => k), Is.EqualTo(new[] { "id:evt_1", "id:evt_3" }));
            Assert.That(settled, Has.All.Matches<RelayDelivery>(d => d.State == RelayDeliveryState.Succeeded));
            Assert.That(settled.Where(d => d.Source == "backfill:stripe").OrderBy(d => d.Id, StringComparer.Ordinal).Select(d => d.DedupeKey), Is.EqualTo(new[] { "id:evt_1", "id:evt_3" }), "stored oldest first: the older one has the earlier id");
        }

        Assert.That(_sandbox.Requests, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task TheChapterDocsRelayMdShowsIsAConfigurationAndACommandThatRun()
    {
        var page = File.ReadAllText(Repository.Path("docs", "relay.md")).Replace("\r\n", "\n");
        var chapter = page.Substring(page.IndexOf("### When the relay was down", StringComparison.Ordinal));
        var block = System.Text.RegularExpressions.Regex.Match(chapter, "<!-- config: backfill -->\n```json\n(.*?)\n```", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;
        var shown = System.Text.RegularExpressions.Regex.Match(chapter, @"^runchat-job (relay backfill [^\n]*)$", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value;
        // The page's configuration, with this fixture's store and fake API, and secrets long enough to start.
        var config = System.Text.Json.Nodes.JsonNode.Parse(block)!.AsObject();
        config["Runchat"] = new System.Text.Json.Nodes.JsonObject { ["ApiKey"] = "sandbox-key-0123456789", ["BaseUrl"] = _sandbox.BaseUrl.ToString() };
        config["Relay"]!["Store"] = _store.Setting;
        foreach (var route in config["Relay"]!["Routes"]!.AsArray())
        {
            route!["Secret"] = route["Signature"]!.GetValue<string>() == "stripe" ? StripeSecret : GitHubSecret;
            var source = route["GitHub"] ?? route["Stripe"]!;
            source["ApiUrl"] = _api.Url + "/";
        }

        var path = Path.Combine(_directory.Path, "docs.json");
        File.WriteAllText(path, config.ToJsonString());
        _api.Given(Request.Create().WithPath("/repos/acme/api/hooks/123456789/deliveries").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("[]"));
        var args = System.Text.RegularExpressions.Regex.Replace(shown, @"\[([^\]]*)\]", "$1").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a == "relay.json" ? path : a).ToArray();

        var (exitCode, output, error) = await InProcessCli.RunAsync(args);

        Assert.That(shown, Does.Contain("--since 24h"));
        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("Backfill of /hooks/github from acme/api webhook 123456789").And.Contain("Would store 0, skipped 0, of 0"));
    }

    [TestCase("stripe", "{\"ApiKey\":\"\"}", "Stripe: ApiKey is required")]
    [TestCase("github", "{\"Repository\":\"octo\",\"HookId\":42,\"Token\":\"t\"}", "GitHub: a repository's webhook needs Repository (owner/name), HookId (a number) and Token")]
    [TestCase("github", "{\"AppId\":1,\"PrivateKey\":\"k\",\"Token\":\"t\"}", "GitHub: a GitHub App's webhook needs AppId (a number) and PrivateKey, and no Repository, HookId or Token")]
    public async Task ABackfillSourceThatCannotWorkIsRefusedAtStartUp(string scheme, string source, string reason)
    {
        var path = Path.Combine(_directory.Path, "bad.json");
        var secret = scheme == "stripe" ? StripeSecret : GitHubSecret;
        File.WriteAllText(path, $"{{\"Relay\":{{\"Store\":\"sqlite:{Path.Combine(_directory.Path, "x.db").Replace("\\", "\\\\")}\",\"Routes\":[{{\"Path\":\"/hooks/x\",\"JobId\":\"a\",\"Signature\":\"{scheme}\",\"Secret\":\"{secret}\",\"{(scheme == "stripe" ? "Stripe" : "GitHub")}\":{source}}}]}}}}");

        var (exitCode, _, error) = await InProcessCli.RunAsync("relay", "backfill", "--config", path, "--route", "/hooks/x", "--since", "1h");

        Assert.That(exitCode, Is.EqualTo(2));
        Assert.That(error, Does.Contain($"Relay:Routes:0 (/hooks/x): {reason}"));
    }
}
