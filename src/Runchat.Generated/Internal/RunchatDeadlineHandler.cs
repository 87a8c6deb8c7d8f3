using System;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Internal;

/// <summary>
/// The one owner of <see cref="RunchatClientOptions.Timeout"/>: it bounds a whole call (retries,
/// waiting for the headers and reading the body) for every operation and every status code, and
/// it is the one place a body that breaks off becomes an <see cref="HttpRequestException"/>.
/// </summary>
/// <remarks>
/// Modelled on Azure.Core's ResponseBodyPolicy: the body is buffered here, under the deadline and
/// the caller's token, and the response is disposed when either fires, which aborts a read that
/// stalls. Everything after this handler (the generated deserialization, the error mapper) reads
/// a buffered body and cannot hang. An error body is read up to <see cref="MaxErrorBodyBytes"/>;
/// the rest is discarded. HttpClient's own timeout is off (agent runs take minutes, and it would
/// surface as an ambiguous TaskCanceledException). The filter in RunchatHandlerBuilderFilter puts
/// this handler outermost, after all user configuration, so it cannot be removed or reordered.
/// </remarks>
internal sealed class RunchatDeadlineHandler : DelegatingHandler
{
    /// <summary>How much of a non-2xx body is kept: enough for any error JSON, bounded against a 200 MB error page.</summary>
    public const int MaxErrorBodyBytes = 1024 * 1024;

    private readonly TimeSpan _timeout;

    public RunchatDeadlineHandler(TimeSpan timeout) => _timeout = timeout;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_timeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(_timeout);
            RequestDeadline.Set(request, RequestDeadline.Now() + _timeout);
        }

        HttpResponseMessage? response = null;
        try
        {
            response = await base.SendAsync(request, deadline.Token).ConfigureAwait(false);
            await BufferBodyAsync(response, deadline.Token).ConfigureAwait(false);
            return response;
        }
        catch (Exception exception) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            response?.Dispose();
            throw new TimeoutException(
                $"The Runchat API did not answer within the configured timeout of {Describe(_timeout)} (RunchatClientOptions.Timeout). " +
                "The job may still be running on the server: it was not retried and is not cancelled there.",
                exception);
        }
        catch (Exception exception) when (cancellationToken.IsCancellationRequested)
        {
            response?.Dispose();
            if (exception is OperationCanceledException)
            {
                throw;
            }

            throw new OperationCanceledException("The call was cancelled. A run the server already started is not stopped.", exception, cancellationToken);
        }
        catch
        {
            response?.Dispose();
            throw;
        }
    }

    /// <summary>Replaces the response's content by its bytes, read under <paramref name="token"/>.</summary>
    private static async Task BufferBodyAsync(HttpResponseMessage response, CancellationToken token)
    {
        var original = response.Content;
        if (original is null)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var limit = status is >= 200 and < 300 ? int.MaxValue - 64 : MaxErrorBodyBytes;

        // Disposing the response is what reliably aborts a read that stalls on every handler
        // (the netstandard2.0 HttpClientHandler does not honour the token inside a read).
        using var abort = token.Register(static state => ((HttpResponseMessage)state!).Dispose(), response);
        byte[] buffer;
        int length;
        try
        {
            (buffer, length) = await ReadAsync(original, limit, token).ConfigureAwait(false);
        }
        catch (Exception exception) when (!token.IsCancellationRequested && exception is IOException or InvalidDataException or HttpRequestException or ObjectDisposedException)
        {
            throw new HttpRequestException(
                $"The connection broke off while the answer ({status}) was being read: {exception.Message} " +
                "The agent may have run; the request was not retried.",
                exception);
        }

        var buffered = new BufferedContent(buffer, length);
        foreach (var header in original.Headers)
        {
            if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        response.Content = buffered;
        original.Dispose();
    }

    // Success bodies are kept whole (up to 2 GB); an error body's first MaxErrorBodyBytes are enough to report it.
    private static async Task<(byte[] Buffer, int Length)> ReadAsync(HttpContent content, int limit, CancellationToken token)
    {
#if NET5_0_OR_GREATER
        using var stream = await content.ReadAsStreamAsync(token).ConfigureAwait(false);
#else
        using var stream = await content.ReadAsStreamAsync().ConfigureAwait(false);
#endif
        var (buffer, length, _) = await BoundedRead.ReadAsync(stream, content.Headers.ContentLength, trustExpectedLength: true, limit, countPastLimit: false, token).ConfigureAwait(false);
        return (buffer, length);
    }

    private static string Describe(TimeSpan timeout) =>
        timeout.TotalSeconds < 120 ? $"{timeout.TotalSeconds:0.###} s" : $"{timeout.TotalMinutes:0.##} min";
}

/// <summary>An answer's body as the deadline handler read it: the reader takes the bytes without another copy.</summary>
internal sealed class BufferedContent : ByteArrayContent
{
    public BufferedContent(byte[] buffer, int length)
        : base(buffer, 0, length) => Bytes = new ArraySegment<byte>(buffer, 0, length);

    public ArraySegment<byte> Bytes { get; }
}
