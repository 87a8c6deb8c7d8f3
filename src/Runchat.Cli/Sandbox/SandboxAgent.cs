using System;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Runchat.Cli.Sandbox;

/// <summary>
/// What the sandbox answers, following the spec of <c>POST /job/{runchat_job_id}</c>:
/// no body runs the saved template; <c>{"message": "..."}</c> appends the text; any other JSON
/// object is appended as its JSON text (exactly as received).
/// </summary>
/// <remarks>
/// Job ids choose the behaviour: <c>flow-*</c> is a flow job (400), <c>missing-*</c> is unknown
/// (404), <c>forbidden-*</c> belongs to someone else (403), <c>fail-*</c> runs and finishes with
/// <c>status: error</c>, <c>slow-*</c> takes <see cref="SlowRunDuration"/>; every other id is an
/// agent job that succeeds. A request without a bearer key gets 401.
/// </remarks>
public static class SandboxAgent
{
    public static readonly TimeSpan SlowRunDuration = TimeSpan.FromSeconds(30);

    public static SandboxReply Handle(string jobId, string? authorization, ReadOnlySpan<byte> body)
    {
        if (Refusal(jobId, authorization) is { } refusal)
        {
            return refusal;
        }

        if (!TryReadAppended(body, out var appended, out var invalid))
        {
            return Error(400, invalid!);
        }

        var failed = jobId.StartsWith("fail-", StringComparison.Ordinal);
        var reply = appended is null
            ? $"Sandbox agent ran the saved template of job {jobId}."
            : $"Sandbox agent received your message ({appended.Length} characters): {Preview(appended)}";
        return new SandboxReply(200, Answer(jobId, body, appended, reply, failed), Delay: RunDuration(jobId));
    }

    /// <summary>The API's refusals, chosen by the key and the job id's prefix; null for a job that runs.</summary>
    private static SandboxReply? Refusal(string jobId, string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.Ordinal) || authorization.Length <= "Bearer ".Length)
        {
            return Error(401, "Unauthorized: send Authorization: Bearer <api key>. The sandbox accepts any non-empty key.");
        }

        if (SandboxFlows.IsFlowJob(jobId))
        {
            return Error(400, $"Job {jobId} is a flow job. This endpoint only supports agent jobs; use GET /job/{jobId}.");
        }

        if (jobId.StartsWith("missing-", StringComparison.Ordinal))
        {
            return Error(404, $"Job {jobId} not found.");
        }

        return jobId.StartsWith("forbidden-", StringComparison.Ordinal) ? Error(403, "Access denied to the underlying Runchat.") : null;
    }

    /// <summary>What the body appends: nothing (no body), its <c>message</c>, or its JSON text; false with why for a body that is not a JSON object.</summary>
    private static bool TryReadAppended(ReadOnlySpan<byte> body, out string? appended, out string? error)
    {
        appended = null;
        error = null;
        if (body.Length == 0)
        {
            return true;
        }

        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "Body could not be parsed: the request body must be a JSON object.";
                return false;
            }

            appended = document.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                ? message.GetString()
                : Encoding.UTF8.GetString(body);
            return true;
        }
        catch (JsonException exception)
        {
            error = "Body could not be parsed: " + exception.Message;
            return false;
        }
    }

    /// <summary>The run's answer as the API gives it: metadata (tokens, credits, the request's size and hash), the transcript, the status.</summary>
    private static byte[] Answer(string jobId, ReadOnlySpan<byte> body, string? appended, string reply, bool failed)
    {
        using var stream = new System.IO.MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("metadata", JsonSerializer.Serialize(new
            {
                sandbox = true,
                input_tokens = 42 + (appended?.Length ?? 0) / 4,
                output_tokens = reply.Length / 4,
                credits = 1,
                request_bytes = body.Length,
                request_sha256 = Convert.ToHexString(SHA256.HashData(body)).ToLowerInvariant(),
            }));
            json.WriteStartArray("messages");
            WriteMessage(json, "system", $"You are the sandbox agent for job {jobId}.");
            WriteMessage(json, "user", "Saved template: run the task of job " + jobId + ".");
            if (appended is not null)
            {
                WriteMessage(json, "user", appended);
            }

            if (failed)
            {
                WriteFailedToolCall(json);
            }
            else
            {
                WriteMessage(json, "assistant", reply);
            }

            json.WriteEndArray();
            json.WriteString("job_id", jobId);
            json.WriteString("runchat_id", "sandbox-" + jobId);
            json.WriteString("status", failed ? "error" : "success");
            if (failed)
            {
                json.WriteString("error", "Sandbox: the agent's tool call failed (job ids starting with fail- always fail).");
            }

            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteFailedToolCall(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("role", "assistant");
        json.WriteNull("content");
        json.WriteStartArray("tool_calls");
        json.WriteStartObject();
        json.WriteString("id", "call_1");
        json.WriteString("type", "function");
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string Preview(string text) => text.Length <= 200 ? text : text.Substring(0, 200) + "…";

    private static void WriteMessage(Utf8JsonWriter json, string role, string content)
    {
        json.WriteStartObject();
        json.WriteString("role", role);
        json.WriteString("content", content);
        json.WriteEndObject();
    }

    private static SandboxReply Error(int status, string message) =>
        new(status, JsonSerializer.SerializeToUtf8Bytes(new { error = message }), TimeSpan.Zero);

    /// <summary><c>slow-*</c> takes <see cref="SlowRunDuration"/>; <c>delay-&lt;ms&gt;-*</c> takes that many milliseconds (at most a minute).</summary>
    private static TimeSpan RunDuration(string jobId)
    {
        if (jobId.StartsWith("slow-", StringComparison.Ordinal))
        {
            return SlowRunDuration;
        }

        if (jobId.StartsWith("delay-", StringComparison.Ordinal))
        {
            var end = jobId.IndexOf('-', "delay-".Length);
            if (end > 0 && int.TryParse(jobId.AsSpan("delay-".Length, end - "delay-".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var milliseconds))
            {
                return TimeSpan.FromMilliseconds(Math.Min(milliseconds, 60_000));
            }
        }

        return TimeSpan.Zero;
    }
}

public sealed record SandboxReply(int Status, byte[] Body, TimeSpan Delay);
