using System;
using System.Collections.Generic;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Runchat;

// Handwritten: the flow models of the sibling pages (openapi/pages/). nswag.json's excludedTypeNames
// keeps NSwag from generating them, and the generated Send…Async methods read the answers into these:
// the contract (public-api.md) names them and their members, which the spec's schemas do not.

/// <summary>What a flow-backed job's run returned (<c>GET /job/{id}</c>).</summary>
public sealed class FlowJobResponse
{
    /// <summary>The job.</summary>
    [JsonProperty("job_id")]
    public string? JobId { get; set; }

    /// <summary>The flow behind the job.</summary>
    [JsonProperty("runchat_id")]
    public string? RunchatId { get; set; }

    /// <summary>The execution metadata as the server sent it: JSON in a string. See <see cref="GetMetadata"/>.</summary>
    [JsonProperty("metadata")]
    public string? Metadata { get; set; }

    /// <summary>The output data of the executed nodes, in order. Never null.</summary>
    [JsonProperty("data")]
    public IReadOnlyList<FlowOutput> Data { get; set; } = Array.Empty<FlowOutput>();

    /// <summary>Properties the spec does not describe (yet), exactly as received.</summary>
    [JsonExtensionData]
    public IDictionary<string, JToken> AdditionalProperties { get; set; } = new Dictionary<string, JToken>();

    /// <summary><see cref="Metadata"/> parsed, or null when there is none.</summary>
    /// <exception cref="FormatException">The metadata is not one JSON object.</exception>
    public JObject? GetMetadata() => string.IsNullOrWhiteSpace(Metadata) ? null : Internal.ExactJson.ParseObject(Metadata!);

    /// <inheritdoc />
    public override string ToString() => $"flow job {JobId} ({RunchatId}): {Data.Count} node output(s)";
}

/// <summary>One executed node's output in a <see cref="FlowJobResponse"/>.</summary>
public sealed class FlowOutput
{
    /// <summary>The node's id.</summary>
    [JsonProperty("id")]
    public string? Id { get; set; }

    /// <summary>The node's label.</summary>
    [JsonProperty("label")]
    public string? Label { get; set; }

    /// <summary>The node's description.</summary>
    [JsonProperty("description")]
    public string? Description { get; set; }

    /// <summary>The output values: Runchat stores all parameter data as an array. Never null.</summary>
    [JsonProperty("data")]
    public JArray Data { get; set; } = new();

    /// <inheritdoc />
    public override string ToString() => $"{Label ?? Id}: {Data.Count} value(s)";
}

/// <summary>A flow parameter: an input or output of a <see cref="FlowSchema"/>, or an output of a <see cref="FlowRunResponse"/>.</summary>
public sealed class FlowParameter
{
    /// <summary>The parameter's id: the key of <see cref="FlowInputs"/> (<c>paramId_nodeId</c>).</summary>
    [JsonProperty("id")]
    public string? Id { get; set; }

    /// <summary>The label shown in the editor, such as <c>Prompt</c>.</summary>
    [JsonProperty("label")]
    public string? Label { get; set; }

    /// <summary>The data type: string, markdown, number, boolean, object, image, video, audio, model, message, context, code, array.</summary>
    [JsonProperty("type")]
    public string? Type { get; set; }

    /// <summary>The parameter's description.</summary>
    [JsonProperty("description")]
    public string? Description { get; set; }

    /// <summary>The values: Runchat stores all parameter data as an array (files as URLs). Never null.</summary>
    [JsonProperty("data")]
    public JArray Data { get; set; } = new();

    /// <inheritdoc />
    public override string ToString() => $"{Label} ({Type}, {Id})";
}

/// <summary>What running a flow returned (<c>POST /{runchat_id}</c>).</summary>
public sealed class FlowRunResponse
{
    /// <summary>The flow instance that ran: pass it as <c>instanceId</c> to continue it.</summary>
    [JsonProperty("runchat_instance_id")]
    public string? InstanceId { get; set; }

    /// <summary>The execution metadata as the server sent it: JSON in a string. See <see cref="GetMetadata"/>.</summary>
    [JsonProperty("metadata")]
    public string? Metadata { get; set; }

    /// <summary>The flow's output parameters (the answer's <c>data</c>). Never null.</summary>
    [JsonProperty("data")]
    public IReadOnlyList<FlowParameter> Outputs { get; set; } = Array.Empty<FlowParameter>();

    /// <summary>Properties the spec does not describe (yet), exactly as received.</summary>
    [JsonExtensionData]
    public IDictionary<string, JToken> AdditionalProperties { get; set; } = new Dictionary<string, JToken>();

    /// <summary><see cref="Metadata"/> parsed, or null when there is none.</summary>
    /// <exception cref="FormatException">The metadata is not one JSON object.</exception>
    public JObject? GetMetadata() => string.IsNullOrWhiteSpace(Metadata) ? null : Internal.ExactJson.ParseObject(Metadata!);

    /// <inheritdoc />
    public override string ToString() => $"flow instance {InstanceId}: {Outputs.Count} output(s)";
}

/// <summary>A flow's published inputs and outputs (<c>GET /{runchat_id}/schema</c>).</summary>
public sealed class FlowSchema
{
    /// <summary>The flow's name.</summary>
    [JsonProperty("name")]
    public string? Name { get; set; }

    /// <summary>The inputs, to set with <see cref="FlowInputs.From(FlowSchema)"/>. Never null.</summary>
    [JsonProperty("inputs")]
    public IReadOnlyList<FlowParameter> Inputs { get; set; } = Array.Empty<FlowParameter>();

    /// <summary>The outputs. Never null.</summary>
    [JsonProperty("outputs")]
    public IReadOnlyList<FlowParameter> Outputs { get; set; } = Array.Empty<FlowParameter>();

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Inputs.Count} input(s), {Outputs.Count} output(s)";
}
