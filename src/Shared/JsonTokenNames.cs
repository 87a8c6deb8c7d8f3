using System.Text.Json;

// Source shared at compile time (src/Shared/), never across assemblies at run time: each assembly
// that needs it compiles its own copy, in its own namespace, so a release of one package cannot
// break an installed other (no InternalsVisibleTo between shipped packages).
#if RUNCHAT_RELAY
namespace Runchat.Relay.Internal;
#elif RUNCHAT_CLI
namespace Runchat.Cli.Internal;
#else
namespace Runchat.Internal;
#endif

/// <summary>What a JSON value is, in words for an error: "an array", "a string", …</summary>
internal static class JsonTokenNames
{
    public static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "not JSON",
    };
}
