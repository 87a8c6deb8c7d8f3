using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Runchat.Cli.Internal;
using Runchat.Cli.Sandbox;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary><c>relay serve</c>: the configured routes and schedules, until Ctrl+C or SIGTERM.</summary>
internal static class ServeCommand
{
    public const string DefaultUrls = "http://127.0.0.1:5080";

    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var urls = new Option<string>("--urls") { Description = $"Where to listen (default: {DefaultUrls}).", DefaultValueFactory = _ => DefaultUrls };
        var sandbox = new Option<bool>("--sandbox") { Description = "Trigger jobs on an in-process sandbox of the Runchat API (offline, no key needed)." };
        var dashboard = new Option<bool>("--dashboard") { Description = "Serve the dashboard at /relay too (answers only requests from this machine)." };
        var command = new Command("serve", "Serve the configured webhook routes until Ctrl+C or SIGTERM.") { config, urls, sandbox, dashboard };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, () => ServeAsync(console, result.GetValue(config)!, result.GetValue(urls)!, result.GetValue(sandbox), result.GetValue(dashboard), cancellationToken)));
        return command;
    }

    private static async Task<int> ServeAsync(CliConsole console, string configPath, string urls, bool useSandbox, bool dashboard, CancellationToken cancellationToken)
    {
        var configuration = RelayConfigurationFile.Read(configPath);
        await using var sandbox = useSandbox ? await SandboxServer.StartAsync(0, CancellationToken.None).ConfigureAwait(false) : null;
        await using var app = BuildApp(configuration, configPath, sandbox, urls, dashboard);
        var (options, client) = ValidatedOptions(app, configPath);

        // Where serve answers its health checks: a route there would be a second endpoint on one path (every request a 500).
        foreach (var route in options.Routes)
        {
            if (route.Path is { } path && (path.TrimEnd('/').Equals("/healthz", StringComparison.OrdinalIgnoreCase) || path.TrimEnd('/').Equals("/readyz", StringComparison.OrdinalIgnoreCase)
                || (dashboard && (path.Equals("/relay", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/relay/", StringComparison.OrdinalIgnoreCase)))))
            {
                throw new RelayConfigurationException($"the route {path} is where relay serve answers {(path.StartsWith("/relay", StringComparison.OrdinalIgnoreCase) ? "its dashboard" : "its health checks")}: give it another path.");
            }
        }

        DeliveryStoreLocation.TryParse(options.Store, out var location, out _);
        await EnsureStoreUsableAsync(app.Services.GetRequiredService<IDeliveryStore>(), location!, cancellationToken).ConfigureAwait(false);
        using var fileSizeLimit = IgnoreFileSizeSignal();

        app.MapRunchatRelay();
        app.MapRunchatRelayHealthChecks();
        if (dashboard)
        {
            app.MapRunchatRelayDashboard();
        }

        await app.StartAsync(CancellationToken.None).ConfigureAwait(false);
        await console.Out.WriteLineAsync($"Runchat relay listening on {string.Join(", ", app.Urls)} (store {location!.Display}; runs go to {UrlDisplay.Safe(client.BaseUrl)}; Ctrl+C to stop).").ConfigureAwait(false);
        if (dashboard)
        {
            await console.Out.WriteLineAsync($"Dashboard: {app.Urls.First().TrimEnd('/')}/relay (this machine only).").ConfigureAwait(false);
        }

        if (sandbox is not null)
        {
            await console.Out.WriteLineAsync($"Triggering jobs on the sandbox at {sandbox.BaseUrl} (its received triggers: {sandbox.BaseUrl.GetLeftPart(UriPartial.Authority)}{SandboxServer.RequestsPath}).").ConfigureAwait(false);
        }

        foreach (var route in app.Services.GetRequiredService<RelayRouteTable>().Configured)
        {
            await console.Out.WriteLineAsync($"  POST {route.Path} -> {route.Target} ({route.Scheme.Name})").ConfigureAwait(false);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await console.Out.WriteLineAsync("Stopping: waiting for runs in flight (those cut off become unknown).").ConfigureAwait(false);
        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    /// <summary>The relay's web app: the configuration (the sandbox's address and key over it with --sandbox), console logs, the client and the relay.</summary>
    private static WebApplication BuildApp(IConfiguration configuration, string configPath, SandboxServer? sandbox, string urls, bool dashboard)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Directory.GetCurrentDirectory(), Args = HostArgs.NoConfigReload });
        builder.Configuration.AddConfiguration(configuration);
        if (sandbox is not null)
        {
            builder.Configuration.AddInMemoryCollection(new[]
            {
                new KeyValuePair<string, string?>("Runchat:BaseUrl", sandbox.BaseUrl.ToString()),
                new KeyValuePair<string, string?>("Runchat:ApiKey", "sandbox-key"),
            });
        }
        else if (string.IsNullOrWhiteSpace(builder.Configuration["Runchat:ApiKey"]))
        {
            // The same variables as runchat-job trigger and the official CLI, besides Runchat__ApiKey.
            var apiKey = RunchatClientOptions.FromEnvironment().ApiKey
                ?? throw new RelayConfigurationException(
                    $"no Runchat API key: set {RunchatClientOptions.ApiKeyEnvironmentVariable} (or Runchat__ApiKey, or Runchat:ApiKey in {Path.GetFullPath(configPath)}), or add --sandbox to run offline.");
            builder.Configuration.AddInMemoryCollection(new[] { new KeyValuePair<string, string?>("Runchat:ApiKey", apiKey) });
        }

        builder.WebHost.UseUrls(urls);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("System.Net.Http", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning);
        // This command owns SIGINT/SIGTERM (Program.cs); ASP.NET Core's console lifetime would swallow them.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.Services.AddRunchatClient(builder.Configuration.GetSection("Runchat"));
        if (builder.Configuration["Runchat:MaxRetries"] is null)
        {
            // The relay retries what provably did not run itself, durably and without holding a run
            // slot (RunchatRetry's rule and formula); the client's in-memory retries would come first.
            builder.Services.PostConfigure<RunchatClientOptions>(static options => options.MaxRetries = 0);
        }

        builder.Services.AddRunchatRelay(builder.Configuration.GetSection("Relay"));
        if (dashboard)
        {
            // The replay form's antiforgery keys live as long as this process: nothing written to disk, no warning about it.
            builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        }

        return builder.Build();
    }

    /// <summary>
    /// Everything that can be wrong with the configuration, said here in one line each (exit 2) before the host
    /// starts: the host would log a stack trace first.
    /// </summary>
    private static (RunchatRelayOptions Relay, RunchatClientOptions Client) ValidatedOptions(WebApplication app, string configPath)
    {
        var failures = new List<string>();
        T? Read<T>()
            where T : class
        {
            try
            {
                return app.Services.GetRequiredService<IOptions<T>>().Value;
            }
            catch (OptionsValidationException invalid)
            {
                failures.AddRange(invalid.Failures);
                return null;
            }
        }

        var options = Read<RunchatRelayOptions>();
        var client = Read<RunchatClientOptions>();
        if (options is null || client is null)
        {
            throw new RelayConfigurationException("the configuration is invalid: " + string.Join(" ", failures));
        }

        if (options.Routes.Count == 0 && options.Schedules.Count == 0)
        {
            throw new RelayConfigurationException($"{Path.GetFullPath(configPath)} has no routes (Relay:Routes) and no schedules (Relay:Schedules): the relay would answer 404 to everything. Is the section named Relay?");
        }

        return (options, client);
    }

    /// <summary>
    /// A store written by a newer relay, or a SQLite file that is not a database, is refused before
    /// the relay starts (it would answer 500 or 503 to every webhook). A store that does not answer yet
    /// (PostgreSQL starting) is not: the relay answers 503 until it does.
    /// </summary>
    private static async Task EnsureStoreUsableAsync(IDeliveryStore store, DeliveryStoreLocation location, CancellationToken cancellationToken)
    {
        try
        {
            await store.GetAsync("dlv_probe", cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException newer)
        {
            throw new RelayConfigurationException($"the relay store {location.Display} cannot be used: {newer.Message}");
        }
        catch (Microsoft.Data.Sqlite.SqliteException broken) when (broken.SqliteErrorCode is 11 or 26)
        {
            // SQLITE_CORRUPT, SQLITE_NOTADB.
            throw new RelayConfigurationException($"the relay store {location.Display} is not a SQLite database, or is corrupt ({broken.Message}). Move it aside, or point Relay:Store elsewhere.");
        }
    }

    /// <summary>
    /// Where a file-size limit is set (ulimit -f, as containers set it), a write past it sends SIGXFSZ,
    /// whose default action kills the process. Handled, the write fails instead, and the relay answers
    /// that webhook 503 (the sender retries), as it does for a full disk.
    /// </summary>
    private static IDisposable? IgnoreFileSizeSignal()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return null;
        }

        const int SigXfsz = 25; // Linux and macOS
        return System.Runtime.InteropServices.PosixSignalRegistration.Create((System.Runtime.InteropServices.PosixSignal)SigXfsz, context => context.Cancel = true);
    }
}
