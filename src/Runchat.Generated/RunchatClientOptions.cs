using System;
using System.Globalization;
using Runchat.Internal;

namespace Runchat;

/// <summary>
/// Settings for <see cref="RunchatClient"/>: the API key, where the API lives, how long to wait
/// for an agent run and how many provably safe retries to make.
/// </summary>
/// <remarks>
/// Bind it from configuration (<c>services.AddRunchatClient(configuration.GetSection("Runchat"))</c>),
/// fill it in code, or read the same environment variables as the official Runchat CLI with
/// <see cref="FromEnvironment"/>. <see cref="ToString"/> never shows the API key.
/// </remarks>
public sealed class RunchatClientOptions
{
    /// <summary>The environment variable that holds the API key: <c>RUNCHAT_API_KEY</c>.</summary>
    public const string ApiKeyEnvironmentVariable = "RUNCHAT_API_KEY";

    /// <summary>An alias of <see cref="ApiKeyEnvironmentVariable"/> that the official Runchat CLI also reads: <c>RUNCHAT_TOKEN</c>.</summary>
    public const string ApiKeyAliasEnvironmentVariable = "RUNCHAT_TOKEN";

    /// <summary>The environment variable that overrides the base URL: <c>RUNCHAT_BASE_URL</c>.</summary>
    public const string BaseUrlEnvironmentVariable = "RUNCHAT_BASE_URL";

    /// <summary>The largest <see cref="MaxRetries"/> accepted.</summary>
    public const int MaxRetriesLimit = 10;

    /// <summary>The production API: <c>https://runchat.com/api/v1/</c>.</summary>
    public static Uri DefaultBaseUrl { get; } = new Uri("https://runchat.com/api/v1/");

    /// <summary>
    /// The longest finite <see cref="Timeout"/> the runtime's timers can honour on every target
    /// (<see cref="int.MaxValue"/> milliseconds, about 24.8 days). Longer values are refused when
    /// the options are validated; use <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> to wait forever.
    /// </summary>
    public static TimeSpan MaxTimeout { get; } = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>The default <see cref="Timeout"/>: 10 minutes, because agent runs are long.</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The Runchat API key, sent as <c>Authorization: Bearer &lt;key&gt;</c>. Required.
    /// It is never written to logs, exception messages or <see cref="ToString"/>.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The API's base URL. Defaults to <see cref="DefaultBaseUrl"/>. A URL without a path
    /// (<c>https://runchat.com</c>, as the official CLI's <c>RUNCHAT_BASE_URL</c> uses) means
    /// <c>&lt;that&gt;/api/v1/</c>; a trailing slash or its absence never matters.
    /// </summary>
    public Uri BaseUrl { get; set; } = DefaultBaseUrl;

    /// <summary>
    /// How long one trigger may take in total, retries included, before it fails with a
    /// <see cref="TimeoutException"/>. Defaults to 10 minutes. Use
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> to wait forever.
    /// The timeout stops the client waiting; it does not stop a run the server has started.
    /// </summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>
    /// How many times a request may be retried when it provably did not run the agent: a failure
    /// to connect (nothing was sent) or <c>429 Too Many Requests</c>. Defaults to 2; 0 turns
    /// retries off. Timeouts, 5xx answers and connections dropped after sending are never retried.
    /// </summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>
    /// Allows sending the API key over plain <c>http://</c> to a host that is not loopback.
    /// Defaults to <see langword="false"/>; leave it so outside a trusted network.
    /// </summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>
    /// Records the run's <c>metadata</c> JSON as a <c>runchat.metadata</c> event on the
    /// <c>invoke_agent</c> span. Defaults to <see langword="false"/>: metadata can carry business
    /// data, and traces are often kept longer and seen by more people than logs.
    /// </summary>
    public bool RecordMetadataInTraces { get; set; }

