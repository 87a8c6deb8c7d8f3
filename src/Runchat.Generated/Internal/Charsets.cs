using System;
using System.Text;

namespace Runchat.Internal;

/// <summary>
/// An answer's bytes as UTF-8, from the charset its Content-Type names: what the strict reader (<see cref="ExactJson"/>)
/// reads. UTF-8 (or none named) is read in place, its BOM dropped; any other charset the runtime knows is decoded
/// strictly (an invalid byte is an error, never a replacement character).
/// </summary>
internal static class Charsets
{
    public static ReadOnlyMemory<byte> Utf8Of(ReadOnlyMemory<byte> body, string? charset)
    {
        var name = charset?.Trim().Trim('"');
        if (string.IsNullOrEmpty(name) || name!.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || name.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return StartsWithUtf8Bom(body.Span) ? body.Slice(3) : body;
        }

        var text = Decode(body, EncodingNamed(name!));
        return Encoding.UTF8.GetBytes(text.Length > 0 && text[0] == '\uFEFF' ? text.Substring(1) : text);
    }

    private static bool StartsWithUtf8Bom(ReadOnlySpan<byte> body) =>
        body.Length >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF;

    /// <exception cref="FormatException">This runtime has no encoding of that name.</exception>
    private static Encoding EncodingNamed(string name)
    {
        try
        {
            return Encoding.GetEncoding(name, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
        }
        catch (ArgumentException exception)
        {
            throw new FormatException($"its Content-Type names the charset '{name}', which this client cannot decode", exception);
        }
    }

    /// <exception cref="FormatException">The body is not valid in <paramref name="encoding"/>.</exception>
    private static string Decode(ReadOnlyMemory<byte> body, Encoding encoding)
    {
        try
        {
            // A copy, on the rare path only: netstandard2.0 has no GetString(ReadOnlySpan<byte>).
            return encoding.GetString(body.ToArray());
        }
        catch (DecoderFallbackException exception)
        {
            throw new FormatException($"it is not valid {encoding.WebName}, the charset its Content-Type names", exception);
        }
    }
}
