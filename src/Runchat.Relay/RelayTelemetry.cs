using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace Runchat.Relay;

/// <summary>
/// The relay's traces and metrics. Spans: <c>runchat.relay.receive</c> (verify and store, linked to
/// the sender's <c>traceparent</c>) and <c>runchat.relay.dispatch</c> (linked to the receive span and
/// to the sender's context, both stored with the delivery, so the links survive a restart; the
/// parent of the client's <c>invoke_agent</c> span). Metrics: <c>runchat.relay.deliveries</c> and the
/// observable <c>runchat.relay.pending</c> by state.
/// </summary>
internal sealed class RelayTelemetry : IDisposable
{
    public const string Name = "Runchat.Relay";

    /// <summary>The package's version, as NuGet shows it (<c>1.0.0-dev.20261206…</c>), without the commit the build adds.</summary>
    public static readonly string Version = typeof(RelayTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(RelayTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static readonly ActivitySource Source = new(Name, Version);

    private readonly Meter _meter;
    private readonly Counter<long> _deliveries;

    public RelayTelemetry(IMeterFactory meters, IDeliveryStore store)
    {
        _meter = meters.Create(Name, Version);
        _deliveries = _meter.CreateCounter<long>("runchat.relay.deliveries", "{delivery}", "Webhooks received, by route, outcome (stored, duplicate, ignored, failed, conflict, handshake, rejected_signature, rejected_body, rejected_method, store_failed) and event name.");
        _meter.CreateObservableGauge("runchat.relay.pending", () => Observe(store), "{delivery}", "Deliveries pending, sending and unknown in the store (unknown ones need an operator); counted up to 100,000 each.");
    }

    /// <summary>The ingest outcome of one webhook: counted (with its event name once it is known), and set on its receive span.</summary>
    public void Ingested(string route, string outcome, Activity? receive, string? eventName = null)
    {
        receive?.SetTag("runchat.relay.outcome", outcome);
        if (_deliveries.Enabled)
        {
            var tags = new TagList
            {
                { "runchat.relay.route", route },
                { "runchat.relay.outcome", outcome },
            };
            if (eventName is not null)
            {
                tags.Add("runchat.relay.event", eventName);
            }

            _deliveries.Add(1, tags);
        }
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>The receive span's context, stored with the delivery for a later dispatch to link to.</summary>
    public static string? TraceParentToStore(Activity? receive) => receive?.Id;

    /// <summary>The sender's traceparent when it is a valid W3C context, stored with the delivery too.</summary>
    public static string? SenderTraceParentToStore(string? inbound) => ActivityContext.TryParse(inbound, null, out _) ? inbound : null;

    public static Activity? StartReceive(string route, string jobId, string? inboundTraceParent)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var links = ActivityContext.TryParse(inboundTraceParent, null, out var sender) ? new[] { new ActivityLink(sender) } : null;
        var activity = Source.StartActivity("runchat.relay.receive", ActivityKind.Internal, parentContext: default(ActivityContext), links: links);
        activity?.SetTag("runchat.relay.route", route);
        activity?.SetTag("gen_ai.agent.id", jobId);
        return activity;
    }

    public static Activity? StartDispatch(ClaimedDelivery delivery)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var links = new List<ActivityLink>(2);
        if (ActivityContext.TryParse(delivery.TraceParent, null, out var received)) links.Add(new ActivityLink(received));
        if (ActivityContext.TryParse(delivery.SenderTraceParent, null, out var sent)) links.Add(new ActivityLink(sent));
        var activity = Source.StartActivity("runchat.relay.dispatch", ActivityKind.Consumer, parentContext: default(ActivityContext), links: links);
        activity?.SetTag("runchat.relay.delivery_id", delivery.Id);
        activity?.SetTag("runchat.relay.route", delivery.Route);
        activity?.SetTag("gen_ai.agent.id", delivery.FlowId ?? delivery.JobId);
        activity?.SetTag("runchat.relay.attempt", delivery.Attempts);
        if (delivery.Event is not null)
        {
            activity?.SetTag("runchat.relay.event", delivery.Event);
        }

        return activity;
    }

    /// <summary>
    /// The states that need watching: pending (a backlog), sending (runs in flight) and unknown (an operator's
    /// decision). Succeeded, failed and ignored only grow; their rates are the counters'.
    /// </summary>
    private static IEnumerable<Measurement<long>> Observe(IDeliveryStore store)
    {
        foreach (var (state, count) in store.CountByState())
        {
            if (state is RelayDeliveryState.Pending or RelayDeliveryState.Sending or RelayDeliveryState.Unknown)
            {
                yield return new Measurement<long>(count, new KeyValuePair<string, object?>("runchat.relay.state", DeliveryStates.Name(state)));
            }
        }
    }
}
