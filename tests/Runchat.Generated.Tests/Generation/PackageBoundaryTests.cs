using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Xml.Linq;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Generation;

/// <summary>
/// Packages that stand on their own: Runchat.Generated and Runchat.Relay ship separately, and an app
/// may install any version of each. If one opened its internals to the other, a client release that
/// renamed an internal would break an installed relay at run time (MissingMethodException). So no
/// library opens its internals to another shipped library; it may open them to tests and benchmarks,
/// and to a tool whose package carries the library itself (its copy cannot differ).
/// </summary>
[TestFixture]
public class PackageBoundaryTests
{
    private sealed record Project(string AssemblyName, bool Packable, bool Tool, IReadOnlyCollection<string> References);

    private static Dictionary<string, Project> SourceProjects()
    {
        var projects = new Dictionary<string, Project>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Repository.Path("src"), "*.csproj", SearchOption.AllDirectories))
        {
            var xml = XDocument.Load(file);
            string? Property(string name) => xml.Descendants(name).Select(e => e.Value).LastOrDefault();
            var assemblyName = Property("AssemblyName") ?? Path.GetFileNameWithoutExtension(file);
            var references = xml.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension((string)r.Attribute("Include")!)).ToList();
            projects[assemblyName] = new Project(assemblyName, Property("IsPackable") == "true", Property("PackAsTool") == "true", references);
        }

        return projects;
    }

    [Test]
    public void NoShippedLibraryOpensItsInternalsToAnotherShippedLibrary()
    {
        var projects = SourceProjects();
        Assert.That(projects.Keys, Does.Contain("Runchat.Generated").And.Contain("Runchat.Relay").And.Contain("runchat-job"), "the walk finds the packages");

        var libraries = new[] { typeof(RunchatClient).Assembly, typeof(global::Runchat.Relay.IRunchatRelay).Assembly };
        var findings = new List<string>();
        foreach (var library in libraries)
        {
            var granted = library.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName.Split(',')[0].Trim()).ToList();
            Assert.That(granted, Does.Contain("Runchat.Generated.Tests"), "the attributes are read");
            foreach (var name in granted)
            {
                if (!projects.TryGetValue(name, out var grantee) || !grantee.Packable)
                {
                    continue; // a test or benchmark project: never installed by anyone
                }

                var carriesIt = grantee.Tool && grantee.References.Contains(library.GetName().Name!, StringComparer.Ordinal);
                if (!carriesIt)
                {
                    findings.Add($"{library.GetName().Name} opens its internals to {name}, a package installed on its own");
                }
            }
        }

        Assert.That(findings, Is.Empty);
    }

    [Test]
    public void TheRelayUsesNothingOfTheClientButItsPublicApi()
    {
        // The compiler enforces this once the attribute is gone; the test says why it must stay gone.
        var granted = typeof(RunchatClient).Assembly.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).ToList();
        Assert.That(granted, Has.None.StartsWith("Runchat.Relay"));
        Assert.That(granted, Has.None.StartsWith("runchat-job"));
    }
}
