using System;
using System.Net.Http;
using Microsoft.Extensions.DependencyInjection;
using Runchat.Internal;

namespace Runchat;

// Handwritten: how a RunchatClient comes to exist and who owns its pipeline. The generated
// constructor takes a RunchatTransport, which only this library creates, so every client has the
// bearer key, the deadline, the retry policy and the redirect guard.

/// <summary>
/// The Runchat API client. Create one with <see cref="RunchatClient(RunchatClientOptions)"/>, or
/// register it with <c>services.AddRunchatClient(...)</c>. It is thread-safe: share one instance.
/// </summary>
public partial class RunchatClient : IDisposable
{
    /// <summary>
    /// Creates a standalone client that owns its HTTP pipeline: the same one
    /// <c>services.AddRunchatClient</c> registers (bearer key, timeout, safe retries, no redirects).
    /// Dispose it when done; share one instance rather than creating one per call.
    /// </summary>
    /// <param name="options">The settings; <see cref="RunchatClientOptions.ApiKey"/> is required. They are copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="InvalidOperationException">
    /// The options cannot work: no API key (set <c>RUNCHAT_API_KEY</c>), a bad base URL, plain http to a
    /// remote host without <see cref="RunchatClientOptions.AllowInsecureHttp"/>, or a timeout out of range.
    /// </exception>
    public RunchatClient(RunchatClientOptions options)
        : this(CreateOwnedTransport(options))
    {
    }

    /// <summary>
    /// Releases the HTTP pipeline a standalone client created; calls still in flight end with
    /// <see cref="ObjectDisposedException"/>. A client from dependency injection owns nothing to release:
    /// the container does, and disposing it does nothing.
    /// </summary>
    public void Dispose() => _transport.Dispose();

    /// <summary>
    /// Throws the exception a trigger would throw for <paramref name="jobId"/>, before anything is
    /// sent: for code that stores job ids (configuration, a webhook route) and wants to refuse a bad
    /// one when it is read, not when it is first used.
    /// </summary>
    /// <param name="jobId">The Runchat job id, from the Tasks dashboard.</param>
    /// <exception cref="ArgumentNullException"><paramref name="jobId"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The id is empty or whitespace, has leading or trailing whitespace, is <c>.</c> or <c>..</c>, or
    /// contains a control character or broken UTF-16; the message says which.
    /// </exception>
    public static void ValidateJobId(string jobId) => JobIdValidator.Validate(jobId);

    /// <summary>A private IHttpClientFactory, so the standalone client and DI share one pipeline definition.</summary>
    private static RunchatTransport CreateOwnedTransport(RunchatClientOptions options)
    {
        if (options is null) throw new ArgumentNullException(nameof(options));

        var snapshot = options.Clone();
        var services = new ServiceCollection();
        services.AddOptions<RunchatClientOptions>().Configure(snapshot.CopyTo);
        RunchatServiceCollectionExtensions.AddRunchatClientCore(services, apiKeySource: null);
        // The client holds its handler chain for its whole life; there is no rotation to wait for.
        services.AddHttpClient(RunchatHttpPipeline.HttpClientName).SetHandlerLifetime(System.Threading.Timeout.InfiniteTimeSpan);
        var provider = services.BuildServiceProvider();
        try
        {
            return RunchatHttpPipeline.CreateOwnedTransport(provider, provider);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException invalid)
        {
            // The same validator as under DI (one owner of the rule); the standalone constructor's contract is InvalidOperationException.
            provider.Dispose();
            throw new InvalidOperationException(invalid.Message, invalid);
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }
}
