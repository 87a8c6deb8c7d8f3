using System;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Runchat.Relay.Signatures;

/// <summary>
/// Discord interactions: <c>X-Signature-Ed25519</c> is the hex Ed25519 signature, by the application's key, of
/// <c>X-Signature-Timestamp</c> followed by the body; the relay verifies it with the application's public key
/// (the route's <c>PublicKey</c>), and refuses a timestamp outside the tolerance.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>PING</c> (type 1) is answered <c>{"type":1}</c>, never stored: Discord sends it when the endpoint is saved.
/// Autocomplete (type 4) is answered with no choices, never stored or run: it comes with every keystroke.</item>
/// <item>A command (2), a component (3) or a modal (5) is stored and answered at once with a deferred response
/// (<c>{"type":5}</c>, or <c>{"type":6}</c> for a component), within Discord's 3 seconds; the interaction's <c>id</c>,
/// inside the signed body, tells deliveries apart. Event names: <c>application_command.&lt;name&gt;</c>,
/// <c>message_component.&lt;custom_id&gt;</c>, <c>modal_submit.&lt;custom_id&gt;</c>.</item>
/// </list>
/// An interaction the route's <c>Events</c> or <c>When</c> does not run is stored <c>ignored</c> and answered with a message
/// only its user sees (<see cref="AcknowledgeIgnored"/>).
/// The scheme verifies with a public key, so it cannot sign: <c>relay sign</c> refuses it.
/// </remarks>
internal sealed class DiscordSignature : WebhookSignature
{
    private readonly byte[] _publicKey;

    public DiscordSignature(string publicKey)
    {
        if (string.IsNullOrWhiteSpace(publicKey))
        {
            throw new ArgumentException("The discord scheme needs a PublicKey: the application's public key from the Developer Portal (General Information), 64 hex characters.");
        }

        byte[] key;
        try
        {
            key = Convert.FromHexString(publicKey.Trim());
        }
        catch (FormatException)
        {
            throw new ArgumentException("The discord PublicKey is not hex: copy the application's public key (64 hex characters) from the Developer Portal.");
        }

        if (key.Length != Ed25519.PublicKeySize || !Ed25519.ValidatePublicKeyFull(key, 0))
        {
            throw new ArgumentException($"The discord PublicKey is not an Ed25519 public key ({key.Length} bytes; one is 32 bytes, 64 hex characters, and a point on the curve).");
        }

        _publicKey = key;
    }

    public override string Name => "discord";

    public override WebhookVerification Verify(WebhookRequest request)
    {
        var signature = request.Header("X-Signature-Ed25519");
        if (string.IsNullOrEmpty(signature))
        {
            return WebhookVerification.Invalid("the X-Signature-Ed25519 header is missing");
        }

        var timestamp = request.Header("X-Signature-Timestamp");
        if (CheckTimestamp(timestamp, request.Now, request.Tolerance, "X-Signature-Timestamp header") is { } timestampError)
        {
            return WebhookVerification.Invalid(timestampError);
        }

        byte[] given;
        try
        {
            given = Convert.FromHexString(signature);
        }
        catch (FormatException)
        {
            return WebhookVerification.Invalid("X-Signature-Ed25519 is not hex");
        }

        if (given.Length != Ed25519.SignatureSize)
        {
            return WebhookVerification.Invalid($"X-Signature-Ed25519 is {given.Length} bytes, not an Ed25519 signature's {Ed25519.SignatureSize}");
        }

        var prefix = Encoding.UTF8.GetByteCount(timestamp!);
        var message = new byte[prefix + request.Body.Length];
        Encoding.UTF8.GetBytes(timestamp!, message);
        request.Body.Span.CopyTo(message.AsSpan(prefix));
        return Ed25519.Verify(given, 0, _publicKey, 0, message, 0, message.Length)
            ? WebhookVerification.Valid()
            : WebhookVerification.Invalid("X-Signature-Ed25519 does not verify the timestamp and body with the application's public key");
    }

    public override WebhookEvent Describe(WebhookRequest request, JsonElement payload)
    {
        var type = payload.TryGetProperty("type", out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : 0;
        var id = StringProperty(payload, "id");
        var data = payload.TryGetProperty("data", out var inner) ? inner : default; // StringProperty reads only objects
        return type switch
        {
            1 => WebhookEvent.HandshakeWith(new WebhookAnswer(200, new JsonObject { ["type"] = 1 })),
            4 => WebhookEvent.HandshakeWith(new WebhookAnswer(200, new JsonObject { ["type"] = 8, ["data"] = new JsonObject { ["choices"] = new JsonArray() } })),
            2 => Stored("application_command", StringProperty(data, "name"), id, deferredType: 5),
            3 => Stored("message_component", StringProperty(data, "custom_id"), id, deferredType: 6),
            5 => Stored("modal_submit", StringProperty(data, "custom_id"), id, deferredType: 5),
            _ => WebhookEvent.Refused($"'type' is {(type == 0 ? "missing" : type.ToString(System.Globalization.CultureInfo.InvariantCulture))}, not an interaction type Discord sends (1 to 5)"),
        };
    }

    /// <summary>
    /// An interaction the route does not run is still answered as Discord requires, or the user sees "This interaction
    /// failed": with a message only they see (ephemeral, flag 64) that names nothing of the route's configuration.
    /// </summary>
    public override WebhookAnswer? AcknowledgeIgnored(WebhookRequest request, WebhookEvent described) =>
        new(200, new JsonObject { ["type"] = 4, ["data"] = new JsonObject { ["content"] = "Nothing runs for this here.", ["flags"] = 64 } });

    private static WebhookEvent Stored(string kind, string? name, string? id, int deferredType) =>
        WebhookEvent.Named(name is { Length: > 0 } ? kind + "." + name : kind, signedId: id)
            .AnsweredWith(new WebhookAnswer(200, new JsonObject { ["type"] = deferredType }));
}
