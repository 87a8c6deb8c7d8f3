using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Runchat.Internal;

namespace Runchat.Benchmarks;

/// <summary>A server in memory: reads the whole request body, as a socket would, and answers canned bytes.</summary>
public sealed class InMemoryAgentHandler : HttpMessageHandler
{
    private readonly byte[] _response;

    public InMemoryAgentHandler(byte[] response) => _response = response;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is not null)
        {
            await request.Content.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        }

        var content = new ByteArrayContent(_response);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = content, RequestMessage = request };
    }
}

public static class Clients
{
    public const string ApiKey = "rk_bench_0123456789abcdef0123456789";
    public static readonly Uri BaseUrl = new("https://runchat.example/api/v1/");

    /// <summary>The library exactly as AddRunchatClient builds it, with the primary handler swapped for <paramref name="transport"/>.</summary>
    public static (RunchatClient Client, IDisposable Owner) Library(HttpMessageHandler transport, Uri? baseUrl = null)
    {
        var services = new ServiceCollection();
        services.AddRunchatClient(o => { o.ApiKey = ApiKey; o.BaseUrl = baseUrl ?? BaseUrl; })
            .ConfigurePrimaryHttpMessageHandler(() => transport);
        var provider = services.BuildServiceProvider();
        return ((RunchatClient)provider.GetRequiredService<IRunchatClient>(), provider);
    }

    public static HandWrittenClient HandWritten(HttpMessageHandler transport, Uri? baseUrl = null) =>
        new(new HttpClient(transport) { BaseAddress = baseUrl ?? BaseUrl, Timeout = System.Threading.Timeout.InfiniteTimeSpan }, ApiKey);
}

/// <summary>
/// The baseline: what a careful engineer writes by hand with HttpClient and Newtonsoft.Json:
/// the same validation, headers, streaming deserialization and final-reply lookup.
/// </summary>
public sealed class HandWrittenClient
{
    private static readonly Newtonsoft.Json.JsonSerializer Serializer = Newtonsoft.Json.JsonSerializer.CreateDefault();
    private static readonly UTF8Encoding Utf8 = new(false, true);
    private readonly HttpClient _http;
    private readonly AuthenticationHeaderValue _authorization;

    public HandWrittenClient(HttpClient http, string apiKey)
    {
        _http = http;
        _authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public Task<string?> TriggerAsync(string jobId, string message, CancellationToken cancellationToken = default)
    {
        ValidateJobId(jobId);
        if (string.IsNullOrWhiteSpace(message)) throw new ArgumentException("blank message", nameof(message));
        var content = new StringContent(JsonConvert.SerializeObject(new { message }), Encoding.UTF8, "application/json");
        return SendAsync(jobId, content, cancellationToken);
    }

    public Task<string?> ForwardAsync(string jobId, byte[] payload, int length, CancellationToken cancellationToken = default)
    {
        ValidateJobId(jobId);
        Utf8.GetCharCount(payload, 0, length);
        var reader = new System.Text.Json.Utf8JsonReader(payload.AsSpan(0, length));
        if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject) throw new ArgumentException("not an object");
        while (reader.Read()) { }
        var content = new ByteArrayContent(payload, 0, length);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return SendAsync(jobId, content, cancellationToken);
    }

    public async Task<string?> ForwardAsync(string jobId, Stream payload, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await payload.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return await ForwardAsync(jobId, buffer.GetBuffer(), (int)buffer.Length, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string?> SendAsync(string jobId, HttpContent content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "job/" + Uri.EscapeDataString(jobId)) { Content = content };
        request.Headers.Authorization = _authorization;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("HandWritten", "1.0"));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException("status " + (int)response.StatusCode);
        }

        using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new JsonTextReader(new StreamReader(stream));
        var body = Serializer.Deserialize<HandWrittenResponse>(reader) ?? throw new InvalidDataException("empty");
        for (var i = (body.Messages?.Count ?? 0) - 1; i >= 0; i--)
        {
            var m = body.Messages![i];
            if ((string?)m["role"] == "assistant" && m["content"] is JValue { Type: JTokenType.String } text && ((string?)text)?.Length > 0)
            {
                return (string?)text;
            }
        }

        return null;
    }

    private static void ValidateJobId(string jobId)
    {
        if (string.IsNullOrWhiteSpace(jobId) || jobId is "." or ".." || jobId.Any(char.IsControl))
        {
            throw new ArgumentException("bad job id", nameof(jobId));
        }
    }

    private sealed class HandWrittenResponse
    {
        [JsonProperty("metadata")] public string? Metadata { get; set; }
        [JsonProperty("messages")] public List<JObject>? Messages { get; set; }
        [JsonProperty("job_id")] public string? JobId { get; set; }
        [JsonProperty("runchat_id")] public string? RunchatId { get; set; }
        [JsonProperty("status")] public string? Status { get; set; }
        [JsonProperty("error")] public string? Error { get; set; }
    }
}

public static class Payloads
{
    /// <summary>An agent response whose JSON is about <paramref name="targetBytes"/> long, in <paramref name="messages"/> messages.</summary>
    public static byte[] Response(int messages, int targetBytes)
    {
        var contentLength = Math.Max(10, targetBytes / messages - 40);
        var list = new JArray();
        for (var i = 0; i < messages; i++)
        {
            var role = i == 0 ? "system" : i % 2 == 1 ? "user" : "assistant";
            list.Add(new JObject { ["role"] = role, ["content"] = $"{i}: " + new string((char)('a' + i % 26), contentLength) });
        }

        list.Add(new JObject { ["role"] = "assistant", ["content"] = "The final reply." });
        var body = new JObject
        {
            ["metadata"] = "{\"input_tokens\":1200,\"output_tokens\":340,\"credits\":0.10}",
            ["messages"] = list,
            ["job_id"] = "bench-job",
            ["runchat_id"] = "rc-1",
            ["status"] = "success",
        };
        return Encoding.UTF8.GetBytes(body.ToString(Formatting.None));
    }

    /// <summary>A webhook-like JSON object of about <paramref name="bytes"/> bytes.</summary>
    public static byte[] Webhook(int bytes)
    {
        var builder = new StringBuilder("{\"event\":\"form.submitted\",\"items\":[");
        var i = 0;
        while (builder.Length < bytes - 100)
        {
            builder.Append(i == 0 ? "" : ",").Append("{\"id\":").Append(i).Append(",\"amount\":1.10,\"at\":\"2026-11-28T09:15:00+01:00\",\"note\":\"caf\\u00e9 \u00e9\"}");
            i++;
        }

        return Encoding.UTF8.GetBytes(builder.Append("]}").ToString());
    }
}

/// <summary>A stream that, like an ASP.NET Core request body, cannot seek or tell its length.</summary>
public sealed class ForwardOnlyStream : MemoryStream
{
    public ForwardOnlyStream(byte[] bytes) : base(bytes, writable: false) { }

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
}
