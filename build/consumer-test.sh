#!/usr/bin/env bash
# Proves the packages work for someone who only has the .nupkg files:
#   1. the README's "Install from source" blocks, run as written: pack all three packages with one
#      version into ~/runchat-feed, install the runchat-job tool globally, write nuget.config, add
#      the packages to an app, start the sandbox and point the app at it with Runchat__* variables;
#   2. the app calls AddRunchatClient(configuration) + TriggerAgentJobAsync and checks the reply;
#   4. a net8.0 app that pins Microsoft.Extensions.Hosting 8.0.x: it restores, keeps
#      Microsoft.Extensions.Http at 8.0.x and runs against the sandbox;
#   5. a netstandard2.0 class library that compiles against the package.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
sandbox_pid=""
# Stops what this script started and checks that it stopped: SIGTERM, then up to 5 s.
stop_sandbox() {
  [ -n "$sandbox_pid" ] || return 0
  kill -TERM "$sandbox_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$sandbox_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$sandbox_pid" 2>/dev/null; then
    kill -KILL "$sandbox_pid" 2>/dev/null || true
    echo "the sandbox did not stop within 5 s of SIGTERM" >&2
    sandbox_pid=""
    return 1
  fi
  wait "$sandbox_pid" 2>/dev/null || true
  echo "sandbox stopped on SIGTERM"
  sandbox_pid=""
}
cleanup() { stop_sandbox || true; rm -rf "$work"; }
trap cleanup EXIT

# The README's "Install from source" steps, as written there: each block after a
# "<!-- consumer-test: NAME -->" marker is run literally, so the README and this test cannot drift.
# HOME is a fresh folder (the README's ~/runchat-feed, the global tool and %HOME% in nuget.config
# all land there); the NuGet package cache stays the machine's, to save downloads.
readme_block() {
  python3 - "$root/README.md" "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
match = re.search(r"<!-- consumer-test: " + re.escape(sys.argv[2]) + r" -->\n```\w+\n(.*?)\n```", text, re.S)
if not match:
    sys.exit("README.md has no consumer-test block " + sys.argv[2])
print(match.group(1))
PY
}
export NUGET_PACKAGES="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
export HOME="$work/home"
mkdir -p "$HOME"
export PATH="$HOME/.dotnet/tools:$PATH"
feed="$HOME/runchat-feed"
echo "== the README's pack block"
readme_block pack
(cd "$root" && eval "$(readme_block pack)")
version=$(ls "$feed" | sed -n 's/^Runchat\.Generated\.\(.*\)\.nupkg$/\1/p' | head -n 1)
for package in Runchat.Relay Runchat.Cli; do
  [ -f "$feed/$package.$version.nupkg" ] || { echo "$package was not packed with the client's version $version" >&2; ls "$feed" >&2; exit 1; }
done
ls -l "$feed"
[ -f "$feed/Runchat.Generated.$version.snupkg" ] || { echo "no symbols package" >&2; exit 1; }
python3 -m zipfile -l "$feed/Runchat.Generated.$version.nupkg" | grep -E 'lib/(netstandard2.0|net8.0)/Runchat.Generated.(dll|xml)|README.md|ConfigurationSchema.json'
# The listing is captured before it is matched: a pipe into grep -q under pipefail fails at random (SIGPIPE).
for package in Runchat.Generated Runchat.Relay; do
  listing=$(python3 -m zipfile -l "$feed/$package.$version.nupkg")
  [[ "$listing" == *ConfigurationSchema.json* ]] || { echo "$package has no ConfigurationSchema.json" >&2; exit 1; }
done
echo "== package dependencies (.nuspec)"
python3 - "$feed/Runchat.Generated.$version.nupkg" <<'PY'
import re, sys, zipfile
nuspec = next(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith(".nuspec"))
text = zipfile.ZipFile(sys.argv[1]).read(nuspec).decode()
for group in re.findall(r'<group targetFramework="([^"]+)">(.*?)</group>', text, re.S):
    print(group[0] + ": " + ", ".join(f"{i} {v}" for i, v in re.findall(r'<dependency id="([^"]+)" version="([^"]+)"', group[1])))
    if re.search(r'id="Microsoft\.Extensions\.(?!Http\.Resilience")[^"]*" version="(?!8\.0\.)', group[1]):
        sys.exit("a Microsoft.Extensions dependency above 8.0.x would force .NET 8 apps to upgrade")
