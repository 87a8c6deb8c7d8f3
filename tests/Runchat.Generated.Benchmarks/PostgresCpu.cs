using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;

namespace Runchat.Benchmarks;

/// <summary>
/// CPU of every process of the PostgreSQL cluster: the pids in <c>pg_stat_activity</c> (client backends
/// and background processes) and the postmaster, sampled every 100 ms so that a process that ends
/// between two marks still counts up to its last sample. The sampler's own backend is left out.
/// </summary>
internal sealed class PostgresCpu : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<int, double> _last = new();
    private readonly object _lock = new();
    private Task _sampling = Task.CompletedTask;
    private int _ownPid;

    private PostgresCpu(NpgsqlConnection connection) => _connection = connection;

    public static async Task<PostgresCpu> StartAsync(string server)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { ApplicationName = "runchat-bench-cpu" }.ConnectionString);
        await connection.OpenAsync();
        var cpu = new PostgresCpu(connection);
        cpu._ownPid = connection.ProcessID;
        await cpu.SampleAsync();
        cpu._sampling = cpu.LoopAsync();
        return cpu;
    }

    public static async Task<bool> StatementsAvailableAsync(string server)
    {
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SHOW shared_preload_libraries;", connection);
        return ((string)(await command.ExecuteScalarAsync())!).Contains("pg_stat_statements", StringComparison.Ordinal);
    }

    /// <summary>Every process's CPU so far (ms), as of the latest sample, after taking one now.</summary>
    public IReadOnlyDictionary<int, double> Mark()
    {
        SampleAsync().GetAwaiter().GetResult();
        lock (_lock) return new Dictionary<int, double>(_last);
    }

    /// <summary>CPU used since <paramref name="mark"/>, counting processes started since at their whole time.</summary>
    public TimeSpan Since(IReadOnlyDictionary<int, double> mark)
    {
        SampleAsync().GetAwaiter().GetResult();
        lock (_lock) return TimeSpan.FromMilliseconds(_last.Sum(p => p.Value - mark.GetValueOrDefault(p.Key)));
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(100, _stop.Token);
                await SampleAsync();
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private readonly SemaphoreSlim _sample = new(1, 1);

    private async Task SampleAsync()
    {
        await _sample.WaitAsync();
        try
        {
            var pids = new List<int>();
            await using (var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL;", _connection))
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync()) pids.Add(reader.GetInt32(0));
            }

            if (pids.Count > 0 && ParentOf(pids[0]) is { } postmaster)
            {
                pids.Add(postmaster);
            }

            lock (_lock)
            {
                foreach (var pid in pids.Where(p => p != _ownPid))
                {
                    if (CpuMilliseconds(pid) is { } ms)
                    {
                        _last[pid] = Math.Max(ms, _last.GetValueOrDefault(pid));
                    }
                }
            }
        }
        finally
        {
            _sample.Release();
        }
    }

    /// <summary>se.sum_exec_runtime from /proc/PID/sched (ms, ns precision; PostgreSQL's processes have one thread).</summary>
    private static double? CpuMilliseconds(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/sched"))
            {
                if (line.StartsWith("se.sum_exec_runtime", StringComparison.Ordinal))
                {
                    return double.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal));
            return line is null ? null : int.Parse(line["PPid:".Length..].Trim(), CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _sampling;
        await _connection.DisposeAsync();
    }
}