    /// <summary>
    /// Reads <c>RUNCHAT_API_KEY</c> (or its alias <c>RUNCHAT_TOKEN</c>) and <c>RUNCHAT_BASE_URL</c>,
    /// the variables the official Runchat CLI uses. Unset variables leave the defaults.
    /// </summary>
    /// <returns>New options; the key may still be missing, which the client reports when it is created.</returns>
    /// <exception cref="InvalidOperationException"><c>RUNCHAT_BASE_URL</c> is set but is not an absolute http(s) URL.</exception>
    public static RunchatClientOptions FromEnvironment()
    {
        var options = new RunchatClientOptions
        {
            ApiKey = NonEmpty(Environment.GetEnvironmentVariable(ApiKeyEnvironmentVariable))
                ?? NonEmpty(Environment.GetEnvironmentVariable(ApiKeyAliasEnvironmentVariable)),
        };

        var baseUrl = NonEmpty(Environment.GetEnvironmentVariable(BaseUrlEnvironmentVariable));
        if (baseUrl is not null)
        {
            if (!Uri.TryCreate(baseUrl.Trim(), UriKind.Absolute, out var uri) || !IsHttpScheme(uri))
            {
                throw new InvalidOperationException(
                    $"{BaseUrlEnvironmentVariable} must be an absolute http or https URL such as https://runchat.com; got '{UrlDisplay.Safe(baseUrl)}'.");
            }

            options.BaseUrl = uri;
        }

        return options;
    }

    /// <summary>Describes the options with the API key masked (first 4 characters, …, last 4; fully hidden when short).</summary>
    /// <returns>A description that is safe to log.</returns>
    public override string ToString() => string.Format(
        CultureInfo.InvariantCulture,
        "RunchatClientOptions {{ ApiKey = {0}, BaseUrl = {1}, Timeout = {2}, MaxRetries = {3}, AllowInsecureHttp = {4}, RecordMetadataInTraces = {5} }}",
        MaskApiKey(ApiKey),
        UrlDisplay.Safe(BaseUrl),
        Timeout,
        MaxRetries,
        AllowInsecureHttp,
        RecordMetadataInTraces);

    /// <summary>Masks a key the way the official Runchat CLI shows it: <c>rk_l…9f2a</c>.</summary>
    internal static string MaskApiKey(string? apiKey)
    {
        if (string.IsNullOrEmpty(apiKey))
        {
            return "(not set)";
        }

        // Showing 8 characters of a short key would show most of it.
        return apiKey!.Length < 16 ? "…" : apiKey.Substring(0, 4) + "…" + apiKey.Substring(apiKey.Length - 4);
    }

    /// <summary>Every problem that would stop the client working, or null when there is none.</summary>
    /// <param name="apiKeySource">Where this key was looked for, in words (a configuration path); null for the environment and code.</param>
    internal string? GetValidationError(string? apiKeySource = null)
    {
        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            return apiKeySource is null
                ? $"A Runchat API key is required: set the {ApiKeyEnvironmentVariable} environment variable " +
                  $"(or {ApiKeyAliasEnvironmentVariable}), or RunchatClientOptions.ApiKey. Keys are created from the account menu at runchat.com."
                : $"A Runchat API key is required: {apiKeySource}. Keys are created from the account menu at runchat.com.";
        }

