using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Runchat.Internal;

namespace Runchat;

// Handwritten: the serializer settings of the generated client (NSwag's UpdateJsonSerializerSettings
// hook), and the strict reader every generated operation reads a successful answer with
// (build/templates/Client.Class.ReadObjectResponse.liquid calls ReadExactObjectResponseAsync).
public partial class RunchatClient
{
    private JsonSerializer? _responseSerializer;

    static partial void UpdateJsonSerializerSettings(JsonSerializerSettings settings)
    {
        // Transcript messages are free-form objects kept as JObject (AgentMessage.Raw is "the
        // message as received"): Newtonsoft's default would turn every date-like string in them
        // into a DateTime and re-format it.
        settings.DateParseHandling = DateParseHandling.None;
    }

    /// <summary>
    /// Reads an answer the client will act on: exactly one strict JSON value (no trailing content,
    /// comments, single quotes, unquoted names, <c>NaN</c>, or a key twice in one object, as in
    /// <c>{"status":"error",…,"status":"success"}</c>), in the charset the Content-Type names, with
    /// numbers kept as written and the API key redacted from every string.
    /// </summary>
    /// <exception cref="RunchatApiException">The body is not one strict JSON value, or not of the documented shape; the message says which.</exception>
    private async Task<ObjectResponseResult<T>> ReadExactObjectResponseAsync<T>(HttpResponseMessage response, IReadOnlyDictionary<string, IEnumerable<string>> headers, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var content = response.Content!;
        var bytes = content is BufferedContent buffered
            ? buffered.Bytes
            : new ArraySegment<byte>(await ReadBytesAsync(content, cancellationToken).ConfigureAwait(false));
        var credential = _httpClient.Credential;

        Newtonsoft.Json.Linq.JToken? token;
        try
        {
            token = ExactJson.ParseStrict(bytes, content.Headers.ContentType?.CharSet, credential.Redact);
        }
        catch (FormatException exception)
        {
            throw new RunchatApiException(
                $"Runchat answered {status} with a body that is not exactly one JSON value: {credential.Redact(exception.Message)}. " +
                "It is not read, because any reading of it could be wrong; the agent may have run.",
                status, Excerpt(bytes, credential), headers, exception.InnerException as JsonException);
        }

        if (token is null)
        {
            return new ObjectResponseResult<T>(default!, string.Empty);
        }

        try
        {
            var serializer = _responseSerializer ??= JsonSerializer.Create(JsonSerializerSettings);
            var value = token.ToObject<T>(serializer);
            return new ObjectResponseResult<T>(value!, ReadResponseAsString ? token.ToString(Formatting.None) : string.Empty);
        }
        catch (JsonException exception)
        {
            // The tree was redacted before conversion, so nothing the converter quotes can hold the key.
            throw new RunchatApiException(
                $"Runchat answered {status} with JSON that is not a {typeof(T).Name}: {credential.Redact(exception.Message)}",
                status, Excerpt(bytes, credential), headers, null);
        }
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
