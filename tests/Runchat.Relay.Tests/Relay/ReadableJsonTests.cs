using System.Text.Json;
using NUnit.Framework;
using Runchat.Relay;

namespace Runchat.Tests.Relay;

/// <summary>The relay's JSON for people (answers, <c>--json</c>, a template's objects) keeps text as it is: only what JSON requires is escaped.</summary>
[TestFixture]
[Category("Relay")]
public class ReadableJsonTests
{
    [TestCase("🎉 party", "\"🎉 party\"")]
    [TestCase("é ß 中文 relay's <b>", "\"é ß 中文 relay's <b>\"")]
    [TestCase("quote \" backslash \\ line\nend\ttab", "\"quote \\\" backslash \\\\ line\\nend\\ttab\"")]
    [TestCase("bell \u0007 nul \u0000", "\"bell \\u0007 nul \\u0000\"")]
    public void OnlyWhatJsonRequiresIsEscaped(string text, string json)
    {
        Assert.That(JsonSerializer.Serialize(text, RelayJson.Options), Is.EqualTo(json));
        Assert.That(JsonSerializer.Deserialize<string>(json), Is.EqualTo(text), "and it reads back as the same text");
    }
}
