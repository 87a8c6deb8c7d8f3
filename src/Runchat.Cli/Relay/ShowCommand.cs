using System;
using System.CommandLine;
using System.Text.Json;
using Runchat.Relay;

namespace Runchat.Cli.Relay;

/// <summary><c>relay show</c>: one delivery, every field, as text or JSON.</summary>
internal static class ShowCommand
{
    public static Command Build(CliConsole console)
    {
        var config = RelayCommands.ConfigOption();
        var id = new Argument<string>("deliveryId") { Description = "The delivery id the relay answered the sender with." };
        var json = new Option<bool>("--json") { Description = "Print the delivery as JSON." };
        var command = new Command("show", "Show one delivery.") { config, id, json };
        command.SetAction((result, cancellationToken) => RelayCommands.Guard(console, async () =>
        {
            await using var relay = RelayCommands.Open(result.GetValue(config)!, storeMustExist: true);
            var delivery = await relay.Relay.GetAsync(result.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            if (delivery is null)
            {
                await console.Error.WriteLineAsync($"error: there is no delivery {result.GetValue(id)}.").ConfigureAwait(false);
                return ExitCodes.RunOrApiError;
            }

            await console.Out.WriteLineAsync(result.GetValue(json) ? JsonSerializer.Serialize(delivery, RelayJson.Options) : Describe(delivery)).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string Describe(RelayDelivery d) => string.Join(Environment.NewLine, new[]
    {
        $"id:          {d.Id}",
        $"route:       {d.Route}",
        d.FlowId is null ? $"job_id:      {d.JobId}" : $"flow_id:     {d.FlowId}",
        $"event:       {d.Event ?? "-"}",
        $"sender_id:   {d.SenderId ?? "-"}",
        $"source:      {d.Source ?? "webhook"}",
        $"dedupe_key:  {d.DedupeKey}",
        $"state:       {DeliveryStates.Name(d.State)}",
        $"attempts:    {d.Attempts}",
        $"received_at: {d.ReceivedAt:O}",
        $"updated_at:  {d.UpdatedAt:O}",
        $"body_bytes:  {d.BodyBytes}",
        $"status:      {d.Status ?? "-"}",
        $"message:     {d.Message ?? (d.Attempts > 0 ? "(the payload, whole)" : "-")}",
        $"final_reply: {d.FinalReply ?? "-"}",
        $"last_error:  {d.LastError ?? "-"}",
        $"reply_state: {(d.ReplyState is { } reply ? ReplyStates.Name(reply) : "-")}",
        $"reply_url:   {d.ReplyUrl ?? "-"}",
        $"reply_error: {d.ReplyError ?? "-"}",
    });
}
