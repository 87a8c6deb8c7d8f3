using System;
using System.CommandLine;

namespace Runchat.Cli.Relay;

/// <summary><c>relay instances</c>: every relay instance's last heartbeat on the store.</summary>
internal static class InstancesCommand
{
    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var command = new Command("instances", "List the relay instances on the store: host, process id, started, last seen, runs in flight.") { config };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: true);
            var instances = await relay.Relay.ListInstancesAsync(cancellationToken).ConfigureAwait(false);
            if (instances.Count == 0)
            {
                await console.Out.WriteLineAsync("No relay instance has recorded a heartbeat (none serves, or none has in the last day).").ConfigureAwait(false);
                return ExitCodes.Success;
            }

            var now = DateTimeOffset.UtcNow;
            await console.Out.WriteLineAsync($"{"HOST",-24} {"PID",7}  {"STARTED (UTC)",-19}  {"LAST SEEN (UTC)",-19}  {"RUNS",4}  STATUS").ConfigureAwait(false);
            foreach (var instance in instances)
            {
                var status = instance.IsAlive(now) ? "alive" : $"silent for {Ago(now - instance.LastSeenAt)}";
                await console.Out.WriteLineAsync($"{instance.Host,-24} {instance.ProcessId,7}  {instance.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {instance.LastSeenAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {instance.RunsInFlight,4}  {status}").ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static string Ago(TimeSpan span) =>
        span.TotalMinutes < 2 ? $"{span.TotalSeconds:0} s" : span.TotalHours < 2 ? $"{span.TotalMinutes:0} min" : $"{span.TotalHours:0} h";
}
