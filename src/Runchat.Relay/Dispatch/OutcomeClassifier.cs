using System;
using System.Linq;
using System.Net.Http;

namespace Runchat.Relay;

/// <summary>
/// The one table that turns how a send ended into a delivery state. Only a send that provably did
/// not reach the agent goes back to <c>pending</c>; whatever may have run it is never re-sent.
/// </summary>
/// <remarks>
/// | how the send ended | state |
/// |---|---|
/// | 200, <c>status: success</c> | succeeded |
/// | 200, <c>status: error</c> | failed |
/// | 200, any other or no status | unknown (the agent ran; its outcome is not one we know) |
/// | 429, a failure to connect: what <see cref="RunchatRetry.IsSafeToResend"/> allows | pending |
/// | 3xx, 4xx | failed |
/// | the client refused the arguments (nothing sent) | failed |
/// | 5xx, any other status | unknown |
/// | timeout, connection dropped after sending, body cut off | unknown |
/// | the relay shutting down mid-run | unknown |
/// | anything else | unknown |
/// </remarks>
internal static class OutcomeClassifier
{
    public static Outcome Classify(AgentJobResponse response)
    {
        var status = response.Status switch
        {
            AgentJobResponseStatus.Success => "success",
            AgentJobResponseStatus.Error => "error",
            _ => response.AdditionalProperties.TryGetValue("status", out var raw) ? raw?.ToString() : null,
        };

        var (state, error) = response.IsSuccess
            ? (RelayDeliveryState.Succeeded, null)
            : response.Status == AgentJobResponseStatus.Error
                ? (RelayDeliveryState.Failed, "The agent run finished with status: error: " + (response.Error ?? "(no error text)"))
                : (RelayDeliveryState.Unknown, $"The run answered with status '{status ?? "(none)"}', which is neither success nor error.");
        return new Outcome(state, new RunResult(status, response.FinalReply, error) { RunchatId = response.RunchatId, Credits = CreditsOf(response.Metadata) });
    }

    /// <summary>The <c>credits</c> of the answer's metadata (stringified JSON), as written; null when it has none or is not JSON.</summary>
    internal static string? CreditsOf(string? metadata)
    {
        if (string.IsNullOrWhiteSpace(metadata))
        {
            return null;
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(metadata);
            return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && document.RootElement.TryGetProperty("credits", out var credits)
                && credits.ValueKind is System.Text.Json.JsonValueKind.Number or System.Text.Json.JsonValueKind.String
                ? (credits.ValueKind == System.Text.Json.JsonValueKind.String ? credits.GetString() : credits.GetRawText())
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>A flow run that answered 200 ran: succeeded, with its outputs as the reply ("Label: value" per line).</summary>
    public static Outcome Classify(FlowRunResponse run) =>
        new(RelayDeliveryState.Succeeded, new RunResult("success",
            string.Join("\n", run.Outputs.Select(o => $"{o.Label ?? o.Id}: {string.Join(", ", o.Data.Select(v => v.Type == Newtonsoft.Json.Linq.JTokenType.String ? (string?)v : v.ToString(Newtonsoft.Json.Formatting.None)))}")),
            null));

    public static Outcome Classify(Exception exception, bool shuttingDown) => exception switch
    {
        _ when shuttingDown => Unknown("The relay shut down while the request to Runchat was in flight: the agent may or may not have run."),
        RunchatApiException { StatusCode: 429 } when RunchatRetry.IsSafeToResend(exception) => Pending("429 Too Many Requests: the agent did not run."),
        RunchatApiException { StatusCode: >= 300 and < 500 } rejected => new Outcome(RelayDeliveryState.Failed, new RunResult(null, null, rejected.Message)),
        RunchatApiException other => Unknown(other.Message),
        HttpRequestException http when RunchatRetry.IsSafeToResend(http) => Pending("Could not connect to Runchat (nothing was sent): " + http.Message),
        HttpRequestException dropped => Unknown("The connection failed after the request was sent: " + dropped.Message),
        TimeoutException timeout => Unknown(timeout.Message),
        // The client refuses an argument before anything is sent (a rendered message with a broken character).
        NotSupportedException unsupported => new Outcome(RelayDeliveryState.Failed, new RunResult(null, null, "Refused before sending: " + unsupported.Message)),
        ArgumentException refused => new Outcome(RelayDeliveryState.Failed, new RunResult(null, null, "Refused before sending: " + refused.Message)),
        _ => Unknown($"The send ended unexpectedly ({exception.GetType().Name}): {exception.Message}"),
    };

    private static Outcome Unknown(string error) => new(RelayDeliveryState.Unknown, new RunResult(null, null, error));

    private static Outcome Pending(string error) => new(RelayDeliveryState.Pending, new RunResult(null, null, error));
}

/// <summary>What a send came to: the state, and what is known of the run.</summary>
internal sealed record Outcome(RelayDeliveryState State, RunResult Result);
