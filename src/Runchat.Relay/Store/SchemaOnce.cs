using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// Creates or upgrades a store's schema once per process, before the first statement on any connection, and
/// refuses a store that a newer relay wrote. Shared by both stores; how the schema is created (one
/// transaction, an advisory lock on PostgreSQL, WAL on SQLite) stays with each store.
/// </summary>
internal sealed class SchemaOnce
{
    /// <summary>The version this relay writes into <c>runchat_relay_schema</c>, and the newest it reads.</summary>
    public const int Version = 2;

    /// <summary>
    /// The numbered steps after version 1, in order; each is applied once, in the transaction that creates or
    /// upgrades the schema, to a store at an earlier version. Version 1 is the base schema every store creates.
    /// </summary>
    public static readonly IReadOnlyList<SchemaStep> Steps = new[]
    {
        new SchemaStep(2, "the text sent to the agent (RelayDelivery.Message)", table => $"ALTER TABLE {table} ADD COLUMN message TEXT NULL"),
    };

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _created;

    /// <summary>Whether the schema is known to exist (until then, the store has nothing to count).</summary>
    public bool Created => _created;

    public async Task EnsureAsync(Func<CancellationToken, Task> create, CancellationToken cancellationToken)
    {
        if (_created)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_created)
            {
                await create(cancellationToken).ConfigureAwait(false);
                _created = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// In the schema's transaction, after the version-1 tables exist: refuses a store a newer relay wrote, applies
    /// the steps this store lacks, and records the version.
    /// </summary>
    /// <exception cref="InvalidOperationException">A newer relay wrote the store.</exception>
    public static async Task UpgradeAsync(DbConnection connection, DbTransaction transaction, string deliveriesTable, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT MAX(version) FROM runchat_relay_schema;";
        var version = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (version > Version)
        {
            throw new InvalidOperationException($"The relay store was written by a newer relay (schema {version}; this relay knows {Version}). Upgrade the relay.");
        }

        foreach (var step in Steps)
        {
            if (step.Version > version)
            {
                command.CommandText = step.Sql(deliveriesTable) + ";";
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        if (version < Version)
        {
            command.CommandText = $"UPDATE runchat_relay_schema SET version = {Version};";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>One numbered change to the schema: its version, what it adds, and its SQL (the same on both stores).</summary>
internal sealed record SchemaStep(int Version, string What, Func<string, string> Sql);
