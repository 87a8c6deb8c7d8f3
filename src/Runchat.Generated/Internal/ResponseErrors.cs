using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Runchat.Internal;

/// <summary>The one place an answer other than the operation's success status becomes an exception.</summary>
/// <remarks>
/// It reads the body as text first, so undocumented bodies (an HTML 502 page, an empty 500,
/// truncated JSON) still give a <see cref="RunchatApiException"/> with the real status and
/// never a JSON reader exception. The spec's statuses with an <see cref="Error"/> body give
/// <see cref="RunchatApiException{TResult}"/> of <see cref="Error"/>.
/// </remarks>
internal static class ResponseErrors
{
    /// <summary>
    /// Returns the answer's headers when its status is <paramref name="successStatus"/>, the one the
    /// spec documents for the operation (every generated Send…Async calls this); throws the
    /// <see cref="RunchatApiException"/> for any other status, another 2xx included.
    /// </summary>
    /// <remarks>The body was buffered (at most 1 MiB of an error) by RunchatDeadlineHandler, so reading it here cannot stall.</remarks>
    public static async Task<IReadOnlyDictionary<string, IEnumerable<string>>> EnsureStatusAsync(HttpResponseMessage response, int successStatus, RunchatCredential credential)
    {
        var headers = CollectHeaders(response);
        var status = (int)response.StatusCode;
        if (status == successStatus)
        {
            return headers;
        }

        var body = response.Content is null ? null : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        throw Build(status, body, headers, credential, RunchatRetryPolicy.GetRetryAfter(response), successStatus);
    }

    /// <summary>The exception for an answer: also what <see cref="RunchatModelFactory"/> builds for tests, so fakes throw what the client throws.</summary>
    internal static RunchatApiException Build(int status, string? body, IReadOnlyDictionary<string, IEnumerable<string>> headers, RunchatCredential? credential, TimeSpan? retryAfter, int successStatus = 200)
    {
        // A proxy or a misbehaving server could echo the request back; the key must not travel on.
        // The text is redacted before it is parsed: the redactor reads JSON's escapes, so the key
        // cannot survive in a parsed string. An error body may have been cut at its size limit
        // inside the key, so a trailing start of it goes too.
        if (body is not null && credential is not null)
        {
            body = SecretRedactor.RedactTrailingPrefix(body, credential.Keys);
        }

        // Parsed once: the message, ServerError and the typed Error all come from this object.
        var json = RunchatApiException.ParseJsonObject(body);
        var serverError = RunchatApiException.ServerErrorOf(json);
        var message = Describe(status, retryAfter, headers, successStatus) + (serverError is null ? string.Empty : " Server error: " + serverError);

        var exception = status is 400 or 403 or 404 or 500 && ToError(json) is { } error
            ? new RunchatApiException<Error>(message, status, body, headers, error, null)
            : new RunchatApiException(message, status, body, headers, null);
        return exception.WithServerError(serverError, retryAfter);
    }

    /// <summary>
    /// The response and content headers, keyed case-insensitively. Any echo of the key was already
    /// scrubbed from them by RunchatAuthenticationHandler, below every logger: the one owner of that rule.
    /// </summary>
    public static IReadOnlyDictionary<string, IEnumerable<string>> CollectHeaders(HttpResponseMessage response)
    {
        var headers = new Dictionary<string, IEnumerable<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in response.Headers)
        {
            headers[header.Key] = header.Value;
        }

        if (response.Content is not null)
        {
            foreach (var header in response.Content.Headers)
            {
                headers[header.Key] = header.Value;
            }
        }

        return headers;
    }

    private static string Describe(int status, TimeSpan? retryAfter, IReadOnlyDictionary<string, IEnumerable<string>> headers, int successStatus) => status switch
    {
        400 => "Runchat rejected the request (400 Bad Request): the body could not be parsed, or the job is a flow job. This endpoint runs agent jobs only; flow jobs are triggered with GET.",
        401 => "Runchat did not accept the API key (401 Unauthorized): it is missing, invalid or revoked. Check RUNCHAT_API_KEY or RunchatClientOptions.ApiKey; keys are managed from the account menu at runchat.com.",
        403 => "Access denied (403 Forbidden): the API key's user has no permission to the Runchat behind this job.",
        404 => "Not found (404): there is no job (or Runchat) with this id, or the base URL is wrong.",
        413 => "The request body is larger than the server accepts (413 Payload Too Large). The agent did not run: send a smaller payload.",
        429 => "Runchat is rate-limiting requests (429 Too Many Requests)" + (retryAfter is { } wait ? $"; it asked to retry after {wait.TotalSeconds:0} s" : string.Empty) + ". The agent did not run.",
        >= 300 and < 400 => $"Runchat answered with a redirect ({status}{DescribeLocation(headers)}), which is never followed: re-sending the POST elsewhere, or as a GET, could trigger the job again. Check RunchatClientOptions.BaseUrl.",
        >= 500 => $"The Runchat server failed ({status}). The agent may or may not have run; the request was not retried, because retrying could run it twice.",
        _ => $"Runchat answered with the unexpected HTTP status {status}; this operation answers {successStatus}.",
    };

    private static string DescribeLocation(IReadOnlyDictionary<string, IEnumerable<string>> headers) =>
        headers.TryGetValue("Location", out var location) ? " to " + string.Join(", ", location) : string.Empty;

    // The spec's Error body: {"error": "<text>"}. An error object of another shape stays untyped.
    private static Error? ToError(JObject? json)
    {
        if (json?["error"] is not JValue { Type: JTokenType.String })
        {
            return null;
        }

        try
        {
            return json.ToObject<Error>();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
