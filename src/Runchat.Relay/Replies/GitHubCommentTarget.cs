using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace Runchat.Relay;

/// <summary>
/// <c>github-comment</c>: a comment on the issue or pull request the payload names (<c>repository.full_name</c>, and
/// <c>issue.number</c> or <c>pull_request.number</c>) through GitHub's REST API, or on the discussion
/// (<c>discussion.node_id</c>) through its GraphQL API, carrying the delivery id as a hidden HTML comment. After a post whose outcome is unknown, the issue's comments since the delivery was received are read
/// for that marker first, and the comment is posted only when it is absent.
/// </summary>
/// <remarks>
/// Authentication: a token, or a GitHub App: a JWT (RS256, signed with the App's private key, valid 9 minutes from a
/// minute ago for clock drift) exchanged for the payload's installation's token, cached until 5 minutes before it expires.
/// </remarks>
internal sealed class GitHubCommentTarget : ReplyTarget
{
    /// <summary>How many pages of 100 comments a lookup reads before it gives up (then the reply stays unknown).</summary>
    private const int MaxLookupPages = 10;

    private readonly RelayGitHubOptions _options;
    private readonly Uri _api;
    private readonly RSA? _appKey;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<long, (string Token, DateTimeOffset RenewAfter)> _installations = new();

    /// <exception cref="ArgumentException">Neither a token nor an App (id and key), both, or a key that is not a PEM private key.</exception>
    public GitHubCommentTarget(RelayGitHubOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _api = ApiBase(options.ApiUrl, "PostReply.GitHub.ApiUrl", "https://api.github.com/");
        var hasToken = !string.IsNullOrWhiteSpace(options.Token);
        var hasApp = options.AppId is not null || !string.IsNullOrWhiteSpace(options.PrivateKey);
        if (hasToken == hasApp)
        {
            throw new ArgumentException("PostReply.GitHub: set either Token, or AppId and PrivateKey (a GitHub App), not both.");
        }

        if (hasApp)
        {
            if (options.AppId is not > 0 || string.IsNullOrWhiteSpace(options.PrivateKey))
            {
                throw new ArgumentException("PostReply.GitHub: a GitHub App needs both AppId (a number) and PrivateKey (its PEM private key).");
            }

            _appKey = RSA.Create();
            try
            {
                _appKey.ImportFromPem(options.PrivateKey.Replace("\\n", "\n", StringComparison.Ordinal));
            }
            catch (ArgumentException)
            {
                _appKey.Dispose();
                // Never the key's text: only what is wrong with it.
                throw new ArgumentException("PostReply.GitHub.PrivateKey is not a PEM RSA private key (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----), as GitHub downloads it.");
            }
        }
    }

    public override string Name => "github-comment";

    public override ReplyAddress? Address(JsonElement payload, out string? error)
    {
        var repository = PayloadPaths.String(payload, "repository", "full_name");
        var number = PayloadPaths.Number(payload, "issue", "number") ?? PayloadPaths.Number(payload, "pull_request", "number");
        var discussion = number is null ? PayloadPaths.String(payload, "discussion", "node_id") : null;
        if (repository is null || (number is null && discussion is null) || repository.Split('/') is not { Length: 2 } parts || parts[0].Length == 0 || parts[1].Length == 0)
        {
            error = "the payload names no issue, pull request or discussion (repository.full_name with issue.number, pull_request.number or discussion.node_id) to comment on";
            return null;
        }

        var installation = PayloadPaths.Number(payload, "installation", "id");
        if (_appKey is not null && installation is null)
        {
            error = "the payload has no installation.id: a GitHub App replies only to deliveries of its own installations";
            return null;
        }

        error = null;
        if (discussion is not null)
        {
            // Discussions have no REST comments API: GraphQL, at api/graphql (GitHub.com) or HOST/api/graphql (Enterprise Server).
            return new ReplyAddress(GraphQlUrl, $"{repository} discussion #{PayloadPaths.String(payload, "discussion", "number")}") { Installation = installation, Discussion = discussion };
        }

        var url = new Uri(_api, $"repos/{Uri.EscapeDataString(parts[0])}/{Uri.EscapeDataString(parts[1])}/issues/{number}/comments");
        return new ReplyAddress(url, $"{repository}#{number}") { Installation = installation };
    }

    /// <summary>GitHub's GraphQL endpoint: <c>https://api.github.com/graphql</c>, or <c>https://HOST/api/graphql</c> beside <c>HOST/api/v3/</c>.</summary>
    private Uri GraphQlUrl => _api.AbsolutePath.EndsWith("/api/v3/", StringComparison.OrdinalIgnoreCase) ? new Uri(_api, "../graphql") : new Uri(_api, "graphql");

