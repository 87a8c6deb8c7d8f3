using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.Relay.Signatures;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Runchat.Tests.Relay;

/// <summary>Events, When and Message one by one: what passes, what is refused at start-up, what fails a delivery, and what a template cannot reach.</summary>
[TestFixture]
[Category("Relay")]
public class RouteRulesTests
{
    private static readonly byte[] Labelled = Encoding.UTF8.GetBytes("{\"action\":\"opened\",\"when\":\"2026-11-28T10:00:00Z\",\"issue\":{\"number\":7,\"title\":\"Crash on save\",\"body\":null,\"labels\":[{\"name\":\"bug\"},{\"name\":\"agent\"}]}}");
    /// <summary>A payload with every shape a template reads: booleans, null, objects equal and not, arrays, empty ones, a NUL, and a wide object.</summary>
    private static readonly byte[] Shapes = Encoding.UTF8.GetBytes(
        "{\"f\":false,\"t\":true,\"n\":null,\"items\":[{\"x\":1,\"c\":\"a\"},{\"x\":2}],\"o\":{\"a\":1},\"o2\":{\"a\":1},\"o3\":{\"a\":2},"
        + "\"arr\":[1,2],\"e\":[],\"eo\":{},\"u\":\"\u00e9 <b>\",\"z\":\"a\\u0000b\",\"wide\":{"
        + string.Join(",", System.Linq.Enumerable.Range(1, 13).Select(i => $"\"{(i == 1 ? new string('w', 45) : $"m{i:D2}")}\":{i}")) + "}}");

    private static readonly byte[] Unlabelled = Encoding.UTF8.GetBytes("{\"action\":\"opened\",\"issue\":{\"number\":8,\"title\":\"Typo\",\"body\":\"fix\",\"labels\":[{\"name\":\"docs\"}]}}");

    private static RelayRoute Route(Action<RelayRouteOptions> rules)
    {
        var options = new RelayRouteOptions();
        rules(options);
        return RelayRoute.Create("/hooks/github", "triage-agent", null, WebhookSignature.None).WithRules(options);
    }

    private static async Task<(string? Message, string? Error)> Render(string template, byte[] body)
    {
        using var payload = JsonDocument.Parse(body);
        return await RouteRules.RenderAsync(Route(r => r.Message = template), payload.RootElement, new DeliveryFacts("dlv_1", "issues.opened", "evt_1", new DateTimeOffset(2026, 11, 29, 3, 0, 0, TimeSpan.Zero)));
    }

    /// <summary>What start-up would say of a relay with this one route.</summary>
    private static System.Collections.Generic.IReadOnlyList<string> Validate(RelayRouteOptions route)
    {
        var options = new RunchatRelayOptions { Store = "sqlite:" + Path.Combine(Path.GetTempPath(), "rules.db") };
        options.Routes.Add(route);
        return options.Validate();
    }

    /// <summary>Null when the route runs the delivery; else why not (ignored or failed).</summary>
    private static string? WhyNot(RelayRoute route, string? eventName, byte[] body)
    {
        using var payload = JsonDocument.Parse(body);
        return route.Filter.Decide(eventName, payload.RootElement).Reason;
    }

    [Test]
    public void WhenRunsOnlyWhatTheQuerySelects()
    {
        var route = Route(r => r.When = "$.issue.labels[?(@.name == 'agent')]");

        Assert.That(WhyNot(route, "issues.opened", Labelled), Is.Null);
        Assert.That(WhyNot(route, "issues.opened", Unlabelled), Does.Contain("does not match the route's When ($.issue.labels[?(@.name == 'agent')])"));
    }

    [TestCase("$.issue.body")]
    [TestCase("$.issue.number")]
    [TestCase("$.issue.missing")]
    [TestCase("$.action.length")]
    [TestCase("$.issue.labels")]
    public void ASimplePathIsAnsweredAsNewtonsoftsSelectTokensAnswersIt(string path)
    {
        var route = Route(r => r.When = path);
        foreach (var body in new[] { Labelled, Unlabelled, Encoding.UTF8.GetBytes("{\"issue\":null}"), Encoding.UTF8.GetBytes("{\"issue\":[1,2]}") })
        {
            var newtonsoft = Newtonsoft.Json.Linq.JToken.Parse(Encoding.UTF8.GetString(body)).SelectTokens(path).Any();
            Assert.That(WhyNot(route, "e", body) is null, Is.EqualTo(newtonsoft), $"{path} on {Encoding.UTF8.GetString(body)}");
        }
    }

