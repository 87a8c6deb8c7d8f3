using System;
using System.Collections.Generic;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Runchat.Relay.Signatures;

/// <summary>
/// One sender's webhook protocol, in one object: how its requests are verified over their raw bytes, what its
/// signed identity is (and so what may tell two deliveries apart), how it names its events, and what it expects
/// to be answered. The relay calls it in a fixed order for every request of a route:
/// <see cref="Verify"/>, <see cref="ReadPayload"/>, <see cref="Describe"/>, and once the delivery is stored, <see cref="Acknowledge"/>.
/// </summary>
/// <remarks>
/// <para>
/// The built-in schemes (<see cref="WebhookSignature"/>'s factories) are written against this same surface. To add
/// one, derive from this class, and register it by name for configuration with
/// <c>services.AddRunchatRelay(…).AddScheme("name", settings =&gt; new MyScheme(settings.Secret))</c>, or pass an
/// instance to <c>MapRunchatWebhook</c>.
/// </para>
/// <para>
/// Only what the sender signs may be a <see cref="WebhookVerification.SignedId"/> or <see cref="WebhookEvent.SignedId"/>:
/// an unsigned header is a <see cref="WebhookVerification.Label"/>, shown but never used to tell deliveries apart
/// (anyone who saw one signed request could otherwise replay it under a fresh id). Without a signed id the relay
/// tells deliveries apart by the SHA-256 of the body.
/// </para>
/// <para>Implementations hold secrets: <see cref="ToString"/> names the scheme only, and so must any message they make.</para>
/// </remarks>
public abstract class WebhookScheme
{
    /// <summary>The shortest secret the HMAC schemes accept, in bytes: a shorter one can be guessed.</summary>
    public const int MinimumSecretBytes = 16;

    /// <summary>For derived schemes.</summary>
    protected WebhookScheme()
    {
    }

    /// <summary>The scheme's name as configuration spells it (<c>stripe</c>, <c>standard-webhooks</c>, …).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The header in which the sender names its event, when it names it in a header rather than in the body
    /// (GitHub: <c>X-GitHub-Event</c>); null otherwise. <c>runchat-job relay test --event</c> puts its value there, so a
    /// dry run names the event exactly as <see cref="Describe"/> does for a real request.
    /// </summary>
    public virtual string? EventHeader => null;

    /// <summary>Checks one request over its raw bytes. Never throws for bad input: a bad signature is a result.</summary>
    /// <param name="request">The request: headers, raw body, the relay's clock and tolerance.</param>
    /// <returns>Valid (with the signed id and an unsigned label when the scheme has them), or why not: a 401.</returns>
    public abstract WebhookVerification Verify(WebhookRequest request);

    /// <summary>
    /// The verified body as one JSON object's UTF-8 bytes: the body itself (the default), or, for a sender that
    /// posts a form, the form turned into a JSON object. The relay then parses it once, under its limits.
    /// </summary>
    /// <param name="request">The verified request.</param>
    /// <exception cref="WebhookRefusedException">The body cannot be this sender's (a 400 with the exception's message).</exception>
    public virtual ReadOnlyMemory<byte> ReadPayload(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Body;
    }

    /// <summary>
    /// What the delivery is: its event name, an id the payload carries under the signature, a handshake to answer
    /// instead of storing it, or why the payload cannot be what the request claims (a 400). By default the event
    /// name is the payload's top-level <c>type</c> when it is a string.
    /// </summary>
    /// <param name="request">The verified request.</param>
    /// <param name="payload">The payload, parsed once: a JSON object.</param>
    public virtual WebhookEvent Describe(WebhookRequest request, JsonElement payload) => WebhookEvent.Named(StringProperty(payload, "type"));

    /// <summary>
    /// The answer to a stored delivery (or a duplicate of one), when the sender expects another than the relay's
    /// <c>202 {"delivery_id": …, "duplicate": …}</c>; null for that one.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="routeReply">The route's <c>Reply</c> text, if it has one.</param>
    public virtual WebhookAnswer? Acknowledge(WebhookRequest request, string? routeReply) => null;

    /// <summary>
    /// The answer to a verified delivery that the route's <c>Events</c> or <c>When</c> does not run (it is stored as
    /// <c>ignored</c>), when the sender expects another than the relay's <c>200 {"ignored": true, "reason": …}</c>; null for
    /// that one. The reason names the route's configuration: an answer a person sees should not show it.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="described">What <see cref="Describe"/> found.</param>
    public virtual WebhookAnswer? AcknowledgeIgnored(WebhookRequest request, WebhookEvent described) => null;

