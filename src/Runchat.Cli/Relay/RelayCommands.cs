using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
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
using Runchat.Cli.Sandbox;
using Runchat.Cli.Internal;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Cli.Relay;

/// <summary><c>runchat-job relay serve|list|show|replay|sign</c>: where the relay's arguments are declared and run.</summary>
public static class RelayCommands
{
    public const string DefaultUrls = "http://127.0.0.1:5080";

    public static Command Build(CliConsole console)
    {
        var relay = new Command("relay", "Receive webhooks, store them durably, and trigger one agent run per delivery.");
        relay.Subcommands.Add(BuildServe(console));
        relay.Subcommands.Add(BuildList(console));
        relay.Subcommands.Add(BuildShow(console));
        relay.Subcommands.Add(BuildReplay(console));
        relay.Subcommands.Add(BuildSign(console));
        relay.Subcommands.Add(BuildTest(console));
        relay.Subcommands.Add(BuildSchedules(console));
        return relay;
    }

    private static Option<string> ConfigOption() => new("--config", "-c")
    {
        Description = "The relay's JSON configuration (sections Runchat and Relay); environment variables override it (Relay__Routes__0__Secret).",
        Required = true,
    };

    private static Command BuildServe(CliConsole console)
    {
        var config = ConfigOption();
        var urls = new Option<string>("--urls") { Description = $"Where to listen (default: {DefaultUrls}).", DefaultValueFactory = _ => DefaultUrls };
        var sandbox = new Option<bool>("--sandbox") { Description = "Trigger jobs on an in-process sandbox of the Runchat API (offline, no key needed)." };
        var dashboard = new Option<bool>("--dashboard") { Description = "Serve the dashboard at /relay too (answers only requests from this machine)." };
        var command = new Command("serve", "Serve the configured webhook routes until Ctrl+C or SIGTERM.") { config, urls, sandbox, dashboard };
        command.SetAction((result, cancellationToken) => Guard(console, () => ServeAsync(console, result.GetValue(config)!, result.GetValue(urls)!, result.GetValue(sandbox), result.GetValue(dashboard), cancellationToken)));
        return command;
    }

