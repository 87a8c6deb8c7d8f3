using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// The relay's state machine is one C# description (Store/DeliveryTransitions.cs); each store supplies
/// only its dialect. The store contract tests run every transition on both stores; these check the
/// machine itself and that no store writes a transition of its own.
/// </summary>
[TestFixture]
public class StateMachineTests
{
    [Test]
    public void TheTransitionsAreTheDocumentedOnes()
    {
        var edges = DeliveryTransitions.All
            .SelectMany(t => t.To.SelectMany(to => t.From.Select(from => $"{DeliveryStates.Name(from)} -> {DeliveryStates.Name(to)}")))
            .Distinct().OrderBy(e => e).ToArray();

        Assert.That(edges, Is.EqualTo(new[]
        {
            "failed -> pending",
            "ignored -> pending",
            "pending -> failed",
            "pending -> sending",
            "sending -> failed",
            "sending -> pending",
            "sending -> succeeded",
            "sending -> unknown",
            "succeeded -> pending",
            "unknown -> failed",
            "unknown -> pending",
            "unknown -> succeeded",
            "unknown -> unknown",
        }));
    }

    [Test]
    public void OnlyAnOperatorsReplayLeavesAFinishedState()
    {
        var finished = new[] { RelayDeliveryState.Succeeded, RelayDeliveryState.Failed };
        var leaving = DeliveryTransitions.All.Where(t => t.From.Any(finished.Contains)).Select(t => t.Name).ToArray();
        Assert.That(leaving, Is.EqualTo(new[] { "ReplayAsync" }));

        var toSending = DeliveryTransitions.All.Where(t => t.To.Contains(RelayDeliveryState.Sending)).ToArray();
        Assert.That(toSending, Has.Length.EqualTo(1));
        Assert.That(toSending[0].From, Is.EqualTo(new[] { RelayDeliveryState.Pending }), "a send starts only from pending");
        Assert.That(toSending[0].Guard, Does.Contain("claimed_by = @owner"), "and only by the relay holding the lease");
    }

    [TestCase("SqlDeliveryStore.cs")]
    [TestCase("SqliteDialect.cs")]
    [TestCase("PostgresDialect.cs")]
    public void NoStoreWritesAStateChangeOfItsOwn(string file)
    {
        var source = File.ReadAllText(Repository.Path("src", "Runchat.Relay", "Store", file));

        Assert.That(source, Does.Contain("DeliveryTransitions."), "the store uses the description");
        Assert.That(Regex.Matches(source, @"UPDATE\s+\w*deliveries\b", RegexOptions.IgnoreCase), Is.Empty, "every UPDATE comes from DeliveryTransitions");
        Assert.That(Regex.Matches(source, @"SET\s+state\s*=", RegexOptions.IgnoreCase), Is.Empty);
    }

    [Test]
    public void EachDialectGetsItsParameters()
    {
        Assert.That(DeliveryTransitions.Reschedule.Update("deliveries", '$'),
            Is.EqualTo("UPDATE deliveries SET state = 'pending', next_attempt_at = $next, last_error = $error, claimed_by = NULL, lease_until = NULL, updated_at = $now WHERE state = 'sending' AND id = $id AND claimed_by = $owner"));
        Assert.That(DeliveryTransitions.Renew.Where(), Is.EqualTo("state IN ('pending', 'sending') AND claimed_by = @owner"));
    }
}
