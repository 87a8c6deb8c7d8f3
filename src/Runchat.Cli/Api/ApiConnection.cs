using System;
using System.CommandLine;
using Runchat.Cli.Sandbox;

namespace Runchat.Cli.Api;

/// <summary>The options every verb that calls the Runchat API takes: where, with which key, how long to wait, how to print.</summary>
internal sealed class ApiConnection
{
    private readonly Option<string?> _apiKey = new("--api-key") { Description = "The API key (default: RUNCHAT_API_KEY, then RUNCHAT_TOKEN)." };
    private readonly Option<string?> _baseUrl = new("--base-url") { Description = "The API base URL (default: RUNCHAT_BASE_URL, then https://runchat.com/api/v1/)." };
    private readonly Option<string?> _timeout;
    private readonly Option<bool> _json;
    private readonly Option<bool> _sandbox;
    private readonly Option<bool> _allowInsecureHttp = new("--allow-insecure-http") { Description = "Allow a plain http:// base URL to a host that is not this machine (the key travels unencrypted)." };

    /// <param name="waitsFor">What --timeout waits for, in its help.</param>
    /// <param name="json">What --json prints, in its help.</param>
    /// <param name="sandbox">What --sandbox offers, in its help.</param>
    public ApiConnection(string waitsFor, string json, string sandbox)
    {
        _timeout = new Option<string?>("--timeout") { Description = $"How long to wait{waitsFor}: seconds (90) or a time span (00:15:00). Default: 600 seconds.", HelpName = "SECONDS|hh:mm:ss" };
        _json = new Option<bool>("--json") { Description = json };
        _sandbox = new Option<bool>("--sandbox") { Description = sandbox };
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_apiKey);
        command.Options.Add(_baseUrl);
        command.Options.Add(_timeout);
        command.Options.Add(_json);
        command.Options.Add(_sandbox);
        command.Options.Add(_allowInsecureHttp);
    }

    public ApiSettings Read(ParseResult result) =>
        new(result.GetValue(_apiKey), result.GetValue(_baseUrl), result.GetValue(_timeout), result.GetValue(_json), result.GetValue(_sandbox), result.GetValue(_allowInsecureHttp));
}

/// <summary>The connection options as given.</summary>
internal sealed record ApiSettings(string? ApiKey, string? BaseUrl, string? Timeout, bool Json, bool Sandbox, bool AllowInsecureHttp)
{
    /// <summary>The client's options: the environment, then these settings over it, each checked before anything is sent.</summary>
    /// <exception cref="CliUsageException">A setting is not one (a base URL that is not http(s), plain http elsewhere, a bad timeout).</exception>
    public RunchatClientOptions ToOptions()
    {
        RunchatClientOptions options;
        try
        {
            options = RunchatClientOptions.FromEnvironment();
        }
        catch (InvalidOperationException exception)
        {
            throw new CliUsageException(exception.Message);
        }

        if (ApiKey is not null)
        {
            options.ApiKey = ApiKey;
        }

        if (BaseUrl is not null)
        {
            if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
            {
                throw new CliUsageException($"--base-url must be an absolute http or https URL such as https://runchat.com; got '{Internal.UrlDisplay.Safe(BaseUrl)}'.");
            }

            options.BaseUrl = baseUrl;
        }

        if (AllowInsecureHttp)
        {
            options.AllowInsecureHttp = true;
        }
        else if (options.BaseUrl is { Scheme: "http", IsLoopback: false } insecure)
        {
            throw new CliUsageException(
                $"the base URL is plain http to '{insecure.Host}': the API key would cross the network unencrypted. Use https, or add --allow-insecure-http on a network you trust.");
        }

        if (Timeout is { } timeoutText)
        {
            options.Timeout = ParseTimeout(timeoutText);
        }

        return options;
    }

    /// <summary>--timeout: what RunchatClientOptions.Timeout accepts in configuration too (<see cref="RunchatClientOptions.TryParseTimeout"/>).</summary>
    internal static TimeSpan ParseTimeout(string text) =>
        RunchatClientOptions.TryParseTimeout(text, out var timeout)
            ? timeout
            : throw new CliUsageException($"--timeout takes a positive number of seconds (90, 1.5) or a time span (00:05:00), at most {RunchatClientOptions.MaxTimeout.TotalDays:0.#} days; got '{text}'.");

    /// <summary>Said before sending: the sandbox would refuse a larger body mid-upload, which reads as a network failure.</summary>
    public void CheckSandboxCanTake(JobPayload? payload)
    {
        if (Sandbox && payload is not null && payload.Length > SandboxServer.MaxRequestBytes)
        {
            throw new CliUsageException($"the payload is {payload.Length:N0} bytes; the sandbox accepts request bodies up to {SandboxServer.MaxRequestBytes:N0} bytes (the Runchat API documents no limit).");
        }
    }
}
