using System;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary><c>relay test --against-store</c>: the backtest's report, per route and per change.</summary>
internal static class BacktestOutput
{
    /// <summary>Changes listed one by one; the rest are counted.</summary>
    public const int MaxListed = 200;

    /// <summary>The largest message pair diffed line by line (lines × lines); a larger one is shown whole, before and after.</summary>
    private const long MaxDiffCells = 4_000_000;

    public static async Task<int> RunAsync(CliConsole console, RelayServices relay, string configPath, TimeSpan period, string? route, bool diff, CancellationToken cancellationToken)
    {
        var since = DateTimeOffset.UtcNow - period;
        var report = await RelayBacktest.RunAsync(relay.Store, relay.Routes, since, route, cancellationToken).ConfigureAwait(false);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Backtest of {report.Deliveries:N0} deliveries received since {since:yyyy-MM-dd HH:mm} UTC{(route is null ? string.Empty : " on " + route)}, through the routes of {configPath}. Nothing was stored or sent.");
        if (report.Deliveries == 0)
        {
            await console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        var width = Math.Max(5, report.Routes.Max(r => r.Route.Length));
        text.AppendLine();
        text.AppendLine($"{"ROUTE".PadRight(width)}  DELIVERIES  BEFORE run/ignored/failed  AFTER run/ignored/failed  CHANGED");
        foreach (var counts in report.Routes)
        {
            var before = $"{counts.CountBefore(BacktestOutcome.Runs)}/{counts.CountBefore(BacktestOutcome.Ignored)}/{counts.CountBefore(BacktestOutcome.Fails)}";
            var after = $"{counts.CountAfter(BacktestOutcome.Runs)}/{counts.CountAfter(BacktestOutcome.Ignored)}/{counts.CountAfter(BacktestOutcome.Fails)}";
            var gone = counts.CountAfter(BacktestOutcome.NoRoute) is > 0 and var missing ? $"  (no such route in the new configuration: {missing})" : string.Empty;
            text.AppendLine(CultureInfo.InvariantCulture, $"{counts.Route.PadRight(width)}  {counts.Deliveries,10}  {before,24}  {after,23}  {counts.Changed,7}{gone}");
        }

        text.AppendLine();
        if (report.Changes.Count == 0)
        {
            text.AppendLine("No delivery's decision or message changes.");
        }
        else
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{report.Changes.Count:N0} deliveries change{(diff ? string.Empty : " (--diff shows each message's change)")}:");
            foreach (var change in report.Changes.Take(MaxListed))
            {
                Describe(text, change, diff);
            }

            if (report.Changes.Count > MaxListed)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"… and {report.Changes.Count - MaxListed:N0} more (narrow with --route or --since).");
            }
        }

        await console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static void Describe(StringBuilder text, BacktestChange change, bool diff)
    {
        var delivery = change.Delivery;
        var head = $"{delivery.Id}  {delivery.ReceivedAt:yyyy-MM-dd HH:mm:ss}  {delivery.Route}  {delivery.Event ?? "(no event)"}";
        if (change.DecisionChanged)
        {
            var reason = change.After.Reason is { } why ? $" ({why})" : string.Empty;
            text.AppendLine(CultureInfo.InvariantCulture, $"  {head}: {Said(change.Before.Decision)} -> {Said(change.After.Decision)}{reason}");
        }
        else
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {head}: runs, with another message");
        }

        if (diff && change.After.Decision == BacktestOutcome.Runs && change.Before.MessageKnown)
        {
            foreach (var line in Diff(change.Before.Message ?? "(the payload, whole)", change.After.Message ?? "(the payload, whole)"))
            {
                text.Append("      ").AppendLine(line);
            }
        }
    }

    private static string Said(string decision) => decision switch
    {
        BacktestOutcome.Runs => "ran",
        BacktestOutcome.Ignored => "ignored",
        BacktestOutcome.Fails => "failed",
        _ => decision,
    };

    /// <summary>A line diff: <c>- </c> a line only before, <c>+ </c> only after, <c>  </c> both.</summary>
    internal static string[] Diff(string before, string after)
    {
        var a = before.Replace("\r\n", "\n").Split('\n');
        var b = after.Replace("\r\n", "\n").Split('\n');
        if ((long)a.Length * b.Length > MaxDiffCells)
        {
            return a.Select(l => "- " + l).Concat(b.Select(l => "+ " + l)).ToArray();
        }

        var common = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                common[i, j] = a[i] == b[j] ? common[i + 1, j + 1] + 1 : Math.Max(common[i + 1, j], common[i, j + 1]);
            }
        }

        var lines = new System.Collections.Generic.List<string>();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                lines.Add("  " + a[x++]);
                y++;
            }
            else if (x < a.Length && (y == b.Length || common[x + 1, y] >= common[x, y + 1]))
            {
                lines.Add("- " + a[x++]);
            }
            else
            {
                lines.Add("+ " + b[y++]);
            }
        }

        return lines.ToArray();
    }
}