    private static Command BuildList(CliConsole console)
    {
        var config = ConfigOption();
        var state = new Option<string?>("--state") { Description = "Only deliveries in this state." };
        state.AcceptOnlyFromAmong("pending", "sending", "succeeded", "failed", "unknown", "ignored");
        var json = new Option<bool>("--json") { Description = "Print a JSON array (snake_case fields)." };
        var command = new Command("list", "List the stored deliveries, newest first.") { config, state, json };
        command.SetAction((result, cancellationToken) => Guard(console, async () =>
        {
            var relay = OpenRelay(result.GetValue(config)!);
            var filter = result.GetValue(state) is { } name ? DeliveryStates.Parse(name) : (RelayDeliveryState?)null;
            var deliveries = await relay.ListAsync(filter, cancellationToken).ConfigureAwait(false);
            if (result.GetValue(json))
            {
                await console.Out.WriteLineAsync(JsonSerializer.Serialize(deliveries, RelayJson.Options)).ConfigureAwait(false);
                return ExitCodes.Success;
            }

            await console.Out.WriteLineAsync($"{"ID",-33} {"STATE",-9} {"TRIES",5}  {"RECEIVED (UTC)",-19}  {"ROUTE",-20} {"JOB",-20} LAST ERROR").ConfigureAwait(false);
            foreach (var d in deliveries)
            {
                var error = d.LastError is null ? "" : d.LastError.Length > 60 ? d.LastError.Substring(0, 59) + "…" : d.LastError;
                await console.Out.WriteLineAsync($"{d.Id,-33} {DeliveryStates.Name(d.State),-9} {d.Attempts,5}  {d.ReceivedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {d.Route,-20} {d.JobId,-20} {error}").ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command BuildShow(CliConsole console)
    {
        var config = ConfigOption();
        var id = new Argument<string>("deliveryId") { Description = "The delivery id the relay answered the sender with." };
        var json = new Option<bool>("--json") { Description = "Print the delivery as JSON." };
        var command = new Command("show", "Show one delivery.") { config, id, json };
        command.SetAction((result, cancellationToken) => Guard(console, async () =>
        {
            var delivery = await OpenRelay(result.GetValue(config)!).GetAsync(result.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            if (delivery is null)
            {
                await console.Error.WriteLineAsync($"error: there is no delivery {result.GetValue(id)}.").ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            await console.Out.WriteLineAsync(result.GetValue(json) ? JsonSerializer.Serialize(delivery, RelayJson.Options) : Describe(delivery)).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command BuildReplay(CliConsole console)
    {
        var config = ConfigOption();
        var id = new Argument<string>("deliveryId") { Description = "A succeeded, failed or unknown delivery to send again." };
        var command = new Command("replay", "Send a finished delivery again (it can run the agent a second time: check the job's history first).") { config, id };
        command.SetAction((result, cancellationToken) => Guard(console, async () =>
        {
            RelayDelivery? delivery;
            try
            {
                // What a replay means (conditional on the state read, not twice within 10 s) is the
                // operator API's: the command only calls it.
                delivery = await OpenRelay(result.GetValue(config)!).ReplayAsync(result.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException refused)
            {
                await console.Error.WriteLineAsync("error: " + refused.Message).ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            if (delivery is null)
            {
                await console.Error.WriteLineAsync($"error: there is no delivery {result.GetValue(id)}.").ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            await console.Out.WriteLineAsync($"{delivery.Id} is pending again; a running relay sends it within a few seconds.").ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command BuildSign(CliConsole console)
    {
        var scheme = new Option<string>("--scheme") { Description = "standard-webhooks, stripe, github, slack or hmac-sha256.", Required = true };
        scheme.AcceptOnlyFromAmong("standard-webhooks", "stripe", "github", "slack", "hmac-sha256");
        var secret = new Option<string>("--secret") { Description = "The route's secret.", Required = true };
        var header = new Option<string?>("--header") { Description = "For hmac-sha256: the signature header." };
        var payload = new Option<string>("--payload", "-p") { Description = "The body to sign: @file, @- for standard input, or inline JSON.", Required = true, HelpName = "JSON|@file|@-" };
        var command = new Command("sign", "Print the headers a sender would send with a body (for curl -H @file), to try a route by hand.") { scheme, secret, header, payload };
        command.SetAction((result, cancellationToken) => Guard(console, async () =>
        {
            var signature = WebhookSignature.FromConfiguration(result.GetValue(scheme), result.GetValue(secret), result.GetValue(header));
            var source = result.GetValue(payload)!;
            byte[] body = source == "@-"
                ? await ReadAllAsync(console.OpenInput(), cancellationToken).ConfigureAwait(false)
                : source.StartsWith('@') ? await File.ReadAllBytesAsync(source.Substring(1), cancellationToken).ConfigureAwait(false)
                : Encoding.UTF8.GetBytes(source);
            foreach (var (name, value) in signature.Sign(body, DateTimeOffset.UtcNow, "msg_" + Guid.NewGuid().ToString("N")))
            {
                await console.Out.WriteLineAsync($"{name}: {value}").ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static async Task<int> ServeAsync(CliConsole console, string configPath, string urls, bool useSandbox, bool dashboard, CancellationToken cancellationToken)
    {
        var configuration = ReadConfiguration(configPath);
        await using var sandbox = useSandbox ? await SandboxServer.StartAsync(0, CancellationToken.None).ConfigureAwait(false) : null;

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Directory.GetCurrentDirectory() });
        builder.Configuration.AddConfiguration(configuration);
        if (sandbox is not null)
        {
            builder.Configuration.AddInMemoryCollection(new[]
            {
                new System.Collections.Generic.KeyValuePair<string, string?>("Runchat:BaseUrl", sandbox.BaseUrl.ToString()),
                new System.Collections.Generic.KeyValuePair<string, string?>("Runchat:ApiKey", "sandbox-key"),
            });
        }

        else if (string.IsNullOrWhiteSpace(builder.Configuration["Runchat:ApiKey"]))
        {
            // The same variables as runchat-job trigger and the official CLI, besides Runchat__ApiKey.
            var apiKey = RunchatClientOptions.FromEnvironment().ApiKey
                ?? throw new ConfigurationProblem(
                    $"no Runchat API key: set {RunchatClientOptions.ApiKeyEnvironmentVariable} (or Runchat__ApiKey, or Runchat:ApiKey in {Path.GetFullPath(configPath)}), or add --sandbox to run offline.");
            builder.Configuration.AddInMemoryCollection(new[] { new System.Collections.Generic.KeyValuePair<string, string?>("Runchat:ApiKey", apiKey) });
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

        await using var app = builder.Build();

        // Everything that can be wrong with the configuration is said here, in one line each (exit 2),
        // before the host starts: the host would log a stack trace first.
        var failures = new System.Collections.Generic.List<string>();
        RunchatRelayOptions? options = null;
        RunchatClientOptions? client = null;
        try
        {
            options = app.Services.GetRequiredService<IOptions<RunchatRelayOptions>>().Value;
        }
        catch (OptionsValidationException invalid)
        {
            failures.AddRange(invalid.Failures);
        }

        try
        {
            client = app.Services.GetRequiredService<IOptions<RunchatClientOptions>>().Value;
        }
        catch (OptionsValidationException invalid)
        {
            failures.AddRange(invalid.Failures);
        }

        if (options is null || client is null)
        {
            throw new ConfigurationProblem("the configuration is invalid: " + string.Join(" ", failures));
        }

        if (options.Routes.Count == 0 && options.Schedules.Count == 0)
        {
            throw new ConfigurationProblem($"{Path.GetFullPath(configPath)} has no routes (Relay:Routes) and no schedules (Relay:Schedules): the relay would answer 404 to everything. Is the section named Relay?");
        }

        DeliveryStoreLocation.TryParse(options.Store, out var location, out _);
        await EnsureStoreUsableAsync(app.Services.GetRequiredService<IDeliveryStore>(), location!, cancellationToken).ConfigureAwait(false);
        using var fileSizeLimit = IgnoreFileSizeSignal();

        app.MapRunchatRelay();
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

        foreach (var route in options.Routes)
        {
            await console.Out.WriteLineAsync($"  POST {route.Path} -> {(route.FlowId is null ? "job " + route.JobId : "flow " + route.FlowId)} ({route.Signature})").ConfigureAwait(false);
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
            throw new ConfigurationProblem($"the relay store {location.Display} cannot be used: {newer.Message}");
        }
        catch (Microsoft.Data.Sqlite.SqliteException broken) when (broken.SqliteErrorCode is 11 or 26)
        {
            // SQLITE_CORRUPT, SQLITE_NOTADB.
            throw new ConfigurationProblem($"the relay store {location.Display} is not a SQLite database, or is corrupt ({broken.Message}). Move it aside, or point Relay:Store elsewhere.");
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

    /// <summary>Runs a command, turning configuration mistakes into one line and exit code 2.</summary>
    private static Command BuildTest(CliConsole console)
    {
        var config = ConfigOption();
        var route = new Option<string>("--route") { Description = "The route's path, such as /hooks/github.", Required = true };
        var eventName = new Option<string?>("--event") { Description = "The event name, as the sender would name it (issues.opened); by default the body's, where the scheme reads it from the body." };
        var payload = new Option<string>("--payload", "-p") { Description = "The body: @file, @- for standard input, or inline JSON.", Required = true, HelpName = "JSON|@file|@-" };
        var command = new Command("test", "Dry-run a route: print whether a delivery would run, and the exact text the agent would receive. Stores and sends nothing.") { config, route, eventName, payload };
        command.SetAction((result, cancellationToken) => Guard(console, async () =>
        {
            var options = new RunchatRelayOptions();
            ReadConfiguration(result.GetValue(config)!).GetSection("Relay").Bind(options);
            var path = result.GetValue(route)!;
            var configured = options.Routes.FirstOrDefault(r => r.Path is not null && string.Equals(RelayRoute.Normalize(r.Path), RelayRoute.Normalize(path), StringComparison.OrdinalIgnoreCase))
                ?? throw new ConfigurationProblem($"there is no route {path} in Relay:Routes (there are: {string.Join(", ", options.Routes.Select(r => r.Path))}).");

            // The route as the relay builds it (a template or JSONPath that does not parse is refused, exit 2).
            var rules = configured.CreateRoute(out var invalid) ?? throw new ConfigurationProblem($"the route {configured.Path}: {invalid}");
            var source = result.GetValue(payload)!;
            byte[] body = source == "@-"
                ? await ReadAllAsync(console.OpenInput(), cancellationToken).ConfigureAwait(false)
                : source.StartsWith('@') ? await File.ReadAllBytesAsync(source.Substring(1), cancellationToken).ConfigureAwait(false)
                : Encoding.UTF8.GetBytes(source);

            // The event is named as serve names it: from the header the sender would send, or from the body.
            var headers = new Microsoft.AspNetCore.Http.HeaderDictionary { ["Content-Type"] = "application/json" };
            var given = result.GetValue(eventName);
            if (given is not null && rules.Scheme.EventHeader is { } eventHeader)
            {
                headers[eventHeader] = given;
            }

            var request = new WebhookRequest(headers, body, new Uri("http://relay.test" + rules.Path), DateTimeOffset.UtcNow, options.SignatureTolerance);
            if (!WebhookPayload.TryParse(rules.Scheme.ReadPayload(request), options.MaxBodyDepth, out var parsed, out var refusal))
            {
                await console.Out.WriteLineAsync($"would be refused (400): {refusal}").ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            using var document = parsed!;
            var described = rules.Scheme.Describe(request, document.Root);
            if (described.Refusal is { } contradiction)
            {
                await console.Out.WriteLineAsync($"would be refused (400): {contradiction}").ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            var name = given is not null && rules.Scheme.EventHeader is null ? given : described.Name;
            var verdict = await RouteRules.RunAsync(rules, name, document.Root, TimeProvider.System.GetUtcNow()).ConfigureAwait(false);
            await console.Out.WriteLineAsync($"{verdict.Headline} ({rules.Path} -> {rules.Target}, event {name ?? "(none)"})").ConfigureAwait(false);
            if (verdict.Message is { } message)
            {
                await console.Out.WriteLineAsync($"--- the agent receives this message ({Encoding.UTF8.GetByteCount(message)} bytes) ---").ConfigureAwait(false);
                await console.Out.WriteLineAsync(message).ConfigureAwait(false);
            }
            else if (verdict.Runs)
            {
                var sent = JobPayload.FromBytes(document.Bytes.ToArray());
                await console.Out.WriteLineAsync(rules.FlowId is not null
                    ? $"--- the flow's Webhook node receives the payload whole ({sent.Length} bytes) ---"
                    : $"--- the agent receives the payload whole ({sent.Length} bytes{(sent.HasTopLevelMessageKey ? ", wrapped as {\"message\": …}" : string.Empty)}) ---").ConfigureAwait(false);
                await console.Out.WriteLineAsync(sent.ToString()).ConfigureAwait(false);
            }

            return verdict.Failed ? ExitCodes.RunOrApiError : ExitCodes.Success;
        }));
        return command;
    }

    private static Command BuildSchedules(CliConsole console)
    {
        var config = ConfigOption();
        var command = new Command("schedules", "List the schedules: each one's next 3 fire times, in its time zone and in UTC, and how its last tick went.") { config };
        command.SetAction((result, cancellationToken) => Guard(console, async () =>
        {
            var configPath = result.GetValue(config)!;
            var options = new RunchatRelayOptions();
            ReadConfiguration(configPath).GetSection("Relay").Bind(options);
            if (options.Schedules.Count == 0)
            {
                await console.Out.WriteLineAsync("No schedules (Relay:Schedules).").ConfigureAwait(false);
                return ExitCodes.Success;
            }

            // The last tick needs the store; a configuration without one (or a store not created yet) lists the times only.
            IRunchatRelay? relay = null;
            try
            {
                relay = OpenRelay(configPath);
            }
            catch (ConfigurationProblem)
            {
            }

            var now = DateTimeOffset.UtcNow;
            foreach (var (configured, i) in options.Schedules.Select((s, i) => (s, i)))
            {
                var schedule = configured.Create(out var error) ?? throw new ConfigurationProblem($"Relay:Schedules:{i} ({configured.Name ?? "no name"}): {error}");
                await console.Out.WriteLineAsync($"{schedule.Name}  {configured.Cron}  {schedule.Zone.Id}  -> {schedule.Route.Target}").ConfigureAwait(false);
                var fire = (DateTimeOffset?)now;
                for (var n = 0; n < 3 && (fire = schedule.Next(fire!.Value)) is { } at; n++)
                {
                    var local = TimeZoneInfo.ConvertTime(at, schedule.Zone);
                    await console.Out.WriteLineAsync($"  next  {local:yyyy-MM-dd HH:mm:ss zzz}  ({at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC)").ConfigureAwait(false);
                }

                if (relay is not null)
                {
                    var last = (await relay.ListAsync(null, cancellationToken).ConfigureAwait(false)).FirstOrDefault(d => d.Route == schedule.Route.Path);
                    await console.Out.WriteLineAsync(last is null
                        ? "  last  (no tick yet)"
                        : $"  last  {schedule.FireTimeOf(last.DedupeKey)?.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC: {DeliveryStates.Name(last.State)} ({last.Id}){(last.LastError is null ? string.Empty : " " + last.LastError)}").ConfigureAwait(false);
                }
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static async Task<int> Guard(CliConsole console, Func<Task<int>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (ConfigurationProblem problem)
        {
            await console.Error.WriteLineAsync("error: " + problem.Message).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (OptionsValidationException invalid)
        {
            await console.Error.WriteLineAsync("error: the configuration is invalid: " + string.Join(" ", invalid.Failures)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (ArgumentException invalid)
        {
            await console.Error.WriteLineAsync("error: " + invalid.Message).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (IOException io)
        {
            await console.Error.WriteLineAsync("error: " + io.Message).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (System.Data.Common.DbException store)
        {
            // A store that cannot be reached (a transient failure: network, server down) is exit 4,
            // like the API; any other store error is 1. The driver's words, never the connection string.
            await console.Error.WriteLineAsync("error: the relay store could not be used: " + store.Message).ConfigureAwait(false);
            return store.IsTransient ? ExitCodes.NetworkOrTimeout : ExitCodes.RunOrApiError;
        }
    }

    private static IConfiguration ReadConfiguration(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ConfigurationProblem($"the configuration file {full} does not exist.");
        }

        try
        {
            var configuration = new ConfigurationBuilder().AddJsonFile(full, optional: false).AddEnvironmentVariables().Build();
            // A relative SQLite path means beside the configuration file, wherever the command runs.
            if (DeliveryStoreLocation.TryParse(configuration["Relay:Store"], out var store, out _) && store!.Kind == "sqlite" && !Path.IsPathRooted(store.Target))
            {
                var file = Path.Combine(Path.GetDirectoryName(full)!, store.Target);
                configuration = new ConfigurationBuilder().AddConfiguration(configuration)
                    .AddInMemoryCollection(new[] { new System.Collections.Generic.KeyValuePair<string, string?>("Relay:Store", "sqlite:" + file) }).Build();
            }

            return configuration;
        }
        catch (InvalidDataException invalid)
        {
            throw new ConfigurationProblem($"the configuration file {full} is not valid JSON: {invalid.Message}");
        }
    }

    /// <summary>The operator API (<see cref="IRunchatRelay"/>) over the configured store, for list, show and replay.</summary>
    private static IRunchatRelay OpenRelay(string configPath) => new RunchatRelay(OpenStore(configPath), TimeProvider.System, new DispatchSignal());

    /// <summary>The configured store: list, show and replay never create one.</summary>
    private static IDeliveryStore OpenStore(string configPath)
    {
        var options = new RunchatRelayOptions();
        ReadConfiguration(configPath).GetSection("Relay").Bind(options);
        if (!DeliveryStoreLocation.TryParse(options.Store, out var location, out var error))
        {
            throw new ConfigurationProblem($"Relay:Store: {error}");
        }

        if (location!.Kind == "sqlite" && !File.Exists(location.Target))
        {
            // A mistyped path must not become a new, empty store that lists nothing and exits 0.
            throw new ConfigurationProblem($"the relay store {Path.GetFullPath(location.Target)} does not exist: no relay has written it. Check Relay:Store in {Path.GetFullPath(configPath)}.");
        }

        return location.Open();
    }

    private static string Describe(RelayDelivery d) => string.Join(Environment.NewLine, new[]
    {
        $"id:          {d.Id}",
        $"route:       {d.Route}",
        d.FlowId is null ? $"job_id:      {d.JobId}" : $"flow_id:     {d.FlowId}",
        $"event:       {d.Event ?? "-"}",
        $"sender_id:   {d.SenderId ?? "-"}",
        $"dedupe_key:  {d.DedupeKey}",
        $"state:       {DeliveryStates.Name(d.State)}",
        $"attempts:    {d.Attempts}",
        $"received_at: {d.ReceivedAt:O}",
        $"updated_at:  {d.UpdatedAt:O}",
        $"body_bytes:  {d.BodyBytes}",
        $"status:      {d.Status ?? "-"}",
        $"message:     {d.Message ?? (d.Attempts > 0 ? "(the payload, whole)" : "-")}",
        $"final_reply: {d.FinalReply ?? "-"}",
        $"last_error:  {d.LastError ?? "-"}",
    });

    private static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private sealed class ConfigurationProblem : Exception
    {
        public ConfigurationProblem(string message) : base(message)
        {
        }
    }
}
