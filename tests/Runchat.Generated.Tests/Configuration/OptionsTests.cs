using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Configuration;

[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class OptionsTests : WireMockTest
{
    [Test]
    public void DefaultsSuitLongAgentRuns()
    {
        var options = new RunchatClientOptions();

        Assert.Multiple(() =>
        {
            Assert.That(options.BaseUrl, Is.EqualTo(new Uri("https://runchat.com/api/v1/")));
            Assert.That(options.Timeout, Is.EqualTo(TimeSpan.FromMinutes(10)));
            Assert.That(options.MaxRetries, Is.EqualTo(2));
            Assert.That(options.AllowInsecureHttp, Is.False);
            Assert.That(options.ApiKey, Is.Null);
        });
    }

    [TestCase("https://runchat.com", "https://runchat.com/api/v1/")]
    [TestCase("https://runchat.com/", "https://runchat.com/api/v1/")]
    [TestCase("https://runchat.com/api/v1", "https://runchat.com/api/v1/")]
    [TestCase("https://runchat.com/api/v1/", "https://runchat.com/api/v1/")]
    [TestCase("https://runchat.com/api/v1//", "https://runchat.com/api/v1/")]
    [TestCase("https://proxy.example/runchat", "https://proxy.example/runchat/")]
    [TestCase("http://localhost:8080", "http://localhost:8080/api/v1/")]
    public void BaseUrlFormsResolveToTheApiRoot(string configured, string expected)
    {
        var options = new RunchatClientOptions { BaseUrl = new Uri(configured) };
        Assert.That(options.GetEndpointBaseUrl(), Is.EqualTo(new Uri(expected)));
    }

    [TestCase("", "/api/v1/job/demo")]
    [TestCase("/", "/api/v1/job/demo")]
    [TestCase("/api/v1", "/api/v1/job/demo")]
    [TestCase("/api/v1/", "/api/v1/job/demo")]
    [TestCase("/proxy/runchat", "/proxy/runchat/job/demo")]
    public async Task BaseUrlFormsReachTheRightPath(string suffix, string expectedPath)
    {
        RespondWith(200, ResponseBodies.Success(), path: "/*");
        using var client = CreateClient(o => o.BaseUrl = new Uri(Server.Url + suffix));

        await client.TriggerAgentJobAsync("demo");

        Assert.That(SingleRequest().AbsolutePath, Is.EqualTo(expectedPath));
    }

    [Test]
    public void MissingKeyFailsAtConstructionNamingTheVariable()
    {
        var exception = Assert.Throws<InvalidOperationException>(() => new RunchatClient(new RunchatClientOptions { BaseUrl = new Uri(Server.Url!) }));

        Assert.That(exception!.Message, Does.Contain("RUNCHAT_API_KEY"));
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public void MissingKeyFailsInDependencyInjectionBeforeAnyRequest()
    {
        var services = new ServiceCollection();
        services.AddRunchatClient(o => o.BaseUrl = new Uri(Server.Url!));
        using var provider = services.BuildServiceProvider();

        var exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IRunchatClient>());

        Assert.That(exception!.Message, Does.Contain("RUNCHAT_API_KEY"));
        Assert.That(Requests, Is.Empty);
    }

    [TestCase("key with space")]
    [TestCase("key\nwith-newline")]
    [TestCase("\"quoted-key\u00e9\"")]
    [TestCase("\"rk_live_quoted_0123456789\"")]
    [TestCase("'rk_live_quoted_0123456789'")]
    public void KeyWithWhitespaceControlCharactersOrQuotesIsRejectedWithoutShowingIt(string key)
    {
        var exception = Assert.Throws<InvalidOperationException>(() => new RunchatClient(new RunchatClientOptions { ApiKey = key }));
        Assert.That(exception!.Message, Does.Not.Contain(key));
    }

    [Test]
    public void PlainHttpToARemoteHostIsRefused()
    {
        var exception = Assert.Throws<InvalidOperationException>(() =>
            new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = new Uri("http://runchat.example.com") }));

        Assert.That(exception!.Message, Does.Contain("plain http").And.Contain("AllowInsecureHttp"));
    }

    [Test]
    public void PlainHttpToARemoteHostIsRefusedInDependencyInjection()
    {
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri("http://runchat.example.com"); });
        using var provider = services.BuildServiceProvider();

        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IRunchatClient>());
    }

    [Test]
    public async Task KeyIsNotSentOverPlainHttpEvenWhenAHandlerRewritesTheUrl()
    {
        RespondWithSuccess();
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); })
            .AddHttpMessageHandler(() => new RewriteToRemoteHttp());
        using var provider = services.BuildServiceProvider();

        var exception = Assert.ThrowsAsync<InvalidOperationException>(() => provider.GetRequiredService<IRunchatClient>().TriggerAgentJobAsync("demo"));

        Assert.That(exception!.Message, Does.Contain("plain http").And.Contain("runchat.example.com"));
        Assert.That(exception.Message, Does.Not.Contain(ApiKey));
        Assert.That(Requests, Is.Empty);
    }

    private sealed class RewriteToRemoteHttp : System.Net.Http.DelegatingHandler
    {
        protected override Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, System.Threading.CancellationToken cancellationToken)
        {
            request.RequestUri = new Uri("http://runchat.example.com" + request.RequestUri!.PathAndQuery);
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Test]
    public void PlainHttpToARemoteHostIsAllowedWhenAskedFor()
    {
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = new Uri("http://runchat.internal"), AllowInsecureHttp = true });
        Assert.That(client, Is.Not.Null);
    }

    [Test]
    public async Task PlainHttpToLoopbackIsAllowed()
    {
        RespondWithSuccess();
        using var client = CreateClient();

        await client.TriggerAgentJobAsync("demo");

        Assert.That(Server.Url, Does.StartWith("http://"));
        Assert.That(Requests, Has.Count.EqualTo(1));
    }

    [TestCase(0)]
    [TestCase(-5)]
    public void NonPositiveTimeoutIsRejected(int seconds)
    {
        Assert.Throws<InvalidOperationException>(() => CreateClient(o => o.Timeout = TimeSpan.FromSeconds(seconds)));
    }

    [TestCase(25)]
    [TestCase(60)]
    public void ATimeoutLongerThanTheRuntimeCanHonourIsRejectedWhenValidated(int days)
    {
        var exception = Assert.Throws<InvalidOperationException>(() => CreateClient(o => o.Timeout = TimeSpan.FromDays(days)));

        Assert.That(exception!.Message, Does.Contain("at most 24.9 days").And.Contain("InfiniteTimeSpan"));
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public async Task TheLongestAcceptedTimeoutWorks()
    {
        RespondWithSuccess();
        using var client = CreateClient(o => o.Timeout = RunchatClientOptions.MaxTimeout);

        var run = await client.TriggerAgentJobAsync("demo-agent");

        Assert.That(run.IsSuccess, Is.True);
    }

    [TestCase(-1)]
    [TestCase(11)]
    public void OutOfRangeRetriesAreRejected(int retries)
    {
        Assert.Throws<InvalidOperationException>(() => CreateClient(o => o.MaxRetries = retries));
    }

    [Test]
    public void AMissingKeyFromAConfigurationSectionNamesThePathThatWasRead()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Services:Runchat:BaseUrl"] = Server.Url }).Build();
        var services = new ServiceCollection();
        services.AddRunchatClient(configuration.GetSection("Services:Runchat"));
        using var provider = services.BuildServiceProvider();

        var exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IRunchatClient>());

        Assert.That(exception!.Message, Does.Contain("Services:Runchat:ApiKey").And.Contain("Services__Runchat__ApiKey").And.Contain("does not read RUNCHAT_API_KEY"));
    }

    [TestCase("5", 5.0)]
    [TestCase("90.5", 90.5)]
    [TestCase("00:00:05", 5.0)]
    [TestCase("00:15:00", 900.0)]
    public void ATimeoutInConfigurationIsSecondsOrATimeSpanAsInTheCli(string configured, double seconds)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Runchat:ApiKey"] = ApiKey,
            ["Runchat:Timeout"] = configured,
        }).Build();
        var services = new ServiceCollection();
        services.AddRunchatClient(configuration.GetSection("Runchat"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<RunchatClientOptions>>().Value;

        Assert.That(options.Timeout, Is.EqualTo(TimeSpan.FromSeconds(seconds)), "\"5\" is 5 seconds, never 5 days");
    }

    [TestCase("abc")]
    [TestCase("0")]
    [TestCase("-5")]
    [TestCase("1e12")]
    [TestCase("00:00:00")]
    public void ATimeoutInConfigurationThatIsNotOneIsRefusedNamingTheKeyAndTheForms(string configured)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Runchat:ApiKey"] = ApiKey,
            ["Runchat:Timeout"] = configured,
        }).Build();
        var services = new ServiceCollection();
        services.AddRunchatClient(configuration.GetSection("Runchat"));
        using var provider = services.BuildServiceProvider();

        var exception = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IRunchatClient>());

        Assert.That(exception!.Message, Does.Contain("Runchat:Timeout takes a positive number of seconds (90, 1.5) or a time span (00:05:00)").And.Contain($"got '{configured}'"));
    }

    [TestCase("90", 90.0)]
    [TestCase(" 1.5 ", 1.5)]
    [TestCase("00:05:00", 300.0)]
    public void TheCliAndConfigurationShareOneTimeoutReader(string text, double seconds)
    {
        Assert.That(RunchatClientOptions.TryParseTimeout(text, out var timeout), Is.True);
        Assert.That(timeout, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
        Assert.That(RunchatClientOptions.TryParseTimeout("5:", out _), Is.False);
        Assert.That(RunchatClientOptions.TryParseTimeout(null, out _), Is.False);
    }

    [Test]
    public async Task ATestHostThatReplacesTheClientNeedsOneLineForTheKey()
    {
        // The README's recipe: the fake replaces IRunchatClient; validation still runs at start-up.
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddRunchatClient(builder.Configuration.GetSection("Runchat"));
        builder.Services.AddSingleton<IRunchatClient>(new FakeClient());
        builder.Services.PostConfigure<RunchatClientOptions>(o => o.ApiKey ??= "test-key");
        using var host = builder.Build();

        await host.StartAsync();
        Assert.That(host.Services.GetRequiredService<IRunchatClient>(), Is.InstanceOf<FakeClient>());
        await host.StopAsync();
    }

    private sealed class FakeClient : IRunchatClient
    {
        public System.Threading.Tasks.Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, System.Threading.CancellationToken cancellationToken = default) =>
            System.Threading.Tasks.Task.FromResult(RunchatModelFactory.AgentJobResponse());

        public System.Threading.Tasks.Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, string message, System.Threading.CancellationToken cancellationToken = default) =>
            System.Threading.Tasks.Task.FromResult(RunchatModelFactory.AgentJobResponse());

        public System.Threading.Tasks.Task<AgentJobResponse> TriggerAgentJobAsync(string jobId, JobPayload payload, System.Threading.CancellationToken cancellationToken = default) =>
            System.Threading.Tasks.Task.FromResult(RunchatModelFactory.AgentJobResponse());
    }

    [Test]
    public void ToStringMasksTheKey()
    {
        var text = new RunchatClientOptions { ApiKey = ApiKey }.ToString();

        Assert.That(text, Does.Not.Contain(ApiKey));
        Assert.That(text, Does.Contain("rk_l…CRET"));
        Assert.That(new RunchatClientOptions { ApiKey = "short-key-1" }.ToString(), Does.Not.Contain("short").And.Not.Contain("key-1"));
        Assert.That(new RunchatClientOptions().ToString(), Does.Contain("(not set)"));
    }

    [Test]
    public async Task ConfigurationSectionIsBound()
    {
        RespondWithSuccess();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Runchat:ApiKey"] = ApiKey,
            ["Runchat:BaseUrl"] = Server.Url,
            ["Runchat:Timeout"] = "00:05:00",
            ["Runchat:MaxRetries"] = "1",
            ["Runchat:AllowInsecureHttp"] = "true",
        }).Build();
        var services = new ServiceCollection();
        var builder = services.AddRunchatClient(configuration.GetSection("Runchat"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<RunchatClientOptions>>().Value;
        Assert.Multiple(() =>
        {
            Assert.That(builder, Is.InstanceOf<IHttpClientBuilder>());
            Assert.That(options.ApiKey, Is.EqualTo(ApiKey));
            Assert.That(options.BaseUrl, Is.EqualTo(new Uri(Server.Url!)));
            Assert.That(options.Timeout, Is.EqualTo(TimeSpan.FromMinutes(5)));
            Assert.That(options.MaxRetries, Is.EqualTo(1));
            Assert.That(options.AllowInsecureHttp, Is.True);
        });

        await provider.GetRequiredService<IRunchatClient>().TriggerAgentJobAsync("demo", "from config");
        Assert.That(Header(SingleRequest(), "Authorization"), Is.EqualTo("Bearer " + ApiKey));
    }

    [Test]
    public async Task DependencyInjectionRegistersInterfaceAndClassOverOneTypedHttpClient()
    {
        RespondWithSuccess();
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });
        using var provider = services.BuildServiceProvider();

        var byInterface = provider.GetRequiredService<IRunchatClient>();
        var byClass = provider.GetRequiredService<RunchatClient>();
        await byInterface.TriggerAgentJobAsync("a");
        await byClass.TriggerAgentJobAsync("b");

        Assert.That(byInterface, Is.InstanceOf<RunchatClient>());
        Assert.That(Requests, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task RegisteringTwiceAddsConfigurationButNotASecondPipeline()
    {
        Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(429).WithHeader("Retry-After", "0"));
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });
        services.AddRunchatClient(o => o.MaxRetries = 1);
        using var provider = services.BuildServiceProvider();

        Assert.CatchAsync<RunchatApiException>(() => provider.GetRequiredService<IRunchatClient>().TriggerAgentJobAsync("demo"));

        Assert.That(Requests, Has.Count.EqualTo(2), "one retry from one retry handler, not 2 x 2 from two nested ones");
    }

    [Test]
    public void StandaloneClientCopiesItsOptions()
    {
        var options = Options();
        using var client = new RunchatClient(options);
        options.ApiKey = null;

        Assert.DoesNotThrowAsync(async () =>
        {
            RespondWithSuccess();
            await client.TriggerAgentJobAsync("demo");
        });
    }
}

