using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace Runchat.Relay.Signatures;

/// <summary>
/// What a route's configuration gives its scheme: the keys <c>Secret</c>, <c>Header</c>, <c>PublicKey</c> and
/// <c>PublicUrl</c>, and the route's path (to name it in errors). A factory registered with <c>AddScheme</c>
/// builds its scheme from these at start-up.
/// </summary>
/// <remarks>Holds the route's secret: <see cref="ToString"/> names the route only.</remarks>
public sealed class WebhookSchemeSettings
{
    /// <summary>Settings, as the relay makes them from a route's configuration (or a test from its own values).</summary>
    /// <param name="route">The route's path, such as <c>/hooks/internal</c>.</param>
    /// <param name="secret">The route's <c>Secret</c>, if set.</param>
    /// <param name="header">The route's <c>Header</c>, if set.</param>
    /// <param name="publicKey">The route's <c>PublicKey</c>, if set.</param>
    /// <param name="publicUrl">The route's <c>PublicUrl</c>, if set.</param>
    public WebhookSchemeSettings(string route, string? secret = null, string? header = null, string? publicKey = null, Uri? publicUrl = null)
    {
        Route = route ?? throw new ArgumentNullException(nameof(route));
        Secret = secret;
        Header = header;
        PublicKey = publicKey;
        PublicUrl = publicUrl;
    }

    /// <summary>The route's path.</summary>
    public string Route { get; }

    /// <summary>The shared secret that signs the route's requests (<c>Secret</c>).</summary>
    public string? Secret { get; }

    /// <summary>A header name, for schemes whose sender lets users choose it (<c>Header</c>).</summary>
    public string? Header { get; }

    /// <summary>A public key, for schemes that verify asymmetric signatures (<c>PublicKey</c>).</summary>
    public string? PublicKey { get; }

    /// <summary>The URL senders post to, for schemes that sign it, when the relay is behind a proxy (<c>PublicUrl</c>).</summary>
    public Uri? PublicUrl { get; }

    /// <inheritdoc />
    public override string ToString() => Route;
}

/// <summary>One scheme registered by name with <c>AddScheme</c>: a service the relay collects at start-up.</summary>
internal sealed record WebhookSchemeRegistration
{
    /// <summary>A registration: the name is checked here, the one place (AddScheme makes these).</summary>
    /// <exception cref="ArgumentException">The name is not 1-40 lower-case letters, digits and hyphens (<see cref="WebhookSchemes.CheckName"/>).</exception>
    public WebhookSchemeRegistration(string name, Func<WebhookSchemeSettings, WebhookScheme> factory)
    {
        WebhookSchemes.CheckName(name);
        Name = name;
        Factory = factory;
    }

    public string Name { get; }

    public Func<WebhookSchemeSettings, WebhookScheme> Factory { get; }
}

/// <summary>
/// Every scheme a route's <c>Signature</c> may name: the built-in ones and those registered with <c>AddScheme</c>,
/// each a factory from <see cref="WebhookSchemeSettings"/>. The one place a name becomes a scheme.
/// </summary>
internal sealed class WebhookSchemes
{
    private static readonly Regex NameRule = new("^[a-z][a-z0-9-]{0,39}$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    private readonly IReadOnlyDictionary<string, Func<WebhookSchemeSettings, WebhookScheme>> _factories;

    private WebhookSchemes(IReadOnlyDictionary<string, Func<WebhookSchemeSettings, WebhookScheme>> factories) => _factories = factories;

    /// <summary>The built-in schemes, by the names configuration spells.</summary>
    public static WebhookSchemes BuiltIn { get; } = new(new Dictionary<string, Func<WebhookSchemeSettings, WebhookScheme>>(StringComparer.Ordinal)
    {
        ["standard-webhooks"] = s => WebhookSignature.StandardWebhooks(s.Secret!),
        ["stripe"] = s => WebhookSignature.Stripe(s.Secret!),
        ["github"] = s => WebhookSignature.GitHub(s.Secret!),
        ["slack"] = s => WebhookSignature.Slack(s.Secret!),
        ["hmac-sha256"] = s => WebhookSignature.HmacSha256(s.Header!, s.Secret!),
        ["gitlab"] = s => WebhookSignature.GitLab(s.Secret!),
        ["shopify"] = s => WebhookSignature.Shopify(s.Secret!),
        ["linear"] = s => WebhookSignature.Linear(s.Secret!),
        ["twilio"] = s => WebhookSignature.Twilio(s.Secret!, s.PublicUrl),
        ["pagerduty"] = s => WebhookSignature.PagerDuty(s.Secret!),
        ["discord"] = s => WebhookSignature.Discord(s.PublicKey!),
        ["none"] = _ => WebhookSignature.None,
    });

    /// <summary>The names, built-in first, as an error message lists them.</summary>
    public IReadOnlyList<string> Names => _factories.Keys.ToList();

    /// <summary>The built-in schemes and those registered.</summary>
    /// <exception cref="ArgumentException">A name is a built-in scheme's, is registered twice, or is not lower-case letters, digits and hyphens.</exception>
    public static WebhookSchemes With(IEnumerable<WebhookSchemeRegistration> registrations)
    {
        var factories = new Dictionary<string, Func<WebhookSchemeSettings, WebhookScheme>>(BuiltIn._factories, StringComparer.Ordinal);
        foreach (var registration in registrations)
        {
            if (!factories.TryAdd(registration.Name, registration.Factory))
            {
                throw new ArgumentException(BuiltIn._factories.ContainsKey(registration.Name)
                    ? $"The webhook scheme '{registration.Name}' is built in; register yours under another name."
                    : $"The webhook scheme '{registration.Name}' is registered twice (AddScheme).");
            }
        }

        return new WebhookSchemes(factories);
    }

    /// <summary>Refuses a name configuration could not spell plainly.</summary>
    /// <exception cref="ArgumentException">Not 1-40 lower-case letters, digits and hyphens, starting with a letter.</exception>
    public static void CheckName(string? name)
    {
        if (name is null || !NameRule.IsMatch(name))
        {
            throw new ArgumentException($"A webhook scheme's name is 1 to 40 lower-case letters, digits and hyphens, starting with a letter, such as 'internal-alerts'; got '{name}'.", nameof(name));
        }
    }

    /// <summary>The scheme a route's <c>Signature</c> names, built from its settings.</summary>
    /// <exception cref="ArgumentException">The name is unknown, or the factory refused the settings (its message says why).</exception>
    public WebhookScheme Create(string? name, WebhookSchemeSettings settings)
    {
        var key = name?.Trim().ToLowerInvariant() switch
        {
            "standardwebhooks" => "standard-webhooks",
            "hmacsha256" => "hmac-sha256",
            var other => other,
        };
        if (string.IsNullOrEmpty(key))
        {
            throw new ArgumentException("Signature is required: " + string.Join(", ", Names) + ".");
        }

        if (!_factories.TryGetValue(key!, out var factory))
        {
            throw new ArgumentException($"Signature '{name}' is not known: use {string.Join(", ", Names)} (or register a scheme with AddScheme).");
        }

        WebhookScheme? scheme;
        try
        {
            scheme = factory(settings);
        }
        catch (Exception refused) when (refused is not ArgumentException)
        {
            // A registered factory's own exception, still an error at start-up that names the route (not a crash).
            throw new ArgumentException($"The '{key}' scheme refused the route's settings: {refused.Message}", refused);
        }

        return scheme ?? throw new ArgumentException($"The '{key}' scheme's factory returned no scheme.");
    }
}
