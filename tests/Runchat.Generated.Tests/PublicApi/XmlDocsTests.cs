using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Xml.Linq;
using NUnit.Framework;

namespace Runchat.Tests.PublicApi;

/// <summary>
/// "XML docs on every public member" (the public contract), checked on the documentation file the
/// package ships. The compiler enforces it for handwritten code (CS1591 is an error here); generated
/// code has CS1591 switched off, so a template change could drop docs silently without this test
/// (docs for generated members come from the forked templates and build/Runchat.PublicDocs.xslt).
/// </summary>
[TestFixture]
[Category("Generation")]
public class XmlDocsTests
{
    [Test]
    public void EveryPubliclyVisibleMemberOfTheLibraryHasXmlDocs()
    {
        var assembly = typeof(RunchatClient).Assembly;
        var file = Path.ChangeExtension(assembly.Location, ".xml");
        Assert.That(File.Exists(file), Is.True, file);
        var documented = XDocument.Load(file).Descendants("member").Select(m => (string)m.Attribute("name")!).ToHashSet(StringComparer.Ordinal);

        var visible = VisibleMemberIds(assembly).ToList();
        var missing = visible.Where(id => !documented.Contains(id)).ToList();

        Assert.That(visible, Has.Count.GreaterThan(90), "the walk finds the public surface");
        Assert.That(visible, Does.Contain("T:Runchat.AgentJobResponseStatus").And.Contain("F:Runchat.AgentJobResponseStatus.Success"), "generated types are walked");
        Assert.That(missing, Is.Empty, "public members without XML docs:\n" + string.Join("\n", missing));
    }

    private static IEnumerable<string> VisibleMemberIds(Assembly assembly)
    {
        const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in assembly.GetTypes().Where(IsVisible))
        {
            var typeId = TypeId(type);
            yield return "T:" + typeId;
            foreach (var member in type.GetMembers(Declared).Where(m => !m.IsDefined(typeof(CompilerGeneratedAttribute))))
            {
                switch (member)
                {
                    case FieldInfo field when (field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly) && !field.IsSpecialName:
                        yield return $"F:{typeId}.{field.Name}";
                        break;
                    case PropertyInfo property when new[] { property.GetMethod, property.SetMethod }.Any(IsVisible):
                        yield return $"P:{typeId}.{property.Name}{Parameters(property.GetIndexParameters())}";
                        break;
                    case EventInfo @event when IsVisible(@event.AddMethod):
                        yield return $"E:{typeId}.{@event.Name}";
                        break;
                    // A parameterless constructor is left out: reflection cannot tell the implicit one C# adds
                    // (which the compiler's CS1591 does not ask docs for either) from a declared one.
                    case ConstructorInfo constructor when IsVisible(constructor) && !constructor.IsStatic && constructor.GetParameters().Length > 0:
                        yield return $"M:{typeId}.#ctor{Parameters(constructor.GetParameters())}";
                        break;
                    case MethodInfo method when IsVisible(method) && !method.IsSpecialName:
                        var arity = method.IsGenericMethod ? "``" + method.GetGenericArguments().Length : "";
                        yield return $"M:{typeId}.{method.Name}{arity}{Parameters(method.GetParameters())}";
                        break;
                }
            }
        }
    }

    private static bool IsVisible(Type type) =>
        !type.IsDefined(typeof(CompilerGeneratedAttribute)) && (type.IsPublic || (type.IsNested && (type.IsNestedPublic || type.IsNestedFamily) && IsVisible(type.DeclaringType!)));

    private static bool IsVisible(MethodBase? method) => method is not null && (method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly);

    private static string TypeId(Type type) => (type.FullName ?? type.Name).Replace('+', '.');

    private static string Parameters(ParameterInfo[] parameters) =>
        parameters.Length == 0 ? "" : "(" + string.Join(",", parameters.Select(p => ParameterType(p.ParameterType))) + ")";

    // The documentation-id form of a parameter type: generic arguments in braces, `n/``n for type parameters.
    private static string ParameterType(Type type)
    {
        if (type.IsByRef)
        {
            return ParameterType(type.GetElementType()!) + "@";
        }

        if (type.IsArray)
        {
            return ParameterType(type.GetElementType()!) + "[]";
        }

        if (type.IsGenericParameter)
        {
            return (type.DeclaringMethod is null ? "`" : "``") + type.GenericParameterPosition;
        }

        if (type.IsGenericType)
        {
            var definition = type.GetGenericTypeDefinition();
            var name = (definition.FullName ?? definition.Name).Replace('+', '.');
            return name.Substring(0, name.IndexOf('`')) + "{" + string.Join(",", type.GetGenericArguments().Select(ParameterType)) + "}";
        }

        return (type.FullName ?? type.Name).Replace('+', '.');
    }
}
