using System;
using System.Linq;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Runchat.Internal;

namespace Runchat;

/// <summary>
/// One JSON object to forward to an agent job as-is, typically a webhook body.
/// </summary>
/// <remarks>
/// <para>
/// The payload is validated once, when it is created: it must be exactly one JSON object in valid
/// UTF-8, with nothing after it. Invalid input throws <see cref="ArgumentException"/> here, so no
/// request is ever sent with it.
/// </para>
/// <para>
/// It is sent byte-for-byte: no re-serialization, so dates, number formats (<c>1.10</c>,
/// <c>1e3</c>, 30-digit integers), key order, escapes and whitespace reach the server untouched.
/// The one exception is a payload with a top-level <c>message</c> key, which the server would
/// otherwise treat as an explicit message and drop the rest; see
/// <see cref="IRunchatClient.TriggerAgentJobAsync(string, JobPayload, CancellationToken)"/>.
/// </para>
/// <para>Instances are immutable and thread-safe, and can be sent any number of times.</para>
/// </remarks>
public sealed class JobPayload
{
    /// <summary>Deeper nesting than this is rejected with a clear message; the validating reader itself never recurses.</summary>
    public const int MaxDepth = 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] _buffer;
    private readonly int _length;

    private JobPayload(byte[] buffer, int length, bool hasTopLevelMessageKey)
    {
        _buffer = buffer;
        _length = length;
        HasTopLevelMessageKey = hasTopLevelMessageKey;
    }

    /// <summary>The payload's length in bytes, as it will be sent.</summary>
    public int Length => _length;

    /// <summary>
    /// True when the object has a top-level <c>message</c> key. Such a payload is delivered whole,
    /// wrapped as <c>{"message":"&lt;payload text&gt;"}</c>, instead of being sent as-is.
    /// </summary>
    public bool HasTopLevelMessageKey { get; }

    internal ArraySegment<byte> Utf8Bytes => new(_buffer, 0, _length);

    /// <summary>Creates a payload from JSON text; it is sent as the text's UTF-8 bytes.</summary>
    /// <param name="json">Exactly one JSON object.</param>
    /// <returns>The validated payload.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="json"/> is not valid JSON, or not a single JSON object.</exception>
    public static JobPayload FromJson(string json)
    {
        if (json is null) throw new ArgumentNullException(nameof(json));

        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(json);
        }
        catch (EncoderFallbackException exception)
        {
            throw new ArgumentException("The payload text contains an unpaired surrogate character, so it cannot be sent as UTF-8 JSON.", nameof(json), exception);
        }

        return Create(bytes, bytes.Length, nameof(json));
    }

    /// <summary>
    /// Creates a payload from UTF-8 JSON bytes, which are sent exactly. The array is not copied:
    /// do not change it while the payload is in use.
    /// </summary>
    /// <param name="utf8Json">Exactly one JSON object, UTF-8 encoded (a leading byte-order mark is rejected).</param>
    /// <returns>The validated payload.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="utf8Json"/> is null.</exception>
    /// <exception cref="ArgumentException">The bytes are not valid UTF-8 JSON, or not a single JSON object.</exception>
    public static JobPayload FromBytes(byte[] utf8Json)
    {
        if (utf8Json is null) throw new ArgumentNullException(nameof(utf8Json));
        return Create(utf8Json, utf8Json.Length, nameof(utf8Json));
    }

    /// <summary>
    /// Creates a payload by serializing an object with Newtonsoft.Json: a <c>JObject</c>, a POCO,
    /// a dictionary or an anonymous object. Use <see cref="FromJson"/> for JSON you already have as text.
    /// </summary>
    /// <param name="value">An object that serializes to a JSON object.</param>
    /// <returns>The validated payload.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="value"/> does not serialize to a JSON object (a string, number, list...), or cannot be serialized.</exception>
    public static JobPayload FromObject(object value) => FromObject(value, settings: null);

    /// <summary>
    /// Creates a payload by serializing an object with Newtonsoft.Json and the given settings
    /// (naming strategy, converters, date format).
    /// </summary>
    /// <param name="value">An object that serializes to a JSON object.</param>
    /// <param name="settings">Serializer settings; the Newtonsoft.Json defaults when null.</param>
    /// <returns>The validated payload.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="value"/> does not serialize to a JSON object (a string, number, list...), or cannot be serialized.</exception>
    public static JobPayload FromObject(object value, JsonSerializerSettings? settings)
    {
        if (value is null) throw new ArgumentNullException(nameof(value));
        if (value is string)
        {
            throw new ArgumentException("FromObject was given a string, which would be sent as a JSON string, not an object. Use JobPayload.FromJson for JSON text.", nameof(value));
        }

        using var stream = new MemoryStream();
        try
        {
            using var writer = new StreamWriter(stream, StrictUtf8, bufferSize: 4096, leaveOpen: true);
            Newtonsoft.Json.JsonSerializer.Create(settings).Serialize(writer, value);
        }
        catch (Newtonsoft.Json.JsonException exception)
        {
            throw new ArgumentException($"The {value.GetType().Name} could not be serialized to JSON: {exception.Message}", nameof(value), exception);
        }

        return Create(stream.GetBuffer(), (int)stream.Length, nameof(value));
    }

    /// <summary>
    /// Reads a payload from a stream of UTF-8 JSON (an ASP.NET Core <c>Request.Body</c>, a file),
    /// to its end. The stream is not closed.
    /// </summary>
    /// <param name="utf8Json">The stream to read.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The validated payload.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="utf8Json"/> is null.</exception>
    /// <exception cref="ArgumentException">The content is not valid UTF-8 JSON, or not a single JSON object.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<JobPayload> FromStreamAsync(Stream utf8Json, CancellationToken cancellationToken = default)
    {
        if (utf8Json is null) throw new ArgumentNullException(nameof(utf8Json));

        // Complete before anything is sent: it is validated first, and a retried request resends the same bytes.
        const int Limit = int.MaxValue - 64;
        long? remaining = utf8Json.CanSeek ? utf8Json.Length - utf8Json.Position : null;
        var (buffer, length, total) = await BoundedRead.ReadAsync(utf8Json, remaining, trustExpectedLength: true, Limit, countPastLimit: false, cancellationToken).ConfigureAwait(false);
        return total > Limit
            ? throw new ArgumentException("The payload stream is larger than 2 GB.", nameof(utf8Json))
            : Create(buffer, length, nameof(utf8Json));
    }

    /// <summary>The payload as text (decoded from its UTF-8 bytes).</summary>
    /// <returns>The JSON text exactly as it will be sent when it has no top-level <c>message</c> key.</returns>
    public override string ToString() => StrictUtf8.GetString(_buffer, 0, _length);

    private static JobPayload Create(byte[] buffer, int length, string parameterName)
    {
        var hasMessageKey = Validate(buffer, length, parameterName);
        return new JobPayload(buffer, length, hasMessageKey);
    }

    // Utf8JsonReader is strict RFC 8259 (no comments, single quotes or trailing commas), validates
    // UTF-8 and does not recurse, so hostile nesting cannot overflow the stack.
    private static bool Validate(byte[] buffer, int length, string parameterName)
    {
        var utf8 = new ReadOnlySpan<byte>(buffer, 0, length);
        if (utf8.Length >= 3 && utf8[0] == 0xEF && utf8[1] == 0xBB && utf8[2] == 0xBF)
        {
            throw new ArgumentException("The payload starts with a UTF-8 byte-order mark; send the JSON without it.", parameterName);
        }

        try
        {
            // Utf8JsonReader checks the structure but not every byte inside string values.
            StrictUtf8.GetCharCount(buffer, 0, length);
        }
        catch (DecoderFallbackException exception)
        {
            throw new ArgumentException($"The payload is not valid UTF-8 (at byte {exception.Index}), so it is not valid JSON.", parameterName, exception);
        }

        if (IsBlank(utf8))
        {
            throw new ArgumentException("The payload is empty. To run the saved template as-is, call TriggerAgentJobAsync(jobId) with no payload.", parameterName);
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
        var hasMessageKey = false;
        var empty = false;
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ArgumentException($"The payload must be a JSON object, but it is {JsonTokenNames.Describe(reader.TokenType)}. Wrap it in an object, or send text with the message overload.", parameterName);
            }

            var members = 0;
            while (reader.Read())
            {
                if (reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.PropertyName)
                {
                    members++;
                    hasMessageKey |= reader.ValueTextEquals("message"u8);
                }
            }

            if (members == 0)
            {
                empty = true;
            }
        }
        catch (System.Text.Json.JsonException exception)
        {
            var detail = reader.CurrentDepth >= MaxDepth - 1
                ? $"it is nested deeper than {MaxDepth} levels"
                : IsValidPrefix(utf8)
                    ? $"the JSON ends early at byte {utf8.Length} (an object, array or string is not closed)"
                    : $"it is not valid JSON at byte {reader.BytesConsumed}: {Reason(exception)}";
            throw new ArgumentException("The payload cannot be sent: " + detail + ".", parameterName, exception);
        }

        if (empty)
        {
            // The server would append the text "{}" as a user message, not run the template as-is.
            throw new ArgumentException(
                "The payload is an empty JSON object ({}), which the server would append to the chat as the text \"{}\". " +
                "To run the saved template as-is, call TriggerAgentJobAsync(jobId) with no payload.", parameterName);
        }

        return hasMessageKey;
    }

    /// <summary>True when the bytes are the start of some valid JSON: the payload was cut off, not malformed.</summary>
    private static bool IsValidPrefix(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, isFinalBlock: false, new JsonReaderState(new JsonReaderOptions { MaxDepth = MaxDepth }));
        try
        {
            while (reader.Read())
            {
            }

            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>The parser's reason in plain words: without its line/byte position or advice about reader options.</summary>
    private static string Reason(System.Text.Json.JsonException exception)
    {
        var text = exception.Message;
        var position = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (position >= 0)
        {
            text = text.Substring(0, position);
        }

        var sentences = text.Split(new[] { ". " }, StringSplitOptions.RemoveEmptyEntries)
            .Where(sentence => sentence.IndexOf("reader options", StringComparison.OrdinalIgnoreCase) < 0 && sentence.IndexOf("JsonReaderOptions", StringComparison.Ordinal) < 0);
        return string.Join(". ", sentences).TrimEnd('.', ' ');
    }

    private static bool IsBlank(ReadOnlySpan<byte> utf8)
    {
        foreach (var b in utf8)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }
}
