using System;
using System.IO;
using System.Threading.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Runchat.Relay;

/// <summary>
/// The relay as its commands use it (<c>list</c>, <c>show</c>, <c>replay</c>, <c>test</c>, <c>schedules</c>, …): built by
/// <c>AddRunchatRelay</c> from the same configuration, with the same validation (unknown keys, routes, schedules,
/// secrets) and the same routes and event naming as a relay that serves, without its background work.
/// </summary>
internal sealed class RelayServices : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private RelayServices(ServiceProvider provider, RunchatRelayOptions options)
    {
        _provider = provider;
        Options = options;
    }

    public RunchatRelayOptions Options { get; }

    public RelayRouteTable Routes => _provider.GetRequiredService<RelayRouteTable>();

    public IRunchatRelay Relay => _provider.GetRequiredService<IRunchatRelay>();

    public IDeliveryStore Store => _provider.GetRequiredService<IDeliveryStore>();

    /// <summary>The ingest's path, for deliveries read from a sender's API (<c>relay backfill</c>).</summary>
    public RelayIngest Ingest => _provider.GetRequiredService<RelayIngest>();

    public TimeProvider Time => _provider.GetRequiredService<TimeProvider>();

    /// <summary>The store's location, for messages (a PostgreSQL password never shown).</summary>
    public DeliveryStoreLocation Location
    {
        get
        {
            DeliveryStoreLocation.TryParse(Options.Store, out var location, out _);
            return location!;
        }
    }

    /// <summary>Builds and validates the relay of <paramref name="configuration"/> (its <c>Relay</c> section).</summary>
    /// <param name="configuration">The whole configuration, as <see cref="RelayConfigurationFile.Read"/> gives it.</param>
    /// <param name="storeMustExist">
    /// For commands that read a store a relay wrote: a SQLite file that does not exist is an error, not a new empty
    /// store that lists nothing (a mistyped path).
    /// </param>
    /// <exception cref="OptionsValidationException">The configuration is invalid; every problem is named.</exception>
    /// <exception cref="RelayConfigurationException">The store must exist and does not.</exception>
    public static RelayServices Build(IConfiguration configuration, bool storeMustExist)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRunchatRelay(configuration.GetSection("Relay"));
        var provider = services.BuildServiceProvider();
        try
        {
            var relay = new RelayServices(provider, provider.GetRequiredService<IOptions<RunchatRelayOptions>>().Value);
            if (storeMustExist && relay.Location.Kind == "sqlite" && !File.Exists(relay.Location.Target))
            {
                throw new RelayConfigurationException($"the relay store {Path.GetFullPath(relay.Location.Target)} does not exist: no relay has written it. Check Relay:Store.");
            }

            return relay;
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
