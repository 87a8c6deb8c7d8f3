using System;
using System.CommandLine;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Options;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary>
/// <c>runchat-job relay …</c>: the verbs, one class each in this folder, and what they share: the configuration
/// option, the relay built from it (<see cref="RelayServices"/>: the same validation as <c>serve</c>), and how a
/// failure becomes one line and an exit code.
/// </summary>
public static class RelayCommands
{
    public static Command Build(CliConsole console)
    {
        var relay = new Command("relay", "Receive webhooks, store them durably, and trigger one agent run per delivery.");
        relay.Subcommands.Add(ServeCommand.Build(console));
        relay.Subcommands.Add(ListCommand.Build(console));
        relay.Subcommands.Add(ShowCommand.Build(console));
        relay.Subcommands.Add(ReplayCommand.Build(console));
        relay.Subcommands.Add(SignCommand.Build(console));
        relay.Subcommands.Add(TestCommand.Build(console));
        relay.Subcommands.Add(SchedulesCommand.Build(console));
        relay.Subcommands.Add(PauseCommand.Build(console, pause: true));
        relay.Subcommands.Add(PauseCommand.Build(console, pause: false));
        relay.Subcommands.Add(PurgeCommand.Build(console));
        relay.Subcommands.Add(ForgetCommand.Build(console));
        relay.Subcommands.Add(InstancesCommand.Build(console));
        relay.Subcommands.Add(BackfillCommand.Build(console));
        return relay;
    }

    internal static Option<string> ConfigOption() => new("--config", "-c")
    {
        Description = "The relay's JSON configuration (sections Runchat and Relay); environment variables override it (Relay__Routes__0__Secret).",
        Required = true,
    };

    /// <summary>A period as operators write it: <c>45s</c>, <c>30m</c>, <c>12h</c>, <c>30d</c>, or a TimeSpan (<c>1.12:00:00</c>).</summary>
    /// <exception cref="CliUsageException">It is not one, or not positive.</exception>
    internal static TimeSpan ParseDuration(string text, string option)
    {
        var trimmed = text.Trim();
        TimeSpan? period = null;
        if (trimmed.Length > 1 && long.TryParse(trimmed.AsSpan(0, trimmed.Length - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n <= 36_500L * 24 * 3600)
        {
            period = char.ToLowerInvariant(trimmed[^1]) switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(Math.Min(n, 36_500)),
                _ => null,
            };
        }
        else if (TimeSpan.TryParse(trimmed, System.Globalization.CultureInfo.InvariantCulture, out var span))
        {
            period = span;
        }

        return period is { } p && p > TimeSpan.Zero
            ? p
            : throw new CliUsageException($"{option} takes a period such as 45s, 30m, 12h or 30d; got '{text}'.");
    }

    /// <summary>The relay of a configuration file, validated as <c>serve</c> validates it.</summary>
    /// <param name="configPath">The file.</param>
    /// <param name="storeMustExist">For commands that read what a relay wrote: a missing SQLite file is an error, never a new empty store.</param>
    internal static RelayServices Open(string configPath, bool storeMustExist) =>
        RelayServices.Build(RelayConfigurationFile.Read(configPath), storeMustExist);

    /// <summary>Runs a command, turning configuration and usage mistakes into one line and exit code 2.</summary>
    internal static async Task<int> Guard(CliConsole console, Func<Task<int>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RelayConfigurationException or CliUsageException or ArgumentException or IOException)
        {
            await console.Error.WriteLineAsync("error: " + (exception is ArgumentException argument ? Messages.WithoutParameter(argument) : exception.Message)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (OptionsValidationException invalid)
        {
            await console.Error.WriteLineAsync("error: the configuration is invalid: " + string.Join(" ", invalid.Failures)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (InvalidOperationException newer) when (newer.Message.StartsWith("The relay store was written by a newer relay", StringComparison.Ordinal))
        {
            await console.Error.WriteLineAsync("error: " + newer.Message).ConfigureAwait(false);
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
}
