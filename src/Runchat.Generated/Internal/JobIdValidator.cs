using System;

namespace Runchat.Internal;

/// <summary>Rejects job ids that could not be sent as exactly one path segment.</summary>
/// <remarks>
/// The generated code percent-encodes the id with Uri.EscapeDataString, so '/', '?', '#' and '%'
/// can never change the path, query or fragment. What remains are ids that encoding cannot make
/// safe: "." and ".." are removed by URI normalization (the POST would go to another path),
/// and control characters or broken UTF-16 have no honest encoding.
/// </remarks>
internal static class JobIdValidator
{
    public static void Validate(string jobId, string parameterName = "jobId")
    {
        if (jobId is null)
        {
            throw new ArgumentNullException(parameterName, "A Runchat job id is required (from the Tasks dashboard).");
        }

        if (string.IsNullOrWhiteSpace(jobId))
        {
            throw new ArgumentException("The Runchat job id is empty or whitespace.", parameterName);
        }

        if (char.IsWhiteSpace(jobId[0]) || char.IsWhiteSpace(jobId[jobId.Length - 1]))
        {
            // " demo-agent" would be sent as %20demo-agent and answered 404, with the space invisible in the message.
            throw new ArgumentException($"The Runchat job id \"{jobId}\" has leading or trailing whitespace, which no job id has; trim it (it often comes from a copied value or a configuration file).", parameterName);
        }

        if (jobId is "." or "..")
        {
            throw new ArgumentException($"'{jobId}' is not a valid Runchat job id: URI normalization would send the request to another path.", parameterName);
        }

        // Whichever comes first in the id is reported.
        var unpaired = Utf16.UnpairedSurrogateAt(jobId);
        for (var i = 0; i < (unpaired < 0 ? jobId.Length : unpaired); i++)
        {
            if (char.IsControl(jobId[i]))
            {
                throw new ArgumentException($"The Runchat job id contains a control character (U+{(int)jobId[i]:X4}) at index {i}.", parameterName);
            }
        }

        if (unpaired >= 0)
        {
            throw new ArgumentException($"The Runchat job id contains an unpaired surrogate at index {unpaired}.", parameterName);
        }
    }
}
