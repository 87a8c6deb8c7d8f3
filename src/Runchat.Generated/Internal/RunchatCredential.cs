using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;

namespace Runchat.Internal;

/// <summary>
/// The API key a client sends, read on every request, and every key it has sent, for redaction.
/// </summary>
/// <remarks>
/// Under dependency injection the key comes from <see cref="IOptionsMonitor{TOptions}"/>, so a key
/// rotated in configuration (a reloaded file, a secret store) is sent from the next request on,
/// as Azure's <c>AzureKeyCredential.Update</c> allows; an invalid new value fails that request with
/// the validation message before anything is sent. The old key stays known to <see cref="Redact"/>:
/// an answer to a request sent with it is still scrubbed.
/// </remarks>
internal sealed class RunchatCredential
{
    private readonly Func<RunchatClientOptions> _options;
    private readonly object _gate = new();
    private string[] _keys = Array.Empty<string>();

    public RunchatCredential(IOptionsMonitor<RunchatClientOptions> options)
        : this(() => options.CurrentValue)
    {
        CurrentKey();
    }

    private RunchatCredential(Func<RunchatClientOptions> options) => _options = options;

    /// <summary>A credential that never changes (tests, the model factory).</summary>
    public static RunchatCredential Fixed(string? apiKey)
    {
        var options = new RunchatClientOptions { ApiKey = apiKey };
        var credential = new RunchatCredential(() => options);
        if (apiKey is not null)
        {
            credential.Remember(apiKey);
        }

        return credential;
    }

    /// <summary>Every key this client has sent (or is about to send).</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>The key to send now.</summary>
    /// <exception cref="OptionsValidationException">The current configuration is invalid (a reloaded key that is empty, say).</exception>
    public string CurrentKey()
    {
        var key = _options().ApiKey ?? throw new InvalidOperationException("A Runchat API key is required.");
        Remember(key);
        return key;
    }

    public string Redact(string text) => SecretRedactor.Redact(text, _keys);

    private void Remember(string key)
    {
        var keys = _keys;
        if (Array.IndexOf(keys, key) >= 0)
        {
            return;
        }

        lock (_gate)
        {
            if (Array.IndexOf(_keys, key) < 0)
            {
                var grown = new string[_keys.Length + 1];
                _keys.CopyTo(grown, 0);
                grown[_keys.Length] = key;
                _keys = grown;
            }
        }
    }
}
