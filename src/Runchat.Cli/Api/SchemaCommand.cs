using System.CommandLine;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Cli.Api;

/// <summary><c>runchat-job schema &lt;runchatId&gt;</c>: a flow's inputs and outputs, as a table or as JSON; runs nothing.</summary>
internal static class SchemaCommand
{
    public static Command Build(CliConsole console)
    {
        var runchatId = new Argument<string>("runchatId") { Description = "The flow's id (the id in the editor's URL)." };
        var connection = new ApiConnection(string.Empty, "Print the whole response as JSON.", "Start a local sandbox of the Runchat API and run against it (offline, no key needed; flow demo-flow).");
        var command = new Command("schema", "Show a flow's inputs and outputs (labels, types, ids); runs nothing.") { runchatId };
        connection.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            var runner = new ApiRunner(console);
            var settings = connection.Read(result);
            var flowId = result.GetValue(runchatId)!;
            return runner.RunAsync(() => runner.WithClientAsync(settings, client => ShowAsync(runner, client, flowId, settings.Json, cancellationToken), cancellationToken), cancellationToken);
        });
        return command;
    }

    private static async Task<int> ShowAsync(ApiRunner runner, RunchatClient client, string flowId, bool json, CancellationToken cancellationToken)
    {
        var schema = await client.GetFlowSchemaAsync(flowId, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            await runner.WriteJsonAsync(schema).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        var table = new StringBuilder();
        table.AppendLine($"{schema.Name} ({flowId})");
        foreach (var (title, parameters) in new[] { ("inputs", schema.Inputs), ("outputs", schema.Outputs) })
        {
            table.AppendLine(title + ":");
            if (parameters.Count == 0)
            {
                table.AppendLine("  (none)");
            }

            var labelWidth = parameters.Select(p => (p.Label ?? string.Empty).Length).DefaultIfEmpty(0).Max();
            var typeWidth = parameters.Select(p => (p.Type ?? string.Empty).Length).DefaultIfEmpty(0).Max();
            foreach (var parameter in parameters)
            {
                table.AppendLine($"  {(parameter.Label ?? string.Empty).PadRight(labelWidth)}  {(parameter.Type ?? string.Empty).PadRight(typeWidth)}  {parameter.Id}{(string.IsNullOrWhiteSpace(parameter.Description) ? string.Empty : "  " + parameter.Description)}");
            }
        }

        await runner.Console.Out.WriteAsync(table.ToString()).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
