using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.OpenApi;

namespace Runchat.SpecTool;

/// <summary>
/// Gives named operations our own operationId, on the parsed document. Upstream sets none, and
/// NSwag derives method names from paths: adding a GET on the same path would silently rename the
/// POST (JobAsync to JobPOSTAsync). A pinned id keeps the generated name, which nswag.json's
/// protectedMethods and the handwritten partials refer to, stable whatever upstream adds.
/// </summary>
public static class SpecPin
{
    /// <summary>One pin, written <c>METHOD /path=OperationId</c> on the command line and in the build.</summary>
    public sealed record Pin(string Method, string Path, string OperationId)
    {
        public static Pin Parse(string text)
        {
            var equals = text.LastIndexOf('=');
            var space = text.IndexOf(' ');
            if (space <= 0 || equals < space + 2 || equals == text.Length - 1)
            {
                throw new FormatException($"'{text}' is not a pin; write it as 'POST /job/{{runchat_job_id}}=TriggerAgentJobWithMessage'.");
            }

            return new Pin(text.Substring(0, space).Trim().ToUpperInvariant(), text.Substring(space + 1, equals - space - 1).Trim(), text.Substring(equals + 1).Trim());
        }

        public override string ToString() => $"{Method} {Path}={OperationId}";
    }

    /// <summary>Sets each pinned operation's id; returns one sentence per pin that cannot be applied (nothing is changed then).</summary>
    public static IReadOnlyList<string> Apply(OpenApiDocument document, IEnumerable<Pin> pins)
    {
        var problems = new List<string>();
        var found = new List<(OpenApiOperation Operation, Pin Pin)>();
        foreach (var pin in pins)
        {
            OpenApiOperation? operation = null;
            if (document.Paths is not null && document.Paths.TryGetValue(pin.Path, out var item) && item.Operations is not null)
            {
                operation = item.Operations.FirstOrDefault(o => o.Key.Method.Equals(pin.Method, StringComparison.OrdinalIgnoreCase)).Value;
            }

            if (operation is null)
            {
                problems.Add($"The spec no longer has the operation '{pin.Method} {pin.Path}' that the handwritten layer wraps (pinned as {pin.OperationId}). " +
                    "Upstream removed or renamed it; update the RunchatPinnedOperation items in build/Runchat.Generation.targets and the handwritten partials before taking this spec.");
                continue;
            }

            found.Add((operation, pin));
        }

        var taken = document.Paths?.Values.Where(p => p.Operations is not null).SelectMany(p => p.Operations!.Values)
            .Where(o => o.OperationId is not null && !found.Any(f => ReferenceEquals(f.Operation, o)))
            .Select(o => o.OperationId!).ToHashSet(StringComparer.Ordinal) ?? new HashSet<string>();
        foreach (var (_, pin) in found.Where(f => taken.Contains(f.Pin.OperationId)))
        {
            problems.Add($"Another operation of the spec already has the operationId {pin.OperationId}, which is pinned on '{pin.Method} {pin.Path}'; pick another name in build/Runchat.Generation.targets.");
        }

        if (problems.Count == 0)
        {
            foreach (var (operation, pin) in found)
            {
                operation.OperationId = pin.OperationId;
            }
        }

        return problems;
    }
}
