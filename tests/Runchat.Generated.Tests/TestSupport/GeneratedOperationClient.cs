using System;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;

namespace Runchat.Tests.TestSupport;

/// <summary>
/// Calls the generated request builder and sender directly, as the handwritten layer does for every
/// operation (and as an operation upstream adds later is called): generated code, with no
/// handwritten argument checks in front.
/// </summary>
internal sealed class GeneratedOperationClient : IDisposable
{
    private readonly RunchatClient _client;

    public GeneratedOperationClient(RunchatClientOptions options)
    {
        _client = new RunchatClient(options);
    }

    public async Task<AgentJobResponse> CallAsync(AgentJobRequest? body, string jobId, CancellationToken cancellationToken)
    {
        var content = body is null ? null : new StringContent(JsonConvert.SerializeObject(body), Encoding.UTF8, "application/json");
        using var request = _client.CreateTriggerAgentJobWithMessageRequest(jobId, content);
        return (await _client.SendTriggerAgentJobWithMessageAsync(request, cancellationToken).ConfigureAwait(false)).Value;
    }

    public void Dispose() => _client.Dispose();
}
