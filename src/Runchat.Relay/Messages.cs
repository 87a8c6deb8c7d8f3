using System;

namespace Runchat.Relay;

internal static class Messages
{
    /// <summary>An ArgumentException's message without .NET's " (Parameter 'x')" suffix, for people who never saw the parameter.</summary>
    public static string WithoutParameter(ArgumentException exception) =>
        exception.ParamName is null ? exception.Message : exception.Message.Replace($" (Parameter '{exception.ParamName}')", string.Empty);
}
