using System;

namespace Runchat.Relay;

/// <summary>
/// A <c>github</c> route's <c>GitHub</c>: where <c>relay backfill</c> reads the deliveries GitHub made to it, through
/// GitHub's REST API. A repository's webhook (<see cref="Repository"/>, <see cref="HookId"/> and a <see cref="Token"/>
/// that may read its webhooks), or a GitHub App's own webhook (<see cref="AppId"/> and <see cref="PrivateKey"/>).
/// </summary>
public sealed class RelayGitHubSourceOptions
{
    /// <summary>The repository whose webhook posts to the route: <c>owner/name</c>.</summary>
    public string? Repository { get; set; }

    /// <summary>The webhook's id (the number in its settings page's URL, <c>…/settings/hooks/123456789</c>).</summary>
    public long? HookId { get; set; }

    /// <summary>A token that may read the repository's webhooks (fine-grained: "Webhooks: read"; classic: <c>admin:repo_hook</c>). Not shown anywhere.</summary>
    public string? Token { get; set; }

    /// <summary>Instead of a repository's webhook: the GitHub App whose webhook posts to the route (its deliveries are read with a JWT).</summary>
    public long? AppId { get; set; }

    /// <summary>The GitHub App's private key, PEM. Not shown anywhere.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>GitHub's REST API: <c>https://api.github.com/</c>, or a GitHub Enterprise Server's <c>https://HOST/api/v3/</c>.</summary>
    public Uri ApiUrl { get; set; } = new("https://api.github.com/");

    /// <inheritdoc />
    public override string ToString() => AppId is { } app ? $"GitHub App {app}'s webhook at {ApiUrl}" : $"{Repository} webhook {HookId} at {ApiUrl}";

    /// <summary>Why it cannot be used, or null.</summary>
    internal string? Problem()
    {
        var repository = Repository is { } name && name.Split('/') is [{ Length: > 0 }, { Length: > 0 }];
        if (AppId is null && PrivateKey is null)
        {
            return repository && HookId is > 0 && !string.IsNullOrWhiteSpace(Token)
                ? null
                : "GitHub: a repository's webhook needs Repository (owner/name), HookId (a number) and Token; a GitHub App's webhook needs AppId and PrivateKey.";
        }

        return Repository is null && HookId is null && Token is null && AppId is > 0 && !string.IsNullOrWhiteSpace(PrivateKey)
            ? null
            : "GitHub: a GitHub App's webhook needs AppId (a number) and PrivateKey, and no Repository, HookId or Token (those are for a repository's webhook).";
    }
}

/// <summary>A <c>stripe</c> route's <c>Stripe</c>: where <c>relay backfill</c> reads the account's events (<c>GET /v1/events</c>, the last 30 days).</summary>
public sealed class RelayStripeSourceOptions
{
    /// <summary>A key that may read events: a restricted key (<c>rk_…</c>, "Events: read") is enough. Not shown anywhere.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Stripe's API: <c>https://api.stripe.com/</c>.</summary>
    public Uri ApiUrl { get; set; } = new("https://api.stripe.com/");

    /// <inheritdoc />
    public override string ToString() => $"Stripe events at {ApiUrl}";

    /// <summary>Why it cannot be used, or null.</summary>
    internal string? Problem() => string.IsNullOrWhiteSpace(ApiKey) ? "Stripe: ApiKey is required (a restricted key with Events: read)." : null;
}