    /// <summary>
    /// The headers a sender of this scheme would send with <paramref name="body"/>, for <c>runchat-job relay sign</c>
    /// and for tests. Schemes that cannot sign (they verify with a public key) throw <see cref="NotSupportedException"/>.
    /// </summary>
    /// <param name="body">The body to sign.</param>
    /// <param name="now">The signing time, for schemes that sign a timestamp.</param>
    /// <param name="deliveryId">The delivery id, for schemes that send one.</param>
    public virtual IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now, string deliveryId) =>
        throw new NotSupportedException($"The {Name} scheme does not sign requests here.");

    /// <inheritdoc />
    public sealed override string ToString() => Name;

    /// <summary>A top-level string of <paramref name="payload"/>, or null when it has none.</summary>
    protected static string? StringProperty(JsonElement payload, string name) =>
        payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The secret's UTF-8 bytes, or an <see cref="ArgumentException"/> that says what is wrong without showing it.</summary>
    /// <exception cref="ArgumentException">The secret is missing or shorter than <paramref name="minimumBytes"/>.</exception>
    protected static byte[] RequireSecret(string? secret, string scheme, int minimumBytes = MinimumSecretBytes)
    {
        if (string.IsNullOrWhiteSpace(secret))
        {
            throw new ArgumentException($"The {scheme} scheme needs a Secret (set it from an environment variable or a secret store).");
        }

        var key = Encoding.UTF8.GetBytes(secret);
        if (key.Length < minimumBytes)
        {
            throw new ArgumentException(
                $"The {scheme} Secret is {key.Length} bytes; at least {minimumBytes} are needed for a signature to protect anything. " +
                "Use the secret the sender generated, or generate one (openssl rand -hex 32).");
        }

        return key;
    }

    /// <summary>HMAC-SHA256 of the parts, written one after another.</summary>
    protected static byte[] HmacSha256(byte[] key, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(prefix);
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }

    /// <summary>
    /// Constant-time comparison of an expected MAC with its hex text from a header. Text that is not hex, or not
    /// the MAC's length, is no match.
    /// </summary>
    protected static bool HexEquals(ReadOnlySpan<byte> expected, ReadOnlySpan<char> hex)
    {
        if (hex.Length != expected.Length * 2)
        {
            return false;
        }

        byte[] actual;
        try
        {
            actual = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    /// <summary>Constant-time comparison of an expected MAC with its base64 text from a header.</summary>
    protected static bool Base64Equals(ReadOnlySpan<byte> expected, ReadOnlySpan<char> base64)
    {
        Span<byte> actual = stackalloc byte[Math.Max(expected.Length, 1) + 3];
        return Convert.TryFromBase64Chars(base64, actual, out var written)
            && written == expected.Length
            && CryptographicOperations.FixedTimeEquals(expected, actual[..written]);
    }

    /// <summary>Null when the unix timestamp <paramref name="text"/> is within <paramref name="tolerance"/> of <paramref name="now"/>; else why not.</summary>
    protected static string? CheckTimestamp(string? text, DateTimeOffset now, TimeSpan tolerance, string where)
    {
        if (text is null)
        {
            return $"the {where} is missing";
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return $"the {where} is not a unix timestamp";
        }

        return CheckTimestamp(DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, -62135596800L, 253402300799L)), now, tolerance);
    }

    /// <summary>Null when <paramref name="signed"/> is within <paramref name="tolerance"/> of <paramref name="now"/>; else why not.</summary>
    protected static string? CheckTimestamp(DateTimeOffset signed, DateTimeOffset now, TimeSpan tolerance)
    {
        var age = now - signed;
        return age.Duration() > tolerance
            ? $"the signed timestamp is {Math.Abs(age.TotalSeconds):0} s from the relay's clock, more than the {tolerance.TotalSeconds:0} s tolerance"
            : null;
    }
}

/// <summary>One webhook request as a <see cref="WebhookScheme"/> sees it.</summary>
public sealed class WebhookRequest
{
    /// <summary>A request, as the relay's ingest (or a test) makes it.</summary>
    /// <param name="headers">The request's headers.</param>
    /// <param name="body">The raw body, exactly as received.</param>
    /// <param name="url">The URL the request was sent to, as the relay sees it.</param>
    /// <param name="now">The relay's clock.</param>
    /// <param name="tolerance">How far a signed timestamp may be from <paramref name="now"/> (<c>Relay:SignatureTolerance</c>).</param>
    public WebhookRequest(IHeaderDictionary headers, ReadOnlyMemory<byte> body, Uri url, DateTimeOffset now, TimeSpan tolerance)
    {
        Headers = headers ?? throw new ArgumentNullException(nameof(headers));
        Url = url ?? throw new ArgumentNullException(nameof(url));
        Body = body;
        Now = now;
        Tolerance = tolerance;
    }

    /// <summary>The request's headers.</summary>
    public IHeaderDictionary Headers { get; }

    /// <summary>The raw body, exactly as received: what signatures are computed over.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The URL the request was sent to, as the relay sees it (behind a proxy, not the public one).</summary>
    public Uri Url { get; }

    /// <summary>The relay's clock when the request arrived.</summary>
    public DateTimeOffset Now { get; }

    /// <summary>How far a signed timestamp may be from <see cref="Now"/>.</summary>
    public TimeSpan Tolerance { get; }

    /// <summary>The request's <c>Content-Type</c>, if any.</summary>
    public string? ContentType => Header("Content-Type");

