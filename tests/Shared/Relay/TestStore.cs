using System;
using System.IO;
using System.Threading.Tasks;
using Npgsql;
using NUnit.Framework;
using Runchat.Relay;

namespace Runchat.Tests.Relay;

/// <summary>
/// A relay store for one test: a new SQLite file, or a new database on the throwaway PostgreSQL server
/// named by <see cref="PostgresServer.Variable"/>. Deleted (dropped) on dispose.
/// </summary>
public sealed class TestStore : IAsyncDisposable
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    private readonly string? _databaseName;

    private TestStore(string kind, string setting, string? databaseName, string? path)
    {
        Kind = kind;
        Setting = setting;
        _databaseName = databaseName;
        Path = path;
    }

    public string Kind { get; }

    /// <summary>The <c>Relay:Store</c> setting for it.</summary>
    public string Setting { get; }

    /// <summary>The SQLite file (null for PostgreSQL).</summary>
    public string? Path { get; }

    /// <summary>A new, empty store of <paramref name="kind"/>. For PostgreSQL, skips or fails the test when no server is given (see <see cref="PostgresServer"/>).</summary>
    public static TestStore Create(string kind)
    {
        if (kind == Sqlite)
        {
            var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"runchat-relay-test-{Guid.NewGuid():N}.db");
            return new TestStore(kind, "sqlite:" + path, null, path);
        }

        var name = "relay_test_" + Guid.NewGuid().ToString("N");
        PostgresServer.Execute($"CREATE DATABASE {name};");
        return new TestStore(kind, "postgres:" + PostgresServer.ConnectionString(name), name, null);
    }

    // The test's own reads and writes, behind the relay's back, keep no pool: nothing of theirs is left to clear.
    private string Unpooled => "Data Source=" + Path + ";Pooling=False";

    /// <summary>The store as the relay opens it, for reading what it committed.</summary>
    internal IDeliveryStore Open()
    {
        Assert.That(DeliveryStoreLocation.TryParse(Setting, out var location, out var error), Is.True, error);
        return location!.Open();
    }

    /// <summary>Runs SQL on the store's own database, behind the relay's back.</summary>
    internal void Execute(string sql)
    {
        if (_databaseName is not null)
        {
            using var connection = new NpgsqlConnection(PostgresServer.ConnectionString(_databaseName));
            connection.Open();
            using var command = new NpgsqlCommand(sql, connection);
            command.ExecuteNonQuery();
        }
        else
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection(Unpooled);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>One number from the store's own database (a count, a version), behind the relay's back.</summary>
    internal long Scalar(string sql)
    {
        if (_databaseName is not null)
        {
            using var connection = new NpgsqlConnection(PostgresServer.ConnectionString(_databaseName));
            connection.Open();
            using var command = new NpgsqlCommand(sql, connection);
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection(Unpooled);
        sqlite.Open();
        using var query = sqlite.CreateCommand();
        query.CommandText = sql;
        return Convert.ToInt64(query.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    internal async Task<RelayDelivery[]> ListAsync()
    {
        var store = Open();
        try
        {
            return [.. await store.ListAsync(null, default)];
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_databaseName is not null)
        {
            // This database's pool only (the relay's own closed with its store); then no connection holds it.
            using (var pooled = new NpgsqlConnection(PostgresServer.ConnectionString(_databaseName)))
            {
                NpgsqlConnection.ClearPool(pooled);
            }

            PostgresServer.Execute($"DROP DATABASE IF EXISTS {_databaseName} WITH (FORCE);");
        }
        else
        {
            SqliteFiles.Delete(Path!);
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The PostgreSQL server the tests use: an Npgsql connection string in <c>RUNCHAT_TEST_POSTGRES</c>
/// (<c>.ci/run</c> starts one with <c>build/postgres.sh</c>). Without it, PostgreSQL tests are skipped
/// locally and fail in CI (<c>CI=true</c>), so CI can never pass them by skipping.
/// </summary>
public static class PostgresServer
{
    public const string Variable = "RUNCHAT_TEST_POSTGRES";

    /// <summary>The server's connection string, or the test is ignored (locally) or failed (CI).</summary>
    public static string Require()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(value))
        {
            return value;
        }

        var reason = $"{Variable} is not set: no PostgreSQL server to test against. Start one with: eval \"$(bash build/postgres.sh start)\"";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail("In CI the PostgreSQL tests must run, not be skipped. " + reason);
        }

        Assert.Ignore(reason);
        return null!;
    }

    /// <summary>A connection string for <paramref name="database"/> on the test server.</summary>
    public static string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(Require()) { Database = database, MaxPoolSize = 30 }.ToString();

    public static void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(Require());
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}

/// <summary>For fixtures that run once per store: <c>[TestFixture(TestStore.Sqlite)]</c> and <c>[TestFixture(TestStore.Postgres)]</c>.</summary>
public abstract class PerStoreFixture
{
    protected PerStoreFixture(string storeKind) => StoreKind = storeKind;

    protected string StoreKind { get; }

    /// <summary>
    /// Before the fixture's own SetUp (NUnit runs a base class's first): without a PostgreSQL server
    /// each test is skipped (locally) or failed (CI), and the fixture's own SetUp and TearDown do not run.
    /// </summary>
    [SetUp]
    public void RequireTheStore()
    {
        if (StoreKind == TestStore.Postgres)
        {
            PostgresServer.Require();
        }
    }

    /// <summary><see cref="RelayHost.StartAsync"/> on this fixture's kind of store.</summary>
    protected Task<RelayHost> StartRelayAsync(
        Uri runchatBaseUrl,
        Action<RunchatRelayOptions> configure,
        Action<RouteMapper>? map = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null,
        TestStore? store = null,
        Action<RunchatClientOptions>? client = null,
        TimeSpan? shutdownTimeout = null) =>
        RelayHost.StartAsync(runchatBaseUrl, configure, map, services, store, client, shutdownTimeout, StoreKind);

    /// <summary>A new store of this fixture's kind.</summary>
    protected TestStore NewStore() => TestStore.Create(StoreKind);
}
