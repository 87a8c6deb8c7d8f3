using System;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Runchat.Relay;

/// <summary>The relay's JSON: snake_case names and lower-case states, as the contract spells them.</summary>
internal static class RelayJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}

internal sealed record AcceptedAnswer(string DeliveryId, bool Duplicate);

internal sealed record ErrorAnswer(string Error);

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
