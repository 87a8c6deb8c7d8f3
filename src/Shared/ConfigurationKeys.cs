using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.Configuration;

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
/// Finds the keys of a configuration section that no setting reads: a misspelling (<c>BaseUlr</c>,
/// <c>MaxBodyByte</c>) would otherwise be ignored in silence, and the default used instead (the
/// production API, no body limit). Each is named with the nearest known key.
/// </summary>
internal static class ConfigurationKeys
{
    /// <summary>One sentence per unknown key of <paramref name="section"/>.</summary>
    /// <param name="section">The section as configured.</param>
    /// <param name="known">The keys a setting reads.</param>
    public static IEnumerable<string> Unknown(IConfiguration section, IReadOnlyCollection<string> known)
    {
        foreach (var child in section.GetChildren())
        {
            if (known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var path = child is IConfigurationSection named ? named.Path : child.Key;
            var nearest = known.OrderBy(k => Distance(k.ToLowerInvariant(), child.Key.ToLowerInvariant())).First();
            yield return Distance(nearest.ToLowerInvariant(), child.Key.ToLowerInvariant()) <= Math.Max(2, nearest.Length / 3)
                ? $"{path} is not a setting; did you mean {nearest}? (known: {string.Join(", ", known)})"
                : $"{path} is not a setting (known: {string.Join(", ", known)}).";
        }
    }

    /// <summary>The settable properties of <typeparamref name="T"/>: the keys the binder reads.</summary>
    public static IReadOnlyCollection<string> Of<T>() =>
        typeof(T).GetProperties().Where(p => p.CanWrite && p.SetMethod!.IsPublic).Select(p => p.Name).ToArray();

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
