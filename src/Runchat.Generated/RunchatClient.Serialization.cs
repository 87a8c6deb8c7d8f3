using Newtonsoft.Json;

namespace Runchat;

// Handwritten: the serializer settings of the generated client (NSwag's UpdateJsonSerializerSettings hook).
public partial class RunchatClient
{
    static partial void UpdateJsonSerializerSettings(JsonSerializerSettings settings)
    {
        // Transcript messages are free-form objects kept as JObject (AgentMessage.Raw is "the
        // message as received"): Newtonsoft's default would turn every date-like string in them
        // into a DateTime and re-format it. Skipping that detection is also faster on big transcripts.
        settings.DateParseHandling = DateParseHandling.None;
    }
}
