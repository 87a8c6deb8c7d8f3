using System;
using System.Collections.Generic;
using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Runchat;

// Handwritten: reading a finished run without knowing the transcript's JSON shapes.
public partial class AgentJobResponse
{
    /// <summary>True when <see cref="Status"/> is <see cref="AgentJobResponseStatus.Success"/>. False for <c>error</c>, a missing status or one this version does not know.</summary>
    [JsonIgnore]
    public bool IsSuccess => Status == AgentJobResponseStatus.Success;

    /// <summary>Returns this response when the run succeeded, and throws otherwise.</summary>
    /// <returns>This response.</returns>
    /// <exception cref="RunchatAgentRunException">The run finished with <c>status: error</c> (or without a success status); it carries <see cref="Error"/>.</exception>
    public AgentJobResponse EnsureSuccess() => IsSuccess ? this : throw new RunchatAgentRunException(this);

    /// <summary>
    /// Parses <see cref="Metadata"/>, which the API sends as stringified JSON (token counts, credits...).
    /// Numbers and dates are kept as written: integers as longs, decimals with their trailing zeros,
    /// and numbers neither can hold exactly (a 30-digit integer, <c>1e29</c>, <c>1e-30</c>) as their raw
    /// text (<see cref="JRaw"/>; <c>ToString()</c> gives the text, <c>Value&lt;double&gt;(key)</c> a double). Never throws.
    /// </summary>
    /// <returns>The metadata object, or null when it is absent or not a JSON object.</returns>
    public JObject? GetMetadata() => string.IsNullOrWhiteSpace(Metadata) ? null : Internal.ExactJson.ParseObject(Metadata!);

    /// <summary>
    /// <see cref="Messages"/> as typed views, in order: the saved template, any appended user
    /// message, and the agent's responses. Entries may be <see cref="JObject"/>s (as received), System.Text.Json
    /// <c>JsonElement</c>s, dictionaries or anonymous objects (as tests build them); entries that are not
    /// JSON objects are skipped. Never null.
    /// </summary>
    [JsonIgnore]
    public IReadOnlyList<AgentMessage> Transcript
    {
        get
        {
            var messages = Messages;
            if (messages is null || messages.Count == 0)
            {
                return Array.Empty<AgentMessage>();
            }

            var transcript = new List<AgentMessage>(messages.Count);
            foreach (var item in messages)
            {
                if (AgentMessage.AsObject(item) is { } message)
                {
                    transcript.Add(new AgentMessage(message));
                }
            }

            return transcript;
        }
    }

    /// <summary>The text of the last <c>assistant</c> message that has text, or null when there is none.</summary>
    [JsonIgnore]
    public string? FinalReply
    {
        get
        {
            if (Messages is not IList<object> messages)
            {
                return FinalReplyOf(Transcript);
            }

            // Walks back from the end: a long transcript is not materialized to find its last reply.
            for (var i = messages.Count - 1; i >= 0; i--)
            {
                if (AgentMessage.AsObject(messages[i]) is { } raw && AgentMessage.IsAssistant(raw) && AgentMessage.ExtractText(raw) is { Length: > 0 } text)
                {
                    return text;
                }
            }

            return null;
        }
    }

    private static string? FinalReplyOf(IReadOnlyList<AgentMessage> transcript)
    {
        for (var i = transcript.Count - 1; i >= 0; i--)
        {
            if (transcript[i].Role == "assistant" && !string.IsNullOrEmpty(transcript[i].Text))
            {
                return transcript[i].Text;
            }
        }

        return null;
    }
}
