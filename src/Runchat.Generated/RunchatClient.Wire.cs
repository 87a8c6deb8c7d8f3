using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Runchat.Internal;

namespace Runchat;

// Handwritten: NSwag's request/response hooks (generatePrepareRequestAndProcessResponseAsAsyncMethods
// in nswag.json makes them required). They fix the wire format of the generated operation and
// route every non-2xx answer through ResponseErrors, the single place that maps responses to exceptions.
public partial class RunchatClient
{
    private static readonly AsyncLocal<RequestBody?> PendingBody = new();

    private static Task PrepareRequestAsync(HttpClient client, HttpRequestMessage request, StringBuilder urlBuilder, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    private static async Task PrepareRequestAsync(HttpClient client, HttpRequestMessage request, string url, CancellationToken cancellationToken)
    {
        var generated = request.Content;
        var pending = PendingBody.Value;
        if (pending is not null)
        {
            // Consumed once, so a nested call on the same flow cannot pick it up again.
            PendingBody.Value = null;
            request.Content = pending.Content;
            generated?.Dispose();
            return;
        }

        if (generated is null)
        {
            return;
        }

        // A direct call of the generated operation with a null body: NSwag would send the JSON
        // literal `null`, which the server appends as the message "null" (NSwag #3839).
        if (generated.Headers.ContentLength == 4 && await generated.ReadAsStringAsync().ConfigureAwait(false) == "null")
        {
            request.Content = null;
            generated.Dispose();
            return;
        }

        JobRequestBody.SetJsonContentType(generated);
    }

    private async Task ProcessResponseAsync(HttpClient client, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            return;
        }

        throw await ResponseErrors.CreateAsync(response, _options?.ApiKey, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The body a handwritten trigger wants sent; <see cref="Content"/> null means no body at all.</summary>
    private sealed class RequestBody
    {
        public RequestBody(HttpContent? content) => Content = content;

        public HttpContent? Content { get; }
    }
}
