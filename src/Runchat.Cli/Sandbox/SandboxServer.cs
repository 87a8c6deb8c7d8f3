using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Runchat.Cli.Internal;

namespace Runchat.Cli.Sandbox;

/// <summary>A local stand-in of the Runchat API: a real HTTP server (Kestrel) on loopback.</summary>
public sealed class SandboxServer : IAsyncDisposable
{
    public const string ApiPrefix = "/api/v1/job/";

    /// <summary>Where the sandbox lists every trigger it received: <c>GET /_sandbox/requests</c>.</summary>
    public const string RequestsPath = "/_sandbox/requests";

    /// <summary>How many triggers are being answered now, and the most at once: <c>GET /_sandbox/stats</c>.</summary>
    public const string StatsPath = "/_sandbox/stats";

    /// <summary>The largest request body the sandbox accepts (Kestrel's default, 30,000,000 bytes); a larger one is answered 413, saying so.</summary>
    public const int MaxRequestBytes = 30_000_000;

    private readonly ConcurrentQueue<SandboxRequest> _requests = new();
    private WebApplication _app = null!;
    private int _inFlight;
    private int _maxInFlight;

    private SandboxServer()
    {
    }

    /// <summary>The API root to give the client, e.g. <c>http://127.0.0.1:5123/api/v1/</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Every trigger received so far, in order of arrival (recorded before the agent's answer).</summary>
    public IReadOnlyList<SandboxRequest> Requests => _requests.ToArray();

    /// <summary>The most triggers that were being answered at the same moment.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Starts the sandbox on 127.0.0.1; port 0 picks a free one.</summary>
    public static async Task<SandboxServer> StartAsync(int port = 0, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = HostArgs.NoConfigReload });
        builder.Logging.ClearProviders();
        // The command line owns SIGINT/SIGTERM: ASP.NET Core's ConsoleLifetime would take them
        // and stop an application nobody awaits, leaving the process running.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var server = new SandboxServer { _app = app };
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/api/v1/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (await TryServeOwnPathsAsync(context).ConfigureAwait(false))
        {
            return;
        }

        // The flows: GET /job/{id}, POST /{runchat_id}, GET /{runchat_id}/schema.
        var route = SandboxRoute.Of(RawPath(context), context.Request.Method);
        if (route.Kind == SandboxRoute.Kinds.NotFound)
        {
            await WriteAsync(context, 404, "{\"error\":\"Not found. The sandbox serves POST and GET /api/v1/job/{runchat_job_id}, POST /api/v1/{runchat_id} and GET /api/v1/{runchat_id}/schema.\"}"u8.ToArray()).ConfigureAwait(false);
            return;
        }

        if (route.Kind == SandboxRoute.Kinds.WrongMethod)
        {
            await WriteAsync(context, 405, "{\"error\":\"The sandbox does not serve this method on this path.\"}"u8.ToArray()).ConfigureAwait(false);
            return;
        }

        // The limit is the sandbox's own, enforced after reading the whole body: a server that answers
        // early and closes makes the client's upload fail with a broken pipe, which reads as a network
        // failure instead of "too large".
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = null;
        }

        var (buffer, length, received) = await BoundedRead.ReadAsync(context.Request.Body, context.Request.ContentLength, trustExpectedLength: false, MaxRequestBytes, countPastLimit: true, context.RequestAborted).ConfigureAwait(false);
        if (received > MaxRequestBytes)
        {
            await WriteAsync(context, 413, Encoding.UTF8.GetBytes($"{{\"error\":\"The sandbox accepts request bodies up to {MaxRequestBytes} bytes; this one is {received} bytes.\"}}")).ConfigureAwait(false);
            return;
        }

        var bytes = buffer.AsMemory(0, length);
        _requests.Enqueue(new SandboxRequest(route.Id, context.Request.Method, Convert.ToHexString(SHA256.HashData(bytes.Span)).ToLowerInvariant(), bytes.Length, DateTimeOffset.UtcNow));
        await AnswerAsync(context, route, bytes).ConfigureAwait(false);
    }

    /// <summary>The sandbox's own inspection paths: the triggers it received, and how many ran at once.</summary>
    private async Task<bool> TryServeOwnPathsAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method) || (context.Request.Path != RequestsPath && context.Request.Path != StatsPath))
        {
            return false;
        }

        object answer = context.Request.Path == RequestsPath
            ? Requests
            : new { requests = _requests.Count, in_flight = Volatile.Read(ref _inFlight), max_in_flight = MaxInFlight };
        await WriteAsync(context, 200, JsonSerializer.SerializeToUtf8Bytes(answer, SandboxJson.Options)).ConfigureAwait(false);
        return true;
    }

    /// <summary>The raw target keeps %2F inside the job id as sent; without its query.</summary>
    private static string RawPath(HttpContext context)
    {
        var rawPath = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = rawPath.IndexOf('?');
        return query >= 0 ? rawPath.Substring(0, query) : rawPath;
    }

    /// <summary>Runs the request as the API would (counted in flight while it runs), after the run's delay unless the caller leaves.</summary>
    private async Task AnswerAsync(HttpContext context, SandboxRoute route, ReadOnlyMemory<byte> bytes)
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            for (var max = Volatile.Read(ref _maxInFlight); inFlight > max; max = Volatile.Read(ref _maxInFlight))
            {
                Interlocked.CompareExchange(ref _maxInFlight, inFlight, max);
            }

            var jobId = route.Id;
            var authorization = context.Request.Headers.Authorization.FirstOrDefault();
            var reply = route.Kind switch
            {
                _ when authorization is null || !authorization.StartsWith("Bearer ", StringComparison.Ordinal) || authorization.Length <= "Bearer ".Length
                    => SandboxAgent.Handle(jobId, authorization, bytes.Span),
                SandboxRoute.Kinds.TriggerJob when SandboxFlows.IsFlowJob(jobId) => SandboxFlows.TriggerJob(jobId),
                SandboxRoute.Kinds.TriggerJob => SandboxAgent.Handle(jobId, authorization, ReadOnlySpan<byte>.Empty),
                SandboxRoute.Kinds.RunFlow => SandboxFlows.Run(jobId, bytes.Span),
                SandboxRoute.Kinds.FlowSchema => SandboxFlows.Schema(jobId),
                _ => SandboxAgent.Handle(jobId, authorization, bytes.Span),
            };
            if (reply.Delay > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(reply.Delay, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            await WriteAsync(context, reply.Status, reply.Body).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static Task WriteAsync(HttpContext context, int status, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, 0, body.Length, context.RequestAborted);
    }
}