# XML docs for public types only: nothing of Runchat.Internal in IntelliSense.
package = zipfile.ZipFile(sys.argv[1])
for name in (n for n in package.namelist() if n.endswith("Runchat.Generated.xml")):
    docs = package.read(name).decode()
    members = len(re.findall(r'<member name="', docs))
    internal = re.findall(r'<member name="\w:Runchat\.Internal\.[^"]*"', docs)
    print(f"{name}: {members} documented members, {len(internal)} of Runchat.Internal")
    if internal or members == 0:
        sys.exit(f"{name} documents internal members: {internal[:3]}")
PY

echo "== the README's nuget.config"
readme_block nuget.config | sed '/^<!--/d' > "$work/nuget.config"
cat "$work/nuget.config"

# A project outside the solution (so none of the repository's props apply) that takes the
# package from the folder feed: project <dir> <target framework> [extra properties].
project() {
  mkdir -p "$work/$1"
  cat > "$work/$1/$1.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>$2</TargetFramework>
    <LangVersion>latest</LangVersion>
    <Nullable>enable</Nullable>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <NoWarn>NU1603</NoWarn>
    ${3:-}
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Runchat.Generated" Version="$version" />
  </ItemGroup>
</Project>
XML
}

echo "== the tool the README installed, and the README's sandbox block"
runchat-job --help | head -n 3
eval "$(readme_block sandbox)" > "$work/sandbox.log" 2>&1
sandbox_pid=$!
for _ in $(seq 1 50); do grep -q "listening" "$work/sandbox.log" 2>/dev/null && break; sleep 0.2; done
grep "listening" "$work/sandbox.log"
port=5123
echo "Runchat__BaseUrl=$Runchat__BaseUrl"

echo "== consumer app (net10.0)"
project app net10.0 "<OutputType>Exe</OutputType><ImplicitUsings>enable</ImplicitUsings>"
sed -i '/<PackageReference Include="Runchat.Generated"/d' "$work/app/app.csproj"
echo "== the README's add block, in the app"
(cd "$work/app" && eval "$(readme_block add)")
grep -E 'PackageReference Include="Runchat\.(Generated|Relay)" Version="'"$version"'"' "$work/app/app.csproj"
cat > "$work/app/Program.cs" <<'CS'
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Runchat;

// As an app reads it: the Runchat section, here from the README's Runchat__BaseUrl and Runchat__ApiKey.
var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
var services = new ServiceCollection();
services.AddRunchatClient(configuration.GetSection("Runchat"));
using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<IRunchatClient>();

var reply = (await client.TriggerAgentJobAsync("consumer-demo", "hello from a package consumer")).EnsureSuccess().FinalReply;
var raw = await client.TriggerAgentJobAsync("consumer-demo", JobPayload.FromJson("{\"amount\": 1.10}"));
Console.WriteLine(reply);
Console.WriteLine(raw.Transcript[2].Text);
return reply!.Contains("hello from a package consumer") && raw.Transcript[2].Text == "{\"amount\": 1.10}" ? 0 : 1;
CS
(cd "$work" && dotnet run --project app -v:q)

echo "== .NET 8 LTS app (Microsoft.Extensions.Hosting 8.0.1 pinned)"
# Only the .NET 10 runtime may be installed: RollForward runs the net8.0 build on it.
project lts net8.0 "<OutputType>Exe</OutputType><ImplicitUsings>enable</ImplicitUsings><RollForward>Major</RollForward>"
sed -i 's#</ItemGroup>#  <PackageReference Include="Microsoft.Extensions.Hosting" Version="8.0.1" />\n  </ItemGroup>#' "$work/lts/lts.csproj"
cat > "$work/lts/Program.cs" <<'CS'
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Runchat;

