using System;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Internal;

namespace Runchat;

// Handwritten: NSwag's request/response hooks (generatePrepareRequestAndProcessResponseAsAsyncMethods
// in nswag.json makes them required). Every generated operation, including any that upstream adds
// later, passes through them, so each gets the same path rule and the same error mapping as the
// handwritten triggers without code per operation. The deadline is not here: the pipeline owns it.
public partial class RunchatClient
{
    private static Task PrepareRequestAsync(RunchatTransport client, HttpRequestMessage request, StringBuilder urlBuilder, CancellationToken cancellationToken)
    {
        RequestPath.EnsureNoDotOrEmptySegments(urlBuilder.ToString());
        return Task.CompletedTask;
    }

    private static Task PrepareRequestAsync(RunchatTransport client, HttpRequestMessage request, string url, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    private static Task ProcessResponseAsync(RunchatTransport client, HttpResponseMessage response, CancellationToken cancellationToken) =>
        ResponseErrors.ThrowIfNotSuccess(response, client.Credential);
}
