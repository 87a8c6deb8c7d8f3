using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.OpenApi;

namespace Runchat.SpecTool;

/// <summary>
/// Upstream publishes one page per operation, each a whole OpenAPI document with the components that
/// operation uses. The build uses one document: the first page's, with the other pages' paths,
/// operations and components added. A component two pages both define must be the same in both; an
/// operation two pages both define is a conflict. Either is a sentence, and nothing is written.
/// </summary>
public static class SpecMerge
{
    public static IReadOnlyList<string> Into(OpenApiDocument target, OpenApiDocument page, string pageName)
    {
        var problems = new List<string>();
        target.Paths ??= new OpenApiPaths();
        foreach (var (path, item) in page.Paths ?? new OpenApiPaths())
        {
            if (!target.Paths.TryGetValue(path, out var existing))
            {
                target.Paths[path] = item;
                continue;
            }

            if (existing is not OpenApiPathItem into)
            {
                problems.Add($"{pageName}: the path {path} is a reference in the document merged so far; it cannot take more operations.");
                continue;
            }

            foreach (var (method, operation) in item.Operations ?? new Dictionary<System.Net.Http.HttpMethod, OpenApiOperation>())
            {
                into.Operations ??= new Dictionary<System.Net.Http.HttpMethod, OpenApiOperation>();
                if (!into.Operations.TryAdd(method, operation))
                {
                    problems.Add($"{pageName}: {method.Method} {path} is defined by two pages.");
                }
            }

            if (Json(into.Parameters) != Json(item.Parameters))
            {
                problems.Add($"{pageName}: the path {path} declares its parameters differently from the page merged before it.");
            }
        }

        problems.AddRange(MergeComponents(target, page, pageName));
        foreach (var tag in page.Tags ?? new HashSet<OpenApiTag>())
        {
            target.Tags ??= new HashSet<OpenApiTag>();
            if (!target.Tags.Any(t => t.Name == tag.Name))
            {
                target.Tags.Add(tag);
            }
        }

        return problems;
    }

    /// <summary>Writes the merged document as YAML, with the OpenAPI version the first page declares (the serializer writes its own).</summary>
    public static async System.Threading.Tasks.Task WriteAsync(OpenApiDocument merged, string firstPage, string output)
    {
        await SpecChecks.WriteYamlAsync(merged, output).ConfigureAwait(false);
        var declared = File.ReadLines(firstPage).FirstOrDefault(l => l.StartsWith("openapi:", StringComparison.Ordinal));
        var lines = File.ReadAllLines(output);
        if (declared is not null && lines.Length > 0 && lines[0].StartsWith("openapi:", StringComparison.Ordinal))
        {
            lines[0] = declared.TrimEnd();
            File.WriteAllText(output, string.Join("\n", lines) + "\n");
        }
    }

    private static IEnumerable<string> MergeComponents(OpenApiDocument target, OpenApiDocument page, string pageName)
    {
        if (page.Components is null)
        {
            yield break;
        }

        target.Components ??= new OpenApiComponents();
        foreach (var problem in Merge(target.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(), page.Components.Schemas, "schema", pageName))
        {
            yield return problem;
        }

        foreach (var problem in Merge(target.Components.Responses ??= new Dictionary<string, IOpenApiResponse>(), page.Components.Responses, "response", pageName))
        {
            yield return problem;
        }

        foreach (var problem in Merge(target.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(), page.Components.SecuritySchemes, "security scheme", pageName))
        {
            yield return problem;
        }
    }

    private static IEnumerable<string> Merge<T>(IDictionary<string, T> into, IDictionary<string, T>? from, string kind, string pageName)
        where T : IOpenApiSerializable
    {
        foreach (var (name, value) in from ?? new Dictionary<string, T>())
        {
            if (!into.TryGetValue(name, out var existing))
            {
                into[name] = value;
            }
            else if (Json(existing) != Json(value))
            {
                yield return $"{pageName}: the {kind} {name} differs from the one an earlier page defines; upstream's pages must agree on shared components.";
            }
        }
    }

    private static string Json(IOpenApiSerializable? element)
    {
        if (element is null)
        {
            return string.Empty;
        }

        using var text = new StringWriter();
        element.SerializeAsV31(new OpenApiJsonWriter(text));
        return text.ToString();
    }

    private static string Json(IList<IOpenApiParameter>? parameters) =>
        parameters is null ? string.Empty : string.Join("\n", parameters.Select(p => Json(p)));
}
