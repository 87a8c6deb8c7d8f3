using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Encodings.Web;
using System.Threading.Tasks;
using Fluid;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.FileProviders;

namespace Runchat.Relay;

/// <summary>
/// The dashboard's pages: Liquid templates (<c>Dashboard/Pages/*.liquid</c>, embedded) rendered by Fluid with an HTML
/// encoder, so every value is encoded unless a template says <c>| raw</c> (only the layout does, for the page it wraps).
/// Parsed once; a template that does not parse fails the first request with the file's name.
/// </summary>
internal sealed class DashboardTemplates
{
    private const string Namespace = "Runchat.Relay.Dashboard.Pages";

    private static readonly Lazy<DashboardTemplates> Shared = new(static () => new DashboardTemplates());

    private readonly FluidParser _parser = new();
    private readonly TemplateOptions _options = new();
    private readonly Dictionary<string, IFluidTemplate> _templates = new(StringComparer.Ordinal);

    private DashboardTemplates()
    {
        var files = new EmbeddedFileProvider(typeof(DashboardTemplates).Assembly, Namespace);
        _options.FileProvider = files;
        _options.MemberAccessStrategy.MemberNameStrategy = MemberNameStrategies.SnakeCase;
        foreach (var type in DashboardModels.Types)
        {
            _options.MemberAccessStrategy.Register(type);
        }

        foreach (var name in new[] { "layout", "overview", "deliveries", "delivery", "message", "schedules", "routes", "instances", "ignored", "replay-many" })
        {
            using var reader = new StreamReader(files.GetFileInfo(name + ".liquid").CreateReadStream());
            _templates[name] = _parser.TryParse(reader.ReadToEnd(), out var template, out var error)
                ? template
                : throw new InvalidOperationException($"Dashboard/Pages/{name}.liquid does not parse: {error}");
        }
    }

    public static DashboardTemplates Instance => Shared.Value;

    /// <summary>Renders <paramref name="page"/> over <paramref name="model"/> inside the layout, as the response.</summary>
    public async Task WriteAsync(HttpContext context, string root, string page, string title, object model, int status = StatusCodes.Status200OK)
    {
        var body = await RenderAsync(page, root, model).ConfigureAwait(false);
        var html = await RenderAsync("layout", root, new DashboardLayout(title, body)).ConfigureAwait(false);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(html, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A page of one sentence, such as a refusal.</summary>
    public Task WriteMessageAsync(HttpContext context, string root, string title, string message, int status) =>
        WriteAsync(context, root, "message", title, new DashboardMessage(message), status);

    private async Task<string> RenderAsync(string name, string root, object model)
    {
        var context = new TemplateContext(model, _options);
        context.SetValue("root", root);
        using var writer = new StringWriter();
        await _templates[name].RenderAsync(writer, HtmlEncoder.Default, context).ConfigureAwait(false);
        return writer.ToString();
    }
}
