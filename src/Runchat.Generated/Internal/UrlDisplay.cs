using System;
using System.Text.RegularExpressions;

namespace Runchat.Internal;

/// <summary>
/// Shows a URL without its user info (<c>https://user:password@host</c> → <c>https://***@host</c>) and
/// without its query and fragment (<c>?api_key=…</c> → <c>?***</c>): either can carry a credential.
/// </summary>
/// <remarks>Every text that shows a base URL (ToString, validation errors, the CLI) goes through here.</remarks>
internal static class UrlDisplay
{
    private static readonly Regex UserInfo = new(@"(?<=//)[^/?#@]*@", RegexOptions.CultureInvariant);

    public static string Safe(Uri? url) => url is null ? "(null)" : Safe(url.OriginalString);

    public static string Safe(string url)
    {
        var shown = UserInfo.Replace(url, "***@");
        var query = shown.IndexOfAny(new[] { '?', '#' });
        return query < 0 ? shown : shown.Substring(0, query) + shown[query] + "***";
    }
}
