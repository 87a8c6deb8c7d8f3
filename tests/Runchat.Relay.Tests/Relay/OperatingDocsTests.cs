using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Runchat.Relay;
using Runchat.Tests.Cli;
using Runchat.Tests.TestSupport;

namespace Runchat.Tests.Relay;

/// <summary>docs/relay.md's "Operating a relay for months", as written: its retention block is the defaults, and each command it shows is one the tool takes.</summary>
[TestFixture]
[Category("Docs")]
public class OperatingDocsTests
{
    private static string Chapter()
    {
        var page = File.ReadAllText(Repository.Path("docs", "relay.md")).Replace("\r\n", "\n");
        var start = page.IndexOf("### Operating a relay for months", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThan(0), "docs/relay.md has the chapter");
        return page.Substring(start, page.IndexOf("\n### ", start + 10, StringComparison.Ordinal) - start);
    }

    [Test]
    public void TheRetentionBlockIsExactlyTheDefaults()
    {
        var block = Regex.Match(Chapter(), "<!-- config: retention -->\n```json\n(.*?)\n```", RegexOptions.Singleline);
        Assert.That(block.Success, Is.True);
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(block.Groups[1].Value)))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Relay:Store"] = "sqlite:" + Path.Combine(Path.GetTempPath(), "docs-retention.db") }).Build();
        using var provider = new ServiceCollection().AddLogging().AddRunchatRelay(configuration.GetSection("Relay")).BuildServiceProvider();
        var documented = provider.GetRequiredService<IOptions<RunchatRelayOptions>>().Value.Retention;
        var defaults = new RelayRetentionOptions();
        Assert.That((documented.Succeeded, documented.Failed, documented.Unknown, documented.Ignored), Is.EqualTo((defaults.Succeeded, defaults.Failed, defaults.Unknown, defaults.Ignored)));
    }

    [Test]
    public async Task EveryCommandTheChapterShowsIsOneTheToolTakes()
    {
        var directory = Directory.CreateTempSubdirectory("runchat-docs-operating-").FullName;
        var config = Path.Combine(directory, "relay.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Relay = new
            {
                Store = "sqlite:" + Path.Combine(directory, "relay.db"),
                Routes = new[] { new { Path = "/hooks/github", JobId = "triage-agent", Signature = "none" } },
                Schedules = new[] { new { Name = "weekday-digest", Cron = "0 9 * * 1-5", JobId = "digest-agent" } },
            },
        }));
        var commands = Regex.Matches(Chapter(), @"^(?:\$ )?runchat-job (relay [^\n#]*?)\s*(?:#.*)?$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.That(commands.Select(c => c.Split(' ')[1]).Distinct(), Is.EquivalentTo(new[] { "purge", "forget", "pause", "resume", "replay", "instances" }));
        // A store a relay has written (the verbs that read one refuse a missing SQLite file).
        using (var store = (SqlDeliveryStore)DeliveryStoreLocationOf(config).Open())
        {
            await store.AddAsync(new NewDelivery("dlv_docs_1", "/hooks/github", "triage-agent", "key:1", "{}"u8.ToArray(), DateTimeOffset.UtcNow, SenderId: "sender-2", Event: "issues.opened")
            {
                State = RelayDeliveryState.Failed,
                Reason = "HTTP 500",
            }, default);
        }

        foreach (var command in commands)
        {
            var args = Regex.Replace(command, @"\[([^\]]*)\]", "$1").Replace("<id>", "sender-1").Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(a => a == "relay.json" ? config : a).ToArray();
            var (exitCode, output, error) = await InProcessCli.RunAsync(args);
            Assert.That(error, Does.Not.Contain("--help' for usage"), $"runchat-job {command}: {error}");
            // A bulk replay without --yes lists and exits 2, as the page says; every other one succeeds.
            var listsOnly = args[1] == "replay" && !args.Contains("--yes");
            Assert.That(exitCode, Is.EqualTo(listsOnly ? 2 : 0), $"runchat-job {command}: {output}{error}");
        }

        Directory.Delete(directory, recursive: true);
    }

    private static DeliveryStoreLocation DeliveryStoreLocationOf(string config)
    {
        var store = JsonDocument.Parse(File.ReadAllText(config)).RootElement.GetProperty("Relay").GetProperty("Store").GetString();
        Assert.That(DeliveryStoreLocation.TryParse(store, out var location, out var error), Is.True, error);
        return location!;
    }
}
