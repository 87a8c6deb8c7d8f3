using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Runchat.Internal;

namespace Runchat;

// Handwritten: the strict reader every generated Send…Async reads its success answer with
// (build/templates/Client.Class.liquid), and the serializer it converts with.
public partial class RunchatClient
{
    // Shared and never changed after creation, which is what makes a Newtonsoft serializer safe to share.
    private static readonly JsonSerializer ResponseSerializer = JsonSerializer.Create(new JsonSerializerSettings
    {
        // Transcript messages are free-form objects kept as JObject (AgentMessage.Raw is "the
        // message as received"): Newtonsoft's default would turn every date-like string in them
        // into a DateTime and re-format it.
        DateParseHandling = DateParseHandling.None,
        // 1.10 stays 1.10 (a double would say 1.1); numbers a decimal cannot say exactly take the
        // exact path of ReadExactObjectResponseAsync instead.
        FloatParseHandling = FloatParseHandling.Decimal,
    });

    /// <summary>
    /// Reads an answer the client will act on: exactly one strict JSON value (no trailing content,
    /// comments, single quotes, unquoted names, <c>NaN</c>, or a key twice in one object, as in
    /// <c>{"status":"error",…,"status":"success"}</c>), in the charset the Content-Type names, with
    /// numbers kept as written and the API key redacted from every string.
    /// </summary>
    /// <exception cref="RunchatApiException">The body is empty, not one strict JSON value, or not of the documented shape; the message says which.</exception>
    private async Task<T> ReadExactObjectResponseAsync<T>(HttpResponseMessage response, IReadOnlyDictionary<string, IEnumerable<string>> headers, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var content = response.Content ?? new ByteArrayContent(Array.Empty<byte>());
        var bytes = content is BufferedContent buffered
            ? buffered.Bytes
            : new ArraySegment<byte>(await ReadBytesAsync(content, cancellationToken).ConfigureAwait(false));
        var credential = _transport.Credential;

        try
        {
            var utf8 = Charsets.Utf8Of(bytes, content.Headers.ContentType?.CharSet);
            var segment = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(utf8, out var array) ? array : new ArraySegment<byte>(utf8.ToArray());
            if (ExactJson.IsBlank(utf8))
            {
                throw new RunchatApiException($"Runchat answered {status} with an empty body instead of a {typeof(T).Name}. The agent may have run.", status, string.Empty, headers, null);
            }

            var serializer = ResponseSerializer;
            var plain = ExactJson.Validate(utf8.Span);
            T value;
            if (plain && !EchoesTheKey(segment, credential))
            {
                // The common case: Newtonsoft, streaming, says every number back as written.
                using var reader = new JsonTextReader(new StreamReader(new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false), Encoding.UTF8));
                value = serializer.Deserialize<T>(reader)!;
            }
            else
            {
                // Numbers a decimal cannot say (1e400, -0), or a key to redact from the strings:
                // through the exact tree, redacted before conversion.
                value = ExactJson.ParseExact(utf8, credential.Redact).ToObject<T>(serializer)!;
            }

            return value ?? throw new RunchatApiException($"Runchat answered {status} with null instead of a {typeof(T).Name}. The agent may have run.", status, "null", headers, null);
        }
        catch (FormatException exception)
        {
            throw new RunchatApiException(
                $"Runchat answered {status} with a body that is not exactly one JSON value: {credential.Redact(exception.Message)}. " +
                "It is not read, because any reading of it could be wrong; the agent may have run.",
                status, Excerpt(bytes, credential), headers, exception.InnerException as JsonException);
        }
        catch (JsonException exception)
        {
            // The key was redacted before conversion wherever the body holds it, so nothing the converter quotes can.
            throw new RunchatApiException(
                $"Runchat answered {status} with JSON that is not a {typeof(T).Name}: {credential.Redact(exception.Message)}",
                status, Excerpt(bytes, credential), headers, null);
        }
    }

    private static bool EchoesTheKey(ArraySegment<byte> utf8, RunchatCredential credential)
    {
        foreach (var key in credential.Keys)
        {
            if (SecretRedactor.Contains(utf8, key))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<byte[]> ReadBytesAsync(HttpContent content, CancellationToken cancellationToken)
    {
#if NET5_0_OR_GREATER
        return await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
#else
        return await content.ReadAsByteArrayAsync().ConfigureAwait(false);
#endif
    }

    private static string Excerpt(ArraySegment<byte> bytes, RunchatCredential credential)
    {
        const int limit = 4096;
        var text = Encoding.UTF8.GetString(bytes.Array!, bytes.Offset, Math.Min(bytes.Count, limit));
        return bytes.Count > limit ? SecretRedactor.RedactTrailingPrefix(text, credential.Keys) : credential.Redact(text);
    }
}
