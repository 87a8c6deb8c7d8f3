using System;
using System.Threading.Tasks;
using Runchat.SpecTool;

// Usage: SpecTool check <spec> | SpecTool to-yaml <spec.json> <out.yaml>
// Exit codes: 0 fine, 1 the spec has problems (printed one per line), 2 bad usage.
if (args.Length < 2 || args[0] is not ("check" or "to-yaml") || (args[0] == "to-yaml" && args.Length < 3))
{
    Console.Error.WriteLine("usage: SpecTool check <spec> | SpecTool to-yaml <spec.json> <out.yaml>");
    return 2;
}

var (document, problems) = await SpecChecks.LoadAsync(args[1]);
foreach (var problem in problems)
{
    Console.Error.WriteLine("spec: " + problem);
}

if (problems.Count > 0 || document is null)
{
    return 1;
}

if (args[0] == "to-yaml")
{
    await SpecChecks.WriteYamlAsync(document, args[2]);
}

Console.WriteLine($"spec: OK ({document.Info?.Title} {document.Info?.Version}, {document.Paths?.Count} path(s))");
return 0;
