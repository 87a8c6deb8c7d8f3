using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using NUnit.Framework;
using Runchat.Cli;
using Runchat.Relay.Signatures;
using Runchat.Tests.Cli;

namespace Runchat.Tests.Relay;

/// <summary>
/// <c>relay sign</c> and <c>relay test</c> for the senders added with the scheme objects: the headers <c>sign</c> prints
/// verify (Twilio's with Twilio's own validator), a scheme that needs a URL asks for it, one that cannot sign says so,
/// and a dry run names each sender's events as <c>serve</c> does.
/// </summary>
[TestFixture]
[Category("Relay")]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class SenderCliTests
{
    private const string Secret = "a-sender-secret-of-32-characters";
    private const string Order = "{\"id\":820982911946154508,\"email\":\"jon@example.com\",\"line_items\":[{\"id\":1,\"title\":\"Kettle\"}]}";
    private string _directory = null!;
    private string _config = null!;

    [SetUp]
    public void WriteConfig()
    {
        _directory = Directory.CreateTempSubdirectory("relay-sender-cli-").FullName;
        _config = Path.Combine(_directory, "relay.json");
        File.WriteAllText(_config, JsonSerializer.Serialize(new
        {
            Relay = new
            {
                Store = "sqlite:" + Path.Combine(_directory, "never-created.db"),
                Routes = new object[]
                {
                    new { Path = "/hooks/shopify", JobId = "shop-agent", Signature = "shopify", Secret, Events = new[] { "orders/*" }, Message = "Order for {{ payload.line_items[0].title }}" },
                    new { Path = "/hooks/discord", JobId = "discord-agent", Signature = "discord", PublicKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" },
                    new { Path = "/hooks/linear", JobId = "linear-agent", Signature = "linear", Secret, Events = new[] { "Issue.*" } },
                },
            },
        }));
    }

    [TearDown]
    public void Remove() => Directory.Delete(_directory, recursive: true);

    private static Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args) => InProcessCli.RunAsync(args);

    private static HeaderDictionary Headers(string output)
    {
        var headers = new HeaderDictionary();
        foreach (var line in output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            headers[line[..colon]] = line[(colon + 2)..];
        }

        return headers;
    }

    [TestCase("shopify", "X-Shopify-Hmac-Sha256")]
    [TestCase("gitlab", "X-Gitlab-Token")]
    [TestCase("pagerduty", "X-PagerDuty-Signature")]
    public async Task SignPrintsHeadersTheSchemeVerifies(string scheme, string header)
    {
        var (exitCode, output, error) = await RunAsync("relay", "sign", "--scheme", scheme, "--secret", Secret, "--payload", Order);

        Assert.That(exitCode, Is.EqualTo(0), error);
        var headers = Headers(output);
        Assert.That(headers.ContainsKey(header), Is.True, output);
        var request = new WebhookRequest(headers, Encoding.UTF8.GetBytes(Order), new Uri("http://relay.test/hooks"), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        Assert.That(WebhookSchemes.BuiltIn.Create(scheme, new WebhookSchemeSettings("/hooks", Secret)).Verify(request).IsValid, Is.True);
    }

    [Test]
    public async Task SignForTwilioNeedsThePublicUrlAndTwiliosValidatorAcceptsWhatItPrints()
    {
        const string form = "MessageSid=SM1&SmsStatus=received&Body=hello+there&From=%2B14155552671";
        const string url = "https://relay.example.com/hooks/twilio";

        var without = await RunAsync("relay", "sign", "--scheme", "twilio", "--secret", Secret, "--payload", form);
        var with = await RunAsync("relay", "sign", "--scheme", "twilio", "--secret", Secret, "--public-url", url, "--payload", form);

        Assert.That(without.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(without.Error, Does.Contain("--public-url is required for twilio"));
        Assert.That(with.ExitCode, Is.EqualTo(0), with.Error);
        var signature = Headers(with.Out)["X-Twilio-Signature"].ToString();
        var parameters = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(form).ToDictionary(p => p.Key, p => p.Value.ToString());
        Assert.That(new Twilio.Security.RequestValidator(Secret).Validate(url, parameters, signature), Is.True);
    }

    [Test]
    public async Task SignRefusesDiscordWhichOnlyDiscordCanSign()
    {
        var (exitCode, _, error) = await RunAsync("relay", "sign", "--scheme", "discord", "--secret", Secret, "--payload", "{}");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("'discord'"));
    }

    [Test]
    public async Task TestNamesAShopifyDeliveryByTheTopicGivenAsItsEvent()
    {
        var (exitCode, output, error) = await RunAsync("relay", "test", "--config", _config, "--route", "/hooks/shopify", "--event", "orders/create", "--payload", Order);

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(output, Does.StartWith("would run (/hooks/shopify -> job shop-agent, event orders/create)"));
        Assert.That(output, Does.EndWith("Order for Kettle" + Environment.NewLine));
        Assert.That(File.Exists(Path.Combine(_directory, "never-created.db")), Is.False, "nothing stored");
    }

    [Test]
    public async Task TestNamesADiscordCommandAndALinearEventFromTheirBodies()
    {
        var discord = await RunAsync("relay", "test", "--config", _config, "--route", "/hooks/discord", "--payload", "{\"id\":\"9\",\"type\":2,\"data\":{\"name\":\"ask\"}}");
        var linear = await RunAsync("relay", "test", "--config", _config, "--route", "/hooks/linear", "--payload", "{\"type\":\"Comment\",\"action\":\"create\",\"webhookTimestamp\":1}");

        Assert.That(discord.ExitCode, Is.EqualTo(0), discord.Error);
        Assert.That(discord.Out, Does.StartWith("would run (/hooks/discord -> job discord-agent, event application_command.ask)"));
        Assert.That(linear.ExitCode, Is.EqualTo(0), linear.Error);
        Assert.That(linear.Out, Does.StartWith("would be ignored: The event 'Comment.create' is not one this route runs (Issue.*)."));
    }
}
