using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Tests.TestSupport;

/// <summary>
/// Calls the protected generated operation directly, as any operation upstream adds later is
/// called: generated code, with no handwritten wrapper in front.
/// </summary>
internal sealed class GeneratedOperationClient : RunchatClient
{
    public GeneratedOperationClient(RunchatClientOptions options)
        : base(options)
    {
    }

    public Task<AgentJobResponse> CallAsync(AgentJobRequest? body, string jobId, CancellationToken cancellationToken) =>
        TriggerAgentJobWithMessageCoreAsync(body, jobId, cancellationToken);
}
