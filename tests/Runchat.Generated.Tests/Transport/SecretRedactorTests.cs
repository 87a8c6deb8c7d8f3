using System;
using System.Linq;
using System.Text;
using NUnit.Framework;
using Runchat.Internal;

namespace Runchat.Tests.Transport;

/// <summary>
/// Every spelling of the key that <see cref="SecretRedactor"/> owns, character by character: as written, JSON's
/// <c>\u</c>, C's <c>\x</c> (either case), a backslash before punctuation, percent-encoding (either case), HTML's
/// decimal and hexadecimal entities; found in text (<c>Redact</c>), in UTF-8 bytes (<c>Contains</c>), and cut off
/// at the end of a truncated text (<c>RedactTrailingPrefix</c>). Near misses are left alone.
/// (<c>KeyAtNoExitTests</c> holds the client to it: the key at no exit.)
/// </summary>
[TestFixture]
[Category("Contract")]
public class SecretRedactorTests
{
    // Lower and upper case letters whose codes have hex letters (j = 6a, J = 4A, Z = 5A), a slash (2f) and digits.
    private const string Key = "rk_live_Qj/J0aZ9xYw2";

    private static string Spell(string text, Func<char, int, string> spelling) => string.Concat(text.Select(spelling));

    private static readonly Func<char, int, string>[] Spellings =
    {
        (c, _) => c.ToString(),
        (c, _) => $"\\u{(int)c:x4}",
        (c, _) => $"\\U{(int)c:X4}",
        (c, _) => $"\\x{(int)c:x2}",
        (c, _) => $"\\X{(int)c:X2}",
        (c, _) => $"%{(int)c:x2}",
        (c, _) => $"%{(int)c:X2}",
        (c, _) => $"&#{(int)c};",
        (c, _) => $"&#x{(int)c:x};",
        (c, _) => $"&#X{(int)c:X};",
        (c, _) => $"&#{(int)c:D7};",
        (c, _) => c == '/' ? "\\/" : c.ToString(),
        (c, i) => (i % 4) switch { 0 => c.ToString(), 1 => $"%{(int)c:X2}", 2 => $"\\u{(int)c:X4}", _ => $"&#{(int)c};" },
    };

    private static readonly string[] SpellingNames =
        { "as written", "\\u", "\\U upper", "\\x", "\\X upper", "%", "% upper", "&#", "&#x", "&#X upper", "&# seven digits", "\\/", "mixed" };

    private static System.Collections.Generic.IEnumerable<TestCaseData> EverySpelling() =>
        Spellings.Select((s, i) => new TestCaseData(i).SetArgDisplayNames(SpellingNames[i]));

    private static bool Contains(string text, string? key) => SecretRedactor.Contains(new ArraySegment<byte>(Encoding.UTF8.GetBytes(text)), key);

    [TestCaseSource(nameof(EverySpelling))]
    public void EverySpellingOfTheKeyIsFoundWhereverItIs(int spelling)
    {
        var spelled = Spell(Key, Spellings[spelling]);

        foreach (var (before, after) in new[] { ("", ""), ("a ", " b"), ("\"key\":\"", "\"}"), ("x", "x") })
        {
            var text = before + spelled + after;
            Assert.That(SecretRedactor.Redact(text, Key), Is.EqualTo(before + "[REDACTED]" + after), text);
            Assert.That(Contains(text, Key), Is.True, text);
            Assert.That(Contains("{\"bytes\":" + text + "}", Key), Is.True, text);
        }
    }

    [TestCaseSource(nameof(EverySpelling))]
    public void EverySpellingOfTheStartOfTheKeyIsRedactedAtTheEndOfACutText(int spelling)
    {
        for (var length = SecretRedactor.MinimumPrefixLength; length < Key.Length; length++)
        {
            var cut = "body " + Spell(Key.Substring(0, length), Spellings[spelling]);
            Assert.That(SecretRedactor.RedactTrailingPrefix(cut, new[] { Key }), Is.EqualTo("body [REDACTED]"), cut);
        }

        var tooShort = "body " + Spell(Key.Substring(0, SecretRedactor.MinimumPrefixLength - 1), Spellings[spelling]);
        Assert.That(SecretRedactor.RedactTrailingPrefix(tooShort, new[] { Key }), Is.EqualTo(tooShort), "three characters are not a key");
    }

    [TestCase("rk_live_Qj/J0aZ9xYw")]
    [TestCase("rk_live_Qj/J0aZ9xYw3")]
    [TestCase("RK_live_Qj/J0aZ9xYw2")]
    [TestCase("rk_live_Qj%2J0aZ9xYw2")]
    [TestCase("rk_live_Qj\\J0aZ9xYw2")]
    [TestCase("rk_live_Qj\\u002J0aZ9xYw2")]
    [TestCase("rk_live_Qj\\x2J0aZ9xYw2")]
    [TestCase("rk_live_Qj&#4;J0aZ9xYw2")]
    [TestCase("rk_live_Qj&#;J0aZ9xYw2")]
    [TestCase("rk_live_Qj&#00000047;J0aZ9xYw2")]
    [TestCase("rk_live_Qj&#x2F J0aZ9xYw2")]
    [TestCase("rk_live_Qj&#2F;J0aZ9xYw2")]
    [TestCase("rk_live_Qj&#65583;J0aZ9xYw2")]
    [TestCase("rk_live_Qj%g2J0aZ9xYw2")]
    [TestCase("rk_live_&#7B;j/J0aZ9xYw2")]
    public void WhatIsNotASpellingOfTheKeyIsLeftAlone(string text)
    {
        Assert.That(SecretRedactor.Redact(text, Key), Is.EqualTo(text));
        Assert.That(Contains(text, Key), Is.False);
        Assert.That(SecretRedactor.RedactTrailingPrefix(text + " end", new[] { Key }), Is.EqualTo(text + " end"), "not at the end of the text");
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("sandbox")]
    [TestCase("elevenchars")]
    public void AKeyTooShortToBeASecretIsNeverLookedFor(string? key)
    {
        var text = "the sandbox key is elevenchars, said " + key;

        Assert.That(SecretRedactor.IsSecret(key), Is.False);
        Assert.That(SecretRedactor.Redact(text, key), Is.EqualTo(text));
        Assert.That(Contains(text, key), Is.False);
        Assert.That(SecretRedactor.RedactTrailingPrefix(text + " " + Key.Substring(0, 6), new[] { key!, Key }), Is.EqualTo(text + " [REDACTED]"), "the real key's start is still found after a short one");
        Assert.That(SecretRedactor.IsSecret("twelve_chars"), Is.True, "twelve characters are");
    }

    [Test]
    public void SeveralKeysAreEachRedactedAndTheFirstCharacterOfTheTextCounts()
    {
        const string other = "sk_other_key_0123";

        Assert.That(SecretRedactor.Redact(Key + " and " + other, new[] { Key, other }), Is.EqualTo("[REDACTED] and [REDACTED]"));
        Assert.That(Contains(Key, Key), Is.True, "the key at byte 0");
        Assert.That(Contains("%72" + Key.Substring(1), Key), Is.True, "an escape at byte 0");
        Assert.That(Contains("", Key), Is.False);
        Assert.That(SecretRedactor.Redact("", Key), Is.EqualTo(""));
        Assert.That(SecretRedactor.RedactTrailingPrefix("", new[] { Key }), Is.EqualTo(""));
    }
}
