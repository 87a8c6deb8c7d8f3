using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NUnit.Framework;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Generation;

/// <summary>Rules a maintainer can rely on, read from the handwritten sources with Roslyn's parser (generated code is not in src/).</summary>
[TestFixture]
public class SourceRulesTests
{
    private const int MaxMethodLines = 80;

    private static readonly System.Text.RegularExpressions.Regex HtmlTag = new(
        @"<(/?)(html|head|body|main|header|div|span|p|a|b|i|h[1-6]|table|thead|tbody|tr|td|th|form|input|button|label|select|option|pre|dl|dt|dd|ul|ol|li|script|link|meta|title|br)\b[^<]*?>",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    private static string[] Sources(params string[] under) =>
        Directory.GetFiles(Repository.Path(under), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToArray();

    private static SyntaxNode Root(string file) => CSharpSyntaxTree.ParseText(File.ReadAllText(file), path: file).GetRoot();

    [Test]
    public void NoMethodInSrcIsLongerThan80Lines()
    {
        var files = Sources("src");
        var tooLong = files
            .SelectMany(file => Root(file).DescendantNodes().Where(n => n is BaseMethodDeclarationSyntax or LocalFunctionStatementSyntax or AccessorDeclarationSyntax)
                .Select(node => (File: Path.GetRelativePath(Repository.Path(), file), Node: node, Span: node.GetLocation().GetLineSpan())))
            .Select(m => (m.File, Name: Name(m.Node), Lines: m.Span.EndLinePosition.Line - m.Span.StartLinePosition.Line + 1, Line: m.Span.StartLinePosition.Line + 1))
            .Where(m => m.Lines > MaxMethodLines)
            .Select(m => $"{m.File}:{m.Line} {m.Name}: {m.Lines} lines")
            .ToList();

        Assert.That(files, Has.Length.GreaterThan(50), "the sources were found");
        Assert.That(tooLong, Is.Empty, $"methods over {MaxMethodLines} lines (split them into steps with names)");
    }

    [Test]
    public void NoHtmlTagInACSharpStringUnderTheRelay()
    {
        var files = Sources("src", "Runchat.Relay");
        var found = files
            .SelectMany(file => Root(file).DescendantTokens()
                .Where(t => t.IsKind(SyntaxKind.StringLiteralToken) || t.IsKind(SyntaxKind.InterpolatedStringTextToken) || t.IsKind(SyntaxKind.SingleLineRawStringLiteralToken) || t.IsKind(SyntaxKind.MultiLineRawStringLiteralToken))
                .Where(t => HtmlTag.IsMatch(t.ValueText))
                .Select(t => $"{Path.GetRelativePath(Repository.Path(), file)}:{t.GetLocation().GetLineSpan().StartLinePosition.Line + 1} {t.Text}"))
            .ToList();

        Assert.That(files, Has.Length.GreaterThan(20), "the sources were found");
        Assert.That(found, Is.Empty, "HTML belongs in Dashboard/Pages/*.liquid, rendered with an HTML encoder");
    }

    [Test]
    public void NoTestClearsEveryConnectionPoolOfItsProcess()
    {
        // The tests of a project run in parallel, in one process: ClearAllPools (Microsoft.Data.Sqlite's or Npgsql's) is
        // the process's, and it disposes the connections other tests' relays are opening. A test clears its own pool:
        // SqliteFiles.Delete, or NpgsqlConnection.ClearPool for its database. (The benchmarks run one at a time.)
        var files = new[] { "Shared", "Runchat.Relay.Tests", "Runchat.Cli.Tests", "Runchat.Generated.Tests" }.SelectMany(under => Sources("tests", under)).ToArray();
        var found = files
            .SelectMany(file => Root(file).DescendantNodes().OfType<MemberAccessExpressionSyntax>()
                .Where(access => access.Name.Identifier.Text == "ClearAllPools")
                .Select(access => $"{Path.GetRelativePath(Repository.Path(), file)}:{access.GetLocation().GetLineSpan().StartLinePosition.Line + 1} {access}"))
            .ToList();

        Assert.That(files, Has.Length.GreaterThan(100), "the test sources were found");
        Assert.That(found, Is.Empty, "clears of every pool in the process");
    }

    [TestCase("<p>There is no state</p>", true)]
    [TestCase("<td>", true)]
    [TestCase("<a class=\"card\" href=\"/relay\">", true)]
    [TestCase("</table>", true)]
    [TestCase("sqlite:<path>, such as sqlite:runchat-relay.db", false)]
    [TestCase("<milliseconds>:<delivery id>", false)]
    [TestCase("not v0=<hex>", false)]
    public void TheHtmlRuleTellsATagFromAPlaceholder(string text, bool isTag) => Assert.That(HtmlTag.IsMatch(text), Is.EqualTo(isTag));

    private static string Name(SyntaxNode node) => node switch
    {
        MethodDeclarationSyntax method => method.Identifier.Text,
        ConstructorDeclarationSyntax constructor => constructor.Identifier.Text + " (constructor)",
        LocalFunctionStatementSyntax local => local.Identifier.Text + " (local function)",
        AccessorDeclarationSyntax accessor => accessor.Keyword.Text + " accessor",
        _ => node.Kind().ToString(),
    };
}
