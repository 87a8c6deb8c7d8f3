using System;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Retry;
using Polly.Telemetry;

namespace Runchat.Internal;

/// <summary>
/// Which failures may be retried: only those where the request provably did not run the agent.
/// </summary>
/// <remarks>
/// The endpoint is not idempotent: every request that reaches the server runs the agent and
/// spends credits. So, unlike the standard resilience handler, this retries only
/// (a) failures to connect, where nothing was sent, and
/// (b) 429 Too Many Requests, honouring Retry-After up to <see cref="MaxRetryAfter"/>.
/// It never retries a 5xx, a timeout, or a connection dropped after the request went out.
/// </remarks>
internal static class RunchatRetryPolicy
{
    /// <summary>A 429 asking to wait longer than this is reported to the caller instead of waited out.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan BaseDelay = TimeSpan.FromSeconds(1);

    /// <summary>The retry handler of one handler chain (step 2 of RunchatHttpPipeline.Assemble).</summary>
    /// <param name="maxRetries">RunchatClientOptions.MaxRetries; 0 makes a handler that only passes the call on.</param>
    /// <param name="telemetry">The app's Polly telemetry options, if it configured any.</param>
    /// <param name="loggerFactory">The app's logging, where Polly's records go unless its telemetry options name another.</param>
    public static ResilienceHandler CreateHandler(int maxRetries, TelemetryOptions? telemetry, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory)
    {
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = "Runchat.Generated-RunchatRetry" };
        var configured = telemetry is null ? new TelemetryOptions() : new TelemetryOptions(telemetry);
        if (loggerFactory is not null && configured.LoggerFactory is Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory)
        {
            configured.LoggerFactory = loggerFactory;
        }

        pipeline.ConfigureTelemetry(Telemetry(configured));
        if (maxRetries > 0)
        {
            AddTo(pipeline, maxRetries);
        }

        return new ResilienceHandler(pipeline.Build());
    }

    private static void AddTo(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, int maxRetries)
    {
        pipeline.AddRetry(new HttpRetryStrategyOptions
        {
            Name = "RunchatRetry",
            MaxRetryAttempts = maxRetries,
            ShouldRetryAfterHeader = false,
            ShouldHandle = static args => new ValueTask<bool>(ShouldRetry(args.Outcome, args.AttemptNumber, RequestDeadline.Remaining(args.Context.GetRequestMessage()))),
            DelayGenerator = static args => new ValueTask<TimeSpan?>(GetDelay(args.Outcome.Result, args.AttemptNumber, jitter: true)),
            // The one place a second send is authorized: RunchatSendGuard lets exactly this many through.
            OnRetry = static args =>
            {
                SendLedger.Of(args.Context.GetRequestMessage())?.AuthorizeRetry();
                return default;
            },
        });
    }

    /// <summary>
    /// The app's Polly telemetry (its logger factory, enrichers and listeners), with this pipeline's
    /// log levels: a retry at Information, each attempt and the pipeline's start and end at Debug, and
    /// nothing of an attempt cut off by the deadline or the caller (the Runchat line says so). Polly's
    /// defaults log every call at Information, and a timeout with its stack trace.
    /// </summary>
    public static TelemetryOptions Telemetry(TelemetryOptions? configured)
    {
        var telemetry = configured is null ? new TelemetryOptions() : new TelemetryOptions(configured);
        telemetry.LoggerFactory = new QuietCancellationLoggerFactory(telemetry.LoggerFactory);
        var inner = telemetry.SeverityProvider;
        telemetry.SeverityProvider = args => args.Event.EventName switch
        {
            "OnRetry" => ResilienceEventSeverity.Information,
            "ExecutionAttempt" or "PipelineExecuting" or "PipelineExecuted" => ResilienceEventSeverity.Debug,
            _ => inner?.Invoke(args) ?? args.Event.Severity,
        };
        return telemetry;
    }

    /// <param name="outcome">The attempt's outcome.</param>
    /// <param name="attemptNumber">0 for the first attempt.</param>
    /// <param name="remaining">Time left before the call's deadline, or null when it has none.</param>
    /// <remarks>
    /// A wait that would outlast the deadline is not started: the caller then gets the 429 (or the
    /// failure to connect) itself, which says the agent did not run, rather than a timeout, which
    /// would have to say that it might have.
    /// </remarks>
    public static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, int attemptNumber, TimeSpan? remaining)
    {
        if (outcome.Result is { } response)
        {
            if ((int)response.StatusCode != 429)
            {
                return false;
            }

            var retryAfter = GetRetryAfter(response);
            if (retryAfter > MaxRetryAfter)
            {
                return false;
            }
        }
        else if (outcome.Exception is not HttpRequestException exception || !RunchatRetry.IsFailureToConnect(exception))
        {
            return false;
        }

        return remaining is null || GetDelay(outcome.Result, attemptNumber, jitter: false) < remaining.Value;
    }

    /// <summary>Retry-After when the answer has one, else exponential backoff (1 s, 2 s, 4 s, ...) with up to 25% jitter: <see cref="RunchatRetry"/>'s formula.</summary>
    /// <param name="response">The 429, or null after a failure to connect.</param>
    /// <param name="attemptNumber">0 for the first attempt.</param>
    /// <param name="jitter">False gives the longest delay the jitter can produce, to compare with the deadline.</param>
    public static TimeSpan GetDelay(HttpResponseMessage? response, int attemptNumber, bool jitter) =>
        RunchatRetry.Delay(GetRetryAfter(response), attemptNumber, BaseDelay, MaxRetryAfter, jitter);

    /// <summary>The delay a 429 asks for (delta-seconds or HTTP date), or null to use the exponential backoff.</summary>
    public static TimeSpan? GetRetryAfter(HttpResponseMessage? response) => RunchatRetry.RetryAfterOf(response, DateTimeOffset.UtcNow);
}
/// <summary>
/// Polly's loggers for this pipeline, minus the records of an attempt cut off by the deadline or the
/// caller below Warning: Polly attaches the cancellation's stack trace to them (some at a fixed
/// level), and the Runchat log line already reports the timeout, once and in words.
/// </summary>
internal sealed class QuietCancellationLoggerFactory : Microsoft.Extensions.Logging.ILoggerFactory
{
    private readonly Microsoft.Extensions.Logging.ILoggerFactory _inner;

    public QuietCancellationLoggerFactory(Microsoft.Extensions.Logging.ILoggerFactory inner) => _inner = inner;

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(_inner.CreateLogger(categoryName));

    public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider) => _inner.AddProvider(provider);

    /// <summary>The app owns the inner factory.</summary>
    public void Dispose()
    {
    }

    private sealed class Logger : Microsoft.Extensions.Logging.ILogger
    {
        private readonly Microsoft.Extensions.Logging.ILogger _inner;

        public Logger(Microsoft.Extensions.Logging.ILogger inner) => _inner = inner;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => _inner.BeginScope(state);

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => _inner.IsEnabled(logLevel);

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is OperationCanceledException && logLevel < Microsoft.Extensions.Logging.LogLevel.Warning)
            {
                return;
            }

            _inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
