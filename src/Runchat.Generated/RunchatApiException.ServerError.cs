using System;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Runchat;

// Handwritten: the server's own error text, whatever the status and body shape.

/// <summary>
/// The Runchat API answered with a status other than 2xx, or with a body that is not the
/// documented response. <see cref="RunchatApiException.StatusCode"/> is the real HTTP status;
/// <see cref="ServerError"/> is the server's own error text when it sent one.
/// </summary>
/// <remarks>
/// A 5xx or a dropped connection does not prove that the agent did not run, so it is never
/// retried; check the job's history before triggering it again.
/// </remarks>
public partial class RunchatApiException
{
    private string? _serverError;
    private bool _serverErrorParsed;

    /// <summary>
    /// The server's error text: the <c>error</c> string of a JSON body, or <c>error.message</c>
    /// when <c>error</c> is an object. Null when the body has neither (an HTML page, an empty body).
    /// </summary>
    public string? ServerError
    {
        get
        {
            if (!_serverErrorParsed)
            {
                _serverError = ParseServerError(Response);
                _serverErrorParsed = true;
            }

            return _serverError;
        }
    }

    /// <summary>
    /// How long the server asked to wait before sending again (its <c>Retry-After</c> header, as
    /// delta-seconds or an HTTP date measured against the answer's <c>Date</c>), read once when the
    /// answer arrived; null when it sent none. Runchat sends it with <c>429 Too Many Requests</c>;
    /// see <see cref="RunchatRetry"/> for what may be sent again.
    /// </summary>
    public TimeSpan? RetryAfter { get; private set; }

    internal static string? ParseServerError(string? body) => ServerErrorOf(ParseJsonObject(body));

    /// <summary>Records the server error already parsed from <see cref="Response"/>, so it is not parsed again.</summary>
    internal RunchatApiException WithServerError(string? serverError, TimeSpan? retryAfter)
    {
        _serverError = serverError;
        _serverErrorParsed = true;
        RetryAfter = retryAfter;
        return this;
    }

    /// <summary>The body as a JSON object, or null when it is not one (HTML, empty, truncated). Never throws.</summary>
    internal static JObject? ParseJsonObject(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        var trimmed = body!.TrimStart();
        if (trimmed[0] != '{')
        {
            return null;
        }

        try
        {
            using var reader = new JsonTextReader(new System.IO.StringReader(trimmed)) { DateParseHandling = DateParseHandling.None, MaxDepth = 64 };
            return JObject.Load(reader);
        }
        catch (JsonException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The <c>error</c> string of an error body, or <c>error.message</c> when <c>error</c> is an object.</summary>
    internal static string? ServerErrorOf(JObject? body) => body?["error"] switch
    {
        JValue { Type: JTokenType.String } text => (string?)text,
        JObject nested when nested["message"] is JValue { Type: JTokenType.String } message => (string?)message,
        _ => null,
    };
}
