using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using NUnit.Framework;
using Runchat.Internal;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Transport;

/// <summary>
/// The key reaches no exit however a server or proxy spells it back: Trace logs of echoed
/// response headers, exceptions from a malformed 200, an agent's error text, an error body cut
/// inside the key, a JavaScript-escaped key in an HTML page, a key in a base URL's query. And a
/// short key (the sandbox's) does not redact ordinary words.
/// </summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class KeyAtNoExitTests : WireMockTest
{
    private static IEnumerable<string> Texts(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            yield return e.Message;
            yield return e.ToString();
            if (e is RunchatApiException api)
            {
                yield return api.Response ?? string.Empty;
                yield return api.ServerError ?? string.Empty;
                foreach (var header in api.Headers)
                {
                    yield return header.Key + ": " + string.Join(", ", header.Value);
                }
            }
        }
    }

    private static void AssertNoKey(IEnumerable<string> texts, string key = ApiKey)
    {
        foreach (var text in texts)
        {
            Assert.That(text, Does.Not.Contain(key));
            Assert.That(text, Does.Not.Contain(key.Substring(0, 20)), "a cut-off start of the key");
        }
    }

    [Test]
    public async Task ResponseHeadersThatEchoTheKeyAreNotInTraceLogs()
    {
        Server.Given(Request.Create().WithPath(JobPath + "ok").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithHeader("X-Debug-Authorization", "Bearer " + ApiKey).WithBody(ResponseBodies.Success()));
        Server.Given(Request.Create().WithPath(JobPath + "moved").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(302).WithHeader("Location", "https://login.example/?key=" + ApiKey));
        Server.Given(Request.Create().WithPath(JobPath + "busy").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "0").WithHeader("X-RateLimit-Key", ApiKey));
        using var logs = new FakeLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); o.MaxRetries = 1; });
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IRunchatClient>();

        var ok = await client.TriggerAgentJobWithResponseAsync("ok", "hi");
        var moved = await Caught(client.TriggerAgentJobAsync("moved"));
        var busy = await Caught(client.TriggerAgentJobAsync("busy"));

        var records = logs.Collector.GetSnapshot();
        Assert.That(records.Any(r => r.Level == LogLevel.Trace && r.Message.Contains("X-Debug-Authorization")), Is.True, "response headers were logged at Trace");
        AssertNoKey(records.Select(r => r.Message + " " + r.Exception + " " + string.Join(" ", (r.StructuredState ?? Array.Empty<KeyValuePair<string, string?>>()).Select(s => s.Key + "=" + s.Value))));
        AssertNoKey(ok.Headers.SelectMany(h => h.Value));
        Assert.That(ok.GetHeader("X-Debug-Authorization"), Is.EqualTo("Bearer [REDACTED]"));
        AssertNoKey(Texts(moved!).Concat(Texts(busy!)));
    }

    [Test]
    public async Task AMalformed200ThatQuotesTheKeyGivesAnExceptionWithoutIt()
    {
        // A job_id that is an object, not a string: the converter's message would quote the value.
        RespondWith(200, "{\"status\":\"success\",\"job_id\":[\"" + ApiKey + "\"],\"messages\":[]}");
        using var client = CreateClient();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception, Is.InstanceOf<RunchatApiException>());
        Assert.That(((RunchatApiException)exception!).StatusCode, Is.EqualTo(200));
        AssertNoKey(Texts(exception));
    }

    [Test]
    public async Task AnAgentErrorThatEchoesTheKeyIsRedactedInTheResponseAndInEnsureSuccess()
    {
        RespondWith(200, "{\"status\":\"error\",\"error\":\"upstream rejected Bearer " + ApiKey.Replace("_", "\\u005f") + "\",\"messages\":[{\"role\":\"assistant\",\"content\":\"my key is " + ApiKey + "\"}]}");
        using var client = CreateClient();

        var run = await client.TriggerAgentJobAsync("demo-agent");
        var failed = Assert.Throws<RunchatAgentRunException>(() => run.EnsureSuccess());

        Assert.That(run.Error, Is.EqualTo("upstream rejected Bearer [REDACTED]"));
        Assert.That(run.FinalReply, Is.EqualTo("my key is [REDACTED]"));
        AssertNoKey(Texts(failed!).Append(run.Transcript.Single().Raw.ToString()));
    }

    [Test]
    public async Task AnErrorBodyCutAtItsLimitInsideTheKeyKeepsNoPartOfIt()
    {
        var filler = new string('x', RunchatDeadlineHandler.MaxErrorBodyBytes - 24);
        RespondWith(500, filler + ApiKey + " and more", "text/plain");
        using var client = CreateClient();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        var api = (RunchatApiException)exception!;
        Assert.That(api.Response!.Length, Is.LessThan(RunchatDeadlineHandler.MaxErrorBodyBytes));
        Assert.That(api.Response, Does.EndWith("[REDACTED]"));
        AssertNoKey(Texts(api));
    }

    [TestCase("\\u0072\\u006b\\u005f")]
    [TestCase("\\x72\\x6b\\x5f")]
    [TestCase("&#114;&#x6b;&#95;")]
    [TestCase("%72%6B%5F")]
    public async Task AKeyEscapedInAnHtmlErrorPageIsRedacted(string firstThreeCharacters)
    {
        var spelled = firstThreeCharacters + ApiKey.Substring(3).Replace("_", "\\x5f");
        RespondWith(502, "<html><script>var token = \"" + spelled + "\";</script>Bad gateway</html>", "text/html");
        using var client = CreateClient();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        var api = (RunchatApiException)exception!;
        Assert.That(api.Response, Does.Contain("var token = \"[REDACTED]\""));
        AssertNoKey(Texts(api));
    }

    [Test]
    public void AKeyInTheBaseUrlsQueryIsNotPrintedByTheRefusal()
    {
        var options = new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = new Uri("https://runchat.example/api/v1/?api_key=" + ApiKey + "&x=1") };

        var exception = Assert.Throws<InvalidOperationException>(() => new RunchatClient(options));

        Assert.That(exception!.Message, Does.Contain("query"));
        AssertNoKey(new[] { exception.Message, options.ToString() });
    }

    [Test]
    public async Task AShortKeySuchAsTheSandboxsDoesNotRedactOrdinaryWords()
    {
        RespondWith(404, "{\"error\":\"Job sandbox-digest not found in this sandbox\"}");
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = "sandbox", BaseUrl = new Uri(Server.Url!) });

        var exception = await Caught(client.TriggerAgentJobAsync("sandbox-digest"));

        Assert.That(((RunchatApiException)exception!).ServerError, Is.EqualTo("Job sandbox-digest not found in this sandbox"));
        Assert.That(exception.Message, Does.Not.Contain("[REDACTED]"));
    }

    [Test]
    public void TheRedactorFindsEverySpellingAndNothingElse()
    {
        var keys = new[] { ApiKey };

        Assert.That(SecretRedactor.Redact("a " + ApiKey + " b", keys), Is.EqualTo("a [REDACTED] b"));
        Assert.That(SecretRedactor.Redact(string.Concat(ApiKey.Select(c => $"\\u{(int)c:x4}")), keys), Is.EqualTo("[REDACTED]"));
        Assert.That(SecretRedactor.Redact(string.Concat(ApiKey.Select(c => $"&#{(int)c};")), keys), Is.EqualTo("[REDACTED]"));
        Assert.That(SecretRedactor.Redact(ApiKey.Substring(0, ApiKey.Length - 1), keys), Is.EqualTo(ApiKey.Substring(0, ApiKey.Length - 1)), "not the key");
        Assert.That(SecretRedactor.RedactTrailingPrefix("body " + ApiKey.Substring(0, 6), keys), Is.EqualTo("body [REDACTED]"));
        Assert.That(SecretRedactor.RedactTrailingPrefix("body rk_", keys), Is.EqualTo("body rk_"), "three characters are not a key");
        Assert.That(SecretRedactor.Redact("the sandbox key", new[] { "sandbox" }), Is.EqualTo("the sandbox key"));
        Assert.That(SecretRedactor.Redact(Encoding.UTF8.GetString(new byte[] { 0x5c }), keys), Is.EqualTo("\\"));
    }

    [TestCase(",")]
    [TestCase("")]
    [TestCase(" and ")]
    public void AKeyRepeatedRightAfterItselfShowsNeitherCopy(string between)
    {
        var keys = new[] { ApiKey };

        var text = "key=" + ApiKey + between + ApiKey + between + ApiKey;

        Assert.That(SecretRedactor.Redact(text, keys), Is.EqualTo("key=[REDACTED]" + between + "[REDACTED]" + between + "[REDACTED]"));
        Assert.That(SecretRedactor.Redact(text, ApiKey), Is.EqualTo("key=[REDACTED]" + between + "[REDACTED]" + between + "[REDACTED]"));
    }

    [TestCase("%")]
    [TestCase("%4")]
    [TestCase("\\x4")]
    [TestCase("\\x")]
    [TestCase("\\u00")]
    [TestCase("&#")]
    [TestCase("&#x")]
    [TestCase("&#10")]
    public void ATextCutInsideAnEscapeIsLeftAsItIsAndNeverThrows(string cut)
    {
        var keys = new[] { ApiKey };

        // A body cut at a size limit can end anywhere, inside an escape too: nothing to decode past its end.
        Assert.That(SecretRedactor.Redact("body " + cut, keys), Is.EqualTo("body " + cut));
        Assert.That(SecretRedactor.RedactTrailingPrefix("body " + cut, keys), Is.EqualTo("body " + cut));
        Assert.That(SecretRedactor.Contains(new ArraySegment<byte>(Encoding.UTF8.GetBytes("body " + cut)), ApiKey), Is.False);
        Assert.That(SecretRedactor.Redact(ApiKey + cut, keys), Is.EqualTo("[REDACTED]" + cut));
    }
}
