using System;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Triggers;

/// <summary>No public trigger can be made to send its POST outside /job/, whatever id it is given.</summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class PathSafetyTests : WireMockTest
{
    private static readonly string[] HostileIds = { "..", ".", "a/b", "" };

    [Test]
    public async Task EveryPublicTriggerMethodEitherSendsNothingOrStaysUnderJob()
    {
        var methods = typeof(RunchatClient).GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.Name.StartsWith("Trigger", StringComparison.Ordinal))
            .ToList();
        Assert.That(methods, Has.Count.GreaterThanOrEqualTo(3));

        using var peer = new RawHttpPeer(_ => RawHttpPeer.Ok(ResponseBodies.Success()));
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = peer.BaseUrl, MaxRetries = 0 });
        var calls = 0;
        foreach (var method in methods)
        {
            foreach (var id in HostileIds)
            {
                var arguments = method.GetParameters().Select(p => ArgumentFor(p, id)).ToArray();
                try
                {
                    await (Task)method.Invoke(client, arguments)!;
                }
                catch (ArgumentException)
                {
                }
                catch (TargetInvocationException invocation) when (invocation.InnerException is ArgumentException)
                {
                }

                calls++;
            }
        }

        Assert.That(calls, Is.EqualTo(methods.Count * HostileIds.Length));
        Assert.That(peer.Requests.Select(r => r.Target), Is.EquivalentTo(Enumerable.Repeat("/api/v1/job/a%2Fb", methods.Count)),
            "only a/b is sent, as one encoded segment under /job/");
    }

    [Test]
    public void TheGeneratedOperationRefusesDotSegmentsToo()
    {
        // The rule lives in the request hook every generated operation passes through, so an
        // operation upstream adds later gets it without handwritten code.
        using var client = new GeneratedOperationClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = new Uri(Server.Url!) });

        foreach (var id in new[] { "..", ".", "" })
        {
            Assert.ThrowsAsync<ArgumentException>(() => client.CallAsync(null, id, CancellationToken.None), id);
        }

        Assert.That(Requests, Is.Empty);
    }

    private static object? ArgumentFor(ParameterInfo parameter, string id) => parameter.ParameterType switch
    {
        var t when t == typeof(CancellationToken) => CancellationToken.None,
        var t when t == typeof(JobPayload) => JobPayload.FromJson("{\"event\":\"x\"}"),
        var t when t == typeof(string) && parameter.Position == 0 => id,
        var t when t == typeof(string) => "hello",
        _ => throw new AssertionException($"no argument for {parameter.Name} of {parameter.Member.Name}: extend this test"),
    };
}
