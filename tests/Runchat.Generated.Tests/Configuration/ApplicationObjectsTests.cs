using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Configuration;

/// <summary>
/// The application's objects stay the application's, and the client follows them: nothing is kept
/// alive by the root provider, a key rotated in configuration is used from the next call, and
/// disposing a standalone client during a call ends it with ObjectDisposedException.
/// </summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class ApplicationObjectsTests : WireMockTest
{
    private const string RotatedKey = "rk_live_ROTATED_fedcba9876543210_NEWKEY";

    /// <summary>A client from AddRunchatClient(configuration), and the configuration, to reload.</summary>
    private (IConfigurationRoot Configuration, IRunchatClient Client) FromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Runchat:ApiKey"] = ApiKey,
            ["Runchat:BaseUrl"] = Server.Url,
        }).Build();
        var services = new ServiceCollection();
        services.AddRunchatClient(configuration.GetSection("Runchat"));
        return (configuration, Track(services.BuildServiceProvider()).GetRequiredService<IRunchatClient>());
    }

    [Test]
    [NonParallelizable]
    public void ResolvingTheClientFromTheRootProviderKeepsNothingAlive()
    {
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });
        using var provider = services.BuildServiceProvider();
        var first = provider.GetRequiredService<IRunchatClient>();

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var distinct = new HashSet<object>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < 100_000; i++)
        {
            distinct.Add(provider.GetRequiredService<IRunchatClient>());
            distinct.Add(provider.GetRequiredService<RunchatClient>());
            distinct.Add(provider.GetRequiredService<IRunchatFlowClient>());
        }

        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;

        Assert.That(distinct, Has.Count.EqualTo(1));
        Assert.That(distinct.Single(), Is.SameAs(first));
        Assert.That(grown, Is.LessThan(2_000_000), $"the root provider kept {grown:N0} bytes for 300,000 resolutions");
    }

    [Test]
    public async Task AKeyRotatedInConfigurationIsSentFromTheNextCallAndTheOldOneIsStillRedacted()
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("{\"status\":\"error\",\"error\":\"old key " + ApiKey + " was revoked\",\"messages\":[]}"));
        var (configuration, client) = FromConfiguration();

        await client.TriggerAgentJobAsync("demo-agent");
        configuration["Runchat:ApiKey"] = RotatedKey;
        configuration.Reload();
        var afterRotation = await client.TriggerAgentJobAsync("demo-agent");

        Assert.That(Requests.Select(r => Header(r, "Authorization")), Is.EqualTo(new[] { "Bearer " + ApiKey, "Bearer " + RotatedKey }));
        Assert.That(afterRotation.Error, Is.EqualTo("old key [REDACTED] was revoked"));
    }

    [Test]
    public async Task ARotatedKeyThatIsInvalidFailsTheNextCallBeforeAnythingIsSent()
    {
        RespondWithSuccess();
        var (configuration, client) = FromConfiguration();

        configuration["Runchat:ApiKey"] = "";
        configuration.Reload();
        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception, Is.InstanceOf<OptionsValidationException>());
        Assert.That(exception!.Message, Does.Contain("Runchat:ApiKey"));
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public async Task DisposingAStandaloneClientDuringACallEndsItWithObjectDisposedException()
    {
        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()), delay: TimeSpan.FromSeconds(10));
        var client = new RunchatClient(Options(o => o.BaseUrl = peer.BaseUrl));

        var call = client.TriggerAgentJobAsync("demo-agent", "hi");
        await Eventually.HoldsAsync(() => !peer.Requests.IsEmpty, TimeSpan.FromSeconds(10), "the call is in flight (the agent has it)");
        var watch = Stopwatch.StartNew();
        client.Dispose();
        var exception = await Caught(call);

        Assert.That(exception, Is.InstanceOf<ObjectDisposedException>(), exception?.ToString());
        Assert.That(exception!.Message, Does.Contain("disposed while this call was in flight").And.Contain("may have run"));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ACallAfterDisposeSendsNothing()
    {
        RespondWithSuccess();
        var client = new RunchatClient(Options());
        client.Dispose();

        var exception = await Caught(client.TriggerAgentJobAsync("demo-agent"));

        Assert.That(exception, Is.InstanceOf<ObjectDisposedException>());
        Assert.That(exception!.Message, Does.Contain("nothing was sent"));
        Assert.That(Requests, Is.Empty);
    }

    [Test]
    public async Task DisposingAClientFromDependencyInjectionDoesNotBreakTheSharedOne()
    {
        RespondWithSuccess();
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = new Uri(Server.Url!); });
        using var provider = services.BuildServiceProvider();

        using (provider.GetRequiredService<RunchatClient>())
        {
        }

        var run = await provider.GetRequiredService<IRunchatClient>().TriggerAgentJobAsync("demo-agent");
        Assert.That(run.IsSuccess, Is.True);
    }
}
