using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>
/// docs/relay.md's worked replies (a GitHub App, a Slack app, a webhook), as written there, with their secrets from the
/// environment as the page says: each is a configuration the relay accepts, and builds the reply the page describes.
/// </summary>
[TestFixture]
[Category("Docs")]
public class ReplyDocsTests
{
    private static string Example(string name)
    {
        var page = File.ReadAllText(Repository.Path("docs", "relay.md")).Replace("\r\n", "\n");
        var match = Regex.Match(page, $"<!-- config: {name} -->\n```json\n(.*?)\n```", RegexOptions.Singleline);
        Assert.That(match.Success, Is.True, $"docs/relay.md has no '<!-- config: {name} -->' block");
        return match.Groups[1].Value;
    }

    [TestCase("reply-github-app", "github-comment", typeof(GitHubCommentTarget))]
    [TestCase("reply-slack-app", "slack-thread", typeof(SlackThreadTarget))]
    [TestCase("reply-webhook", "webhook", typeof(WebhookReplyTarget))]
    public void AWorkedReplyOfTheDocsIsAConfigurationTheRelayAccepts(string name, string to, Type target)
    {
        using var key = RSA.Create(2048);
        // As the environment variables the page names would set them.
        var environment = new Dictionary<string, string?>
        {
            ["Relay:Store"] = "sqlite:" + Path.Combine(Path.GetTempPath(), $"docs-replies-{Guid.NewGuid():N}.db"),
            ["Relay:Routes:0:Secret"] = name == "reply-webhook" ? "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("docs example sender secret, 32b")) : "docs-example-signing-secret",
            ["Relay:Routes:0:PostReply:GitHub:PrivateKey"] = name == "reply-github-app" ? key.ExportRSAPrivateKeyPem() : null,
            ["Relay:Routes:0:PostReply:Slack:BotToken"] = name == "reply-slack-app" ? "xoxb-docs-example" : null,
            ["Relay:Routes:0:PostReply:Secret"] = name == "reply-webhook" ? "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("docs example receiver secret, 32")) : null,
        };
        var configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(Example(name))))
            .AddInMemoryCollection(environment.Where(e => e.Value is not null))
            .Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRunchatRelay(configuration.GetSection("Relay"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<RunchatRelayOptions>>().Value;
        var route = provider.GetRequiredService<RelayRouteTable>().Configured.Single();

        Assert.That(options.Routes.Single().PostReply!.To, Is.EqualTo(to));
        Assert.That(route.PostReply!.Target, Is.TypeOf(target));
        Assert.That(route.PostReply.Template is null, Is.EqualTo(to == "webhook"), "a template for text replies only");
    }
}
