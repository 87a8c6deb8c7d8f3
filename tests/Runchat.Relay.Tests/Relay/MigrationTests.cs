using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Relay;

namespace Runchat.Tests.Relay;

/// <summary>
/// A store written by each released schema (the DDL those relays ran, verbatim from history, in Fixtures/schemas)
/// is upgraded by this relay on first use, and everything it held reads back and runs, on both databases.
/// </summary>
[TestFixture(TestStore.Sqlite)]
[TestFixture(TestStore.Postgres)]
[Category("Relay")]
public class MigrationTests : PerStoreFixture
{
    public MigrationTests(string storeKind)
        : base(storeKind)
    {
    }

    private static readonly string[] Releases = { "v1-2026-11-28-round2", "v1-2026-11-29-routes", "v1-2026-11-29-cost" };

    [TestCaseSource(nameof(Releases))]
    public async Task AStoreAnEarlierReleaseWroteIsUpgradedAndReadsBack(string release)
    {
        await using var testStore = NewStore();
        var prefix = StoreKind == TestStore.Sqlite ? "deliveries" : "runchat_relay_deliveries";
        testStore.Execute(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "schemas", $"{StoreKind}-{release}.sql")));
        var body = StoreKind == TestStore.Sqlite ? "X'7B2261223A317D'" : "'\\x7b2261223a317d'::bytea";
        // What that relay stored: a delivery that ran and one still pending, in that release's columns only.
        testStore.Execute(
            $"INSERT INTO {prefix} (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at, last_sent_at, run_status, final_reply) " +
            $"VALUES ('dlv_old_done', '/hooks/forms', 'lead-agent', 'id:msg_1', {body}, 'succeeded', 1, 1764300000000, 1764300001000, 1764300000000, 1764300000500, 'success', 'Done before the upgrade.');" +
            $"INSERT INTO {prefix} (id, route, job_id, dedupe_key, body, state, attempts, received_at, updated_at, next_attempt_at) " +
            $"VALUES ('dlv_old_pending', '/hooks/forms', 'lead-agent', 'id:msg_2', {body}, 'pending', 0, 1764300002000, 1764300002000, 1764300002000);");

        var store = testStore.Open();
        try
        {
            var done = await store.GetAsync("dlv_old_done", default);
            Assert.That(done!.State, Is.EqualTo(RelayDeliveryState.Succeeded));
            Assert.That(done.FinalReply, Is.EqualTo("Done before the upgrade."));
            Assert.That(done.JobId, Is.EqualTo("lead-agent"));
            Assert.That((done.Event, done.SenderId, done.FlowId, done.Message), Is.EqualTo(((string?)null, (string?)null, (string?)null, (string?)null)), "columns added later read as empty");

            var page = await store.ListPageAsync(new DeliveryPageQuery(null, "/hooks/forms", null, null, null, 10), default);
            Assert.That(page.Select(d => d.Id), Is.EqualTo(new[] { "dlv_old_pending", "dlv_old_done" }));

            // The pending one runs through the upgraded schema: claimed, started with its message, completed.
            var now = DateTimeOffset.UtcNow;
            var claimed = await store.ClaimAsync(new ClaimRequest("upgrade", now, now.AddMinutes(1), 10), default);
            Assert.That(claimed.Single().Id, Is.EqualTo("dlv_old_pending"));
            var start = await store.StartSendAsync(new StartRequest("dlv_old_pending", "upgrade", now, now.AddMinutes(1), 10, 1000, "a message"), default);
            Assert.That(start.Outcome, Is.EqualTo(SendStartOutcome.Started));
            await store.CompleteAsync("dlv_old_pending", "upgrade", RelayDeliveryState.Succeeded, new RunResult("success", "ok", null), ReplyPlan.None, now, default);
            Assert.That((await store.GetAsync("dlv_old_pending", default))!.Message, Is.EqualTo("a message"));

            // And new deliveries are stored beside the old; the same signed id is still a duplicate.
            var again = await store.AddAsync(new NewDelivery("dlv_new", "/hooks/forms", "lead-agent", "id:msg_1", "{\"a\":1}"u8.ToArray(), now, Event: "form.submitted"), default);
            Assert.That(again, Is.EqualTo(new AddResult("dlv_old_done", Duplicate: true)));
            Assert.That((await store.AddAsync(new NewDelivery("dlv_new", "/hooks/forms", "lead-agent", "id:msg_3", "{\"a\":2}"u8.ToArray(), now, Event: "form.submitted"), default)).Duplicate, Is.False);
            var overview = await store.OverviewAsync(now, default);
            Assert.That(overview.ByRoute.Single(), Is.EqualTo(("/hooks/forms", 1L)), "counted from the upgrade on");
            Assert.That(overview.SentLastHour, Is.EqualTo(1));
        }
        finally
        {
            await ((IAsyncDisposable)store).DisposeAsync();
        }

        Assert.That(Version(testStore), Is.EqualTo(StoreSchema.Version), "the version is recorded");
    }

    [Test]
    public async Task UpgradingTwiceChangesNothingTheSecondTime()
    {
        await using var testStore = NewStore();
        testStore.Execute(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "schemas", $"{StoreKind}-v1-2026-11-28-round2.sql")));
        for (var i = 0; i < 2; i++)
        {
            var store = testStore.Open();
            Assert.That(await store.GetAsync("dlv_none", default), Is.Null);
            await ((IAsyncDisposable)store).DisposeAsync();
        }

        Assert.That(Version(testStore), Is.EqualTo(StoreSchema.Version));
        Assert.That(testStore.Scalar("SELECT COUNT(*) FROM runchat_relay_schema"), Is.EqualTo(1));
    }

    private static long Version(TestStore store) => store.Scalar("SELECT MAX(version) FROM runchat_relay_schema");
}
