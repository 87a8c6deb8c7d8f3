using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.TestSupport;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>A relay on a real Kestrel port, with its own store (a SQLite file or a PostgreSQL database), triggering jobs at a Runchat base URL.</summary>
public sealed class RelayHost : IAsyncDisposable
{
    public const string ApiKey = "rk_relay_test_0123456789abcdef";

    private readonly WebApplication _app;

    private readonly bool _ownsStore;

    private RelayHost(WebApplication app, Uri baseUrl, TestStore store, bool ownsStore)
    {
        _app = app;
        BaseUrl = baseUrl;
        Store = store;
        _ownsStore = ownsStore;
        Http = new HttpClient { BaseAddress = baseUrl };
    }

    public Uri BaseUrl { get; }

    private CapturedErrors Captured { get; init; } = new();

    /// <summary>Warnings and errors the relay logged, for a failing assertion's message.</summary>
    public string Errors => string.Join(Environment.NewLine, Captured.Lines);

    /// <summary>Its store; a store the test passed in outlives the host.</summary>
    public TestStore Store { get; }

    public HttpClient Http { get; }

    public IRunchatRelay Relay => _app.Services.GetRequiredService<IRunchatRelay>();

    public IServiceProvider Services => _app.Services;

    public static async Task<RelayHost> StartAsync(
        Uri runchatBaseUrl,
        Action<RunchatRelayOptions> configure,
        Action<RouteMapper>? map = null,
        Action<IServiceCollection>? services = null,
        TestStore? store = null,
        Action<RunchatClientOptions>? client = null,
        TimeSpan? shutdownTimeout = null,
        string storeKind = TestStore.Sqlite)
    {
        var ownsStore = store is null;
        store ??= TestStore.Create(storeKind);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Runchat.Cli.HostArgs.NoConfigReload });
        builder.Logging.ClearProviders();
        var errors = new CapturedErrors();
        builder.Logging.AddProvider(errors);
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        if (shutdownTimeout is { } timeout)
        {
            builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = timeout);
        }

        builder.Services.AddRunchatClient(o =>
        {
            o.ApiKey = ApiKey;
            o.BaseUrl = runchatBaseUrl;
            o.Timeout = TimeSpan.FromSeconds(30);
            client?.Invoke(o);
        });
        builder.Services.AddRunchatRelay(o =>
        {
            o.Store = store.Setting;
            o.MaxRunsPerMinute = 1_000_000;
            o.MaxConcurrentRuns = 16;
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(200);
            configure(o);
        });
        // The store the relay opens, counted (CountingStore): IdleAsync and the tests read what its dispatcher did.
        builder.Services.AddSingleton<IDeliveryStore>(static provider =>
        {
            DeliveryStoreLocation.TryParse(provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<RunchatRelayOptions>>().Value.Store, out var location, out _);
            return CountingStore.Wrap(location!.Open());
        });
        services?.Invoke(builder.Services);
        var app = builder.Build();
        try
        {
            app.MapRunchatRelay();
            map?.Invoke(new RouteMapper(app));
            await app.StartAsync();
        }
        catch
        {
            // A host that fails to map or start must not live on: its meters would still report.
            await app.DisposeAsync();
            if (ownsStore)
            {
                await store.DisposeAsync();
            }

            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RelayHost(app, new Uri(address), store, ownsStore) { Captured = errors };
    }

    public static RelayRouteOptions Route(string path, string jobId, string signature = "none", string? secret = null, string? header = null) =>
        new() { Path = path, JobId = jobId, Signature = signature, Secret = secret, Header = header };

    public async Task<(int Status, JsonElement Body)> PostAsync(string path, byte[] body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                // A content header, such as Content-Type.
                request.Content.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public Task<(int Status, JsonElement Body)> PostAsync(string path, string body, params (string Name, string Value)[] headers) =>
        PostAsync(path, Encoding.UTF8.GetBytes(body), headers);

    /// <summary>With the headers a scheme's <c>Sign</c> makes.</summary>
    public Task<(int Status, JsonElement Body)> PostAsync(string path, byte[] body, IEnumerable<KeyValuePair<string, string>> headers) =>
        PostAsync(path, body, headers.Select(h => (h.Key, h.Value)).ToArray());

    /// <summary>With the headers a scheme's <c>Sign</c> makes.</summary>
    public Task<(int Status, JsonElement Body)> PostAsync(string path, string body, IEnumerable<KeyValuePair<string, string>> headers) =>
        PostAsync(path, Encoding.UTF8.GetBytes(body), headers.Select(h => (h.Key, h.Value)).ToArray());

    /// <summary>Waits until every delivery has left pending/sending (or the timeout), and returns them all.</summary>
    public async Task<IReadOnlyList<RelayDelivery>> SettledAsync(int expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var all = await Relay.ListAsync();
            if ((all.Count >= expected && all.All(d => d.State is not (RelayDeliveryState.Pending or RelayDeliveryState.Sending))) || DateTime.UtcNow > deadline)
            {
                return all;
            }

            await Task.Delay(50);
        }
    }

    public async Task StopAsync() => await _app.StopAsync();

    /// <summary>What the relay's dispatcher asked of its store (unless the test registered a store of its own).</summary>
    internal CountingStore Counting => Services.GetRequiredService<IDeliveryStore>() as CountingStore
        ?? throw new InvalidOperationException("The test registered its own IDeliveryStore; the host's counters are not there.");

    /// <summary>
    /// Wakes the dispatcher twice and waits until each time it has looked for due work and found none. A delivery
    /// that was going to run (again) would have been found: after this, a count of runs is final, with no sleep.
    /// </summary>
    public async Task IdleAsync()
    {
        var store = Counting;
        var signal = Services.GetRequiredService<DispatchSignal>();
        for (var pass = 0; pass < 2; pass++)
        {
            var before = store.EmptyClaimsTotal;
            signal.Notify();
            await Eventually.HoldsAsync(() => store.EmptyClaimsTotal > before, TimeSpan.FromSeconds(15), "the dispatcher looked for work and found none");
        }
    }

    /// <summary>Stops the relay and leaves its store, for a restart on the same store.</summary>
    public async ValueTask DisposeAsyncKeepingDatabase()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncKeepingDatabase();
        if (_ownsStore)
        {
            await Store.DisposeAsync();
        }
    }
}

/// <summary>Lets a test map routes in code on the host's application.</summary>
public sealed record RouteMapper(WebApplication App);

/// <summary>Keeps the relay's warnings and errors (an unhandled exception behind a 500, say) for the test's message.</summary>
internal sealed class CapturedErrors : ILoggerProvider, ILogger
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            Lines.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
        }
    }

    public void Dispose()
    {
    }
}
