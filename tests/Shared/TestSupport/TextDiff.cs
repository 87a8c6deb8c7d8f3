using System;
using System.Text;

namespace Runchat.Tests.TestSupport;

/// <summary>A line diff for an approval test's failure: <c>+ </c> for a new line, <c>- </c> for a removed one.</summary>
public static class TextDiff
{
    public static string Lines(string before, string after)
    {
        var a = before.Split('\n');
        var b = after.Split('\n');
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        for (var j = b.Length - 1; j >= 0; j--)
            lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);

        var diff = new StringBuilder();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y]) { x++; y++; }
            else if (y < b.Length && (x == a.Length || lcs[x, y + 1] >= lcs[x + 1, y])) diff.Append("+ ").AppendLine(b[y++]);
            else diff.Append("- ").AppendLine(a[x++]);
        }

        return diff.ToString();
    }
}
