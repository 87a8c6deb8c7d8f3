using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Cli;
using Runchat.Tests.Cli;
using Runchat.Relay;

namespace Runchat.Tests.Relay;

/// <summary><c>runchat-job relay list|show|replay</c> in-process, on a store the test fills.</summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class RelayCliTests : PerStoreFixture
{
    private string _directory = null!;
    private string _config = null!;
    private TestStore? _store;

    public RelayCliTests(string storeKind)
        : base(storeKind)
    {
    }

    [SetUp]
    public async Task CreateStoreAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "relay-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _config = Path.Combine(_directory, "relay.json");
        var testStore = NewStore();
        _store = testStore;
        await File.WriteAllTextAsync(_config, JsonSerializer.Serialize(new { Relay = new { Store = testStore.Setting } }));
        var store = testStore.Open();
        await store.AddAsync(new NewDelivery("dlv_cli_1", "/hooks/open", "demo-agent", "sha256:ab", "{\"a\":1}"u8.ToArray(), DateTimeOffset.UtcNow, Event: "form.submitted"), default);
        (store as IDisposable)?.Dispose();
    }

    [TearDown]
    public async Task RemoveAsync()
    {
        // Null when SetUp skipped the test (no PostgreSQL server here).
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private static Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args) => InProcessCli.RunAsync(args);

    [Test]
    public async Task ShowJsonKeepsTheTextReadableAndValid()
    {
        var store = _store!.Open();
        var now = DateTimeOffset.UtcNow;
        var claimed = await store.ClaimAsync(new ClaimRequest("cli-test", now, now.AddMinutes(1), 10), default);
        await store.StartSendAsync(new StartRequest(claimed.Single().Id, "cli-test", now, now.AddMinutes(1), 10, 1000), default);
        const string Reply = "The agent said \"done\" <ok> & it's fine: sha256=<hex>";
        await store.CompleteAsync("dlv_cli_1", "cli-test", RelayDeliveryState.Succeeded, new RunResult("success", Reply, null), ReplyPlan.None, now, default);
        (store as IDisposable)?.Dispose();

        var (exitCode, output, error) = await RunAsync("relay", "show", "--config", _config, "dlv_cli_1", "--json");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("it's fine: sha256=<hex>").And.Contain("<ok> &"), "no \\u0027, \\u003C or \\u0026 for a person to decode");
        Assert.That(output, Does.Not.Contain("\\u0022").And.Not.Contain("\\u0027"));
        Assert.That(JsonDocument.Parse(output).RootElement.GetProperty("final_reply").GetString(), Is.EqualTo(Reply), "still valid JSON");
    }

    [Test]
    public async Task ListJsonIsAnArrayWithSnakeCaseFieldsAndLowerCaseStates()
    {
        var (exitCode, output, error) = await RunAsync("relay", "list", "--config", _config, "--json");

        Assert.That(exitCode, Is.EqualTo(0), error);
        var delivery = JsonDocument.Parse(output).RootElement.EnumerateArray().Single();
        Assert.That(delivery.GetProperty("id").GetString(), Is.EqualTo("dlv_cli_1"));
        Assert.That(delivery.GetProperty("route").GetString(), Is.EqualTo("/hooks/open"));
        Assert.That(delivery.GetProperty("job_id").GetString(), Is.EqualTo("demo-agent"));
        Assert.That(delivery.GetProperty("dedupe_key").GetString(), Is.EqualTo("sha256:ab"));
        Assert.That(delivery.GetProperty("state").GetString(), Is.EqualTo("pending"));
        Assert.That(delivery.GetProperty("attempts").GetInt32(), Is.EqualTo(0));
        Assert.That(delivery.GetProperty("event").GetString(), Is.EqualTo("form.submitted"));
    }

    [Test]
    public async Task AnUnknownStateIsAUsageErrorThatNamesTheRightHelp()
    {
        var (exitCode, _, error) = await RunAsync("relay", "list", "--config", _config, "--state", "bogus");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("'bogus'").And.Contain("runchat-job relay list --help"));
    }

    [Test]
    public async Task ShowAndReplayOfAMissingOrPendingDeliveryExitOneWithAReason()
    {
        var missing = await RunAsync("relay", "show", "--config", _config, "dlv_nope");
        var pending = await RunAsync("relay", "replay", "--config", _config, "dlv_cli_1");
        var shown = await RunAsync("relay", "show", "--config", _config, "dlv_cli_1");

        Assert.That((missing.ExitCode, missing.Error), Is.EqualTo((1, "error: there is no delivery dlv_nope." + Environment.NewLine)));
        Assert.That(pending.ExitCode, Is.EqualTo(1));
        Assert.That(pending.Error, Does.Contain("is pending: only a succeeded, failed, unknown or ignored delivery can be replayed"));
        Assert.That(shown.ExitCode, Is.EqualTo(0));
        Assert.That(shown.Out, Does.Contain("state:       pending").And.Contain("job_id:      demo-agent"));
    }

    [Test]
    public async Task AMissingConfigurationFileIsAUsageError()
    {
        var (exitCode, _, error) = await RunAsync("relay", "list", "--config", Path.Combine(_directory, "nope.json"));

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("does not exist"));
    }
}
