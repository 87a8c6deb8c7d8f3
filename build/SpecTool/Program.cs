using System;
using System.Collections.Generic;
using System.Linq;
using Runchat.SpecTool;

// Usage:
//   SpecTool check <spec>
//   SpecTool to-yaml <spec.json> <out.yaml>
//   SpecTool pin <spec> <out.yaml> "<METHOD /path=OperationId>"...
//   SpecTool merge <out.yaml> <page spec>... (the first page's document, with the others' operations and components)
// check and to-yaml serve build/update-spec.sh; pin serves the build (build/Runchat.Generation.targets).
// Exit codes: 0 fine, 1 the spec has problems (printed one per line, "spec: ..."), 2 bad usage.
const string Usage = "usage: SpecTool check <spec> | SpecTool to-yaml <spec.json> <out.yaml> | SpecTool pin <spec> <out.yaml> \"POST /path=OperationId\"... | SpecTool merge <out.yaml> <spec>...";
if (args.Length >= 3 && args[0] == "merge")
{
    var (merged, mergeProblems) = await SpecChecks.LoadAsync(args[2], check: false);
    var all = new List<string>(mergeProblems);
    foreach (var page in args.Skip(3))
    {
        var (next, pageProblems) = await SpecChecks.LoadAsync(page, check: false);
        all.AddRange(pageProblems.Select(p => System.IO.Path.GetFileName(page) + ": " + p));
        if (merged is not null && next is not null)
        {
            all.AddRange(SpecMerge.Into(merged, next, System.IO.Path.GetFileName(page)));
        }
    }

    if (merged is not null && all.Count == 0)
    {
        all.AddRange(SpecChecks.Check(merged));
    }

    foreach (var problem in all)
    {
        Console.Error.WriteLine("spec: " + problem);
    }

    if (all.Count > 0 || merged is null)
    {
        return 1;
    }

    await SpecMerge.WriteAsync(merged, args[2], args[1]);
    Console.WriteLine($"spec: merged {args.Length - 2} page(s) into {args[1]} ({merged.Paths?.Count} path(s))");
    return 0;
}

if (args.Length < 2 || args[0] is not ("check" or "to-yaml" or "pin") || (args[0] != "check" && args.Length < 3) || (args[0] == "pin" && args.Length < 4))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

SpecPin.Pin[] pins;
try
{
    pins = args[0] == "pin" ? args.Skip(3).Select(SpecPin.Pin.Parse).ToArray() : Array.Empty<SpecPin.Pin>();
}
catch (FormatException exception)
{
    Console.Error.WriteLine(exception.Message);
    Console.Error.WriteLine(Usage);
    return 2;
}

var (document, problems) = await SpecChecks.LoadAsync(args[1]);
if (document is not null && problems.Count == 0 && pins.Length > 0)
{
    problems = SpecPin.Apply(document, pins);
}

foreach (var problem in problems)
{
    Console.Error.WriteLine("spec: " + problem);
}

if (problems.Count > 0 || document is null)
{
    return 1;
}

if (args[0] is "to-yaml" or "pin")
{
    await SpecChecks.WriteYamlAsync(document, args[2]);
}

Console.WriteLine(args[0] == "pin"
    ? $"spec: pinned {string.Join(", ", pins.Select(p => p.ToString()))} in {args[2]}"
    : $"spec: OK ({document.Info?.Title} {document.Info?.Version}, {document.Paths?.Count} path(s))");
return 0;
