using System;
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

namespace Runchat.Cli.Sandbox;

/// <summary>A local stand-in of the Runchat API: a real HTTP server (Kestrel) on loopback.</summary>
public sealed class SandboxServer : IAsyncDisposable
{
    public const string ApiPrefix = "/api/v1/job/";

    private readonly WebApplication _app;

    private SandboxServer(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The API root to give the client, e.g. <c>http://127.0.0.1:5123/api/v1/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Starts the sandbox on 127.0.0.1; port 0 picks a free one.</summary>
    public static async Task<SandboxServer> StartAsync(int port = 0, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // The command line owns SIGINT/SIGTERM: ASP.NET Core's ConsoleLifetime would take them
        // and stop an application nobody awaits, leaving the process running.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SandboxServer(app, new Uri(address.TrimEnd('/') + "/api/v1/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task HandleAsync(HttpContext context)
    {
        // The raw target keeps %2F inside the job id as sent.
        var rawPath = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = rawPath.IndexOf('?');
        if (query >= 0)
        {
            rawPath = rawPath.Substring(0, query);
        }

        if (!rawPath.StartsWith(ApiPrefix, StringComparison.Ordinal) || rawPath.Length == ApiPrefix.Length || rawPath.IndexOf('/', ApiPrefix.Length) >= 0)
        {
            await WriteAsync(context, 404, "{\"error\":\"Not found. The sandbox serves POST /api/v1/job/{runchat_job_id}.\"}"u8.ToArray()).ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await WriteAsync(context, 405, "{\"error\":\"The sandbox serves POST only.\"}"u8.ToArray()).ConfigureAwait(false);
            return;
        }

        var jobId = Uri.UnescapeDataString(rawPath.Substring(ApiPrefix.Length));
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);

        var reply = SandboxAgent.Handle(jobId, context.Request.Headers.Authorization.FirstOrDefault(), body.GetBuffer().AsSpan(0, (int)body.Length));
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

    private static Task WriteAsync(HttpContext context, int status, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, 0, body.Length, context.RequestAborted);
    }
}

/// <summary>A host lifetime that leaves process signals to the command line hosting the server.</summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