    [TestCase("issue_comment.*", "issue_comment.created", true)]
    [TestCase("issue_comment.*", "issues.opened", false)]
    [TestCase("issues.opened", "issues.opened", true)]
    [TestCase("issues.opened", "issues.opened.extra", false)]
    [TestCase("*", "push", true)]
    public void EventPatternsAreExactOrASuffixWildcard(string pattern, string eventName, bool runs)
    {
        var route = Route(r => r.Events.Add(pattern));

        Assert.That(WhyNot(route, eventName, Labelled) is null, Is.EqualTo(runs));
        Assert.That(WhyNot(route, null, Labelled), Does.Contain("names no event"));
    }

    [TestCase("issues.opened", true)]
    [TestCase("issues.closed", true)]
    [TestCase("issue_comment.created", true)]
    [TestCase("issues.labeled", false)]
    [TestCase("push", false)]
    public void ARouteWithSeveralEventPatternsRunsWhatAnyOfThemNames(string eventName, bool runs)
    {
        var route = Route(r =>
        {
            r.Events.Add("issues.opened");
            r.Events.Add("issues.closed");
            r.Events.Add("issue_comment.*");
        });

        var why = WhyNot(route, eventName, Labelled);

        Assert.That(why is null, Is.EqualTo(runs), why);
        if (!runs)
        {
            Assert.That(why, Is.EqualTo($"The event '{eventName}' is not one this route runs (issues.opened, issues.closed, issue_comment.*)."));
        }
    }

    [Test]
    public void ARouteWithEventsAndWhenRunsOnlyWhatBothLetThrough()
    {
        var route = Route(r =>
        {
            r.Events.Add("issues.opened");
            r.When = "$.issue.labels[?(@.name == 'agent')]";
        });

        Assert.That(WhyNot(route, "issues.opened", Labelled), Is.Null);
        Assert.That(WhyNot(route, "issues.closed", Labelled), Does.Contain("is not one this route runs"));
        Assert.That(WhyNot(route, "issues.opened", Unlabelled), Does.Contain("does not match the route's When"));
        Assert.That(WhyNot(Route(r => { }), null, Unlabelled), Is.Null, "a route without Events or When runs everything");
    }

    [TestCase("issues.opened", true)]
    [TestCase("star.created", true)]
    [TestCase("star", false)]
    [TestCase("issues.closed", false)]
    [TestCase(null, false)]
    public void BackfillAsksTheEventsOfEveryPatternBeforeItReadsAPayload(string? eventName, bool takes)
    {
        var route = Route(r =>
        {
            r.Events.Add("issues.opened");
            r.Events.Add("star.*");
        });

        Assert.That(route.Filter.TakesEvent(eventName), Is.EqualTo(takes));
        Assert.That(Route(_ => { }).Filter.TakesEvent(eventName), Is.True, "a route without Events takes every event, and none");
    }

    [TestCase("/hooks/{id}", "would make it a route template")]
    [TestCase("/hooks/github}", "would make it a route template")]
    [TestCase("/hooks/*", "would make it a route template")]
    [TestCase("/hooks/github?secret=1", "a character a request path cannot match")]
    [TestCase("/hooks/github#top", "a character a request path cannot match")]
    [TestCase("/hooks\\github", "a character a request path cannot match")]
    [TestCase("/hooks/git hub", "a character a request path cannot match")]
    [TestCase("/hooks/github\u0001", "a character a request path cannot match")]
    [TestCase("/hooks/../github", "a '.' or '..' segment")]
    [TestCase("/hooks/./github", "a '.' or '..' segment")]
    [TestCase("/hooks/github/..", "a '.' or '..' segment")]
    public void APathNoRequestCanReachIsRefusedAtStartUpSayingWhy(string path, string phrase)
    {
        var errors = Validate(RelayHost.Route(path, "triage-agent"));

        Assert.That(errors, Has.Count.EqualTo(1), string.Join(Environment.NewLine, errors));
        Assert.That(errors[0], Does.Contain($"'{path}'").And.Contain(phrase));
    }

