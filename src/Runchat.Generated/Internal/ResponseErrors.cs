using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Runchat.Internal;

/// <summary>The one place a non-2xx answer becomes an exception.</summary>
/// <remarks>
/// It reads the body as text first, so undocumented bodies (an HTML 502 page, an empty 500,
/// truncated JSON) still give a <see cref="RunchatApiException"/> with the real status and
/// never a JSON reader exception. The spec's statuses with an <see cref="Error"/> body give
/// <see cref="RunchatApiException{TResult}"/> of <see cref="Error"/>.
/// </remarks>
internal static class ResponseErrors
{
    private const string Redacted = "[REDACTED]";

    public static async Task<RunchatApiException> CreateAsync(HttpResponseMessage response, string? apiKey, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var headers = new Dictionary<string, IEnumerable<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in response.Headers)
        {
            headers[header.Key] = header.Value;
        }

        string? body = null;
        if (response.Content is not null)
        {
            foreach (var header in response.Content.Headers)
            {
                headers[header.Key] = header.Value;
            }

            cancellationToken.ThrowIfCancellationRequested();
            body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        }

        // A proxy or a misbehaving server could echo the request back; the key must not travel on.
        if (body is not null && !string.IsNullOrEmpty(apiKey))
        {
            body = body.Replace(apiKey, Redacted);
        }

        // Parsed once: the message, ServerError and the typed Error all come from this object.
        var json = RunchatApiException.ParseJsonObject(body);
        var serverError = RunchatApiException.ServerErrorOf(json);
        var message = Describe(status, response) + (serverError is null ? string.Empty : " Server error: " + serverError);

        var exception = status is 400 or 403 or 404 or 500 && ToError(json) is { } error
            ? new RunchatApiException<Error>(message, status, body, headers, error, null)
            : new RunchatApiException(message, status, body, headers, null);
        return exception.WithServerError(serverError);
    }

    private static string Describe(int status, HttpResponseMessage response) => status switch
    {
        400 => "Runchat rejected the request (400 Bad Request): the body could not be parsed, or the job is a flow job. This endpoint runs agent jobs only; flow jobs are triggered with GET.",
        401 => "Runchat did not accept the API key (401 Unauthorized): it is missing, invalid or revoked. Check RUNCHAT_API_KEY or RunchatClientOptions.ApiKey; keys are managed from the account menu at runchat.com.",
        403 => "Access denied (403 Forbidden): the API key's user has no permission to the Runchat behind this job.",
        404 => "Not found (404): there is no job (or Runchat) with this id, or the base URL is wrong.",
        429 => "Runchat is rate-limiting requests (429 Too Many Requests)" + DescribeRetryAfter(response) + ". The agent did not run.",
        >= 300 and < 400 => $"Runchat answered with a redirect ({status}{DescribeLocation(response)}), which is never followed: re-sending the POST elsewhere, or as a GET, could trigger the job again. Check RunchatClientOptions.BaseUrl.",
        >= 500 => $"The Runchat server failed ({status}). The agent may or may not have run; the request was not retried, because retrying could run it twice.",
        _ => $"Runchat answered with the unexpected HTTP status {status}.",
    };

    private static string DescribeLocation(HttpResponseMessage response) =>
        response.Headers.Location is { } location ? " to " + location : string.Empty;

    private static string DescribeRetryAfter(HttpResponseMessage response) =>
        RunchatRetryPolicy.GetRetryAfter(response) is { } wait ? $"; it asked to retry after {wait.TotalSeconds:0} s" : string.Empty;

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
