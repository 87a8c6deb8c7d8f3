using System;
using System.Net.Http;
using NUnit.Framework;
using Runchat.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Runchat.Tests.Transport;

/// <summary>
/// RunchatRetry is the one owner of "may this be sent again, and when": the client's own retries and
/// the relay's rescheduling both ask it, and Retry-After is read once, by the error mapper, into
/// RunchatApiException.RetryAfter.
/// </summary>
[TestFixture]
[Category("Contract")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class RetryRuleTests : WireMockTest
{
    [Test]
    public void AnHttpDateRetryAfterIsMeasuredAgainstTheServersDateNotTheLocalClock()
    {
        // The server's clock is a year behind this machine's: measured against the local clock,
        // the date would be long past (0 s); against the answer's own Date, it is 42 s.
        var serverNow = DateTimeOffset.UtcNow.AddYears(-1);
        const string Body = "{\"error\":\"slow down\"}";
        using var peer = new RawHttpPeer(_ =>
            "HTTP/1.1 429 Too Many Requests\r\n" +
            $"Date: {serverNow:r}\r\nRetry-After: {serverNow.AddSeconds(42):r}\r\n" +
            $"Content-Type: application/json\r\nContent-Length: {Body.Length}\r\nConnection: close\r\n\r\n{Body}");
        using var client = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = peer.BaseUrl, MaxRetries = 0 });

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(exception!.StatusCode, Is.EqualTo(429));
        Assert.That(exception.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(42)));
        Assert.That(RunchatRetry.IsSafeToResend(exception), Is.True);
        Assert.That(RunchatRetry.GetDelay(exception, retry: 0, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)), Is.EqualTo(TimeSpan.FromSeconds(42)));
        Assert.That(RunchatRetry.GetDelay(exception, retry: 0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)), Is.EqualTo(TimeSpan.FromSeconds(10)), "capped");
        Assert.That(peer.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public void ADeltaRetryAfterIsReadOnceIntoTheException()
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "7"));
        using var client = CreateClient(o => o.MaxRetries = 0);

        var exception = Assert.ThrowsAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(exception!.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(7)));
        Assert.That(exception.Message, Does.Contain("retry after 7 s"));
    }

    [TestCase(500)]
    [TestCase(502)]
    [TestCase(400)]
    [TestCase(404)]
    public void WhatMayHaveRunOrWasRefusedIsNotSafeToResend(int status)
    {
        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Retry-After", "1").WithBody("{\"error\":\"no\"}"));
        using var client = CreateClient();

        var exception = Assert.CatchAsync<RunchatApiException>(() => client.TriggerAgentJobAsync("demo-agent", "go"));

        Assert.That(exception!.StatusCode, Is.EqualTo(status));
        Assert.That(RunchatRetry.IsSafeToResend(exception), Is.False);
        Assert.That(Requests, Has.Count.EqualTo(1), "the client's own retries follow the same rule");
    }

    [Test]
    public void AFailureToConnectIsSafeToResendAndATimeoutIsNot()
    {
        var closedPort = Ports.Free();
        using var refused = new RunchatClient(new RunchatClientOptions { ApiKey = ApiKey, BaseUrl = new Uri($"http://127.0.0.1:{closedPort}/api/v1/"), MaxRetries = 0 });
        var connect = Assert.ThrowsAsync<HttpRequestException>(() => refused.TriggerAgentJobAsync("demo-agent", "go"));
        Assert.That(RunchatRetry.IsSafeToResend(connect!), Is.True, connect!.ToString());

        Server.Given(Request.Create().WithPath(JobPath + "*").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(5)).WithBody(ResponseBodies.Success()));
        using var slow = CreateClient(o => o.Timeout = TimeSpan.FromMilliseconds(300));
        var timeout = Assert.ThrowsAsync<TimeoutException>(() => slow.TriggerAgentJobAsync("demo-agent", "go"));
        Assert.That(RunchatRetry.IsSafeToResend(timeout!), Is.False);
        Assert.That(RunchatRetry.IsSafeToResend(new HttpRequestException("dropped", new System.IO.IOException("reset"))), Is.False);
    }

    [Test]
    public void WithoutRetryAfterTheDelayDoublesFromTheBaseWithAtMostAQuarterOfJitter()
    {
        var exception = RunchatModelFactory.RunchatApiException(429);
        for (var retry = 0; retry < 4; retry++)
        {
            var delay = RunchatRetry.GetDelay(exception, retry, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5));
            var exponential = TimeSpan.FromSeconds(2 * Math.Pow(2, retry));
            Assert.That(delay, Is.GreaterThanOrEqualTo(exponential).And.LessThanOrEqualTo(TimeSpan.FromTicks((long)(exponential.Ticks * 1.25))), $"retry {retry}");
        }

        Assert.That(RunchatRetry.GetDelay(exception, 30, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5)), Is.EqualTo(TimeSpan.FromMinutes(5)));
        Assert.That(RunchatRetry.GetDelay(RunchatModelFactory.RunchatApiException(429, null, null, TimeSpan.FromSeconds(3)), 5, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5)), Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => RunchatRetry.GetDelay(exception, -1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentNullException>(() => RunchatRetry.IsSafeToResend(null!));
    }
}