        foreach (var c in ApiKey!)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c > '\u007e')
            {
                return $"The Runchat API key contains whitespace, control or non-ASCII characters; check {ApiKeyEnvironmentVariable} for a stray newline or quote.";
            }
        }

        // RUNCHAT_API_KEY="rk_…" in a .env file read by a tool that keeps the quotes: no key starts or ends with one.
        if (ApiKey![0] is '"' or '\'' || ApiKey[ApiKey.Length - 1] is '"' or '\'')
        {
            return $"The Runchat API key starts or ends with a quote; check {ApiKeyEnvironmentVariable} (or the configuration) for quotes kept around the value.";
        }

        if (BaseUrl is null || !BaseUrl.IsAbsoluteUri || !IsHttpScheme(BaseUrl))
        {
            return $"RunchatClientOptions.BaseUrl must be an absolute http or https URL; got '{UrlDisplay.Safe(BaseUrl)}'.";
        }

        if (!string.IsNullOrEmpty(BaseUrl.Query) || !string.IsNullOrEmpty(BaseUrl.Fragment) || !string.IsNullOrEmpty(BaseUrl.UserInfo))
        {
            return $"RunchatClientOptions.BaseUrl must not carry a query, fragment or user info; got '{UrlDisplay.Safe(BaseUrl)}'. The API key is the only credential the client sends.";
        }

        if (BaseUrl.Scheme == Uri.UriSchemeHttp && !BaseUrl.IsLoopback && !AllowInsecureHttp)
        {
            return $"Refusing to send the Runchat API key over plain http to '{BaseUrl.Host}'. Use https, " +
                   "or set RunchatClientOptions.AllowInsecureHttp on a network you trust.";
        }

        if (Timeout != System.Threading.Timeout.InfiniteTimeSpan && (Timeout <= TimeSpan.Zero || Timeout > MaxTimeout))
        {
            return $"RunchatClientOptions.Timeout must be positive and at most {MaxTimeout.TotalDays:0.#} days, or Timeout.InfiniteTimeSpan to wait forever; got {Timeout}.";
        }

        if (MaxRetries < 0 || MaxRetries > MaxRetriesLimit)
        {
            return $"RunchatClientOptions.MaxRetries must be between 0 and {MaxRetriesLimit}; got {MaxRetries}.";
        }

        return null;
    }

    /// <summary>
    /// Reads a timeout as configuration and the CLI's <c>--timeout</c> write it: a number of seconds
    /// (<c>90</c>, <c>1.5</c>; never days, as <see cref="TimeSpan"/>'s own parser would read <c>5</c>) or a
    /// time span (<c>00:05:00</c>), positive and at most <see cref="MaxTimeout"/>.
    /// </summary>
    /// <param name="text">The text, such as <c>"90"</c> or <c>"00:15:00"</c>.</param>
    /// <param name="timeout">The timeout, when the text is one.</param>
    /// <returns>False for anything else: not a number or span, zero, negative, or over <see cref="MaxTimeout"/>.</returns>
    public static bool TryParseTimeout(string? text, out TimeSpan timeout)
    {
        timeout = default;
        var trimmed = text?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            return false;
        }

        if (double.TryParse(trimmed, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
        {
            if (!(seconds > 0) || double.IsInfinity(seconds) || seconds > MaxTimeout.TotalSeconds)
            {
                return false;
            }

            timeout = TimeSpan.FromSeconds(seconds);
            return true;
        }

        if (trimmed!.IndexOf(':') >= 0 && TimeSpan.TryParse(trimmed, System.Globalization.CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero && span <= MaxTimeout)
        {
            timeout = span;
            return true;
        }

        return false;
    }

    /// <summary>What <see cref="TryParseTimeout"/> accepts, for an error message.</summary>
    internal static string TimeoutSyntax => $"a positive number of seconds (90, 1.5) or a time span (00:05:00), at most {MaxTimeout.TotalDays:0.#} days";

    /// <summary>The base URL requests are resolved against: always ends in '/', and a bare host means /api/v1/.</summary>
    internal Uri GetEndpointBaseUrl()
    {
        var builder = new UriBuilder(BaseUrl);
        var path = builder.Path.TrimEnd('/');
        builder.Path = path.Length == 0 ? "/api/v1/" : path + "/";
        return builder.Uri;
    }

    internal RunchatClientOptions Clone() => (RunchatClientOptions)MemberwiseClone();

    /// <summary>Copies every setting onto <paramref name="target"/>; kept beside the properties so a new one is not forgotten.</summary>
    internal void CopyTo(RunchatClientOptions target)
    {
        target.ApiKey = ApiKey;
        target.BaseUrl = BaseUrl;
        target.Timeout = Timeout;
        target.MaxRetries = MaxRetries;
        target.AllowInsecureHttp = AllowInsecureHttp;
        target.RecordMetadataInTraces = RecordMetadataInTraces;
    }

    private static bool IsHttpScheme(Uri uri) => uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp;

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
