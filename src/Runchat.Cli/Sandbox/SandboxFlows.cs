using System;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Runchat.Cli.Sandbox;

/// <summary>
/// The sandbox's flows: <c>demo-flow</c> (inputs <c>Prompt</c> and <c>Count</c>, output <c>Summary</c>)
/// and the flow job <c>demo-flow-job</c> (or any <c>flow-*</c> job). <c>missing-*</c> ids are unknown.
/// </summary>
public static class SandboxFlows
{
    public const string DemoFlow = "demo-flow";
    public const string DemoFlowJob = "demo-flow-job";
    public const string PromptId = "prompt_n1";
    public const string CountId = "count_n1";
    public const string SummaryId = "summary_n9";

    /// <summary>Whether a job id is a flow job: its POST answers 400, as upstream's does.</summary>
    public static bool IsFlowJob(string jobId) => jobId == DemoFlowJob || jobId.StartsWith("flow-", StringComparison.Ordinal);

    /// <summary><c>GET /job/{id}</c> on a flow job: the flow runs its scheduled inputs.</summary>
    public static SandboxReply TriggerJob(string jobId) =>
        Json(200, new JsonObject
        {
            ["metadata"] = "{\"credits\":0.05}",
            ["data"] = new JsonArray(new JsonObject { ["id"] = SummaryId, ["label"] = "Summary", ["description"] = "The flow's answer", ["data"] = new JsonArray($"Sandbox flow job {jobId} ran its scheduled inputs.") }),
            ["job_id"] = jobId,
            ["runchat_id"] = DemoFlow,
        });

    /// <summary><c>POST /{runchatId}</c>: with <c>{"inputs": …}</c>, or a raw body for the Webhook node.</summary>
    public static SandboxReply Run(string runchatId, ReadOnlySpan<byte> body)
    {
        if (runchatId != DemoFlow)
        {
            return Error(404, $"Runchat {runchatId} not found. The sandbox has one flow: {DemoFlow}.");
        }

        JsonNode? root;
        try
        {
            root = body.Length == 0 ? new JsonObject() : JsonNode.Parse(body.ToArray());
        }
        catch (JsonException exception)
        {
            return Error(400, "Body could not be parsed: " + exception.Message);
        }

        if (root is not JsonObject request)
        {
            return Error(400, "Body could not be parsed: the request body must be a JSON object.");
        }

        string summary;
        if (request["inputs"] is JsonObject inputs)
        {
            var prompt = inputs[PromptId]?.ToJsonString() ?? "(no prompt)";
            var count = inputs[CountId]?.ToJsonString() ?? "1";
            summary = $"Sandbox flow {DemoFlow} ran with Prompt {prompt} and Count {count}.";
        }
        else
        {
            summary = $"Sandbox flow {DemoFlow} ran its Webhook node with a {body.Length}-byte body.";
        }

        return Json(200, new JsonObject
        {
            ["metadata"] = "{\"credits\":0.02}",
            ["runchat_instance_id"] = request["runchat_instance_id"]?.GetValue<string>() ?? "inst_" + Guid.NewGuid().ToString("N").Substring(0, 12),
            ["data"] = new JsonArray(Parameter(SummaryId, "Summary", "string", "The flow's answer", summary)),
        });
    }

    /// <summary><c>GET /{runchatId}/schema</c>.</summary>
    public static SandboxReply Schema(string runchatId) =>
        runchatId != DemoFlow
            ? Error(404, $"Runchat {runchatId} not found. The sandbox has one flow: {DemoFlow}.")
            : Json(200, new JsonObject
            {
                ["name"] = "Sandbox demo flow",
                ["inputs"] = new JsonArray(Parameter(PromptId, "Prompt", "string", "What the flow works on", null), Parameter(CountId, "Count", "number", "How many items", null)),
                ["outputs"] = new JsonArray(Parameter(SummaryId, "Summary", "string", "The flow's answer", null)),
            });

    private static JsonObject Parameter(string id, string label, string type, string description, string? value) => new()
    {
        ["id"] = id,
        ["label"] = label,
        ["type"] = type,
        ["description"] = description,
        ["data"] = value is null ? new JsonArray() : new JsonArray(value),
    };

    private static SandboxReply Json(int status, JsonNode body) => new(status, Encoding.UTF8.GetBytes(body.ToJsonString()), TimeSpan.Zero);

    private static SandboxReply Error(int status, string message) => Json(status, new JsonObject { ["error"] = message });
}
