using System;
using System.IO;

namespace Runchat.Tests.Relay;

/// <summary>A folder of its own for one test (a configuration, a SQLite file), deleted afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "runchat-test-" + Guid.NewGuid().ToString("N"));

    public TempDirectory() => Directory.CreateDirectory(Path);

    public void Dispose()
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(Path, "*.db", SearchOption.AllDirectories))
            {
                SqliteFiles.Delete(file);
            }

            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
