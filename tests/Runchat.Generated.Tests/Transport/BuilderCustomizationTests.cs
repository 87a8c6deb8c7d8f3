using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Transport;

/// <summary>
/// What a user does to the IHttpClientBuilder that AddRunchatClient returns (a proxy, a client
/// certificate, an audit handler, default headers) cannot remove a safety property: the key is
/// still sent and never logged, redirects are still not followed, plain http to a remote host is
/// still refused.
/// </summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class BuilderCustomizationTests : WireMockTest
{
    public static IEnumerable<TestCaseData> Customizations()
    {
        yield return new TestCaseData(new Action<IHttpClientBuilder>(b => b.ConfigurePrimaryHttpMessageHandler(() => new HttpClientHandler { AllowAutoRedirect = false })))
            .SetArgDisplayNames("PrimaryHttpClientHandler");
        yield return new TestCaseData(new Action<IHttpClientBuilder>(b => b.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })))
            .SetArgDisplayNames("PrimarySocketsHttpHandler");
        yield return new TestCaseData(new Action<IHttpClientBuilder>(b => b.AddHttpMessageHandler(() => new AuditHandler())))
            .SetArgDisplayNames("AddHttpMessageHandler");
        yield return new TestCaseData(new Action<IHttpClientBuilder>(b => b.ConfigureHttpClient(c =>
            {
                c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-key");
                c.DefaultRequestHeaders.Add("X-Team", "ops");
                c.Timeout = TimeSpan.FromMilliseconds(1);
            })))
            .SetArgDisplayNames("ConfigureHttpClient");
    }

    private (IRunchatClient Client, FakeLogCollector Logs) Build(Action<IHttpClientBuilder> customize, Action<IHttpClientBuilder>? more = null)
    {
        var logs = Track(new FakeLoggerProvider());
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        var builder = services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); o.MaxRetries = 0; });
        customize(builder);
        more?.Invoke(builder);
        var provider = Track(services.BuildServiceProvider());
        return (provider.GetRequiredService<IRunchatClient>(), logs.Collector);
    }

    [TestCaseSource(nameof(Customizations))]
    public async Task TheKeyIsStillSentAndNeverLogged(Action<IHttpClientBuilder> customize)
    {
        RespondWithSuccess();
        var (client, logs) = Build(customize);

        var run = await client.TriggerAgentJobAsync("demo-agent", "hello");

        Assert.That(run.IsSuccess, Is.True);
        Assert.That(Header(SingleRequest(), "Authorization"), Is.EqualTo("Bearer " + ApiKey));
        AssertNoRecordContainsTheKey(logs);
    }

    [TestCaseSource(nameof(Customizations))]
    public void ARedirectIsStillNotFollowed(Action<IHttpClientBuilder> customize)
    {
        Server.Given(Request.Create().WithPath(JobPath + "moved").UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(302).WithHeader("Location", Server.Url + JobPath + "elsewhere"));
        Server.Given(Request.Create().WithPath(JobPath + "elsewhere").UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ResponseBodies.Success()));
        var (client, logs) = Build(customize);

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("moved", "hello"));

        Assert.That(exception!.StatusCode, Is.EqualTo(302));
        Assert.That(SingleRequest().Method, Is.EqualTo("POST"));
        AssertNoRecordContainsTheKey(logs);
    }

    [TestCaseSource(nameof(Customizations))]
    public void PlainHttpToARemoteHostIsStillRefused(Action<IHttpClientBuilder> customize)
    {
        RespondWithSuccess();
        var (client, _) = Build(customize, b => b.AddHttpMessageHandler(() => new RewriteToRemoteHttpHandler()));

        var exception = Assert.ThrowsAsync<InvalidOperationException>(() => client.TriggerAgentJobAsync("demo-agent", "hello"));

        Assert.That(exception!.Message, Does.Contain("plain http").And.Contain("runchat.example"));
        Assert.That(Requests, Is.Empty);
    }

    public static IEnumerable<TestCaseData> RedirectFollowingHandlers()
    {
        yield return new TestCaseData(new HttpClientHandler()).SetArgDisplayNames("HttpClientHandler");
        yield return new TestCaseData(new SocketsHttpHandler()).SetArgDisplayNames("SocketsHttpHandler");
    }

    [TestCaseSource(nameof(RedirectFollowingHandlers))]
    public void APrimaryHandlerThatFollowsRedirectsIsRefusedNamingTheFixAndLeftUnchanged(HttpMessageHandler handler)
    {
        using var owned = handler;
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); })
            .ConfigurePrimaryHttpMessageHandler(() => handler);
        using var provider = services.BuildServiceProvider();

        var exception = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IRunchatClient>());

        Assert.That(exception!.Message, Does.Contain(handler.GetType().Name).And.Contain("AllowAutoRedirect = false").And.Contain("ConfigurePrimaryHttpMessageHandler"));
        Assert.That(handler is HttpClientHandler h ? h.AllowAutoRedirect : ((SocketsHttpHandler)handler).AllowAutoRedirect, Is.True, "the application's handler was changed");
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public async Task AHandlerTheApplicationSharesAndHasSentWithIsUsedUnchanged()
    {
        RespondWithSuccess();
        Server.Given(Request.Create().WithPath("/moved").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(302).WithHeader("Location", Server.Url + "/landed"));
        Server.Given(Request.Create().WithPath("/landed").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("landed"));
        using var shared = new SocketsHttpHandler { AllowAutoRedirect = false };
        using var other = new HttpClient(shared, disposeHandler: false);
        Assert.That((int)(await other.GetAsync(Server.Url + "/moved")).StatusCode, Is.EqualTo(302), "the other client, before");

        var (client, _) = Build(b => b.ConfigurePrimaryHttpMessageHandler(() => shared));
        var run = await client.TriggerAgentJobAsync("demo-agent");

        Assert.That(run.IsSuccess, Is.True);
        Assert.That(shared.AllowAutoRedirect, Is.False);
        Assert.That(Requests.Count(r => r.Path.StartsWith(JobPath, StringComparison.Ordinal)), Is.EqualTo(1));
    }

    [Test]
    public async Task AnInMemoryFakeAsThePrimaryHandlerGetsTheRequestWithTheKeyOnce()
    {
        var fake = new InMemoryFake();
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri("https://runchat.example/"); })
            .ConfigurePrimaryHttpMessageHandler(() => fake);
        using var provider = services.BuildServiceProvider();

        var run = await provider.GetRequiredService<IRunchatClient>().TriggerAgentJobAsync("demo-agent", "hello");

        Assert.That(run.FinalReply, Is.EqualTo("from the fake"));
        Assert.That(fake.Requests, Is.EqualTo(new[] { "POST https://runchat.example/api/v1/job/demo-agent Bearer " + ApiKey + " {\"message\":\"hello\"}" }));
    }

    [Test]
    public async Task AHandlerChainEndingInANetworkHandlerWithoutRedirectsDoesNotFollowOne()
    {
        Server.Given(Request.Create().WithPath(JobPath + "moved").UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(307).WithHeader("Location", Server.Url + JobPath + "elsewhere"));
        var (client, _) = Build(b => b.ConfigurePrimaryHttpMessageHandler(() => new AuditHandler { InnerHandler = new HttpClientHandler { AllowAutoRedirect = false } }));

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("moved"));

        Assert.That(exception!.StatusCode, Is.EqualTo(307));
        await Task.Yield();
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    private static void AssertNoRecordContainsTheKey(FakeLogCollector logs)
    {
        var records = logs.GetSnapshot();
        Assert.That(records.Any(r => r.Level == LogLevel.Trace), Is.True, "Trace logging captured the HTTP pipeline");
        foreach (var record in records)
        {
            var everything = record.Message + " " + record.Exception + " " +
                string.Join(" ", (record.StructuredState ?? Array.Empty<KeyValuePair<string, string?>>()).Select(s => s.Key + "=" + s.Value));
            Assert.That(everything, Does.Not.Contain(ApiKey), record.Category + ": " + record.Message);
        }
    }

    /// <summary>An audit handler of the kind users add: it looks at every header it sees.</summary>
    private sealed class AuditHandler : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.That(request.Headers.ToString(), Does.Not.Contain(ApiKey), "a user handler saw the key");
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class RewriteToRemoteHttpHandler : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.RequestUri = new Uri("http://runchat.example/api/v1/job/demo-agent");
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>An in-memory fake of the kind users test with (RichardSzalay.MockHttp style): no network, no redirect setting.</summary>
    private sealed class InMemoryFake : HttpMessageHandler
    {
        public List<string> Requests { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "(none)" : await request.Content.ReadAsStringAsync(cancellationToken);
            Requests.Add($"{request.Method} {request.RequestUri} {request.Headers.Authorization} {body}");
            return new HttpResponseMessage(System.Net.HttpStatusCode.OK)
            {
                Content = new StringContent(ResponseBodies.Success("from the fake"), System.Text.Encoding.UTF8, "application/json"),
            };
        }
    }
}
