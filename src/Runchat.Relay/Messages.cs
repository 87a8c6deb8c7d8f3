using System;

namespace Runchat.Relay;

internal static class Messages
{
    /// <summary>Why a delivery became <c>unknown</c> when its relay stopped or died mid-run.</summary>
    public const string InterruptedRun = "The relay stopped while the request to Runchat was in flight: the agent may or may not have run. Check the job's history, then replay it or not.";

    /// <summary>An ArgumentException's message without .NET's " (Parameter 'x')" suffix, for people who never saw the parameter.</summary>
    public static string WithoutParameter(ArgumentException exception) =>
        exception.ParamName is null ? exception.Message : exception.Message.Replace($" (Parameter '{exception.ParamName}')", string.Empty);
}
