using System;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Runchat.Relay;

/// <summary>The relay's JSON: snake_case names and lower-case states, as the contract spells them, and text that stays readable.</summary>
internal static class RelayJson
{
    public static readonly JsonSerializerOptions Options = Create();

    // Read-only from the start: every request shares these options, and their first use must not
    // race to fill in a resolver.
    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
            // People read these (error answers, relay show/list --json): "relay's clock", not
            // "relay\u0027s clock". Still valid JSON; the answers are application/json, never HTML.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.MakeReadOnly();
        return options;
    }
}

internal sealed record AcceptedAnswer(string DeliveryId, bool Duplicate);

internal sealed record ErrorAnswer(string Error);

/// <summary>A verified delivery the route's Events or When does not run, stored ignored: <c>{"ignored": true, "reason": "…", "delivery_id": "…"}</c>.</summary>
internal sealed record IgnoredAnswer(bool Ignored, string Reason, string DeliveryId);

/// <summary>Delivery ids that sort by arrival: <c>dlv_</c>, 12 hex digits of milliseconds, 12 random.</summary>
internal static class DeliveryIds
{
    public static string New(TimeProvider time)
    {
        Span<byte> random = stackalloc byte[6];
        RandomNumberGenerator.Fill(random);
        return $"dlv_{time.GetUtcNow().ToUnixTimeMilliseconds():x12}{Convert.ToHexString(random).ToLowerInvariant()}";
    }
}