    [TestCase("/")]
    [TestCase("/hooks/v1.2/.well-known/a..b")]
    [TestCase("/hooks/github-issues_2026~x")]
    public void APathARequestCanReachIsTaken(string path)
    {
        Assert.That(Validate(RelayHost.Route(path, "triage-agent")), Is.Empty);
    }

    [Test]
    public void AFlowRouteSendsThePayloadWholeSoAMessageIsRefused()
    {
        var route = new RelayRouteOptions { Path = "/hooks/forms", FlowId = "intake-flow", Signature = "none", Message = "{{ payload.name }}" };

        var errors = Validate(route);

        Assert.That(errors, Has.Count.EqualTo(1), string.Join(Environment.NewLine, errors));
        Assert.That(errors[0], Does.Contain("/hooks/forms").And.Contain("Message is for agent jobs"));
    }

    [Test]
    public void ARouteNeedsASchemeToBeBuiltInCode()
    {
        Assert.That(() => RelayRoute.Create("/hooks/github", "triage-agent", null, null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("scheme"));
    }

    [Test]
    public void AWhenThatCannotFinishOnASmallPayloadIsRefusedAtStartUp()
    {
        // Each filter compares every node with what the filter inside it selects from the root again: seven deep,
        // a 20-node sample costs 20^7 visits, past the budget of 5,000,000 nodes or 1 s whichever comes first.
        var when = "'q'";
        for (var depth = 0; depth < 7; depth++)
        {
            when = $"$..[?(@ == {when})]";
        }

        var route = RelayHost.Route("/hooks/github", "triage-agent");
        route.When = when;

        var errors = Validate(route);

        Assert.That(errors, Has.Count.EqualTo(1), string.Join(Environment.NewLine, errors));
        Assert.That(errors[0], Does.Contain("/hooks/github").And.Contain("fails on a sample payload").And.Match("visited more than 5,000,000 nodes|ran longer than 1 s"));
    }

    [Test]
    public async Task WhatRelayTestSaysOfADeliveryIsWhatTheRelayWouldDo()
    {
        var route = Route(r =>
        {
            r.Events.Add("issues.*");
            r.When = @"$.issue.labels[?(@.name =~ /^(\w+\s?)*$/)]";
            r.Message = "#{{ payload.issue.number }} {{ payload.issue.title }}";
        });
        var now = new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);
        using var runs = JsonDocument.Parse(Labelled);
        using var hostile = JsonDocument.Parse("{\"issue\":{\"labels\":[{\"name\":\"" + new string('a', 34) + "!\"}]}}");
        using var unrenderable = JsonDocument.Parse("{\"issue\":{\"title\":\"no number\",\"labels\":[{\"name\":\"agent\"}]}}");

        Assert.That(await RouteRules.RunAsync(route, "issues.opened", runs.RootElement, now), Is.EqualTo(new RouteRules.Verdict("would run", Runs: true, Failed: false, "#7 Crash on save")));
        Assert.That(await RouteRules.RunAsync(route, "star.created", runs.RootElement, now),
            Is.EqualTo(new RouteRules.Verdict("would be ignored: The event 'star.created' is not one this route runs (issues.*).", Runs: false, Failed: false, null)));

        var failed = await RouteRules.RunAsync(route, "issues.opened", hostile.RootElement, now);
        Assert.That(failed with { Headline = "" }, Is.EqualTo(new RouteRules.Verdict("", Runs: false, Failed: true, null)));
        Assert.That(failed.Headline, Does.StartWith("would fail: The route's When").And.Contain("took longer than 100 ms"));

        var broken = await RouteRules.RunAsync(route, "issues.opened", unrenderable.RootElement, now);
        Assert.That(broken with { Headline = "" }, Is.EqualTo(new RouteRules.Verdict("", Runs: false, Failed: true, null)));
        Assert.That(broken.Headline, Does.StartWith("would fail: The Message template could not be rendered").And.Contain("number"));
    }

