namespace Runchat.Cli;

/// <summary>The exit codes of the official Runchat CLI.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The run finished with status error, or the API reported an error.</summary>
    public const int RunOrApiError = 1;

    /// <summary>Bad usage: unknown option, invalid payload or job id.</summary>
    public const int Usage = 2;

    /// <summary>Authentication: no key, 401 or 403.</summary>
    public const int Authentication = 3;

    /// <summary>The network failed or the timeout elapsed.</summary>
    public const int NetworkOrTimeout = 4;

    /// <summary>Interrupted (Ctrl+C); the job may still be running on the server.</summary>
    public const int Interrupted = 130;
}
