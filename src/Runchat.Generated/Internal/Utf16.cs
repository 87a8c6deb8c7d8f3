namespace Runchat.Internal;

/// <summary>Broken UTF-16 (an unpaired surrogate, usually a string cut in the middle of an emoji), which has no UTF-8 encoding.</summary>
internal static class Utf16
{
    /// <summary>The index of the first unpaired surrogate in <paramref name="text"/>, or -1 when there is none.</summary>
    public static int UnpairedSurrogateAt(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
