using System;
using System.Collections.Generic;
using System.Text;

namespace Runchat.Internal;

/// <summary>
/// The one place text is searched for the API key: every exception, header and body the client
/// passes on goes through here.
/// </summary>
/// <remarks>
/// <para>
/// The key is found however the text spells it: as is, or with any of its characters escaped the
/// way JSON and JavaScript (<c>\u0072</c>, <c>\x72</c>, <c>\/</c>), URLs (<c>%72</c>) or HTML
/// (<c>&amp;#114;</c>, <c>&amp;#x72;</c>) escape them, in any mix. A text cut off inside the key (an
/// error body truncated at its limit) loses the key's start too, with <see cref="RedactTrailingPrefix"/>.
/// </para>
/// <para>
/// A key shorter than <see cref="MinimumKeyLength"/> characters is not searched for: it protects
/// nothing (the sandbox accepts the key <c>sandbox</c>), and replacing it would hide ordinary words.
/// </para>
/// </remarks>
internal static class SecretRedactor
{
    public const string Redacted = "[REDACTED]";

    /// <summary>Keys shorter than this are not treated as secrets. Runchat's keys are much longer.</summary>
    public const int MinimumKeyLength = 12;

    /// <summary>The shortest cut-off start of a key that is redacted at the end of a truncated text.</summary>
    public const int MinimumPrefixLength = 4;

    /// <summary>The most characters one character of a key can take in a spelling this class reads: <c>&amp;#X0000041;</c>.</summary>
    private const int LongestSpelling = 11;

    public static bool IsSecret(string? key) => key is not null && key.Length >= MinimumKeyLength;

    /// <summary>The text with every spelling of each key replaced by <see cref="Redacted"/>.</summary>
    public static string Redact(string text, IReadOnlyList<string> keys)
    {
        foreach (var key in keys)
        {
            text = Redact(text, key);
        }

        return text;
    }

