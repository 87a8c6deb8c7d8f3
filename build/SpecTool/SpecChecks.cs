using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Runchat.SpecTool;

/// <summary>
/// What the handwritten layer assumes about the spec. Each problem names the assumption and the
/// code that depends on it, so an upstream change fails with a sentence, not compiler errors.
/// Shared by build/update-spec.sh (through this tool) and the spec-lint tests.
/// </summary>
public static class SpecChecks
{
    public const string Path = "/job/{runchat_job_id}";

    public static async Task<(OpenApiDocument? Document, IReadOnlyList<string> Problems)> LoadAsync(string file, bool check = true)
    {
        var settings = new OpenApiReaderSettings();
        settings.AddYamlReader();
        var text = await File.ReadAllTextAsync(file).ConfigureAwait(false);
        var format = text.TrimStart().StartsWith("{", StringComparison.Ordinal) ? "json" : "yaml";
        await using var stream = File.OpenRead(file);
        ReadResult result;
        try
        {
            result = await OpenApiDocument.LoadAsync(stream, format, settings).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OpenApiException or FormatException or InvalidOperationException)
        {
            return (null, new[] { "The file does not parse as OpenAPI: " + exception.Message });
        }

        var errors = result.Diagnostic?.Errors.Select(e => "The file is not valid OpenAPI: " + e).ToList() ?? new List<string>();
        if (result.Document is null || errors.Count > 0)
        {
            if (errors.Count == 0) errors.Add("The file does not parse as an OpenAPI document.");
            return (result.Document, errors);
        }

        return (result.Document, check ? Check(result.Document) : Array.Empty<string>());
    }

    public static IReadOnlyList<string> Check(OpenApiDocument document)
    {
        var problems = new List<string>();
        if (document.Paths is null || !document.Paths.TryGetValue(Path, out var pathItem))
        {
            problems.Add($"The spec has no path {Path}; RunchatClient.Triggers.cs wraps POST {Path}.");
            return problems;
        }

        var post = pathItem.Operations?.FirstOrDefault(o => o.Key.Method.Equals("POST", StringComparison.OrdinalIgnoreCase)).Value;
        if (post is null)
        {
            problems.Add($"The spec has no POST {Path}; the handwritten TriggerAgentJobAsync overloads wrap it (pinned as TriggerAgentJobWithMessage).");
            return problems;
        }

        if (post.RequestBody?.Required == true)
        {
            problems.Add("The request body became required: TriggerAgentJobAsync(jobId) sends no body at all.");
        }

        var request = post.RequestBody?.Content?.TryGetValue("application/json", out var media) == true ? media.Schema : null;
        if (request?.Properties is null || !request.Properties.TryGetValue("message", out var message) || message.Type != JsonSchemaType.String)
        {
            problems.Add("AgentJobRequest no longer has a string 'message': the explicit-message overload sends {\"message\":\"...\"}.");
        }

        var schemas = document.Components?.Schemas;
        if (schemas is null || !schemas.TryGetValue("AgentJobResponse", out var response) || response.Properties is null)
        {
            problems.Add("The AgentJobResponse schema is gone; AgentJobResponse.Transcript.cs extends it.");
        }
        else
        {
            foreach (var property in new[] { "metadata", "messages", "job_id", "runchat_id", "status", "error" })
            {
                if (!response.Properties.ContainsKey(property))
                {
                    problems.Add($"AgentJobResponse lost '{property}', which the handwritten helpers (IsSuccess, Transcript, FinalReply, GetMetadata, RunchatAgentRunException) read.");
                }
            }

            var statuses = response.Properties.TryGetValue("status", out var status) && status.Enum is not null
                ? status.Enum.Select(e => e?.ToString().Trim('"')).ToArray()
                : Array.Empty<string?>();
            if (!statuses.Contains("success") || !statuses.Contains("error"))
            {
                problems.Add("The status enum lost 'success' or 'error', which IsSuccess and EnsureSuccess depend on.");
            }
        }

        if (schemas is null || !schemas.TryGetValue("Error", out var error) || error.Properties?.ContainsKey("error") != true)
        {
            problems.Add("The Error schema lost 'error', which RunchatApiException.ServerError and the Error DTO's Message read.");
        }

        return problems;
    }

    public static async Task WriteYamlAsync(OpenApiDocument document, string file)
    {
        await using var output = File.Create(file);
        await document.SerializeAsYamlAsync(output, OpenApiSpecVersion.OpenApi3_1).ConfigureAwait(false);
    }
}
