using System.Collections.Generic;
using System.Net.Http.Headers;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Runchat.Internal;

/// <summary><c>User-Agent: Runchat.Generated/&lt;version&gt; (&lt;framework&gt;; &lt;os&gt;)</c>, computed once.</summary>
internal static class RunchatUserAgent
{
    // Declared before Value: static initializers run in textual order.

    /// <summary>The package version (from Directory.Build.props), without the source-revision suffix.</summary>
    public static string Version { get; } = GetVersion();

    public static IReadOnlyList<ProductInfoHeaderValue> Value { get; } = Create();

    private static IReadOnlyList<ProductInfoHeaderValue> Create() => new[]
    {
        new ProductInfoHeaderValue("Runchat.Generated", Version),
        new ProductInfoHeaderValue("(" + Sanitize(RuntimeInformation.FrameworkDescription) + "; " + Sanitize(RuntimeInformation.OSDescription) + ")"),
    };

    private static string GetVersion()
    {
        var informational = typeof(RunchatUserAgent).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational))
        {
            return typeof(RunchatUserAgent).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        }

        var plus = informational!.IndexOf('+');
        return plus < 0 ? informational : informational.Substring(0, plus);
    }

    // A header comment may not contain unbalanced parentheses, backslashes or control characters.
    private static string Sanitize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            var safe = c is '(' or ')' or '\\' || c < ' ' || c > '~' ? ' ' : c;
            if (safe != ' ' || (builder.Length > 0 && builder[builder.Length - 1] != ' '))
            {
                builder.Append(safe);
            }
        }

        return builder.ToString().TrimEnd();
    }
}