    /// <summary>The text with every spelling of <paramref name="key"/> replaced by <see cref="Redacted"/>.</summary>
    public static string Redact(string text, string? key)
    {
        if (!IsSecret(key) || string.IsNullOrEmpty(text))
        {
            return text;
        }

        StringBuilder? result = null;
        var copied = 0;
        var chars = text.AsSpan();
        for (var i = NextStart(chars, 0, key![0]); i >= 0; i = NextStart(chars, i + 1, key[0]))
        {
            var end = Match(new StringText(text), i, key, 0, key.Length);
            if (end < 0)
            {
                continue;
            }

            result ??= new StringBuilder(text.Length);
            result.Append(text, copied, i - copied).Append(Redacted);
            copied = end;
            i = end - 1;
        }

        return result is null ? text : result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>
    /// Also redacts a start of a key at the very end of the text (at least <see cref="MinimumPrefixLength"/>
    /// characters), for a text that was cut off at a size limit.
    /// </summary>
    public static string RedactTrailingPrefix(string text, IReadOnlyList<string> keys)
    {
        text = Redact(text, keys);
        foreach (var key in keys)
        {
            if (!IsSecret(key))
            {
                continue;
            }

            // The longest start of the key that the text ends with, in any spelling.
            for (var start = Math.Max(0, text.Length - (key.Length * LongestSpelling)); start < text.Length; start++)
            {
                if (!MayStart(text[start], key[0]))
                {
                    continue;
                }

                for (var length = key.Length - 1; length >= MinimumPrefixLength; length--)
                {
                    if (Match(new StringText(text), start, key, 0, length) == text.Length)
                    {
                        return text.Substring(0, start) + Redacted;
                    }
                }
            }
        }

        return text;
    }

    /// <summary>True when UTF-8 bytes hold a spelling of <paramref name="key"/> (the same spellings <see cref="Redact(string, string?)"/> finds).</summary>
    public static bool Contains(ArraySegment<byte> utf8, string? key)
    {
        if (!IsSecret(key))
        {
            return false;
        }

        var text = new Utf8Text(utf8);
        var bytes = new ReadOnlySpan<byte>(utf8.Array, utf8.Offset, utf8.Count);
        for (var i = NextStart(bytes, 0, (byte)key![0]); i >= 0; i = NextStart(bytes, i + 1, (byte)key[0]))
        {
            if (Match(text, i, key, 0, key.Length) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The next place at or after <paramref name="from"/> where a spelling of a key can start: its
    /// first character, or the start of an escape ('\\', '%', '&amp;'). Vectorized searches, for
    /// strings (headers, error bodies) and UTF-8 bytes (answers) alike; -1 when there is none.
    /// </summary>
    private static int NextStart(ReadOnlySpan<char> text, int from, char first)
    {
        if (from >= text.Length)
        {
            return -1;
        }

        var found = text.Slice(from).IndexOfAny(stackalloc char[] { first, '\\', '%', '&' });
        return found < 0 ? -1 : from + found;
    }

    private static int NextStart(ReadOnlySpan<byte> text, int from, byte first)
    {
        if (from >= text.Length)
        {
            return -1;
        }

        var found = text.Slice(from).IndexOfAny(stackalloc byte[] { first, (byte)'\\', (byte)'%', (byte)'&' });
        return found < 0 ? -1 : from + found;
    }

    private static bool MayStart(char c, char first) => c == first || c is '\\' or '%' or '&';

    /// <summary>Where a spelling of <c>key[from..from+count]</c> starting at <paramref name="position"/> ends, or -1.</summary>
    private static int Match<TText>(TText text, int position, string key, int from, int count)
        where TText : struct, IText
    {
        for (var k = from; k < from + count; k++)
        {
            if (position >= text.Length)
            {
                return -1;
            }

            var next = Decode(text, position, out var decoded);
            if (decoded != key[k])
            {
                return -1;
            }

            position = next;
        }

        return position;
    }

    /// <summary>The character spelled at <paramref name="position"/>, and where its spelling ends.</summary>
    private static int Decode<TText>(TText text, int position, out char decoded)
        where TText : struct, IText
    {
        var c = text[position];
        decoded = c;
        if (c == '\\' && position + 1 < text.Length)
        {
            var kind = text[position + 1];
            if ((kind == 'u' || kind == 'U') && Hex(text, position + 2, 4, out var unicode))
            {
                decoded = (char)unicode;
                return position + 6;
            }

            if ((kind == 'x' || kind == 'X') && Hex(text, position + 2, 2, out var ascii))
            {
                decoded = (char)ascii;
                return position + 4;
            }

            if (kind is '/' or '\\' or '"' or '\'')
            {
                decoded = kind;
                return position + 2;
            }
        }
        else if (c == '%' && Hex(text, position + 1, 2, out var percent))
        {
            decoded = (char)percent;
            return position + 3;
        }
        else if (c == '&' && position + 2 < text.Length && text[position + 1] == '#')
        {
            var hex = text[position + 2] is 'x' or 'X';
            var digitsStart = position + (hex ? 3 : 2);
            var end = IndexOf(text, ';', digitsStart, 9);
            if (end > digitsStart && end - digitsStart <= 7 && Number(text, digitsStart, end - digitsStart, hex, out var entity) && entity <= char.MaxValue)
            {
                decoded = (char)entity;
                return end + 1;
            }
        }

        return position + 1;
    }

    private static bool Hex<TText>(TText text, int start, int length, out int value)
        where TText : struct, IText => Number(text, start, length, hex: true, out value);

    private static int IndexOf<TText>(TText text, char c, int start, int within)
        where TText : struct, IText
    {
        for (var i = start; i < text.Length && i < start + within; i++)
        {
            if (text[i] == c)
            {
                return i;
            }
        }

        return -1;
    }

    private static bool Number<TText>(TText text, int start, int length, bool hex, out int value)
        where TText : struct, IText
    {
        value = 0;
        if (start + length > text.Length)
        {
            return false;
        }

        for (var i = start; i < start + length; i++)
        {
            var c = text[i];
            int digit;
            if (c is >= '0' and <= '9')
            {
                digit = c - '0';
            }
            else if (hex && c is >= 'a' and <= 'f')
            {
                digit = c - 'a' + 10;
            }
            else if (hex && c is >= 'A' and <= 'F')
            {
                digit = c - 'A' + 10;
            }
            else
            {
                return false;
            }

            value = (value * (hex ? 16 : 10)) + digit;
        }

        return true;
    }

    private interface IText
    {
        int Length { get; }

        char this[int index] { get; }
    }

    private readonly struct StringText : IText
    {
        private readonly string _text;

        public StringText(string text) => _text = text;

        public int Length => _text.Length;

        public char this[int index] => _text[index];
    }

    /// <summary>UTF-8 bytes read as characters: the key and every escape are ASCII, so a byte of a multi-byte character never matches one.</summary>
    private readonly struct Utf8Text : IText
    {
        private readonly ArraySegment<byte> _bytes;

        public Utf8Text(ArraySegment<byte> bytes) => _bytes = bytes;

        public int Length => _bytes.Count;

        public char this[int index] => (char)_bytes.Array![_bytes.Offset + index];
    }
}
