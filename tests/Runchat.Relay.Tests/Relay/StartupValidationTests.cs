using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.Relay.Signatures;

namespace Runchat.Tests.Relay;

/// <summary>A route that cannot work fails the relay at start-up, naming the route.</summary>
[TestFixture]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
public class StartupValidationTests
{
    private static readonly Uri Nowhere = new("http://127.0.0.1:9/api/v1/");

    [TestCase("..", "none", null, "/hooks/bad", "JobId")]
    [TestCase("", "none", null, "/hooks/bad", "JobId")]
    [TestCase("billing-agent", "stripe", null, "/hooks/stripe", "Secret")]
    [TestCase("billing-agent", "standard-webhooks", "not base64 !!", "/hooks/forms", "base64")]
    [TestCase("billing-agent", "hmac-sha256", "s3cret", "/hooks/alerts", "Header")]
    [TestCase("billing-agent", "md5", "s3cret", "/hooks/alerts", "not known")]
    [TestCase("billing-agent", "standard-webhooks", "whsec_", "/hooks/forms", "decodes to 0 bytes")]
    [TestCase("billing-agent", "standard-webhooks", "whsec_AA==", "/hooks/forms", "decodes to 1 bytes")]
    [TestCase("billing-agent", "stripe", "whsec_short", "/hooks/stripe", "at least 16")]
    [TestCase("billing-agent", "github", "abc", "/hooks/github", "at least 16")]
    [TestCase("billing-agent", "slack", "0123456789abcde", "/hooks/slack", "at least 16")]
    [TestCase("billing-agent", "hmac-sha256", "tiny", "/hooks/alerts", "Header")]
    public void ARouteThatCannotWorkFailsAtStartupNamingTheRoute(string jobId, string signature, string? secret, string path, string phrase)
    {
        var exception = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var host = await RelayHost.StartAsync(Nowhere, o => o.Routes.Add(RelayHost.Route(path, jobId, signature, secret)));
        });

        Assert.That(exception!.Message, Does.Contain(path).And.Contain(phrase));
    }

    [Test]
    public void ARouteMappedInCodeIsCheckedWhenMapped()
    {
        var exception = Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await using var host = await RelayHost.StartAsync(Nowhere, _ => { }, map: m => m.App.MapRunchatWebhookForTest("/hooks/code", "bad\u0001id"));
        });

        Assert.That(exception!.Message, Does.Contain("/hooks/code").And.Contain("control character"));
    }

    [TestCase("hooks/code", "must start with '/'")]
    [TestCase("", "must start with '/'")]
    [TestCase(" ", "must start with '/'")]
    [TestCase("/hooks/{id}", "would make it a route template")]
    [TestCase("/hooks/a b", "a character a request path cannot match")]
    [TestCase("/hooks/../code", "a '.' or '..' segment")]
    public void APathMappedInCodeIsCheckedWhenMapped(string path, string phrase)
    {
        var exception = Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await using var host = await RelayHost.StartAsync(Nowhere, _ => { }, map: m => m.App.MapRunchatWebhookForTest(path, "demo-agent"));
        });

        Assert.That(exception!.Message, Does.Contain($"'{path}'").And.Contain(phrase));
    }

    [TestCase("/hooks/code", "/hooks/code")]
    [TestCase("/hooks/code", "/HOOKS/Code/")]
    [TestCase("/hooks/configured", "/hooks/Configured")]
    public void APathMappedTwiceFailsAtStartupNamingIt(string first, string second)
    {
        var exception = Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await using var host = await RelayHost.StartAsync(
                Nowhere,
                o => o.Routes.Add(RelayHost.Route("/hooks/configured", "demo-agent")),
                map: m =>
                {
                    if (first != "/hooks/configured")
                    {
                        m.App.MapRunchatWebhookForTest(first, "demo-agent");
                    }

                    m.App.MapRunchatWebhookForTest(second, "other-agent");
                });
        });

        Assert.That(exception!.Message, Does.Contain(second).And.Contain("is mapped twice"));
    }

    [Test]
    public async Task EachWebhookEndpointIsNamedByItsPathAndWhatItRuns()
    {
        await using var host = await RelayHost.StartAsync(Nowhere, o =>
        {
            o.Routes.Add(RelayHost.Route("/hooks/issues", "triage-agent"));
            o.Routes.Add(new RelayRouteOptions { Path = "/hooks/forms", FlowId = "intake-flow", Signature = "none" });
        });

        var names = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.Select(e => e.DisplayName).ToList();

        Assert.That(names, Does.Contain("Runchat webhook /hooks/issues -> job triage-agent"));
        Assert.That(names, Does.Contain("Runchat webhook /hooks/forms -> flow intake-flow"));
    }

    [Test]
    public async Task AWhenThatCannotBeEvaluatedOnADeliveryStoresItFailedWithTheReasonAndRunsNothing()
    {
        // Nowhere answers nothing: a delivery that ran would fail with a connection error, not this reason.
        await using var host = await RelayHost.StartAsync(Nowhere, o =>
        {
            var route = RelayHost.Route("/hooks/regex", "regex-agent");
            route.When = @"$.labels[?(@.name =~ /^(\w+\s?)*$/)]";
            o.Routes.Add(route);
        });

        var (status, body) = await host.PostAsync("/hooks/regex", "{\"labels\":[{\"name\":\"" + new string('a', 34) + "!\"}]}");

        Assert.That(status, Is.EqualTo(202), body.ToString());
        var delivery = await host.Relay.GetAsync(body.GetProperty("delivery_id").GetString()!);
        Assert.That(delivery!.State, Is.EqualTo(RelayDeliveryState.Failed));
        Assert.That(delivery.LastError, Does.StartWith("The route's When").And.Contain("could not be evaluated").And.Contain("took longer than 100 ms").And.Contain("Nothing was run"));
        Assert.That(delivery.Attempts, Is.EqualTo(0));
    }

    [TestCase("postgres:", "needs an Npgsql connection string")]
    [TestCase("postgres:Port=5432;Password=pg-Secret-7731", "needs a Host")]
    [TestCase("postgres:Host=db;Passwrd=pg-Secret-7731", "a setting Npgsql does not know")]
    [TestCase("postgres:Host=db;Password=pg-Secret-7731;S3cretTail=x", "a setting Npgsql does not know")]
    [TestCase("postgres:Host=db;Port=pg-Secret-7731", "the value of port has the wrong format")]
    [TestCase("mysql:Server=db;Password=pg-Secret-7731", "postgres:<Npgsql connection string>")]
    public void AStoreSettingThatCannotWorkFailsAtStartupWithoutRepeatingItsValues(string store, string phrase)
    {
        var exception = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var host = await RelayHost.StartAsync(Nowhere, o => o.Store = store);
        });

        TestContext.Out.WriteLine(exception!.Message);
        Assert.That(exception.Message, Does.Contain("Relay:Store").And.Contain(phrase).IgnoreCase);
        Assert.That(exception.Message, Does.Not.Contain("pg-Secret-7731"));
        Assert.That(exception.Message, Does.Not.Contain("passwrd").IgnoreCase.And.Not.Contain("s3crettail").IgnoreCase, "a keyword as typed is never repeated");
    }

    [Test]
    public async Task AStoreThatDoesNotAnswerIsA503ForTheSenderAndOneDispatcherErrorInTheLogNotOneASecond()
    {
        await using var host = await RelayHost.StartAsync(Nowhere, o =>
        {
            o.Store = "postgres:Host=127.0.0.1;Port=1;Username=relay;Password=pg-Secret-7731;Timeout=1";
            o.Routes.Add(RelayHost.Route("/hooks/open", "demo-agent"));
        });

        var (status, body) = await host.PostAsync("/hooks/open", "{\"event\":\"x\"}");
        Assert.That(status, Is.EqualTo(503), "nothing was stored: the sender should retry");
        Assert.That(body.GetProperty("error").GetString(), Does.Contain("nothing was stored"));

        await Task.Delay(TimeSpan.FromSeconds(3.5));

        var lines = host.Errors.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("Error:", StringComparison.Ordinal)).ToList();
        TestContext.Out.WriteLine(string.Join(Environment.NewLine, lines.Select(l => l.Split('\n')[0])));
        Assert.That(lines.Count(l => l.Contains("could not read its store")), Is.EqualTo(1), host.Errors);
        Assert.That(host.Errors, Does.Not.Contain("pg-Secret-7731"));
    }

    [Test]
    public void APostgresStoreIsShownWithItsPasswordMasked()
    {
        Assert.That(DeliveryStoreLocation.TryParse("postgres:Host=db;Database=relay;Username=relay;Password=pg-Secret-7731", out var location, out var error), Is.True, error);

        Assert.That(location!.Display, Does.Contain("Host=db").And.Contain("Password=***").And.Not.Contain("pg-Secret-7731"));
        Assert.That(location.ToString(), Is.EqualTo(location.Display));
    }
}

internal static class MapExtensionsForTests
{
    public static void MapRunchatWebhookForTest(this Microsoft.AspNetCore.Builder.WebApplication app, string path, string jobId) =>
        app.MapRunchatWebhook(path, jobId, WebhookSignature.None);
}
