using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NUnit.Framework;
using Runchat.Relay;

namespace Runchat.Tests.Relay;

/// <summary>
/// <c>When</c> is evaluated on the ingest's one parsed document by the relay's own JSONPath reader; the
/// contract is Newtonsoft.Json's <c>SelectTokens</c>, so every expression here is asked of both, on real
/// GitHub payloads and on documents built to reach the corners.
/// </summary>
[TestFixture]
[Category("Relay")]
public class JsonPathQueryTests
{
    private static readonly string[] Expressions =
    {
        "$", "$.action", "action", "$.issue", "$.issue.number", "$.issue.missing", "$.issue.labels", "$.issue.labels[0]",
        "$.issue.labels[0].name", "$.issue.labels[1].name", "$.issue.labels[5]", "$.issue.labels[*]",
        "$.issue.labels[*].name", "$.issue.labels[0,1].name", "$.issue.labels[0:1]", "$.issue.labels[1:]", "$.issue.labels[:1]",
        "$.issue.labels[::2]", "$.issue.labels[::-1]", "$.issue.*", "$.*", "$['issue']['number']", "$['issue','sender']",
        "$..login", "$..name", "$..*", "$..labels[0]", "$..[?(@.name == 'bug')]",
        "$.issue.labels[?(@.name == 'agent')]", "$.issue.labels[?(@.name != 'agent')]",
        "$.issue.labels[?(@.name)]", "$.issue.labels[?(@.missing)]", "$.issue.labels[?(@.name =~ /^ag/)]",
        "$.issue.labels[?(@.name =~ /^AG/i)]", "$.issue.labels[?(@.name =~ /nothing/)]", "$.issue.labels[?(@.default == false)]",
        "$.issue.labels[?(@.default == true)]", "$.issue.labels[?(@.default === false)]", "$.issue.labels[?(@.id > 100)]",
        "$.issue.labels[?(@.id >= 208045946)]", "$.issue.labels[?(@.id < 1)]", "$.issue.labels[?(@.name == 'bug' || @.name == 'agent')]",
        "$.issue.labels[?(@.name == 'bug' && @.default == false)]", "$.issue.labels[?(@.name == 'bug' && @.default == true)]",
        "$.issue.labels[?(@.color == $.issue.labels[0].color)]", "$.issue[?(@.login)]", "$.issue.labels[?(@.name != null)]",
        "$.issue.labels[?(@.id == 208045946.0)]", "$.issue.labels[?(@.id == '208045946')]", "$.issue.body", "$.issue.locked",
        "$.issue.number[0]", "$.action.length", "$.issue.assignees[*]", "$.repository.owner.login", "$.n", "$.n[?(@ > 1)]",
        "$.list[?(@ > 1)]", "$.s[?(@ > 'a')]", "$.s[?(@ >= '10')]", "$.l[?(@ > null)]", "$.l[?(@ < null)]", "$.l[?(@ > 1)]", "$.s[?(@ > true)]", "$.list[?(@ == 2)]", "$.list[?(@ == 'b')]", "$.list[?(@ != 2)]", "$.list[?(@.x)]", "$.nested..x",
        "$.nested..[?(@.x == 1)]", "$.nested.a[?(@.x < 2.5)]", "$.nested.a[?(@.x > 'a')]", "$.e[?(@ == null)]", "$.e[?(@ != null)]",
        "$.list[1:3]", "$.list[-2:]", "$.list[:-1]", "$.list[3:1:-1]", "$['odd']['key with space']",
        "$['odd']['it\\'s']", "$.odd['dot.key']", "$.odd.dollar$", "$..x[?(@ > 0)]", "$.list[?(@ =~ /^b$/)]", "$.issue.title",
        "$.issue.labels[?(@.id <= 208045946)]", "$.issue.labels[?(@.id <= 1)]", "$.list[?(@ <= 2)]", "$.l[?(@ <= 1.5)]", "$.l[?(@ < 1.5)]",
        "$.issue.labels[ 0 ]", "$.issue.labels[ 0 , 1 ].name", "$[ 'issue' ][ 'number' ]", "$.list[ 1 : 3 ]", "$.list[ : : -1 ]",
        "$.issue.labels[?( @.name == 'bug' )]", "$.issue.labels[?(@.name=='bug')]", "$.issue.labels[?(@.id >= 1 && @.id <= 1)]",
        "$.list[-1:-3:-1]", "$.list[:2:-1]", "$.list[5:0:-2]", "$.list[-9:9]", "$.list[9:-9:-1]", "$.list[1:1]",
        "$.issue.labels[?(@.name == 'bug' || @.name == 'agent' || @.name == 'x')]", "$.issue.labels[?(@.id > 0 && @.id < 300000000 && @.name != 'x')]",
        "$.l[?(@ > -1.5e+2)]", "$.l[?(@ == 1.5E0)]", "$.issue.labels[?(@.name =~ /BUG|AGENT/i)]", "$.l[?(@ == true)]", "$.l[?(@ == false)]",
        "$.list[?(@ =~ /^B$/i)]", "$.l[?(@ > 0.5)]", "$.l[?(@ >= 0)]", "$.l[?(@ < 0.5)]", "$.l[?(@ <= 0)]", "$.list[?(@.x == 1 || @ == 2)]", "$.odd['it\\'s','dot.key']", "$['odd'].*", "$..labels[?(@.name)].id",
        "$.issue[0:2]", "$.list[-10::-1]", "$.list[-10:-20:-1]", "$.nested.a[?(@.y == @.y)]", "$.nested.a[?(@.y > 1)]", "$.nested.a[?(@.y != 1)]",
        "$.list[?(@ == @)]", "$.l[?(@ > false)]", "$.l[?(@ < false)]", "$.list[?(@ =~ /^b\\/?$/)]", "$.s[?(@ =~ /^\\/|a/)]",
    };

