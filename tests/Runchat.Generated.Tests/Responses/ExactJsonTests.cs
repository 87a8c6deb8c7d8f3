using System;
using System.Linq;
using System.Text;
using Newtonsoft.Json.Linq;
using NUnit.Framework;
using Runchat.Internal;

namespace Runchat.Tests.Responses;

/// <summary>
/// The strict reader's rules on bytes, one by one (<c>StrictReaderTests</c> holds the client to them on the wire):
/// exactly one strict JSON value, no key twice in an object however it is spelled, numbers said back as written,
/// the charset the Content-Type names, a BOM dropped, and a body of white space seen as empty.
/// </summary>
[TestFixture]
[Category("Contract")]
public class ExactJsonTests
{
    private static bool Validate(string json) => ExactJson.Validate(Encoding.UTF8.GetBytes(json));

    private static string? Refusal(string json)
    {
        try
        {
            Validate(json);
            return null;
        }
        catch (FormatException refused)
        {
            return refused.Message;
        }
    }

    [TestCase("{\"a\":1,\"a\":2}", "a")]
    [TestCase("{\"a\":1,\"\\u0061\":2}", "a")]
    [TestCase("{\"\\u0061\":1,\"a\":2}", "a")]
    [TestCase("{\"\\u0061\":1,\"\\u0061\":2}", "a")]
    [TestCase("{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", "b")]
    [TestCase("[{\"k\":1},{\"k\":2,\"k\":3}]", "k")]
    public void AKeyTwiceInOneObjectHoweverItIsSpelledIsRefusedNamingIt(string json, string key)
    {
        Assert.That(Refusal(json), Is.EqualTo($"the key \"{key}\" appears twice in one object, so which value it has is ambiguous"));
    }

