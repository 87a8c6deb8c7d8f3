using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Runchat.Relay.Signatures;

/// <summary>
/// Twilio: <c>X-Twilio-Signature</c> is the base64 HMAC-SHA1, keyed with the account's auth token, of the full URL Twilio
/// posted to followed by each form parameter's name and value, sorted by name.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>The URL is the one Twilio was given: behind a proxy the relay sees another, so a route sets <c>PublicUrl</c>
/// (the request's query string is added to it). As Twilio's own libraries do, the URL is tried with and without its
/// default port (Twilio's edge may add or drop <c>:443</c>).</item>
/// <item>A JSON body (a Twilio Event Streams or Studio request) is signed through the URL's <c>bodySHA256</c>
/// parameter, the hex SHA-256 of the body, which is checked too.</item>
/// <item>A form is stored as one JSON object (a repeated name as an array). The whole form is signed, so the body's
/// hash tells deliveries apart; <c>I-Twilio-Idempotency-Token</c> is a label. The event name is
/// <c>message.&lt;MessageStatus&gt;</c> (or <c>SmsStatus</c>) for messaging and <c>call.&lt;CallStatus&gt;</c> for voice.</item>
/// </list>
/// </remarks>
internal sealed class TwilioSignature : WebhookSignature
{
    private readonly byte[] _key;
    private readonly Uri? _publicUrl;

    public TwilioSignature(string authToken, Uri? publicUrl)
    {
        _key = RequireSecret(authToken, "twilio");
        if (publicUrl is not null && (!publicUrl.IsAbsoluteUri || (publicUrl.Scheme != Uri.UriSchemeHttps && publicUrl.Scheme != Uri.UriSchemeHttp)))
        {
            throw new ArgumentException($"The twilio PublicUrl must be an absolute http(s) URL, the one Twilio posts to, such as https://relay.example.com/hooks/twilio; got {publicUrl}.");
        }

        _publicUrl = publicUrl;
    }

    public override string Name => "twilio";

    public override IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId)
    {
        var url = _publicUrl?.AbsoluteUri ?? throw new NotSupportedException("Signing for twilio needs the URL Twilio posts to: give the route a PublicUrl (--public-url).");
        return new[]
        {
            Header("X-Twilio-Signature", Convert.ToBase64String(Mac(url, SortedForm(body)))),
            Header("I-Twilio-Idempotency-Token", deliveryId),
        };
    }

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var header = request.Header("X-Twilio-Signature");
        if (string.IsNullOrEmpty(header))
        {
            return WebhookVerification.Invalid("the X-Twilio-Signature header is missing");
        }

        var url = SignedUrl(request.Url);
        IEnumerable<KeyValuePair<string, string>> parameters;
        if (request.IsForm)
        {
            parameters = SortedForm(request.Body.Span);
        }
        else if (BodyHashError(url, request.Body.Span) is { } bodyError)
        {
            return WebhookVerification.Invalid(bodyError);
        }
        else
        {
            parameters = Array.Empty<KeyValuePair<string, string>>();
        }

        foreach (var candidate in WithAndWithoutPort(url))
        {
            if (Base64Equals(Mac(candidate, parameters), header))
            {
                return WebhookVerification.Valid(signedId: null, label: request.Header("I-Twilio-Idempotency-Token"));
            }
        }

        return WebhookVerification.Invalid($"X-Twilio-Signature does not match the URL and the form (the URL checked is {Shown(url)}; behind a proxy, set the route's PublicUrl to the one Twilio posts to)");
    }

    /// <summary>A form as one JSON object: each name once, a repeated name's values as an array. JSON as it came.</summary>
    public override ReadOnlyMemory<byte> ReadPayload(WebhookRequest request)
    {
        if (!request.IsForm)
        {
            return request.Body;
        }

        var json = new JsonObject();
        foreach (var (name, values) in QueryHelpers.ParseQuery(Encoding.UTF8.GetString(request.Body.Span)))
        {
            json[name] = values.Count == 1 ? JsonValue.Create(values[0]) : new JsonArray(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        }

        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload)
    {
        if (StringProperty(payload, "MessageSid") is not null && (StringProperty(payload, "MessageStatus") ?? StringProperty(payload, "SmsStatus")) is { } message)
        {
            return WebhookEvent.Named("message." + message);
        }

        return StringProperty(payload, "CallSid") is not null && StringProperty(payload, "CallStatus") is { } call
            ? WebhookEvent.Named("call." + call)
            : WebhookEvent.Named(StringProperty(payload, "type"));
    }

    /// <summary>The URL as Twilio signed it: the public one with the request's query, or the request's own.</summary>
    private string SignedUrl(Uri requested)
    {
        if (_publicUrl is null)
        {
            return requested.AbsoluteUri;
        }

        return string.IsNullOrEmpty(_publicUrl.Query) ? _publicUrl.GetLeftPart(UriPartial.Path) + requested.Query : _publicUrl.AbsoluteUri;
    }

    /// <summary>For a body that is not a form: the URL's <c>bodySHA256</c> must be the body's hex SHA-256.</summary>
    private static string? BodyHashError(string url, ReadOnlySpan<byte> body)
    {
        var query = new Uri(url).Query;
        var given = QueryHelpers.ParseQuery(query).TryGetValue("bodySHA256", out var values) ? values[0] : null;
        if (string.IsNullOrEmpty(given))
        {
            return "the body is not a form, and the URL has no bodySHA256 parameter that would sign it";
        }

        return HexEquals(SHA256.HashData(body), given) ? null : "the URL's bodySHA256 is not the body's SHA-256";
    }

    /// <summary>The URL, and the same with its default port written out (Twilio's edge signs either, as its own validators allow).</summary>
    private static IEnumerable<string> WithAndWithoutPort(string url)
    {
        var uri = new Uri(url);
        yield return url;
        if (uri.IsDefaultPort)
        {
            yield return $"{uri.Scheme}://{uri.Host}:{uri.Port}{uri.PathAndQuery}";
        }
    }

    private static List<KeyValuePair<string, string>> SortedForm(ReadOnlySpan<byte> body)
    {
        var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
        var sorted = new List<KeyValuePair<string, string>>();
        foreach (var name in form.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            foreach (var value in ((IEnumerable<string?>)form[name]).OrderBy(v => v, StringComparer.Ordinal))
            {
                sorted.Add(new KeyValuePair<string, string>(name, value ?? string.Empty));
            }
        }

        return sorted;
    }

    private byte[] Mac(string url, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, _key);
        hmac.AppendData(Encoding.UTF8.GetBytes(url));
        foreach (var (name, value) in parameters)
        {
            hmac.AppendData(Encoding.UTF8.GetBytes(name));
            hmac.AppendData(Encoding.UTF8.GetBytes(value));
        }

        return hmac.GetHashAndReset();
    }

    /// <summary>The URL for an error message: its query left out (Twilio puts nothing secret there, but a user might).</summary>
    private static string Shown(string url) => new Uri(url).GetLeftPart(UriPartial.Path);
}