/// <summary>One trigger the sandbox received, as <c>GET /_sandbox/requests</c> lists it.</summary>
public sealed record SandboxRequest(
    [property: JsonPropertyName("job_id")] string JobId,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("body_sha256")] string BodySha256,
    [property: JsonPropertyName("bytes")] int Bytes,
    [property: JsonPropertyName("received_at")] DateTimeOffset ReceivedAt);

internal static class SandboxJson
{
    public static readonly JsonSerializerOptions Options = Create();

    // Read-only from the start, so concurrent first uses do not race to fill in a resolver.
    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };
        options.MakeReadOnly();
        return options;
    }
}

/// <summary>A host lifetime that leaves process signals to the command line hosting the server.</summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Which sandbox endpoint a request is for.</summary>
internal readonly record struct SandboxRoute(SandboxRoute.Kinds Kind, string Id)
{
    internal enum Kinds
    {
        NotFound,
        WrongMethod,
        AgentJob,
        TriggerJob,
        RunFlow,
        FlowSchema,
    }

    /// <param name="rawPath">The path as sent (%2F inside an id kept).</param>
    /// <param name="method">The request's method.</param>
    public static SandboxRoute Of(string rawPath, string method)
    {
        const string Api = "/api/v1/";
        if (!rawPath.StartsWith(Api, StringComparison.Ordinal))
        {
            return new(Kinds.NotFound, string.Empty);
        }

        var segments = rawPath.Substring(Api.Length).Split('/');
        if (segments.Length == 2 && segments[0] == "job" && segments[1].Length > 0)
        {
            var jobId = Uri.UnescapeDataString(segments[1]);
            return HttpMethods.IsPost(method) ? new(Kinds.AgentJob, jobId) : HttpMethods.IsGet(method) ? new(Kinds.TriggerJob, jobId) : new(Kinds.WrongMethod, jobId);
        }

        if (segments.Length == 1 && segments[0].Length > 0)
        {
            return HttpMethods.IsPost(method) ? new(Kinds.RunFlow, Uri.UnescapeDataString(segments[0])) : new(Kinds.WrongMethod, string.Empty);
        }

        if (segments.Length == 2 && segments[0].Length > 0 && segments[1] == "schema")
        {
            return HttpMethods.IsGet(method) ? new(Kinds.FlowSchema, Uri.UnescapeDataString(segments[0])) : new(Kinds.WrongMethod, string.Empty);
        }

        return new(Kinds.NotFound, string.Empty);
    }
}