    [TestCase("When", "$.issue[?(@.name ==", "When is not a JSONPath")]
    [TestCase("When", "  ", "When is empty")]
    [TestCase("Message", "{% if payload.issue %}unclosed", "Message is not a Liquid template")]
    [TestCase("Message", "{{ payload.issue.title | no_such_filter }}", null)]
    [TestCase("Events", "issue*.opened", "suffix wildcard only")]
    [TestCase("Events", "*issues*", "suffix wildcard only")]
    [TestCase("Events", "", "an empty pattern or one with spaces around it")]
    [TestCase("Events", " issues.opened", "an empty pattern or one with spaces around it")]
    [TestCase("Events", "issues.opened ", "an empty pattern or one with spaces around it")]
    [TestCase("Message", "{% include '/etc/passwd' %}", "Unknown tag 'include'")]
    [TestCase("Message", "{% render '../../../../../../etc/hostname' %}", "Unknown tag 'render'")]
    [TestCase("Message", "{% ifchanged %}x{% endifchanged %}", "Unknown tag 'ifchanged'")]
    [TestCase("Message", "{% for i in (1..100000000) %}{% endfor %}", "a range that is not two numbers at most 10000 apart")]
    [TestCase("Message", "{% for i in (1..payload.n) %}{% endfor %}", "a range that is not two numbers")]
    public void InvalidRulesAreRefusedAtStartUpNamingTheRoute(string key, string value, string? phrase)
    {
        var route = RelayHost.Route("/hooks/github", "triage-agent");
        switch (key)
        {
            case "When": route.When = value; break;
            case "Message": route.Message = value; break;
            default: route.Events.Add(value); break;
        }

        var errors = Validate(route);

        if (phrase is null)
        {
            // An unknown filter parses; strict filters fail its render instead (below).
            Assert.That(errors, Is.Empty);
            return;
        }

        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.Contain("Relay:Routes:0 (/hooks/github)").And.Contain(phrase));
    }

    [Test]
    public async Task TheModelIsThePayloadTheEventTheDeliveryAndTheRoute()
    {
        var (message, error) = await Render(
            "#{{ payload.issue.number }} {{ payload.issue.title }} [{{ payload.issue.body }}] {{ payload.issue.labels.size }} labels, first {{ payload.issue.labels[0].name }}; " +
            "{{ event.name }} {{ event.id }} {{ delivery.id }} {{ delivery.received_at }} {{ route.path }} {{ route.job_id }}",
            Labelled);

        Assert.That(error, Is.Null);
        Assert.That(message, Is.EqualTo("#7 Crash on save [] 2 labels, first bug; issues.opened evt_1 dlv_1 2026-11-29T03:00:00.000Z /hooks/github triage-agent"));
    }

    [TestCase("{{ payload.issue.labels | map: 'name' | join: ', ' }}", "bug, agent")]
    [TestCase("{% for l in payload.issue.labels %}{{ l.name }};{% endfor %}", "bug;agent;")]
    [TestCase("{% for pair in payload.issue %}{{ pair[0] }},{% endfor %}", "number,title,body,labels,")]
    [TestCase("{{ payload.issue.labels.first.name }} {{ payload.issue.labels.last.name }} {{ payload.issue.labels.size }} {{ payload.action.size }}", "bug agent 2 6")]
    [TestCase("{% if payload.action == 'opened' and payload.issue.number > 5 %}yes{% endif %}", "yes")]
    [TestCase("{% if 'opened' == payload.action and payload.action != 'closed' %}yes{% endif %}", "yes")]
    [TestCase("{{ payload.when | date: '%Y-%m-%d' }} {{ payload.action | slice: 0, 4 }} {{ payload.action | remove: 'ed' }}", "2026-11-28 open open")]
    [TestCase("{% if payload.issue.body == nil and payload.issue contains 'title' %}nil{% endif %}", "nil")]
    [TestCase("{{ payload.issue.number | plus: 1 }} {{ payload.action | upcase }}", "8 OPENED")]
    [TestCase("{{ payload.issue.labels[1] }}", "{\"name\":\"agent\"}")]
    [TestCase("{{ payload.issue | json }}", "{\"number\":7,\"title\":\"Crash on save\",\"body\":null,\"labels\":[{\"name\":\"bug\"},{\"name\":\"agent\"}]}")]
    public async Task TheModelReadsAsLiquidReads(string template, string expected)
    {
        var (message, error) = await Render(template, Labelled);

        Assert.That(error, Is.Null);
        Assert.That(message, Is.EqualTo(expected));
    }

    [TestCase("{{ payload.t }} {{ payload.f }} {{ payload.items[0].x }}", "true false 1")]
    [TestCase("{% if payload.n %}n{% endif %}{% if payload.f %}f{% endif %}{% if payload.t %}t{% endif %}{% if payload.o %}o{% endif %}", "to")]
    [TestCase("{% if payload.o == payload.o2 %}same{% endif %}{% if payload.o == payload.o3 %}differs{% endif %}{% if payload.arr == payload.arr %} arr{% endif %}", "same arr")]
    [TestCase("{% if payload.arr contains 2 %}has 2{% endif %}{% if payload.arr contains 3 %}has 3{% endif %}{% if payload.items[0].x contains 1 %}number{% endif %}", "has 2")]
    [TestCase("{{ payload.arr['size'] }} {{ payload.arr[-1] }} {{ payload.arr[-2] }}", "2 2 1")]
    [TestCase("[{{ payload.e.first }}{{ payload.e.last }}]", "[]")]
    [TestCase("{{ delivery.size }} {{ route.size }}", "2 2")]
    [TestCase("{{ payload.u | json }} {{ 'é' | json }}", "\"\u00e9 <b>\" \"\u00e9\"")]
    public async Task EachShapeOfJsonReadsAsLiquidReadsIt(string template, string expected)
    {
        var (message, error) = await Render(template, Shapes);

        Assert.That(error, Is.Null);
        Assert.That(message, Is.EqualTo(expected));
    }

    [TestCase("{% for item in payload.items %}{{ item.c }}{% endfor %}", "payload.items[1] has no 'c' (it has: x)")]
    [TestCase("{{ payload.items[1].c }}", "payload.items[1] has no 'c' (it has: x)")]
    [TestCase("{{ payload.arr[2] }}", "payload.arr has 2 items; it has no [2]")]
    [TestCase("{{ payload.arr[-3] }}", "payload.arr has 2 items; it has no [-3]")]
    [TestCase("{{ payload.eo.x }}", "payload.eo has no 'x' (it is empty)")]
    [TestCase("{{ payload.wide.x }}", "payload.wide has no 'x' (it has: wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww\u2026, m02, m03, m04, m05, m06, m07, m08, m09, m10, m11, m12, \u2026)")]
    [TestCase("{{ payload.z }}", "rendered a NUL character")]
    [TestCase("{% for i in (1..3) %}{% capture c %}{{ i }}{% break %}{% endcapture %}{% endfor %}x{{ c }}", "'c' is not in the model")]
    [TestCase("{{ payload.u | replace: '', '-' }}", "could not be rendered")]
    public async Task WhatAShapeDoesNotHaveIsNamedWithWhereItIs(string template, string phrase)
    {
        var (message, error) = await Render(template, Shapes);

        Assert.That(message, Is.Null);
        Assert.That(error, Does.Contain(phrase));
    }

    [Test]
    public void ARangeIsAtMostTenThousandApartAndAnEmptyTemplateIsNamed()
    {
        Assert.That(() => MessageTemplate.Parse("{% for i in (1..10000) %}x{% endfor %}"), Throws.Nothing);
        Assert.That(() => MessageTemplate.Parse("{% for i in (1..10001) %}x{% endfor %}"), Throws.ArgumentException.With.Message.Contains("at most 10000 apart"));
        Assert.That(() => MessageTemplate.Parse(" "), Throws.ArgumentException.With.Message.EqualTo("Message is empty; leave it out to send the payload whole."));
        Assert.That(() => MessageTemplate.Parse("", "Relay:Routes:0:PostReply:Body"), Throws.ArgumentException.With.Message.EqualTo("Relay:Routes:0:PostReply:Body is empty; leave it out for the default."));
    }

    [TestCase("{{ payload.big | replace: 'x', 'yy' }}", "the replace filter would build more than 100000 characters")]
    [TestCase("{{ payload.list | join: payload.big }}", "the join filter would build more than 100000 characters")]
    [TestCase("{{ payload.big | append: payload.big }}", "'append' grew past 100000")]
    [TestCase("{{ payload.list.nmae }}", "payload.list is an array; it has no 'nmae' (it has size, first, last and [index])")]
    [TestCase("{{ payload.list[5] }}", "payload.list has 3 items; it has no [5]")]
    public async Task WhatWouldGrowPastTheLimitOrReadWhatIsNotThereFailsBeforeItIsBuilt(string template, string phrase)
    {
        var body = Encoding.UTF8.GetBytes("{\"n\":1,\"list\":[\"a\",\"b\",\"c\"],\"big\":\"" + new string('x', 60_000) + "\"}");

        var (message, error) = await Render(template, body);

        Assert.That(message, Is.Null);
        Assert.That(error, Does.Contain(phrase));
    }

    // Each bound at its edge: exactly 100,000 characters (or items) is within it, one more is not.
    [TestCase("{{ payload.s }}", 100_000, null)]
    [TestCase("{{ payload.s }}", 100_001, "more than 100000 characters")]
    [TestCase("{% capture c %}{{ payload.s }}{% endcapture %}{{ c | size }}", 100_000, "100000")]
    [TestCase("{% capture c %}{{ payload.s }}{% endcapture %}{{ c | size }}", 100_001, "'c' grew past 100000 characters")]
    [TestCase("{% assign c = payload.s | append: payload.s %}{{ c | size }}", 50_000, "100000")]
    [TestCase("{% assign c = payload.s | append: payload.s %}{{ c | size }}", 50_001, "'append' grew past 100000 characters")]
    [TestCase("{{ payload.s | split: '' | size }}", 100_000, "100000")]
    [TestCase("{{ payload.s | split: '' | size }}", 100_001, "'split' grew past 100000 characters or items")]
    [TestCase("{{ payload.s | replace: 'x', 'yy' | size }}", 50_000, "100000")]
    [TestCase("{{ payload.s | replace: 'x', 'yy' | size }}", 50_001, "the replace filter would build more than 100000 characters")]
    [TestCase("{{ payload.s | replace: 'xx', 'y' | size }}", 100_000, "50000")]
    [TestCase("{{ payload.s | split: '' | join: ', ' | size }}", 33_334, "100000")]
    [TestCase("{{ payload.s | split: '' | join: ', ' | size }}", 33_335, "the join filter would build more than 100000 characters")]
    [TestCase("{{ payload.s | split: '' | join | size }}", 100_000, "100000")]
    [TestCase("{{ payload.s | replace: 'x', 'yyy' | size }}", 33_333, "99999")]
    [TestCase("{{ payload.s | replace: 'x', 'yyy' | size }}", 33_334, "the replace filter would build more than 100000 characters")]
    public async Task EveryBoundHoldsExactlyAtOneHundredThousand(string template, int length, string? outcome)
    {
        var body = Encoding.UTF8.GetBytes("{\"s\":\"" + new string('x', length) + "\"}");

        var (message, error) = await Render(template, body);

        if (outcome is null)
        {
            Assert.That(error, Is.Null);
            Assert.That(message, Has.Length.EqualTo(length));
        }
        else if (char.IsDigit(outcome[0]))
        {
            Assert.That(error, Is.Null);
            Assert.That(message, Is.EqualTo(outcome));
        }
        else
        {
            Assert.That(message, Is.Null);
            Assert.That(error, Does.Contain(outcome));
        }
    }

    [TestCase("{{ payload.isue.title }}", "payload has no 'isue' (it has: action, when, issue)")]
    [TestCase("{{ paylod.issue }}", "'paylod' is not in the model")]
    [TestCase("{{ payload.issue.title | no_such_filter }}", "no_such_filter")]
    [TestCase("{% for i in (1..9999) %}{% for j in (1..9999) %}{% endfor %}{% endfor %}", "ran past its limits (100,000 statements")]
    [TestCase("{% for i in (1..9999) %}0123456789A{% endfor %}", "more than 100000 characters")]
    [TestCase("{% assign s = 'xxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}", "grew past 100000")]
    [TestCase("{% capture s %}{% for i in (1..9999) %}0123456789A{% endfor %}{% endcapture %}{{ s | size }}", "grew past 100000")]
    [TestCase("{% if false %}x{% endif %}   ", "empty message")]
    public async Task ARenderThatFailsSendsNothingAndSaysWhy(string template, string phrase)
    {
        var (message, error) = await Render(template, Labelled);

        Assert.That(message, Is.Null);
        Assert.That(error, Does.Contain(phrase).And.Contain("othing was sent"));
    }

    [TestCase("{{ payload.GetType }}", "payload has no 'GetType'")]
    [TestCase("{{ payload.issue.title.Length }}", "no 'Length'")]
    [TestCase("{{ payload.issue.title.GetType.Assembly }}", "no 'GetType'")]
    [TestCase("{{ RUNCHAT_TEMPLATE_PROBE }}", "'RUNCHAT_TEMPLATE_PROBE' is not in the model")]
    [TestCase("{{ delivery.GetType }}", "no 'GetType'")]
    public async Task ATemplateReachesNoEnvironmentAndNoDotNetObject(string template, string phrase)
    {
        Environment.SetEnvironmentVariable("RUNCHAT_TEMPLATE_PROBE", "env-secret-value");
        try
        {
            var (message, error) = await Render(template, Labelled);

            Assert.That(message, Is.Null, "a name the model does not have is an error, never an empty or a .NET value");
            Assert.That(error, Does.Contain(phrase));
            Assert.That(error, Does.Not.Contain("env-secret-value").And.Not.Contain("System.").And.Not.Contain("Runchat.Relay"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("RUNCHAT_TEMPLATE_PROBE", null);
        }
    }

    [TestCase("{% include '/etc/passwd' %}")]
    [TestCase("{% render '/etc/passwd' %}")]
    [TestCase("{% macro leak() %}{% endmacro %}{{ leak() }}")]
    public void ATemplateThatWouldReadAFileOrDefineAFunctionIsRefusedAtStart(string template)
    {
        // include/render are removed and functions off (AllowFunctions = false): refused when the route is read, never at a render.
        var exception = Assert.Throws<ArgumentException>(() => MessageTemplate.Parse(template));
        Assert.That(exception!.Message, Does.Contain("not a Liquid template Fluid can read"));
    }

    [Test]
    public async Task AssignAndCaptureBuildWhatTheyAreGiven()
    {
        var (message, error) = await Render(
            "{% assign n = payload.issue.number | plus: 1 %}{% capture title %}[{{ payload.issue.title | upcase }}]{% endcapture %}{{ title }} #{{ n }}", Labelled);

        Assert.That(error, Is.Null);
        Assert.That(message, Is.EqualTo("[CRASH ON SAVE] #8"));
    }

    [Test]
    public async Task ARouteWithoutAMessageSendsThePayloadWhole()
    {
        using var payload = JsonDocument.Parse(Labelled);
        var (message, error) = await RouteRules.RenderAsync(Route(_ => { }), payload.RootElement, new DeliveryFacts("dlv_1", null, null, DateTimeOffset.UtcNow));

        Assert.That(message, Is.Null);
        Assert.That(error, Is.Null);
    }

    [TestCase("stripe", null, "{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}", "invoice.paid")]
    [TestCase("github", "push", "{\"ref\":\"refs/heads/main\",\"commits\":[]}", "push")]
    [TestCase("github", "issues", "{\"action\":\"labeled\",\"issue\":{}}", "issues.labeled")]
    [TestCase("github", null, "{\"action\":\"labeled\"}", null)]
    [TestCase("slack", null, "{\"type\":\"event_callback\",\"event\":{\"type\":\"app_mention\"}}", "app_mention")]
    [TestCase("slack", null, "{\"command\":\"/triage\",\"text\":\"now\"}", "/triage")]
    [TestCase("slack", null, "{\"payload\":\"{\\\"type\\\":\\\"block_actions\\\"}\"}", "block_actions")]
    [TestCase("slack", null, "{\"payload\":{\"type\":\"view_submission\"}}", "view_submission")]
    [TestCase("standard-webhooks", null, "{\"type\":\"form.submitted\"}", "form.submitted")]
    [TestCase("none", null, "{\"type\":42}", null)]
    [TestCase("hmac-sha256", null, "{\"kind\":\"alert\"}", null)]
    public void EachSchemeNamesItsEvents(string scheme, string? gitHubEvent, string body, string? expected)
    {
        var headers = new HeaderDictionary();
        if (gitHubEvent is not null)
        {
            headers["X-GitHub-Event"] = gitHubEvent;
        }

        var secret = scheme == "standard-webhooks" ? "whsec_" + Convert.ToBase64String(new byte[24]) : "a-test-secret-of-32-characters!!";
        var request = new WebhookRequest(headers, Encoding.UTF8.GetBytes(body), new Uri("http://relay.test/hooks"), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        using var payload = JsonDocument.Parse(body);

        Assert.That(WebhookSchemes.BuiltIn.Create(scheme, new WebhookSchemeSettings("/hooks", secret, "X-Signature")).Describe(request, payload.RootElement).Name, Is.EqualTo(expected));
    }
}