    private static readonly string[] Documents = LoadDocuments();

    private static string[] LoadDocuments()
    {
        var github = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "webhooks", "github");
        return new[]
        {
            File.ReadAllText(Path.Combine(github, "issues", "opened.payload.json")),
            File.ReadAllText(Path.Combine(github, "issues", "labeled.payload.json")),
            File.ReadAllText(Path.Combine(github, "pull_request", "opened.payload.json")),
            "{\"action\":\"opened\",\"issue\":{\"number\":7,\"title\":\"Crash\",\"body\":null,\"labels\":[{\"id\":1,\"name\":\"bug\",\"default\":false,\"color\":\"f00\"},{\"id\":208045946,\"name\":\"agent\",\"default\":true,\"color\":\"f00\"}]}}",
            "{\"n\":5,\"list\":[1,2,\"b\",{\"x\":1},[3]],\"e\":[null,1,\"\"],\"nested\":{\"a\":[{\"x\":1},{\"x\":2},{\"x\":\"z\"},{\"y\":{\"x\":3}}]},\"odd\":{\"key with space\":1,\"dot.key\":2,\"dollar$\":3,\"it's\":4}}",
            "{\"issue\":null,\"action\":[1,2]}",
            "{\"l\":[1,2,\"3\",true,null,1.5,10000000000000000000000000000000],\"s\":[\"a\",\"b\",\"10\",\"true\"]}",
            "{}",
        };
    }

    [Test]
    public void EveryExpressionSelectsWhatNewtonsoftSelects()
    {
        var compared = 0;
        foreach (var expression in Expressions)
        {
            var query = JsonPathQuery.Parse(expression);
            foreach (var json in Documents)
            {
                string[] expected;
                try
                {
                    expected = Read(json).SelectTokens(expression).Select(Normalize).OrderBy(t => t, StringComparer.Ordinal).ToArray();
                }
                catch (Exception newtonsoftFailed) when (newtonsoftFailed is Newtonsoft.Json.JsonException or ArgumentException or FormatException or InvalidCastException)
                {
                    // Newtonsoft refuses this one on this document; ours must refuse it too or select nothing.
                    Assert.That(() => Select(query, json), Throws.TypeOf<JsonPathException>().Or.Matches<string[]>(r => r.Length == 0),
                        $"{expression} on {Short(json)}: Newtonsoft threw {newtonsoftFailed.GetType().Name}: {newtonsoftFailed.Message}");
                    continue;
                }

                Assert.That(Select(query, json), Is.EqualTo(expected), $"{expression} on {Short(json)}");
                compared++;
            }
        }

        Assert.That(compared, Is.GreaterThan(Expressions.Length * Documents.Length * 9 / 10), "most comparisons must be real ones");
    }

    [TestCase("$.issue.labels[?(@.name =~ /agent[/)]", "is not a regular expression")]
    [TestCase("$.issue[", "an array index is expected")]
    [TestCase("$.issue.labels[-1]", "an index cannot be negative")]
    [TestCase("$[\"issue\"]", "names in brackets are quoted with '")]
    [TestCase("$.issue.labels[?(@.name == \"agent\")]", "strings are quoted with '")]
    [TestCase("$.issue.", "a name is expected")]
    [TestCase("$.odd.key with space", "unexpected 'w'")]
    [TestCase("$.issue.labels[?(@.name == )]", "a value is expected")]
    [TestCase("$.issue.labels[?(@.name == agent)]", "'agent' is not a value")]
    [TestCase("$.a[1:2:0]", "step cannot be 0")]
    [TestCase("$.a[?(@.name =~ /x/q)]", "'q' is not a regular expression flag")]
    [TestCase("$.a[?(@.name =~ 'x')]", "=~ takes a regular expression")]
    [TestCase("$.a]", "unexpected ']'")]
    [TestCase("$.a[1,2:3]", "an index list cannot mix ',' and ':'")]
    [TestCase("$.a[1:2:3:4]", "a slice has at most two ':'")]
    [TestCase("$.a[99999999999]", "'99999999999' is not an array index")]
    [TestCase("$['abc", "a quoted name or string is not closed")]
    [TestCase("$.a[?(@.name =~ /abc", "a regular expression is not closed with '/'")]
    [TestCase("$.a[?(@.x == 1", "is expected at the end")]
    [TestCase("$.a[?(@.x == 1]", "is expected where")]
    [TestCase("$.a[?(@.name =~ /x/i", "is expected at the end")]
    public void AnExpressionThatDoesNotParseIsRefusedSayingWhere(string expression, string phrase)
    {
        Assert.That(() => JsonPathQuery.Parse(expression), Throws.ArgumentException.With.Message.Contains(phrase).And.Message.Contains("(at character"));
    }

    [Test]
    public void ARefusalCountsCharactersFromOneAndNullIsNoExpression()
    {
        Assert.That(() => JsonPathQuery.Parse("$.a]"), Throws.ArgumentException.With.Message.Contains("unexpected ']' (at character 4)"));
        Assert.That(() => JsonPathQuery.Parse("]"), Throws.ArgumentException.With.Message.Contains("(at character 1)"));
        Assert.That(() => JsonPathQuery.Parse(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("text"));
    }

    [Test]
    public void ACatastrophicRegularExpressionIsStoppedByItsMatchTimeout()
    {
        var query = JsonPathQuery.Parse(@"$.labels[?(@.name =~ /^(\w+\s?)*$/)]");
        var json = "{\"labels\":[{\"name\":\"" + new string('a', 34) + "!\"}]}";
        using var document = JsonDocument.Parse(json);

        var clock = Stopwatch.StartNew();
        Assert.That(() => query.Selects(document.RootElement), Throws.TypeOf<JsonPathException>().With.Message.Contains("took longer than 100 ms"));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)), "the timeout bounds the match");
    }

    [Test]
    public void ManyMatchesTogetherAreBoundedByTheEvaluationsTimeLimit()
    {
        // Each match stays under its own 100 ms; ten thousand of them would not. The whole evaluation stops at 1 s.
        var query = JsonPathQuery.Parse(@"$.labels[?(@.name =~ /^(a|aa)+$/)]");
        var labels = string.Join(",", Enumerable.Repeat("{\"name\":\"" + new string('a', 24) + "b\"}", 10_000));
        using var document = JsonDocument.Parse("{\"labels\":[" + labels + "]}");

        var clock = Stopwatch.StartNew();
        Assert.That(() => query.Selects(document.RootElement), Throws.TypeOf<JsonPathException>());
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
    }

    [Test]
    public void NestedScansAreBoundedByTheNodesTheyVisit()
    {
        // Each '..' walks everything under each node the one before it selected: five of them over a chain 60 deep are millions of paths.
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 60)) + "1" + new string('}', 60);
        using var document = JsonDocument.Parse(deep, new JsonDocumentOptions { MaxDepth = 64 });
        var query = JsonPathQuery.Parse("$..*..*..*..*..[?(@.missing == 1)]");

        var clock = Stopwatch.StartNew();
        Assert.That(() => query.Selects(document.RootElement), Throws.TypeOf<JsonPathException>().With.Message.Contains("nodes").Or.Message.Contains("longer than"));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
    }

    [Test]
    public void SelectingStopsAtTheFirstNode()
    {
        // A When needs one node: a match early in a large array is answered without walking the rest.
        var items = string.Join(",", Enumerable.Repeat("{\"name\":\"x\"}", 1_000_000));
        using var document = JsonDocument.Parse("{\"labels\":[{\"name\":\"agent\"}," + items + "]}");
        var query = JsonPathQuery.Parse("$.labels[?(@.name == 'agent')]");

        var clock = Stopwatch.StartNew();
        Assert.That(query.Selects(document.RootElement), Is.True);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromMilliseconds(200)));
    }

    // Spaces between the tokens of a bracket or a filter: each pair selects the same nodes.
    [TestCase(" $.b[*]", "$.b[*]")]
    [TestCase("$.b[*] ", "$.b[*]")]
    [TestCase("$.b[ * ]", "$.b[*]")]
    [TestCase("$.b[ 0 ]", "$.b[0]")]
    [TestCase("$.b[ 0 , 2 ]", "$.b[0,2]")]
    [TestCase("$.b[ 0 : 2 ]", "$.b[0:2]")]
    [TestCase("$.b[ : : -1 ]", "$.b[::-1]")]
    [TestCase("$[ 'a' , 'c' ]", "$['a','c']")]
    [TestCase("$[ 'a' ]", "$['a']")]
    [TestCase("$.b[ ? ( @.x ) ]", "$.b[?(@.x)]")]
    [TestCase("$.b[?( @.x  ==  2 )]", "$.b[?(@.x==2)]")]
    [TestCase("$.b[?(@.x == 1  ||  @.y == 3 )]", "$.b[?(@.x==1||@.y==3)]")]
    [TestCase("$.b[?(@.x == 1 && @.x != 2)]", "$.b[?(@.x==1&&@.x!=2)]")]
    [TestCase("$.b[?( ( @.x == 1 ) || ( @.y ) )]", "$.b[?((@.x==1)||(@.y))]")]
    [TestCase("$..[?(@.c =~  /^s$/ )]", "$..[?(@.c=~/^s$/)]")]
    [TestCase("$..[ ?(@.x == 2) ]", "$..[?(@.x==2)]")]
    public void SpacesBetweenTokensAreSkipped(string spaced, string compact)
    {
        var expected = Select(JsonPathQuery.Parse(compact), CostDocument);
        Assert.That(expected, Is.Not.Empty, "the compact form selects something");
        Assert.That(Select(JsonPathQuery.Parse(spaced), CostDocument), Is.EqualTo(expected));
    }

    private const string CostDocument = "{\"a\":{\"x\":1,\"y\":[1,2,3]},\"b\":[{\"x\":1},{\"x\":2},{\"y\":3}],\"c\":\"s\"}";

    // What each kind of step counts against the node budget, on a document of 15 nodes (the root, 14 under it).
    [TestCase("$.*", 3, 3, TestName = "every member of an object")]
    [TestCase("$.a", 1, 1, TestName = "a name")]
    [TestCase("$['a','c','z']", 3, 2, TestName = "each name in a list, found or not")]
    [TestCase("$..*", 15, 15, TestName = "a scan, the node itself and every node under it")]
    [TestCase("$..x", 15, 3, TestName = "a scan for a name, every node")]
    [TestCase("$.b[*]", 4, 3, TestName = "every item of an array")]
    [TestCase("$.b[0,2,5]", 4, 2, TestName = "each index in a list, present or not")]
    [TestCase("$.b[0:2]", 3, 2, TestName = "each item of a slice")]
    [TestCase("$.b[::-1]", 4, 3, TestName = "each item of a backward slice")]
    [TestCase("$.b[?(@.x)]", 7, 2, TestName = "a filter, each item and what its condition reads")]
    [TestCase("$..[?(@.x)]", 20, 3, TestName = "a scanning filter, every node and what the condition reads on objects")]
    [TestCase("$.b[?(@.x == $.a.x)]", 11, 1, TestName = "a filter reading the document, once per item with a value to compare")]
    public void EachStepCountsTheNodesItVisitsAgainstTheBudget(string expression, int visits, int selected)
    {
        var query = JsonPathQuery.Parse(expression);
        using var document = JsonDocument.Parse(CostDocument);
        var still = new SteppingClock(TimeSpan.Zero);

        Assert.That(query.Select(document.RootElement, new JsonPathLimits(visits, TimeSpan.FromSeconds(1), still)).Count(), Is.EqualTo(selected), "within a budget of exactly its cost");
        Assert.That(() => query.Select(document.RootElement, new JsonPathLimits(visits - 1, TimeSpan.FromSeconds(1), still)).Count(),
            Throws.TypeOf<JsonPathException>().With.Message.EqualTo($"it visited more than {visits - 1:N0} nodes of the payload"));
    }

    [TestCase(1022, 1, false, TestName = "1,023 nodes: the clock is not read")]
    [TestCase(1023, 1000, false, TestName = "1,024 nodes: read, exactly the limit is within it")]
    [TestCase(1023, 1001, true, TestName = "1,024 nodes: read, past the limit")]
    public void TheClockIsReadEvery1024NodesAndPastTheLimitTheEvaluationStops(int items, int millisecondsPerRead, bool stops)
    {
        // A clock that moves only when read: each read is a further step, so the number of reads is what this sees.
        var query = JsonPathQuery.Parse("$.list[*]");
        using var document = JsonDocument.Parse("{\"list\":[" + string.Join(",", Enumerable.Repeat("1", items)) + "]}");
        var limits = new JsonPathLimits(JsonPathQuery.MaxVisits, TimeSpan.FromSeconds(1), new SteppingClock(TimeSpan.FromMilliseconds(millisecondsPerRead)));

        if (stops)
        {
            Assert.That(() => query.Select(document.RootElement, limits).Count(), Throws.TypeOf<JsonPathException>().With.Message.EqualTo("it ran longer than 1 s"));
        }
        else
        {
            Assert.That(query.Select(document.RootElement, limits).Count(), Is.EqualTo(items));
        }
    }

    [Test]
    public void TheClockIsReadBeforeEachRegularExpression()
    {
        var query = JsonPathQuery.Parse("$.labels[?(@.name =~ /^agent$/)]");
        using var document = JsonDocument.Parse("{\"labels\":[{\"name\":\"agent\"}]}");

        Assert.That(query.Selects(document.RootElement, new JsonPathLimits(100, TimeSpan.FromSeconds(1), new SteppingClock(TimeSpan.Zero))), Is.True);
        Assert.That(() => query.Selects(document.RootElement, new JsonPathLimits(100, TimeSpan.FromSeconds(1), new SteppingClock(TimeSpan.FromSeconds(2)))),
            Throws.TypeOf<JsonPathException>().With.Message.EqualTo("it ran longer than 1 s"));
    }

    [Test]
    public void TheRelaysLimitsAreFiveMillionNodesAndOneSecondOnTheSystemClock()
    {
        Assert.That(JsonPathLimits.Default, Is.EqualTo(new JsonPathLimits(5_000_000, TimeSpan.FromSeconds(1), TimeProvider.System)));
    }

    /// <summary>A clock whose every timestamp read is <c>step</c> after the one before.</summary>
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks += step.Ticks;
    }

    private static string[] Select(JsonPathQuery query, string json)
    {
        using var document = JsonDocument.Parse(json);
        return query.Select(document.RootElement).Select(e => Normalize(Read(e.GetRawText()))).OrderBy(t => t, StringComparer.Ordinal).ToArray();
    }

    /// <summary>As the relay read payloads with Newtonsoft before: dates stay strings, numbers exact.</summary>
    private static JToken Read(string json) =>
        JToken.ReadFrom(new JsonTextReader(new StringReader(json)) { DateParseHandling = DateParseHandling.None, FloatParseHandling = FloatParseHandling.Decimal });

    private static string Normalize(JToken token) => token.ToString(Formatting.None);

    private static string Short(string json) => json.Length > 80 ? json.Substring(0, 80) + "…" : json;
}
