using System;
using System.Collections.Generic;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Runchat.Internal;

/// <summary>
/// The API key a client sends, read on every request, and every key it has sent, for redaction.
/// </summary>
/// <remarks>
/// <para>
/// Under dependency injection the key follows configuration: when a source of the options reports a
/// change (a reloaded file, a secret store), the options are built again and the new key is sent
/// from the next request on, as Azure's <c>AzureKeyCredential.Update</c> allows. Old keys stay known
/// to <see cref="Redact"/>: an answer to a request sent with one is still scrubbed.
/// </para>
/// <para>
/// It listens to the change tokens itself rather than through <see cref="IOptionsMonitor{TOptions}"/>,
/// whose change handler validates inside the configuration's reload: a reloaded key that is invalid
/// would throw there (in a file watcher's callback, a crash), not here. Instead, the next trigger
/// fails with the validation message before anything is sent, until the configuration is fixed.
/// </para>
/// </remarks>
internal sealed class RunchatCredential : IDisposable
{
    private readonly Func<RunchatClientOptions>? _rebuild;
    private readonly List<IDisposable> _subscriptions = new();
    private readonly object _gate = new();
    private string[] _keys = Array.Empty<string>();
    private volatile State _state;

    public RunchatCredential(IOptionsFactory<RunchatClientOptions> factory, IOptions<RunchatClientOptions> initial, IEnumerable<IOptionsChangeTokenSource<RunchatClientOptions>> sources)
    {
        _state = new State(initial.Value.ApiKey, null);
        Remember(initial.Value.ApiKey);
        _rebuild = () => factory.Create(Options.DefaultName);
        foreach (var source in sources)
        {
            if (string.IsNullOrEmpty(source.Name) || source.Name == Options.DefaultName)
            {
                _subscriptions.Add(ChangeToken.OnChange(source.GetChangeToken, Reload));
            }
        }
    }

    /// <summary>Every key this client has sent (or is about to send).</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>The <c>Authorization</c> header to send now, made once per key.</summary>
    /// <exception cref="OptionsValidationException">The reloaded configuration is invalid (an empty key, say); nothing is sent.</exception>
    public AuthenticationHeaderValue CurrentAuthorization()
    {
        var state = _state;
        if (state.Invalid is { } invalid)
        {
            throw new OptionsValidationException(invalid.OptionsName, invalid.OptionsType, invalid.Failures);
        }

        return state.Authorization ?? throw new InvalidOperationException("A Runchat API key is required.");
    }

    public string Redact(string text) => SecretRedactor.Redact(text, _keys);

    public void Dispose()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }
    }

    private void Reload()
    {
        try
        {
            var options = _rebuild!();
            Remember(options.ApiKey);
            _state = new State(options.ApiKey, null);
        }
        catch (OptionsValidationException invalid)
        {
            _state = new State(null, invalid);
        }
    }

    private void Remember(string? key)
    {
        if (key is null || Array.IndexOf(_keys, key) >= 0)
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

    private sealed class State
    {
        public State(string? key, OptionsValidationException? invalid)
        {
            Authorization = key is null ? null : new AuthenticationHeaderValue("Bearer", key);
            Invalid = invalid;
        }

        public AuthenticationHeaderValue? Authorization { get; }

        public OptionsValidationException? Invalid { get; }
    }
}
