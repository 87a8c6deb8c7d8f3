using System;
using System.Linq;
using Runchat.Relay.Signatures;

namespace Runchat.Relay;

/// <summary>
/// A route ready to serve, parsed once from configuration or code: its path, what it runs (a job or a flow,
/// exactly one), its scheme, and its rules. Nothing re-reads configuration per request.
/// </summary>
internal sealed record RelayRoute
{
    private RelayRoute(string path, string? jobId, string? flowId, WebhookScheme scheme)
    {
        Path = path;
        JobId = jobId;
        FlowId = flowId;
        Scheme = scheme;
    }

    /// <summary>The path, such as <c>/hooks/stripe</c>, or <c>schedule:&lt;Name&gt;</c> for a schedule's ticks.</summary>
    public string Path { get; }

    /// <summary>The agent job each delivery triggers; null for a flow route.</summary>
    public string? JobId { get; }

    /// <summary>The flow each delivery runs; null for a job route.</summary>
    public string? FlowId { get; }

    /// <summary>How the route's senders sign, name their events, and expect to be answered.</summary>
    public WebhookScheme Scheme { get; }

    /// <summary>For Slack slash commands and interactions: the text answered at once.</summary>
    public string? Reply { get; init; }

    /// <summary>Which verified deliveries run (Events, When).</summary>
    public RouteFilter Filter { get; init; } = RouteFilter.None;

    /// <summary>The text the agent receives instead of the payload, when the route has a Message.</summary>
    public MessageTemplate? Message { get; init; }

    /// <summary>Where the agent's answer goes once the run has ended (PostReply); null when nowhere.</summary>
    public ReplyRoute? PostReply { get; init; }

    /// <summary>What the route runs, for logs and start lines: <c>job &lt;id&gt;</c> or <c>flow &lt;id&gt;</c>.</summary>
    public string Target => FlowId is null ? "job " + JobId : "flow " + FlowId;

    /// <summary>The path as ASP.NET Core matches it: without a trailing slash (case is ignored by the comparer).</summary>
    public static string Normalize(string path) => path.Length > 1 ? path.TrimEnd('/') : path;

    /// <summary>A webhook route to a job or a flow (exactly one), its path and id checked.</summary>
    /// <exception cref="ArgumentException">The path, or the job or flow id, is invalid; the message names the route.</exception>
    public static RelayRoute Create(string path, string? jobId, string? flowId, WebhookScheme scheme)
    {
        ValidatePath(path);
        return ForTarget(path, jobId, flowId, scheme);
    }

    /// <summary>
    /// A route to a job or a flow (exactly one), its id checked as a trigger would check it. The path is
    /// taken as given: a webhook path is checked by <see cref="Create"/>, a schedule's is its name.
    /// </summary>
    /// <exception cref="ArgumentException">Not exactly one of the ids, or one is invalid; the message names the route.</exception>
    public static RelayRoute ForTarget(string path, string? jobId, string? flowId, WebhookScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        if ((jobId is null) == (flowId is null))
        {
            throw new ArgumentException($"The webhook route {path}: set exactly one of JobId (an agent job) and FlowId (a flow, run with the body as its Webhook node's input).");
        }

        var (key, id) = flowId is null ? ("JobId", jobId!) : ("FlowId", flowId);
        try
        {
            RunchatClient.ValidateJobId(id);
        }
        catch (ArgumentException exception)
        {
            throw new ArgumentException($"The webhook route {path} has an invalid {key}: {Messages.WithoutParameter(exception)}", key == "JobId" ? "jobId" : "flowId", exception);
        }

        return new RelayRoute(path, jobId, flowId, scheme);
    }

    /// <summary>This route with the rules of <paramref name="options"/>: Reply, Events, When, Message.</summary>
    /// <exception cref="ArgumentException">Events, When or Message is invalid; the message names the route and the key.</exception>
    public RelayRoute WithRules(RelayRouteOptions options)
    {
        try
        {
            if (FlowId is not null && options.Message is not null)
            {
                throw new ArgumentException("a FlowId route posts the body whole to the flow's Webhook node; Message is for agent jobs.");
            }

            return this with
            {
                Reply = options.Reply,
                Filter = RouteFilter.Create(options.Events?.ToArray(), options.When),
                Message = options.Message is null ? null : MessageTemplate.Parse(options.Message),
                PostReply = options.PostReply is null ? null : ReplyRoute.Create(options.PostReply, Scheme.Name, TimeProvider.System),
            };
        }
        catch (ArgumentException invalid)
        {
            throw new ArgumentException($"The webhook route {Path}: {invalid.Message}", invalid);
        }
    }

    /// <exception cref="ArgumentException">The path cannot be a webhook route; the message says why.</exception>
    private static void ValidatePath(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || !path.StartsWith("/", StringComparison.Ordinal))
        {
            throw new ArgumentException($"The webhook route '{path}' must start with '/'.", nameof(path));
        }

        if (path.IndexOfAny(new[] { '{', '}', '*' }) >= 0)
        {
            throw new ArgumentException($"The webhook route '{path}' has '{{', '}}' or '*': a path is literal, and these would make it a route template that matches other paths.", nameof(path));
        }

        if (path.IndexOfAny(new[] { '?', '#', '\\' }) >= 0 || path.Any(char.IsWhiteSpace) || path.Any(char.IsControl))
        {
            throw new ArgumentException($"The webhook route '{path}' has a character a request path cannot match ('?', '#', '\\', a space or a control character).", nameof(path));
        }

        if (path.Split('/').Any(segment => segment is "." or ".."))
        {
            throw new ArgumentException($"The webhook route '{path}' has a '.' or '..' segment: clients resolve those before sending, so it can never be reached.", nameof(path));
        }
    }
}