    private async Task<JsonDocument> GraphQlAsync(HttpClient http, ReplyAddress address, string query, JsonObject variables, CancellationToken cancellationToken)
    {
        using var request = await RequestAsync(http, HttpMethod.Post, address.Url, address, cancellationToken).ConfigureAwait(false);
        request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["query"] = query, ["variables"] = variables }));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var outcome = ReplyOutcome.Of(response, "GitHub");
        if (outcome.State != RelayReplyState.Posted)
        {
            throw new GitHubGraphQlException(outcome with { Error = outcome.Error + await GitHubMessageAsync(response, cancellationToken).ConfigureAwait(false) });
        }

        var answer = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        if (answer.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
        {
            var message = PayloadPaths.String(errors[0], "message") ?? "(no message)";
            answer.Dispose();
            // A GraphQL error is GitHub's refusal of the request as made (a discussion gone, no permission): nothing was done.
            throw new GitHubGraphQlException(ReplyOutcome.Failed($"GitHub refused the reply: {message}"));
        }

        return answer;
    }

    /// <summary>The comment's body: the text, then the marker (hidden when GitHub renders it).</summary>
    public static string CommentBody(string text, string deliveryId) => text + "\n\n" + Marker(deliveryId);

    public override async Task<ReplyOutcome> PostAsync(HttpClient http, ReplyAddress address, ReplyContent content, CancellationToken cancellationToken)
    {
        if (address.Discussion is { } discussion)
        {
            try
            {
                using var added = await GraphQlAsync(http, address,
                    "mutation($id: ID!, $body: String!) { addDiscussionComment(input: {discussionId: $id, body: $body}) { comment { url } } }",
                    new JsonObject { ["id"] = discussion, ["body"] = CommentBody(content.Text!, content.DeliveryId) }, cancellationToken).ConfigureAwait(false);
                return ReplyOutcome.Posted(PayloadPaths.String(added.RootElement, "data", "addDiscussionComment", "comment", "url") ?? address.Display);
            }
            catch (GitHubGraphQlException refused)
            {
                return refused.Outcome;
            }
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["body"] = CommentBody(content.Text!, content.DeliveryId) });
        using var request = await RequestAsync(http, HttpMethod.Post, address.Url, address, cancellationToken).ConfigureAwait(false);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var outcome = ReplyOutcome.Of(response, "GitHub");
        if (outcome.State != RelayReplyState.Posted)
        {
            return outcome with { Error = outcome.Error + await GitHubMessageAsync(response, cancellationToken).ConfigureAwait(false) };
        }

        using var created = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        return ReplyOutcome.Posted(PayloadPaths.String(created.RootElement, "html_url") ?? address.Display);
    }

    public override async Task<string?> FindAsync(HttpClient http, ReplyAddress address, string deliveryId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var marker = Marker(deliveryId);
        if (address.Discussion is { } discussion)
        {
            try
            {
                // The latest 100 comments: the reply was made after the delivery, and a discussion rarely grows by 100 in between.
                using var found = await GraphQlAsync(http, address,
                    "query($id: ID!) { node(id: $id) { ... on Discussion { comments(last: 100) { nodes { body url } } } } }",
                    new JsonObject { ["id"] = discussion }, cancellationToken).ConfigureAwait(false);
                if (found.RootElement.TryGetProperty("data", out var data) && data.TryGetProperty("node", out var node) && node.ValueKind == JsonValueKind.Object
                    && node.TryGetProperty("comments", out var comments) && comments.TryGetProperty("nodes", out var nodes) && nodes.ValueKind == JsonValueKind.Array)
                {
                    foreach (var comment in nodes.EnumerateArray())
                    {
                        if (PayloadPaths.String(comment, "body") is { } text && text.Contains(marker, StringComparison.Ordinal))
                        {
                            return PayloadPaths.String(comment, "url") ?? address.Display;
                        }
                    }
                }

                return null;
            }
            catch (GitHubGraphQlException cannotRead)
            {
                throw new ReplyLookupException($"The relay could not read {address.Display}'s comments to find its reply: {cannotRead.Outcome.Error}");
            }
        }

        Uri? page = new($"{address.Url}?per_page=100&since={Uri.EscapeDataString(since.UtcDateTime.AddMinutes(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture))}");
        for (var read = 0; page is not null && read < MaxLookupPages; read++)
        {
            using var request = await RequestAsync(http, HttpMethod.Get, page, address, cancellationToken).ConfigureAwait(false);
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new ReplyLookupException($"GitHub answered {(int)response.StatusCode} when the relay read {address.Display}'s comments to find its reply.{await GitHubMessageAsync(response, cancellationToken).ConfigureAwait(false)}");
            }

            using var comments = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            foreach (var comment in comments.RootElement.EnumerateArray())
            {
                if (PayloadPaths.String(comment, "body") is { } text && text.Contains(marker, StringComparison.Ordinal))
                {
                    return PayloadPaths.String(comment, "html_url") ?? address.Display;
                }
            }

            page = NextPage(response);
            if (page is not null && !string.Equals(page.GetLeftPart(UriPartial.Authority), _api.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
            {
                // The token goes only where ApiUrl says.
                throw new ReplyLookupException($"GitHub's next page of {address.Display}'s comments is on another host ({page.Host}); the relay does not send its token there.");
            }
        }

        if (page is not null)
        {
            throw new ReplyLookupException($"{address.Display} has more than {MaxLookupPages * 100} comments since the delivery: the relay could not tell whether its reply is there, and posts nothing.");
        }

        return null;
    }

    /// <summary>A request with GitHub's headers and the relay's credentials (a token, or the installation's token).</summary>
    private async Task<HttpRequestMessage> RequestAsync(HttpClient http, HttpMethod method, Uri url, ReplyAddress address, CancellationToken cancellationToken)
    {
        var token = _appKey is null ? _options.Token! : await InstallationTokenAsync(http, address.Installation!.Value, cancellationToken).ConfigureAwait(false);
        var request = new HttpRequestMessage(method, url);
        Headers(request, token);
        return request;
    }

    private static void Headers(HttpRequestMessage request, string bearer)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        request.Headers.Accept.ParseAdd("application/vnd.github+json");
        request.Headers.TryAddWithoutValidation("X-GitHub-Api-Version", "2022-11-28");
        request.Headers.UserAgent.ParseAdd("Runchat.Relay");
    }

    /// <summary>The installation's token: cached until 5 minutes before GitHub says it expires.</summary>
    private async Task<string> InstallationTokenAsync(HttpClient http, long installation, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_installations.TryGetValue(installation, out var cached) && now < cached.RenewAfter)
        {
            return cached.Token;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_api, $"app/installations/{installation}/access_tokens"));
        Headers(request, AppJwt(now));
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            // Before any post: nothing was posted, so this is a refusal (a wrong App, a removed installation) or, for 5xx, a retry.
            var status = (int)response.StatusCode;
            throw new GitHubAuthenticationException(status,
                $"GitHub refused the App's token for installation {installation}: {status} {response.ReasonPhrase}.{await GitHubMessageAsync(response, cancellationToken).ConfigureAwait(false)}");
        }

        using var answer = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        var token = PayloadPaths.String(answer.RootElement, "token") ?? throw new GitHubAuthenticationException(502, "GitHub's installation token answer has no token.");
        var expires = DateTimeOffset.TryParse(PayloadPaths.String(answer.RootElement, "expires_at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : now.AddMinutes(10);
        _installations[installation] = (token, expires - TimeSpan.FromMinutes(5));
        return token;
    }

    /// <summary>The App's JWT: RS256, issued a minute ago (clock drift), expiring in 9 minutes (GitHub allows 10).</summary>
    internal string AppJwt(DateTimeOffset now)
    {
        static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = Base64Url(Encoding.UTF8.GetBytes("{\"alg\":\"RS256\",\"typ\":\"JWT\"}"));
        var claims = Base64Url(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{{\"iat\":{now.AddSeconds(-60).ToUnixTimeSeconds()},\"exp\":{now.AddMinutes(9).ToUnixTimeSeconds()},\"iss\":\"{_options.AppId}\"}}")));
        var signature = _appKey!.SignData(Encoding.ASCII.GetBytes(header + "." + claims), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + claims + "." + Base64Url(signature);
    }

    /// <summary>GitHub's <c>message</c> in an error answer, as " GitHub says: …"; never a header, never a token.</summary>
    internal static async Task<string> GitHubMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var error = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            return PayloadPaths.String(error.RootElement, "message") is { } message ? " GitHub says: " + (message.Length > 300 ? message.Substring(0, 300) + "…" : message) : string.Empty;
        }
        catch (JsonException)
        {
            return string.Empty;
        }
    }

    /// <summary>The <c>rel="next"</c> URL of GitHub's <c>Link</c> header, if any.</summary>
    internal static Uri? NextPage(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links))
        {
            return null;
        }

        foreach (var link in string.Join(",", links).Split(','))
        {
            var parts = link.Split(';');
            if (parts.Length >= 2 && parts[1].Trim() == "rel=\"next\"" && Uri.TryCreate(parts[0].Trim().TrimStart('<').TrimEnd('>'), UriKind.Absolute, out var next))
            {
                return next;
            }
        }

        return null;
    }
}

/// <summary>A GraphQL request that did not succeed, as the reply's outcome.</summary>
internal sealed class GitHubGraphQlException : Exception
{
    public GitHubGraphQlException(ReplyOutcome outcome)
        : base(outcome.Error) => Outcome = outcome;

    public ReplyOutcome Outcome { get; }
}

/// <summary>GitHub refused or failed to give the App's installation token: nothing was posted.</summary>
internal sealed class GitHubAuthenticationException : Exception
{
    public GitHubAuthenticationException(int status, string message)
        : base(message) => Status = status;

    /// <summary>GitHub's status: 5xx may pass, anything else will not.</summary>
    public int Status { get; }
}
