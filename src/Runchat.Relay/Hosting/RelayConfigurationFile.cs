using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.Extensions.Configuration;

namespace Runchat.Relay;

/// <summary>
/// A relay's JSON configuration file as every command reads it: the file, then environment variables over it
/// (<c>Relay__Routes__0__Secret</c>), and a relative SQLite path meaning beside the file, wherever the command runs.
/// </summary>
internal static class RelayConfigurationFile
{
    /// <exception cref="RelayConfigurationException">The file does not exist, cannot be read, or is not JSON.</exception>
    public static IConfiguration Read(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new RelayConfigurationException($"the configuration file {full} does not exist.");
        }

        try
        {
            var configuration = new ConfigurationBuilder().AddJsonFile(full, optional: false).AddEnvironmentVariables().Build();
            if (DeliveryStoreLocation.TryParse(configuration["Relay:Store"], out var store, out _) && store!.Kind == "sqlite" && !Path.IsPathRooted(store.Target))
            {
                var file = Path.Combine(Path.GetDirectoryName(full)!, store.Target);
                configuration = new ConfigurationBuilder().AddConfiguration(configuration)
                    .AddInMemoryCollection(new[] { new KeyValuePair<string, string?>("Relay:Store", "sqlite:" + file) }).Build();
            }

            return configuration;
        }
        catch (InvalidDataException invalid)
        {
            throw new RelayConfigurationException($"the configuration file {full} is not valid JSON: {invalid.Message}");
        }
        catch (Exception unreadable) when (unreadable is IOException or UnauthorizedAccessException)
        {
            throw new RelayConfigurationException($"the configuration file {full} cannot be read: {unreadable.Message}");
        }
    }
}

/// <summary>A relay configuration that cannot work: said in one line, and a command exits 2.</summary>
internal sealed class RelayConfigurationException : Exception
{
    public RelayConfigurationException(string message)
        : base(message)
    {
    }
}
