using System.IO;
using Runchat.Relay;

namespace Runchat.Tests.Relay;

/// <summary>
/// A relay's SQLite file, removed after its relay has stopped. Only that file's pool is cleared (a store clears its own
/// when disposed; this clears what a store left undisposed would keep):
/// <see cref="Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools"/> is the whole process's, and in a parallel test run it disposes the
/// connections other tests' relays are opening.
/// </summary>
public static class SqliteFiles
{
    /// <summary>Closes what is left of the relay's pool for <paramref name="path"/> and deletes it with its <c>-wal</c> and <c>-shm</c> files.</summary>
    public static void Delete(string path)
    {
        SqliteDialect.ReleasePool(path);
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            try
            {
                File.Delete(path + suffix);
            }
            catch (IOException)
            {
            }
        }
    }
}
