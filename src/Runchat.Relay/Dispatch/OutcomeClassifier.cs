using System;
using System.Linq;
using System.Net.Http;
using Runchat.Internal;

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
/// | 429 (Retry-After honoured) | pending |
/// | a failure to connect (nothing was sent) | pending |
/// | 3xx, 4xx | failed |
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

        if (response.IsSuccess)
        {
            return new Outcome(RelayDeliveryState.Succeeded, new RunResult(status, response.FinalReply, null), null);
        }

        return response.Status == AgentJobResponseStatus.Error
            ? new Outcome(RelayDeliveryState.Failed, new RunResult(status, response.FinalReply, "The agent run finished with status: error: " + (response.Error ?? "(no error text)")), null)
            : new Outcome(RelayDeliveryState.Unknown, new RunResult(status, response.FinalReply, $"The run answered with status '{status ?? "(none)"}', which is neither success nor error."), null);
    }

    public static Outcome Classify(Exception exception, bool shuttingDown) => exception switch
    {
        _ when shuttingDown => Unknown("The relay shut down while the request to Runchat was in flight: the agent may or may not have run."),
        RunchatApiException { StatusCode: 429 } limited => new Outcome(RelayDeliveryState.Pending, new RunResult(null, null, "429 Too Many Requests: the agent did not run."), RetryAfter(limited)),
        RunchatApiException { StatusCode: >= 300 and < 500 } rejected => new Outcome(RelayDeliveryState.Failed, new RunResult(null, null, rejected.Message), null),
        RunchatApiException other => Unknown(other.Message),
        HttpRequestException http when RunchatRetryPolicy.IsFailureToConnect(http) => new Outcome(RelayDeliveryState.Pending, new RunResult(null, null, "Could not connect to Runchat (nothing was sent): " + http.Message), null),
        HttpRequestException dropped => Unknown("The connection failed after the request was sent: " + dropped.Message),
        TimeoutException timeout => Unknown(timeout.Message),
        _ => Unknown($"The send ended unexpectedly ({exception.GetType().Name}): {exception.Message}"),
    };

    private static Outcome Unknown(string error) => new(RelayDeliveryState.Unknown, new RunResult(null, null, error), null);

    private static TimeSpan? RetryAfter(RunchatApiException exception)
    {
        if (!exception.Headers.TryGetValue("Retry-After", out var values) || values.FirstOrDefault() is not { } value)
        {
            return null;
        }

        if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var date)
            ? date - DateTimeOffset.UtcNow
            : null;
    }
}

/// <summary>What a send came to: the state, what is known of the run, and for a 429 how long to wait.</summary>
internal sealed record Outcome(RelayDeliveryState State, RunResult Result, TimeSpan? RetryAfter);
