namespace Runchat.Tests.TestSupport;

/// <summary>Request bodies more than one test project sends.</summary>
public static class TestPayloads
{
    /// <summary>Everything a re-serializing client would damage: dates, 1.10, 1e3, big integers, escapes, order, spacing.</summary>
    public const string FragileWebhook =
        "{ \"event\" : \"form.submitted\",\n" +
        "  \"created\": \"2026-11-28T09:15:00.000+01:00\", \"day\":\"2026-11-28\",\n" +
        "  \"amount\": 1.10, \"ratio\": 1e3, \"neg\": -0.0, \"id\": 123456789012345678901234567890,\n" +
        "  \"zeta\": 1, \"alpha\": 2,\n" +
        "  \"text\": \"caf\\u00e9 \\/ \\\"q\\\" \\n \u00e9\u00e8 \U0001F680\",\n" +
        "  \"fields\": {\"name\":\"Ada\",\"email\":\"ada@example.com\",\"message\":\"Hi, I'd like a demo.\"}\n" +
        "}\n";
}
