namespace Runchat.Cli;

/// <summary>What the tool's web hosts (relay serve, the sandbox) are started with.</summary>
public static class HostArgs
{
    /// <summary>
    /// No file watchers for appsettings.json: the hosts read their configuration once, and each watcher holds an
    /// inotify instance (128 per user by default on Linux), which many relays and sandboxes on one machine, or one
    /// test run, would use up.
    /// </summary>
    public static string[] NoConfigReload => new[] { "--hostBuilder:reloadConfigOnChange=false" };
}
