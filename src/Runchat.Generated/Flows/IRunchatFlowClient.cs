using System;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat;

/// <summary>
/// The flow operations, as an interface of their own: <see cref="RunchatClient"/> implements it, and a
/// hand-written fake of <see cref="IRunchatClient"/> keeps compiling without it. <c>AddRunchatClient</c>
/// registers it: inject <see cref="IRunchatFlowClient"/> where flows are run. Through an
/// <see cref="IRunchatClient"/>, they are also extension methods (<see cref="RunchatFlowExtensions"/>);
/// a fake that should answer them implements this interface too.
/// </summary>
public interface IRunchatFlowClient
{
    /// <inheritdoc cref="RunchatClient.TriggerFlowJobAsync(string, CancellationToken)"/>
    Task<FlowJobResponse> TriggerFlowJobAsync(string jobId, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="RunchatClient.RunFlowAsync(string, FlowInputs, string?, CancellationToken)"/>
    Task<FlowRunResponse> RunFlowAsync(string runchatId, FlowInputs inputs, string? instanceId = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="RunchatClient.RunFlowAsync(string, JobPayload, string?, CancellationToken)"/>
    Task<FlowRunResponse> RunFlowAsync(string runchatId, JobPayload payload, string? instanceId = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="RunchatClient.GetFlowSchemaAsync(string, CancellationToken)"/>
    Task<FlowSchema> GetFlowSchemaAsync(string runchatId, CancellationToken cancellationToken = default);
}

/// <summary>The flow operations through an <see cref="IRunchatClient"/>, such as the one dependency injection gives.</summary>
public static class RunchatFlowExtensions
{
    /// <inheritdoc cref="RunchatClient.TriggerFlowJobAsync(string, CancellationToken)"/>
    /// <exception cref="NotSupportedException">The client implements no flow operations (a fake that does not implement <see cref="IRunchatFlowClient"/>).</exception>
    public static Task<FlowJobResponse> TriggerFlowJobAsync(this IRunchatClient client, string jobId, CancellationToken cancellationToken = default) =>
        Flows(client).TriggerFlowJobAsync(jobId, cancellationToken);

    /// <inheritdoc cref="RunchatClient.RunFlowAsync(string, FlowInputs, string?, CancellationToken)"/>
    /// <exception cref="NotSupportedException">The client implements no flow operations (a fake that does not implement <see cref="IRunchatFlowClient"/>).</exception>
    public static Task<FlowRunResponse> RunFlowAsync(this IRunchatClient client, string runchatId, FlowInputs inputs, string? instanceId = null, CancellationToken cancellationToken = default) =>
        Flows(client).RunFlowAsync(runchatId, inputs, instanceId, cancellationToken);

    /// <inheritdoc cref="RunchatClient.RunFlowAsync(string, JobPayload, string?, CancellationToken)"/>
    /// <exception cref="NotSupportedException">The client implements no flow operations (a fake that does not implement <see cref="IRunchatFlowClient"/>).</exception>
    public static Task<FlowRunResponse> RunFlowAsync(this IRunchatClient client, string runchatId, JobPayload payload, string? instanceId = null, CancellationToken cancellationToken = default) =>
        Flows(client).RunFlowAsync(runchatId, payload, instanceId, cancellationToken);

    /// <inheritdoc cref="RunchatClient.GetFlowSchemaAsync(string, CancellationToken)"/>
    /// <exception cref="NotSupportedException">The client implements no flow operations (a fake that does not implement <see cref="IRunchatFlowClient"/>).</exception>
    public static Task<FlowSchema> GetFlowSchemaAsync(this IRunchatClient client, string runchatId, CancellationToken cancellationToken = default) =>
        Flows(client).GetFlowSchemaAsync(runchatId, cancellationToken);

    private static IRunchatFlowClient Flows(IRunchatClient client) =>
        (client ?? throw new ArgumentNullException(nameof(client))) as IRunchatFlowClient
        ?? throw new NotSupportedException($"This IRunchatClient ({client.GetType().Name}) has no flow operations. A fake that should answer them implements IRunchatFlowClient too.");
}
