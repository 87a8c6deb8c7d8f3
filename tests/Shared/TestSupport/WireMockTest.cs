using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Runchat.Tests.TestSupport;

/// <summary>A fresh WireMock server per test, and a client pointed at it.</summary>
public abstract class WireMockTest
{
    /// <summary>Long enough that masking shows only its ends; asserted absent from every text the client produces.</summary>
    public const string ApiKey = "rk_live_TESTKEY_0123456789abcdef_SECRET";

    public const string JobPath = "/api/v1/job/";

    private readonly List<IDisposable> _disposables = new();

    protected WireMockServer Server { get; private set; } = null!;

    [SetUp]
    public void StartServer() => Server = WireMockServer.Start();

    [TearDown]
    public void StopServer()
    {
        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }

        _disposables.Clear();
        Server.Stop();
        Server.Dispose();
    }

    protected RunchatClientOptions Options(Action<RunchatClientOptions>? configure = null)
    {
        var options = new RunchatClientOptions
        {
            ApiKey = ApiKey,
            BaseUrl = new Uri(Server.Url!),
            Timeout = TimeSpan.FromSeconds(30),
        };
        configure?.Invoke(options);
        return options;
    }

    protected RunchatClient CreateClient(Action<RunchatClientOptions>? configure = null)
    {
        var client = new RunchatClient(Options(configure));
        _disposables.Add(client);
        return client;
    }

    protected T Track<T>(T disposable) where T : IDisposable
    {
        _disposables.Add(disposable);
        return disposable;
    }

    protected void RespondWith(int status, string body, string contentType = "application/json", string path = "*")
    {
        Server.Given(Request.Create().WithPath(path == "*" ? JobPath + "*" : path).UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", contentType).WithBody(body));
    }

    protected void RespondWithSuccess(string reply = "Done.") => RespondWith(200, ResponseBodies.Success(reply));

    protected IReadOnlyList<IRequestMessage> Requests => Server.LogEntries.Select(e => e.RequestMessage!).ToList();

    protected IRequestMessage SingleRequest()
    {
        var requests = Requests;
        Assert.That(requests, Has.Count.EqualTo(1), "exactly one request must reach the server");
        return requests[0];
    }

    protected static string? Header(IRequestMessage request, string name) =>
        request.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();

    /// <summary>The exception a call ends with, or null. Awaited, not Assert.CatchAsync: a blocked test thread would measure thread-pool starvation.</summary>
    protected static async Task<Exception?> Caught(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception exception)
        {
            return exception;
        }
    }
}
