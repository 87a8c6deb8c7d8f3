using System;
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
    private static readonly AsyncLocal<CallState?> CurrentCall = new();

    private static Task PrepareRequestAsync(HttpClient client, HttpRequestMessage request, StringBuilder urlBuilder, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    private static async Task PrepareRequestAsync(HttpClient client, HttpRequestMessage request, string url, CancellationToken cancellationToken)
    {
        var generated = request.Content;
        if (CurrentCall.Value is { } call && call.TakeBody(out var body))
        {
            request.Content = body;
            generated?.Dispose();
            if (call.OwnsDeadline)
            {
                RunchatTimeoutHandler.MarkDeadlineOwnedByCaller(request);
            }

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
            CurrentCall.Value?.AbortOnCancel(response);
            return;
        }

        throw await ResponseErrors.CreateAsync(response, _options?.ApiKey, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What one handwritten trigger hands to the hooks above.</summary>
    private sealed class CallState : IDisposable
    {
        private readonly CancellationToken _token;
        private HttpContent? _body;
        private bool _bodyTaken;
        private CancellationTokenRegistration _abort;

        /// <param name="body">The body to send; null means no body at all.</param>
        /// <param name="token">The call's token (the caller's, linked with the deadline).</param>
        /// <param name="ownsDeadline">Whether the caller enforces RunchatClientOptions.Timeout itself.</param>
        public CallState(HttpContent? body, CancellationToken token, bool ownsDeadline)
        {
            _body = body;
            _token = token;
            OwnsDeadline = ownsDeadline;
        }

        public bool OwnsDeadline { get; }

        /// <summary>Hands the body over once, so a nested call on the same flow cannot pick it up again.</summary>
        public bool TakeBody(out HttpContent? body)
        {
            body = _body;
            if (_bodyTaken)
            {
                return false;
            }

            _bodyTaken = true;
            _body = null;
            return true;
        }

        /// <summary>
        /// The generated code reads a successful body with synchronous reads that no token reaches;
        /// disposing the response when the token fires aborts a stalled read promptly.
        /// </summary>
        public void AbortOnCancel(HttpResponseMessage response)
        {
            if (_token.CanBeCanceled)
            {
                _abort = _token.Register(static state => ((HttpResponseMessage)state!).Dispose(), response);
            }
        }

        public void Dispose() => _abort.Dispose();
    }
}
