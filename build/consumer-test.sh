#!/usr/bin/env bash
# Proves the packages work for someone who only has the .nupkg files:
#   1. dotnet pack -c Release: the library (.nupkg + .snupkg) and the runchat-job tool;
#   2. dotnet tool install from that folder, then runchat-job --help, then its sandbox;
#   3. a console app outside the solution that installs the library from the folder feed, calls
#      AddRunchatClient + TriggerAgentJobAsync against the sandbox, and checks the reply;
#   4. a netstandard2.0 class library that compiles against the package.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
sandbox_pid=""
cleanup() { [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# A unique version, so a package cached by an earlier run can never stand in for this one.
suffix="consumer.$(date +%Y%m%d%H%M%S)"
feed="$work/feed"
echo "== pack ($suffix)"
dotnet pack "$root/src/Runchat.Generated" -c Release -o "$feed" --version-suffix "$suffix" -v:q -nologo
dotnet pack "$root/src/Runchat.Cli" -c Release -o "$feed" --version-suffix "$suffix" -v:q -nologo
version=$(ls "$feed" | sed -n 's/^Runchat\.Generated\.\(.*\)\.nupkg$/\1/p' | head -n 1)
ls -l "$feed"
[ -f "$feed/Runchat.Generated.$version.snupkg" ] || { echo "no symbols package" >&2; exit 1; }
python3 -m zipfile -l "$feed/Runchat.Generated.$version.nupkg" | grep -E 'lib/(netstandard2.0|net8.0)/Runchat.Generated.(dll|xml)|README.md' 

cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local-feed" value="$feed" />
  </packageSources>
</configuration>
XML

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

echo "== tool install"
dotnet tool install Runchat.Cli --version "$version" --tool-path "$work/tools" --add-source "$feed" >/dev/null
"$work/tools/runchat-job" --help | head -n 3
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$work/tools/runchat-job" sandbox --port "$port" > "$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 50); do grep -q "listening" "$work/sandbox.log" 2>/dev/null && break; sleep 0.2; done
grep "listening" "$work/sandbox.log"

echo "== consumer app (net10.0)"
project app net10.0 "<OutputType>Exe</OutputType><ImplicitUsings>enable</ImplicitUsings>"
cat > "$work/app/Program.cs" <<'CS'
using Microsoft.Extensions.DependencyInjection;
using Runchat;

var services = new ServiceCollection();
services.AddRunchatClient(options =>
{
    options.ApiKey = "consumer-key";
    options.BaseUrl = new Uri(args[0]);
});
using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<IRunchatClient>();

var reply = (await client.TriggerAgentJobAsync("consumer-demo", "hello from a package consumer")).EnsureSuccess().FinalReply;
var raw = await client.TriggerAgentJobAsync("consumer-demo", JobPayload.FromJson("{\"amount\": 1.10}"));
Console.WriteLine(reply);
Console.WriteLine(raw.Transcript[2].Text);
return reply!.Contains("hello from a package consumer") && raw.Transcript[2].Text == "{\"amount\": 1.10}" ? 0 : 1;
CS
(cd "$work" && dotnet run --project app -v:q -- "http://127.0.0.1:$port")

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
echo "consumer-test: OK ($version)"
