using System;
using System.Text.RegularExpressions;

namespace Runchat.Internal;

/// <summary>Shows a URL without the user-info part (<c>https://user:password@host</c> → <c>https://***@host</c>).</summary>
/// <remarks>Every text that shows a base URL (ToString, validation errors, the CLI) goes through here.</remarks>
internal static class UrlDisplay
{
    private static readonly Regex UserInfo = new(@"(?<=//)[^/?#@]*@", RegexOptions.CultureInvariant);

    public static string Safe(Uri? url) => url is null ? "(null)" : Safe(url.OriginalString);

    public static string Safe(string url) => UserInfo.Replace(url, "***@");
}
