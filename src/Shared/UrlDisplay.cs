using System;
using System.Text.RegularExpressions;

// Source shared at compile time (src/Shared/), never across assemblies at run time: each assembly
// that needs it compiles its own copy, in its own namespace, so a release of one package cannot
// break an installed other (no InternalsVisibleTo between shipped packages).
#if RUNCHAT_RELAY
namespace Runchat.Relay.Internal;
#elif RUNCHAT_CLI
namespace Runchat.Cli.Internal;
#else
namespace Runchat.Internal;
#endif

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