    [TestCase("{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":3}]}")]
    [TestCase("[{\"k\":1},{\"k\":2}]")]
    [TestCase("{\"o\":{\"k\":1},\"k\":2}")]
    [TestCase("{\"a\":1,\"\\u0062\":2,\"ab\":3}")]
    [TestCase("{\"ab\":1,\"a\":2,\"\\u0061b\\n\":3}")]
    public void TheSameKeyInDifferentObjectsOrDifferentKeysAreAccepted(string json)
    {
        Assert.That(Refusal(json), Is.Null);
    }

    [TestCase(33, -1)]
    [TestCase(40, 39)]
    [TestCase(40, 0)]
    [TestCase(40, 33)]
    [TestCase(100, 50)]
    public void AnObjectWithManyKeysIsCheckedAsStrictlyAsASmallOne(int count, int repeatOf)
    {
        var names = Enumerable.Range(0, count).Select(i => $"key{i}").ToList();
        if (repeatOf >= 0)
        {
            names.Add(repeatOf % 2 == 0 ? $"key{repeatOf}" : "\\u006b" + $"ey{repeatOf}");
        }

        var json = "{\"before\":{\"key0\":0}," + string.Join(",", names.Select((n, i) => $"\"{n}\":{i}")) + ",\"after\":{\"key0\":0}}";

        Assert.That(Refusal(json), repeatOf >= 0 ? Does.Contain($"the key \"key{repeatOf}\" appears twice") : Is.Null);
    }

    [TestCase("{\"a\":1} {\"b\":2}", "after")]
    [TestCase("{\"a\":1,}", null)]
    [TestCase("{'a':1}", null)]
    [TestCase("{\"a\":NaN}", null)]
    [TestCase("{\"a\":1 // comment\n}", null)]
    [TestCase("[1,2", null)]
    public void WhatIsNotOneStrictJsonValueIsRefused(string json, string? phrase)
    {
        var refusal = Refusal(json);

        Assert.That(refusal, Is.Not.Null);
        if (phrase is not null)
        {
            Assert.That(refusal, Does.Contain(phrase));
        }
    }

    [Test]
    public void ADocumentNestedPastTheLimitIsRefusedAndOneWithinItIsRead()
    {
        Assert.That(Refusal(new string('[', 256) + new string(']', 256)), Is.Null);
        Assert.That(Refusal(new string('[', 257) + new string(']', 257)), Does.Contain("depth"));
        Assert.That(ExactJson.ParseObject("{\"a\":" + new string('[', 255) + new string(']', 255) + "}"), Is.Not.Null);
        Assert.That(ExactJson.ParseObject("{\"a\":" + new string('[', 256) + new string(']', 256) + "}"), Is.Null);
    }

    [TestCase("{\"n\":1}", true)]
    [TestCase("{\"n\":-12.50}", true)]
    [TestCase("{\"n\":-0.5}", true)]
    [TestCase("{\"n\":-1.0}", true)]
    [TestCase("{\"n\":-10}", true)]
    [TestCase("{\"n\":1e5}", false)]
    [TestCase("{\"n\":1E5}", false)]
    [TestCase("{\"n\":-0}", false)]
    [TestCase("{\"n\":-0.00}", false)]
    [TestCase("{\"n\":-0.001}", true)]
    [TestCase("{\"n\":123456789012345678901234567890}", true)]
    [TestCase("{\"n\":1.2345678901234567890123456}", true)]
    [TestCase("{\"n\":1.234567890123456789012345678}", false)]
    [TestCase("[1,1e5,2]", false)]
    [TestCase("[1e5,2]", false)]
    public void ANumberIsPlainWhenNewtonsoftSaysItBackAsWritten(string json, bool plain)
    {
        Assert.That(Validate(json), Is.EqualTo(plain));
    }

    [TestCase("{\"n\":1e400}", "1e400")]
    [TestCase("{\"n\":-0}", "-0")]
    [TestCase("{\"n\":-0.0}", "-0.0")]
    [TestCase("{\"n\":123456789012345678901234567890}", "123456789012345678901234567890")]
    [TestCase("{\"n\":1.10}", "1.10")]
    [TestCase("{\"n\":42}", "42")]
    [TestCase("{\"n\":-7}", "-7")]
    public void TheExactTreeSaysEveryNumberBackAsWritten(string json, string number)
    {
        var token = ExactJson.ParseExact(Encoding.UTF8.GetBytes(json), s => s);

        Assert.That(token["n"]!.ToString(Newtonsoft.Json.Formatting.None), Is.EqualTo(number));
    }

    [Test]
    public void TheExactTreeKeepsEveryKindOfValueAndRedactsEveryNameAndString()
    {
        var token = ExactJson.ParseExact(Encoding.UTF8.GetBytes("{\"secret-key\":[\"a secret-key\",true,false,null,{\"n\":1}]}"), s => s.Replace("secret-key", "[REDACTED]"));

        Assert.That(token.ToString(Newtonsoft.Json.Formatting.None), Is.EqualTo("{\"[REDACTED]\":[\"a [REDACTED]\",true,false,null,{\"n\":1}]}"));
        Assert.That(token["[REDACTED]"]![1]!.Type, Is.EqualTo(JTokenType.Boolean));
        Assert.That(token["[REDACTED]"]![3]!.Type, Is.EqualTo(JTokenType.Null));
        Assert.That(ExactJson.ParseObject("{\"secret-key\":\"secret-key\"}")!.ToString(Newtonsoft.Json.Formatting.None), Is.EqualTo("{\"secret-key\":\"secret-key\"}"), "ParseObject redacts nothing");
        Assert.That(ExactJson.ParseObject("[1]"), Is.Null, "not an object");
        Assert.That(ExactJson.ParseObject("{"), Is.Null, "not JSON");
    }

    [TestCase(null)]
    [TestCase("utf-8")]
    [TestCase("UTF-8")]
    [TestCase("utf8")]
    [TestCase(" \"utf-8\" ")]
    [TestCase("")]
    public void AUtf8BodyIsReadInPlaceWithItsBomDropped(string? charset)
    {
        var bytes = new byte[] { 0, 0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}', 0 };

        var utf8 = Charsets.Utf8Of(new ArraySegment<byte>(bytes, 1, 5), charset);

        Assert.That(Encoding.UTF8.GetString(utf8.ToArray()), Is.EqualTo("{}"));
        Assert.That(Encoding.UTF8.GetString(Charsets.Utf8Of(new ArraySegment<byte>(bytes, 4, 2), charset).ToArray()), Is.EqualTo("{}"));
        Assert.That(Charsets.Utf8Of(new ArraySegment<byte>(new byte[] { 0xEF, 0xBB }), charset).Length, Is.EqualTo(2), "two bytes are not a BOM");
        Assert.That(Charsets.Utf8Of(new ArraySegment<byte>(new byte[] { 0xEF, 0xBB, 0xBE, 0x31 }), charset).Length, Is.EqualTo(4), "EF BB BE is not a BOM");
        Assert.That(Charsets.Utf8Of(new ArraySegment<byte>(new byte[] { 0xEF, 0xBC, 0xBF, 0x31 }), charset).Length, Is.EqualTo(4), "EF BC BF is not a BOM");
        Assert.That(Charsets.Utf8Of(new ArraySegment<byte>(new byte[] { 0xEE, 0xBB, 0xBF, 0x31 }), charset).Length, Is.EqualTo(4), "EE BB BF is not a BOM");
    }

    [Test]
    public void ABodyInTheCharsetItsContentTypeNamesIsReadAsUtf8()
    {
        var utf16 = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("{\"a\":\"é\"}")).ToArray();
        var latin1 = Encoding.Latin1.GetBytes("{\"a\":\"é\"}");

        Assert.That(Encoding.UTF8.GetString(Charsets.Utf8Of(new ArraySegment<byte>(utf16), "utf-16").ToArray()), Is.EqualTo("{\"a\":\"é\"}"));
        Assert.That(Encoding.UTF8.GetString(Charsets.Utf8Of(new ArraySegment<byte>(latin1), "iso-8859-1").ToArray()), Is.EqualTo("{\"a\":\"é\"}"));
        Assert.That(Assert.Throws<FormatException>(() => Charsets.Utf8Of(new ArraySegment<byte>(latin1), "x-unknown"))!.Message, Does.Contain("names the charset 'x-unknown'"));
        Assert.That(Assert.Throws<FormatException>(() => Charsets.Utf8Of(new ArraySegment<byte>(new byte[] { 0x7B, 0xD8, 0x00 }), "utf-16be"))!.Message, Does.Contain("it is not valid utf-16BE"));
    }

    [TestCase("", true)]
    [TestCase(" \t\r\n", true)]
    [TestCase(" {}", false)]
    [TestCase("\u00a0", false)]
    [TestCase("x", false)]
    public void ABodyOfWhiteSpaceIsEmpty(string body, bool blank)
    {
        Assert.That(ExactJson.IsBlank(Encoding.UTF8.GetBytes(body)), Is.EqualTo(blank));
    }
}
