using Newtonsoft.Json;

namespace Runchat.Tests.TestSupport;

/// <summary>Response bodies shaped like the spec's AgentJobResponse.</summary>
public static class ResponseBodies
{
    public static string Success(string reply = "Done.", string jobId = "job-1") => JsonConvert.SerializeObject(new
    {
        metadata = "{\"input_tokens\":12,\"output_tokens\":34,\"credits\":0.10}",
        messages = new object[]
        {
            new { role = "system", content = "You are the support digest agent." },
            new { role = "user", content = "Summarize today's tickets." },
            new { role = "assistant", content = reply },
        },
        job_id = jobId,
        runchat_id = "rc-9",
        status = "success",
    });
}
