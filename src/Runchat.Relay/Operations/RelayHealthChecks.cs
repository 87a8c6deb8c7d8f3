using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Runchat.Relay;

/// <summary>The relay's health checks, as <c>AddRunchatRelay</c> registers them, and the tag readiness probes select.</summary>
public static class RelayHealthChecks
{
    /// <summary>The store check's name: one round trip to the database.</summary>
    public const string Store = "runchat-relay-store";

    /// <summary>The dispatcher check's name: its loop goes round.</summary>
    public const string Dispatcher = "runchat-relay-dispatcher";

    /// <summary>The tag both carry: map a readiness endpoint with <c>Predicate = c =&gt; c.Tags.Contains(RelayHealthChecks.ReadyTag)</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>How long the dispatch loop may go without a pass before it is unhealthy (it passes every 5 s when idle).</summary>
    public static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(30);

    internal static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(5);

    internal static IEnumerable<string> Tags { get; } = new[] { ReadyTag, "runchat-relay" };
}

/// <summary>Healthy when the store answers one statement within the check's timeout.</summary>
internal sealed class RelayStoreHealthCheck : IHealthCheck
{
    private readonly IDeliveryStore _store;

    public RelayStoreHealthCheck(IDeliveryStore store) => _store = store;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await _store.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("The relay store answers.");
        }
        catch (Exception failure) when (failure is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The driver's words only: no exception object, so no writer can print a connection string from it.
            return new HealthCheckResult(context.Registration.FailureStatus, "The relay store could not be reached: " + failure.Message);
        }
    }
}

/// <summary>
/// Healthy while the dispatch loop goes round (within <see cref="RelayHealthChecks.StallAfter"/>); degraded while it
/// cannot reach the store (it keeps trying each second); unhealthy when it has stopped, stalled, or not yet started.
/// </summary>
internal sealed class RelayDispatcherHealthCheck : IHealthCheck
{
    private readonly RelayInstanceStatus _status;
    private readonly TimeProvider _time;

    public RelayDispatcherHealthCheck(RelayInstanceStatus status, TimeProvider time)
    {
        _status = status;
        _time = time;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var failure = context.Registration.FailureStatus;
        var data = new Dictionary<string, object> { ["instance"] = _status.Id, ["runs_in_flight"] = _status.RunsInFlight };
        HealthCheckResult result;
        if (_status.Ended)
        {
            result = new HealthCheckResult(failure, "The relay's dispatch loop has stopped.", data: data);
        }
        else if (_status.LastPass is not { } last)
        {
            result = new HealthCheckResult(failure, "The relay's dispatch loop has not started.", data: data);
        }
        else if (now - last > RelayHealthChecks.StallAfter)
        {
            result = new HealthCheckResult(failure, $"The relay's dispatch loop has not gone round for {(now - last).TotalSeconds:0} s.", data: data);
        }
        else if (_status.StoreDownSince is { } down)
        {
            result = HealthCheckResult.Degraded($"The relay's dispatch loop cannot reach the store, since {down:u}; it tries each second.", data: data);
        }
        else
        {
            result = HealthCheckResult.Healthy("The relay's dispatch loop goes round.", data);
        }

        return Task.FromResult(result);
    }
}

/// <summary>A health report as JSON: <c>{"status":"Healthy","checks":{"runchat-relay-store":{"status":"Healthy","description":"…"}}}</c>.</summary>
internal static class HealthJson
{
    public static Task WriteAsync(Microsoft.AspNetCore.Http.HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        using var buffer = new System.IO.MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                json.WriteString("description", entry.Description);
                json.WriteNumber("duration_ms", Math.Round(entry.Duration.TotalMilliseconds, 1));
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).AsTask();
    }
}