var builder = Host.CreateApplicationBuilder();
builder.Services.AddRunchatClient(options =>
{
    options.ApiKey = "lts-key";
    options.BaseUrl = new Uri(args[0]);
});
using var host = builder.Build();
var run = await host.Services.GetRequiredService<IRunchatClient>().TriggerAgentJobAsync("lts-demo", "hello from .NET 8");
Console.WriteLine(run.EnsureSuccess().FinalReply);
return run.FinalReply!.Contains("hello from .NET 8") ? 0 : 1;
CS
(cd "$work" && dotnet run --project lts -v:q -- "http://127.0.0.1:$port")
http_version=$(python3 -c 'import json,sys; libs=json.load(open(sys.argv[1]))["libraries"]; print(" ".join(k for k in libs if k.lower().startswith("microsoft.extensions.http/")))' "$work/lts/obj/project.assets.json")
echo "resolved in the .NET 8 app: $http_version"
case "$http_version" in Microsoft.Extensions.Http/8.0.*) ;; *) echo "the package lifted Microsoft.Extensions.Http above 8.0.x" >&2; exit 1;; esac

echo "== relay app (Runchat.Relay from the feed, net8.0 on the installed runtime)"
project relayapp net8.0 "<OutputType>Exe</OutputType><ImplicitUsings>enable</ImplicitUsings><RollForward>Major</RollForward>"
sed -i "s#<PackageReference Include=\"Runchat.Generated\" Version=\"$version\" />#<PackageReference Include=\"Runchat.Relay\" Version=\"$version\" />#" "$work/relayapp/relayapp.csproj"
sed -i 's#Sdk="Microsoft.NET.Sdk"#Sdk="Microsoft.NET.Sdk.Web"#' "$work/relayapp/relayapp.csproj"
cat > "$work/relayapp/Program.cs" <<'CS'
using Runchat.Relay;
using Runchat.Relay.Signatures;

var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddRunchatClient(o => { o.ApiKey = "relay-consumer"; o.BaseUrl = new Uri(args[0]); });
builder.Services.AddRunchatRelay(o => o.Store = "sqlite:" + Path.Combine(Path.GetTempPath(), $"relay-consumer-{Guid.NewGuid():N}.db"));
var app = builder.Build();
app.MapRunchatWebhook("/hooks/github", "triage-agent", WebhookSignature.GitHub("consumer-secret-0123456789"));
await app.StartAsync();

var body = "{\"action\":\"opened\",\"amount\":1.10}"u8.ToArray();
using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/github") { Content = new ByteArrayContent(body) };
var mac = Convert.ToHexString(System.Security.Cryptography.HMACSHA256.HashData("consumer-secret-0123456789"u8, body)).ToLowerInvariant();
request.Headers.Add("X-Hub-Signature-256", "sha256=" + mac);
request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
using var response = await http.SendAsync(request);
Console.WriteLine($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");

var relay = app.Services.GetRequiredService<IRunchatRelay>();
for (var i = 0; i < 100 && (await relay.ListAsync(RelayDeliveryState.Succeeded)).Count == 0; i++) await Task.Delay(100);
var delivery = (await relay.ListAsync()).Single();
Console.WriteLine($"{delivery.State}: {delivery.FinalReply}");
await app.StopAsync();
return (int)response.StatusCode == 202 && delivery.State == RelayDeliveryState.Succeeded ? 0 : 1;
CS
(cd "$work" && dotnet run --project relayapp -v:q -- "http://127.0.0.1:$port")

echo "== netstandard2.0 library"
project nslib netstandard2.0
cat > "$work/nslib/Relay.cs" <<'CS'
using System.Threading.Tasks;
using Runchat;

public static class Relay
{
    public static async Task<string> ForwardAsync(IRunchatClient client, byte[] webhook)
    {
        var run = await client.TriggerAgentJobAsync("relay", JobPayload.FromBytes(webhook));
        return run.EnsureSuccess().FinalReply ?? "";
    }
}
CS
(cd "$work" && dotnet build nslib -v:q -nologo)
stop_sandbox
echo "consumer-test: OK ($version)"
