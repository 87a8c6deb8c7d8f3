using System;
using System.Collections.Generic;
using System.Net.Http;
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

    /// <summary>Throws the exception for a non-2xx answer; does nothing for a 2xx.</summary>
    /// <remarks>The body was buffered (at most 1 MiB of an error) by RunchatDeadlineHandler, so reading it here cannot stall.</remarks>
    public static Task ThrowIfNotSuccess(HttpResponseMessage response, string? apiKey)
    {
        var status = (int)response.StatusCode;
        return status is >= 200 and < 300 ? Task.CompletedTask : ThrowAsync(response, apiKey);
    }

    private static async Task ThrowAsync(HttpResponseMessage response, string? apiKey)
    {
        var status = (int)response.StatusCode;
        var headers = CollectHeaders(response, apiKey);
        var body = response.Content is null ? null : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        throw Build(status, body, headers, apiKey, RunchatRetryPolicy.GetRetryAfter(response));
    }

    /// <summary>The exception for an answer: also what <see cref="RunchatModelFactory"/> builds for tests, so fakes throw what the client throws.</summary>
    internal static RunchatApiException Build(int status, string? body, IReadOnlyDictionary<string, IEnumerable<string>> headers, string? apiKey, TimeSpan? retryAfter)
    {
        // Parsed once: the message, ServerError and the typed Error all come from this object.
        var json = RunchatApiException.ParseJsonObject(body);
        (body, json) = Redact(body, json, apiKey);
        var serverError = RunchatApiException.ServerErrorOf(json);
        var message = Describe(status, retryAfter, headers) + (serverError is null ? string.Empty : " Server error: " + serverError);

        var exception = status is 400 or 403 or 404 or 500 && ToError(json) is { } error
            ? new RunchatApiException<Error>(message, status, body, headers, error, null)
            : new RunchatApiException(message, status, body, headers, null);
        return exception.WithServerError(serverError);
    }

    /// <summary>The response and content headers, with any echo of the API key (plain or percent-encoded) redacted.</summary>
    public static IReadOnlyDictionary<string, IEnumerable<string>> CollectHeaders(HttpResponseMessage response, string? apiKey)
    {
        var headers = new Dictionary<string, IEnumerable<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in response.Headers)
        {
            headers[header.Key] = RedactValues(header.Value, apiKey);
        }

        if (response.Content is not null)
        {
            foreach (var header in response.Content.Headers)
            {
                headers[header.Key] = RedactValues(header.Value, apiKey);
            }
        }

        return headers;
    }

    private static IEnumerable<string> RedactValues(IEnumerable<string> values, string? apiKey)
    {
        if (string.IsNullOrEmpty(apiKey))
        {
            return values;
        }

        var list = new List<string>();
        foreach (var value in values)
        {
            list.Add(RedactText(value, apiKey!));
        }

        return list;
    }

    /// <summary>Redacts the key from text as sent, and from its percent-decoded form (a Location header echoing a query).</summary>
    private static string RedactText(string text, string apiKey)
    {
        var redacted = text.Replace(apiKey, Redacted);
        if (redacted.IndexOf('%') >= 0)
        {
            var decoded = Uri.UnescapeDataString(redacted);
            if (decoded.IndexOf(apiKey, StringComparison.Ordinal) >= 0)
            {
                return decoded.Replace(apiKey, Redacted);
            }
        }

        return redacted;
    }

    /// <summary>
    /// A proxy or a misbehaving server could echo the request back; the key must not travel on.
    /// JSON can spell the key with escapes (<c>\u005f</c> for <c>_</c>), so the parsed strings are checked too,
    /// and a body that hides the key that way is kept as its redacted re-serialization.
    /// </summary>
    private static (string? Body, JObject? Json) Redact(string? body, JObject? json, string? apiKey)
    {
        if (body is null || string.IsNullOrEmpty(apiKey))
        {
            return (body, json);
        }

        body = RedactText(body, apiKey!);
        if (json is null || !RedactStrings(json, apiKey!))
        {
            return (body, json);
        }

        return (json.ToString(Formatting.None), json);
    }

    /// <summary>Replaces the key in every string value and property name; true when something was replaced.</summary>
    private static bool RedactStrings(JToken token, string apiKey)
    {
        var changed = false;
        switch (token)
        {
            case JValue { Type: JTokenType.String } value when ((string)value!).IndexOf(apiKey, StringComparison.Ordinal) >= 0:
                value.Value = ((string)value!).Replace(apiKey, Redacted);
                return true;
            case JObject obj:
                foreach (var property in new List<JProperty>(obj.Properties()))
                {
                    changed |= RedactStrings(property.Value, apiKey);
                    if (property.Name.IndexOf(apiKey, StringComparison.Ordinal) >= 0)
                    {
                        property.Replace(new JProperty(property.Name.Replace(apiKey, Redacted), property.Value));
                        changed = true;
                    }
                }

                return changed;
            case JArray array:
                foreach (var item in array)
                {
                    changed |= RedactStrings(item, apiKey);
                }

                return changed;
            default:
                return false;
        }
    }

    private static string Describe(int status, TimeSpan? retryAfter, IReadOnlyDictionary<string, IEnumerable<string>> headers) => status switch
    {
        400 => "Runchat rejected the request (400 Bad Request): the body could not be parsed, or the job is a flow job. This endpoint runs agent jobs only; flow jobs are triggered with GET.",
        401 => "Runchat did not accept the API key (401 Unauthorized): it is missing, invalid or revoked. Check RUNCHAT_API_KEY or RunchatClientOptions.ApiKey; keys are managed from the account menu at runchat.com.",
        403 => "Access denied (403 Forbidden): the API key's user has no permission to the Runchat behind this job.",
        404 => "Not found (404): there is no job (or Runchat) with this id, or the base URL is wrong.",
        413 => "The request body is larger than the server accepts (413 Payload Too Large). The agent did not run: send a smaller payload.",
        429 => "Runchat is rate-limiting requests (429 Too Many Requests)" + (retryAfter is { } wait ? $"; it asked to retry after {wait.TotalSeconds:0} s" : string.Empty) + ". The agent did not run.",
        >= 300 and < 400 => $"Runchat answered with a redirect ({status}{DescribeLocation(headers)}), which is never followed: re-sending the POST elsewhere, or as a GET, could trigger the job again. Check RunchatClientOptions.BaseUrl.",
        >= 500 => $"The Runchat server failed ({status}). The agent may or may not have run; the request was not retried, because retrying could run it twice.",
        _ => $"Runchat answered with the unexpected HTTP status {status}.",
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
