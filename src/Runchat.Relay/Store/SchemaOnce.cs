using System;
using System.Data.Common;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// Creates a store's schema once per process, before the first statement on any connection, and
/// refuses a store that a newer relay wrote. Shared by both stores; how the schema is created (one
/// transaction, an advisory lock on PostgreSQL, WAL on SQLite) stays with each store.
/// </summary>
internal sealed class SchemaOnce
{
    /// <summary>The version this relay writes into <c>runchat_relay_schema</c>, and the newest it reads.</summary>
    public const int Version = 1;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _created;

    /// <summary>Whether the schema is known to exist (until then, the store has nothing to count).</summary>
    public bool Created => _created;

    public async Task EnsureAsync(DbConnection connection, Func<CancellationToken, Task> create, CancellationToken cancellationToken)
    {
        if (_created)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_created)
            {
                return;
            }

            await create(cancellationToken).ConfigureAwait(false);

            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT MAX(version) FROM runchat_relay_schema;";
            var version = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            if (version > Version)
            {
                throw new InvalidOperationException($"The relay store was written by a newer relay (schema {version}; this relay knows {Version}). Upgrade the relay.");
            }

            _created = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
