using System;
using System.Collections.Generic;
using System.Linq;

namespace Runchat;

// Handwritten: what Azure's Response<T> and OpenAI's ClientResult<T> give, for the one operation.

/// <summary>
/// A successful answer with its HTTP details: the value, the status code and the response headers
/// (a request id, rate-limit headers). Returned by the <c>TriggerAgentJobWithResponseAsync</c> overloads.
/// </summary>
/// <typeparam name="T">The answer's type.</typeparam>
/// <remarks>
/// The headers are the response's and its content's, keyed case-insensitively, with any echo of the
/// API key redacted, as in <see cref="RunchatApiException.Headers"/>. Build one for a fake with
/// <see cref="RunchatModelFactory.RunchatResponse{T}"/>.
/// </remarks>
public sealed class RunchatResponse<T>
{
    internal RunchatResponse(T value, int statusCode, IReadOnlyDictionary<string, IEnumerable<string>> headers)
    {
        Value = value;
        StatusCode = statusCode;
        Headers = headers;
    }

    /// <summary>The answer, as the plain <c>TriggerAgentJobAsync</c> overloads return it.</summary>
    public T Value { get; }

    /// <summary>The HTTP status code (200 for a trigger).</summary>
    public int StatusCode { get; }

    /// <summary>The response and content headers, keyed case-insensitively.</summary>
    public IReadOnlyDictionary<string, IEnumerable<string>> Headers { get; }

    /// <summary>The header's values joined with <c>", "</c>, or null when the answer has no such header.</summary>
    /// <param name="name">The header name, in any case, such as <c>x-request-id</c>.</param>
    /// <returns>The value, or null.</returns>
    public string? GetHeader(string name)
    {
        if (name is null)
        {
            throw new ArgumentNullException(nameof(name));
        }

        return Headers.TryGetValue(name, out var values) ? string.Join(", ", values) : null;
    }

    /// <inheritdoc />
    public override string ToString() => $"{StatusCode} ({Headers.Count} headers): {Value}";
}
