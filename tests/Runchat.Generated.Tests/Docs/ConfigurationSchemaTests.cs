using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using NUnit.Framework;
using Runchat.Internal;
using Runchat.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Docs;

/// <summary>
/// docs/ConfigurationSchema.json (shipped in both packages, for editors) says exactly what the
/// options classes read: the same keys, the same kinds of value, each described; and the sample
/// configuration uses no key it does not know.
/// </summary>
[TestFixture]
[Category("Docs")]
public class ConfigurationSchemaTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(File.ReadAllText(Repository.Path("docs", "ConfigurationSchema.json"))).RootElement;

    private static JsonElement Section(string name) => Schema.GetProperty("properties").GetProperty(name);

    private static JsonElement Route => Schema.GetProperty("definitions").GetProperty("route");

    public static IEnumerable<TestCaseData> Sections()
    {
        yield return new TestCaseData("Runchat", typeof(RunchatClientOptions)).SetArgDisplayNames("Runchat");
        yield return new TestCaseData("Relay", typeof(RunchatRelayOptions)).SetArgDisplayNames("Relay");
        yield return new TestCaseData("Relay:Routes:n", typeof(RelayRouteOptions)).SetArgDisplayNames("route");
        yield return new TestCaseData("Relay:Schedules:n", typeof(RelayScheduleOptions)).SetArgDisplayNames("schedule");
        yield return new TestCaseData("Relay:Routes:n:PostReply", typeof(RelayReplyOptions)).SetArgDisplayNames("reply");
        yield return new TestCaseData("Relay:Routes:n:PostReply:GitHub", typeof(RelayGitHubOptions)).SetArgDisplayNames("github");
        yield return new TestCaseData("Relay:Routes:n:PostReply:Slack", typeof(RelaySlackOptions)).SetArgDisplayNames("slack");
        yield return new TestCaseData("Relay:Retention", typeof(RelayRetentionOptions)).SetArgDisplayNames("retention");
        yield return new TestCaseData("Relay:Routes:n:GitHub", typeof(RelayGitHubSourceOptions)).SetArgDisplayNames("githubSource");
        yield return new TestCaseData("Relay:Routes:n:Stripe", typeof(RelayStripeSourceOptions)).SetArgDisplayNames("stripeSource");
    }

    private static JsonElement Of(string section) => section switch
    {
        "Relay:Routes:n" => Route,
        "Relay:Schedules:n" => Schema.GetProperty("definitions").GetProperty("schedule"),
        "Relay:Routes:n:PostReply" => Schema.GetProperty("definitions").GetProperty("reply"),
        "Relay:Routes:n:PostReply:GitHub" => Schema.GetProperty("definitions").GetProperty("github"),
        "Relay:Routes:n:PostReply:Slack" => Schema.GetProperty("definitions").GetProperty("slack"),
        "Relay:Retention" => Schema.GetProperty("definitions").GetProperty("retention"),
        "Relay:Routes:n:GitHub" => Schema.GetProperty("definitions").GetProperty("githubSource"),
        "Relay:Routes:n:Stripe" => Schema.GetProperty("definitions").GetProperty("stripeSource"),
        _ => Section(section),
    };

    [TestCaseSource(nameof(Sections))]
    public void TheSchemaHasExactlyTheKeysTheOptionsRead(string section, Type options)
    {
        var known = (IReadOnlyCollection<string>)typeof(ConfigurationKeys).GetMethod(nameof(ConfigurationKeys.Of))!.MakeGenericMethod(options).Invoke(null, null)!;
        var schema = Of(section);

        Assert.That(schema.GetProperty("properties").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(known));
        Assert.That(schema.GetProperty("additionalProperties").GetBoolean(), Is.False, "editors flag a misspelled key, as start-up does");
    }

    [TestCaseSource(nameof(Sections))]
    public void EachKeyHasTheKindOfValueItsPropertyTakesAndADescription(string section, Type options)
    {
        foreach (var property in Of(section).GetProperty("properties").EnumerateObject())
        {
            var type = options.GetProperty(property.Name)!.PropertyType;
            type = Nullable.GetUnderlyingType(type) ?? type;
            var declared = property.Value.TryGetProperty("type", out var t) ? t.GetString()
                : property.Value.TryGetProperty("$ref", out var r) ? r.GetString()
                : "oneOf";
            var expected = type == typeof(int) || type == typeof(long) ? "integer"
                : type == typeof(bool) ? "boolean"
                : type == typeof(string) || type == typeof(Uri) ? "string"
                : type == typeof(TimeSpan) ? (section is "Runchat" or "Relay:Retention" ? "oneOf" : "#/definitions/timespan")
                : type == typeof(RelayRetentionOptions) ? "#/definitions/retention"
                : type == typeof(RelayReplyOptions) ? "#/definitions/reply"
                : type == typeof(RelayGitHubOptions) ? "#/definitions/github"
                : type == typeof(RelaySlackOptions) ? "#/definitions/slack"
                : type == typeof(RelayGitHubSourceOptions) ? "#/definitions/githubSource"
                : type == typeof(RelayStripeSourceOptions) ? "#/definitions/stripeSource"
                : "array";
            Assert.That(declared, Is.EqualTo(expected), $"{section}:{property.Name} ({type.Name})");
            Assert.That(property.Value.GetProperty("description").GetString(), Is.Not.Empty, $"{section}:{property.Name}");
        }
    }

    [Test]
    public void TheSampleConfigurationUsesOnlyKeysTheSchemaKnows()
    {
        var sample = JsonDocument.Parse(File.ReadAllText(Repository.Path("samples", "relay.json"))).RootElement;
        Assert.That(sample.GetProperty("$schema").GetString(), Is.EqualTo("../docs/ConfigurationSchema.json"));

        foreach (var section in new[] { "Runchat", "Relay" })
        {
            var known = Section(section).GetProperty("properties").EnumerateObject().Select(p => p.Name).ToList();
            Assert.That(sample.GetProperty(section).EnumerateObject().Select(p => p.Name), Is.SubsetOf(known), section);
        }

        var routeKeys = Route.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var route in sample.GetProperty("Relay").GetProperty("Routes").EnumerateArray())
        {
            Assert.That(route.EnumerateObject().Select(p => p.Name), Is.SubsetOf(routeKeys));
        }
    }
}