    /// <summary>The first value of a header, or null.</summary>
    /// <param name="name">The header's name (case does not matter).</param>
    public string? Header(string name) => Headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    /// <summary>Whether the body is a form (<c>application/x-www-form-urlencoded</c>).</summary>
    public bool IsForm => ContentType is { } type && type.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
}

/// <summary>What <see cref="WebhookScheme.Verify"/> found.</summary>
public sealed class WebhookVerification
{
    private WebhookVerification(bool isValid, string? error, string? signedId, string? label)
    {
        IsValid = isValid;
        Error = error;
        SignedId = signedId;
        Label = label;
    }

    /// <summary>The signature matched.</summary>
    public bool IsValid { get; }

    /// <summary>Why it did not, in words for the sender's 401 and the log: never a secret.</summary>
    public string? Error { get; }

    /// <summary>An id covered by the signature (Standard Webhooks' <c>webhook-id</c>): it tells deliveries apart.</summary>
    public string? SignedId { get; }

    /// <summary>The sender's own delivery id where it is not signed (GitHub's <c>X-GitHub-Delivery</c>): shown, never used to tell deliveries apart.</summary>
    public string? Label { get; }

    /// <summary>A valid request.</summary>
    /// <param name="signedId">An id the signature covers, if the scheme has one.</param>
    /// <param name="label">An unsigned id the sender gave, if any.</param>
    public static WebhookVerification Valid(string? signedId = null, string? label = null) => new(true, null, signedId, label);

    /// <summary>A refused request: answered 401 with <paramref name="error"/>.</summary>
    /// <param name="error">Why, in words; never a secret.</param>
    public static WebhookVerification Invalid(string error) => new(false, error ?? throw new ArgumentNullException(nameof(error)), null, null);
}

/// <summary>What <see cref="WebhookScheme.Describe"/> found in a verified payload.</summary>
public sealed class WebhookEvent
{
    private WebhookEvent(string? name, string? signedId, string? refusal, WebhookAnswer? handshake, WebhookAnswer? answer = null)
    {
        Name = name;
        SignedId = signedId;
        Refusal = refusal;
        Handshake = handshake;
        Answer = answer;
    }

    /// <summary>The event name, as the sender names it (<c>issues.opened</c>, <c>invoice.paid</c>); null when it names none.</summary>
    public string? Name { get; }

    /// <summary>An id inside the signed payload (Stripe's event <c>id</c>, Slack's <c>event_id</c>): it tells deliveries apart.</summary>
    public string? SignedId { get; }

    /// <summary>Why the payload cannot be what the request says it is: answered 400, nothing stored.</summary>
    public string? Refusal { get; }

    /// <summary>A protocol request (Slack's <c>url_verification</c>): answered so, never stored or run.</summary>
    public WebhookAnswer? Handshake { get; }

    /// <summary>
    /// The answer once this delivery is stored (or found to be a duplicate), when it depends on the payload (Discord
    /// defers a command with <c>{"type":5}</c> and a component with <c>{"type":6}</c>); null for the scheme's
    /// <see cref="WebhookScheme.Acknowledge"/>, or the relay's 202.
    /// </summary>
    public WebhookAnswer? Answer { get; }

    /// <summary>This event, answered with <paramref name="answer"/> once it is stored (see <see cref="Answer"/>).</summary>
    /// <param name="answer">The answer.</param>
    public WebhookEvent AnsweredWith(WebhookAnswer answer) =>
        new(Name, SignedId, Refusal, Handshake, answer ?? throw new ArgumentNullException(nameof(answer)));

    /// <summary>An event to store: its name, and the signed id the payload carries, if any.</summary>
    public static WebhookEvent Named(string? name, string? signedId = null) => new(name, signedId, null, null);

    /// <summary>A payload that contradicts its request (a 400 with <paramref name="reason"/>).</summary>
    public static WebhookEvent Refused(string reason) => new(null, null, reason ?? throw new ArgumentNullException(nameof(reason)), null);

    /// <summary>A handshake: answered with <paramref name="answer"/>, not stored.</summary>
    public static WebhookEvent HandshakeWith(WebhookAnswer answer) => new(null, null, null, answer ?? throw new ArgumentNullException(nameof(answer)));
}

/// <summary>Thrown by <see cref="WebhookScheme.ReadPayload"/> for a body that cannot be its sender's: answered 400 with the message, nothing stored.</summary>
public sealed class WebhookRefusedException : Exception
{
    /// <summary>A refusal, in words for the sender.</summary>
    /// <param name="message">Why, such as "the body has no payload field"; never a secret.</param>
    public WebhookRefusedException(string message)
        : base(message)
    {
    }
}

/// <summary>An HTTP answer a scheme gives instead of the relay's own.</summary>
/// <param name="StatusCode">The status, such as 200.</param>
/// <param name="Body">A JSON body, or null for none.</param>
public sealed record WebhookAnswer(int StatusCode, JsonObject? Body = null);
