using System;
using System.IO;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using Newtonsoft.Json;

namespace Runchat.Internal;

/// <summary>
/// The wire format of the three trigger modes. Every body the handwritten layer sends is built here.
/// </summary>
/// <remarks>
/// no body → an empty content (Content-Length 0, no Content-Type): the server runs the template as-is.
/// It is an empty content, not a null one: SocketsHttpHandler re-sends a request without content by
/// itself when a reused keep-alive connection closes before the answer's first byte, even after the
/// server read it whole, and that would run the agent twice. Once a content has been sent, it does not.
/// explicit message → exactly <c>{"message":"&lt;text&gt;"}</c>.
/// raw payload → the payload's own bytes; or, when it has a top-level <c>message</c> key (which the
/// server would take as the whole message, dropping the rest), <c>{"message":"&lt;payload text&gt;"}</c>.
/// </remarks>
internal static class JobRequestBody
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static HttpContent None() => new ByteArrayContent(Array.Empty<byte>());

    public static HttpContent ForMessage(string message)
    {
        // JsonConvert.ToString quotes and escapes exactly as JsonTextWriter does (the default
        // StringEscapeHandling); one string and one array, instead of a stream and two writers.
        var bytes = Utf8.GetBytes("{\"message\":" + JsonConvert.ToString(message) + "}");
        return Json(bytes, 0, bytes.Length);
    }

    public static HttpContent ForPayload(JobPayload payload)
    {
        if (payload.HasTopLevelMessageKey)
        {
            return ForMessage(payload.ToString());
        }

        var bytes = payload.Utf8Bytes;
        return Json(bytes.Array!, bytes.Offset, bytes.Count);
    }

    /// <summary>A flow's body: these exact bytes (a flow's Webhook node takes the body whole, a top-level <c>message</c> key included).</summary>
    public static HttpContent ForBytes(JobPayload payload)
    {
        var bytes = payload.Utf8Bytes;
        return Json(bytes.Array!, bytes.Offset, bytes.Count);
    }

    /// <summary>A JSON body the library built (a flow's <c>{"inputs": …}</c>).</summary>
    public static HttpContent ForBytes(byte[] json) => Json(json, 0, json.Length);

    /// <summary>Gives a JSON body the charset the contract promises, whoever built it.</summary>
    public static void SetJsonContentType(HttpContent content) =>
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };

    private static HttpContent Json(byte[] buffer, int offset, int count)
    {
        var content = new ByteArrayContent(buffer, offset, count);
        SetJsonContentType(content);
        return content;
    }
}