[TestFixture]
[Category("Contract")]
[NonParallelizable]
public class EnvironmentOptionsTests
{
    private static readonly string[] Variables = { "RUNCHAT_API_KEY", "RUNCHAT_TOKEN", "RUNCHAT_BASE_URL" };
    private readonly Dictionary<string, string?> _saved = new();

    [SetUp]
    public void Save()
    {
        foreach (var name in Variables)
        {
            _saved[name] = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [TearDown]
    public void Restore()
    {
        foreach (var pair in _saved)
        {
            Environment.SetEnvironmentVariable(pair.Key, pair.Value);
        }
    }

    [Test]
    public void ReadsTheOfficialCliVariables()
    {
        Environment.SetEnvironmentVariable("RUNCHAT_API_KEY", "rk_primary_0123456789");
        Environment.SetEnvironmentVariable("RUNCHAT_TOKEN", "rk_alias_0123456789");
        Environment.SetEnvironmentVariable("RUNCHAT_BASE_URL", "https://staging.runchat.com");

        var options = RunchatClientOptions.FromEnvironment();

        Assert.That(options.ApiKey, Is.EqualTo("rk_primary_0123456789"));
        Assert.That(options.BaseUrl, Is.EqualTo(new Uri("https://staging.runchat.com")));
        Assert.That(options.GetEndpointBaseUrl(), Is.EqualTo(new Uri("https://staging.runchat.com/api/v1/")));
    }

    [Test]
    public void TokenIsAnAliasForTheKey()
    {
        Environment.SetEnvironmentVariable("RUNCHAT_TOKEN", "rk_alias_0123456789");

        Assert.That(RunchatClientOptions.FromEnvironment().ApiKey, Is.EqualTo("rk_alias_0123456789"));
    }

    [Test]
    public void UnsetVariablesKeepTheDefaults()
    {
        var options = RunchatClientOptions.FromEnvironment();

        Assert.That(options.ApiKey, Is.Null);
        Assert.That(options.BaseUrl, Is.EqualTo(RunchatClientOptions.DefaultBaseUrl));
    }

    [Test]
    public void InvalidBaseUrlVariableIsNamed()
    {
        Environment.SetEnvironmentVariable("RUNCHAT_BASE_URL", "runchat.com");

        var exception = Assert.Throws<InvalidOperationException>(() => RunchatClientOptions.FromEnvironment());
        Assert.That(exception!.Message, Does.Contain("RUNCHAT_BASE_URL"));
    }
}
