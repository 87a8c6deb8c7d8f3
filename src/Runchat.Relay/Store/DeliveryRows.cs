using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>How the store reads a delivery row: the same columns, the same mapping, on every database.</summary>
internal static class DeliveryRows
{
    /// <summary>The columns <see cref="Read"/> expects, in order.</summary>
    public const string Columns = "id, route, job_id, dedupe_key, state, attempts, received_at, updated_at, next_attempt_at, last_error, run_status, final_reply, length(body), sender_id, replayed_at, event_name, flow_id, message, reply_state, reply_url, reply_error, source";

    public static RelayDelivery Read(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Route = reader.GetString(1),
        JobId = reader.IsDBNull(16) ? reader.GetString(2) : null,
        DedupeKey = reader.GetString(3),
        State = DeliveryStates.Parse(reader.GetString(4)),
        Attempts = reader.GetInt32(5),
        ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
        UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
        NextAttemptAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
        LastError = reader.IsDBNull(9) ? null : reader.GetString(9),
        Status = reader.IsDBNull(10) ? null : reader.GetString(10),
        FinalReply = reader.IsDBNull(11) ? null : reader.GetString(11),
        BodyBytes = reader.GetInt32(12),
        SenderId = reader.IsDBNull(13) ? null : reader.GetString(13),
        ReplayedAt = reader.IsDBNull(14) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(14)),
        Event = reader.IsDBNull(15) ? null : reader.GetString(15),
        FlowId = reader.IsDBNull(16) ? null : reader.GetString(16),
        Message = reader.IsDBNull(17) ? null : reader.GetString(17),
        ReplyState = reader.IsDBNull(18) ? null : ReplyStates.Parse(reader.GetString(18)),
        ReplyUrl = reader.IsDBNull(19) ? null : reader.GetString(19),
        ReplyError = reader.IsDBNull(20) ? null : reader.GetString(20),
        Source = reader.IsDBNull(21) ? null : reader.GetString(21),
    };

    /// <summary>A claimed reply (<see cref="ReplyTransitions.ClaimedColumns"/>).</summary>
    public static ClaimedReply ReadClaimedReply(DbDataReader reader)
    {
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        var flowId = Text(3);
        return new ClaimedReply(reader.GetString(0), reader.GetString(1), flowId is null ? reader.GetString(2) : null, flowId, (byte[])reader.GetValue(4), Text(5),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)), DeliveryStates.Parse(reader.GetString(9)),
            new RunResult(Text(10), Text(11), Text(12)) { Credits = Text(13), RunchatId = Text(14) }, reader.GetInt32(15));
    }

    /// <summary>The columns <see cref="ReadClaimed"/> expects, in order: what a claim returns.</summary>
    public const string ClaimedColumns = "id, route, job_id, body, attempts, trace_parent, sender_trace, next_attempt_at, received_at, event_name, dedupe_key, sender_id, flow_id";

    /// <summary>A claimed row (<see cref="ClaimedColumns"/>).</summary>
    public static ClaimedDelivery ReadClaimed(DbDataReader reader)
    {
        var dedupeKey = reader.GetString(10);
        var senderId = reader.IsDBNull(11) ? null : reader.GetString(11);
        return new ClaimedDelivery(reader.GetString(0), reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3), reader.GetInt32(4),
            reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6))
        {
            ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
            Event = reader.IsDBNull(9) ? null : reader.GetString(9),
            FlowId = reader.IsDBNull(12) ? null : reader.GetString(12),
            // A signed id ("id:evt_…", "id:msg_…") names the event; else the sender's unsigned label does.
            EventId = dedupeKey.StartsWith("id:", StringComparison.Ordinal) ? dedupeKey.Substring(3) : senderId,
        };
    }

    /// <summary>
    /// A delivery replayed less than this long ago is not replayed again: two replay commands issued
    /// together (two operators, a double click) are one replay, even when the first one's run has
    /// already finished by the time the second reads the delivery.
    /// </summary>
    public static readonly TimeSpan ReplayWindow = TimeSpan.FromSeconds(10);

    /// <summary>Every row of <paramref name="command"/>'s result, read with <see cref="Read"/>.</summary>
    public static async Task<IReadOnlyList<RelayDelivery>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<RelayDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(Read(reader));
        }

        return list;
    }

    /// <summary>What a replay returns: the delivery (null when there is none), or why it could not be replayed.</summary>
    /// <param name="seen">The delivery as the operator saw it.</param>
    /// <param name="changed">How many rows the replay's UPDATE changed.</param>
    /// <param name="delivery">The delivery as it stands after the UPDATE.</param>
    /// <param name="now">The replay's time.</param>
    /// <exception cref="InvalidOperationException">It exists but is <c>pending</c> or <c>sending</c>, was replayed within <see cref="ReplayWindow"/>, or changed since it was seen.</exception>
    public static RelayDelivery? Replayed(RelayDelivery seen, int changed, RelayDelivery? delivery, DateTimeOffset now)
    {
        if (delivery is null || changed > 0)
        {
            return delivery;
        }

        if (delivery.State is RelayDeliveryState.Pending or RelayDeliveryState.Sending)
        {
            throw new InvalidOperationException($"Delivery {seen.Id} is {DeliveryStates.Name(delivery.State)}: only a succeeded, failed, unknown or ignored delivery can be replayed.");
        }

        if (delivery.ReplayedAt is { } replayedAt && now - replayedAt < ReplayWindow)
        {
            throw new InvalidOperationException(
                $"Delivery {seen.Id} was replayed at {replayedAt.UtcDateTime:HH:mm:ss} UTC, less than {ReplayWindow.TotalSeconds:0} s ago (by another replay?): nothing was replayed now. " +
                $"It is {DeliveryStates.Name(delivery.State)}; to run it once more, replay it again after {ReplayWindow.TotalSeconds:0} s.");
        }

        throw new InvalidOperationException(
            $"Delivery {seen.Id} changed since it was read (it was {DeliveryStates.Name(seen.State)} after {seen.Attempts} attempt(s); it is now {DeliveryStates.Name(delivery.State)} after {delivery.Attempts}): " +
            "another replay or a run got there first. Nothing was replayed; look at it again and decide.");
    }

    /// <summary>Adds a parameter through the provider-neutral API.</summary>
    public static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
