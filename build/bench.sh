#!/usr/bin/env bash
# Runs the benchmark suite in a short mode and writes a markdown table of client/baseline ratios.
#
#   build/bench.sh            # short BenchmarkDotNet jobs + peak memory + no-op build timing
#   build/bench.sh --dry      # compile-and-run smoke only (what CI does); no numbers
#   build/bench.sh cost [deliveries] [rounds] [idle-seconds]   # the relay's CPU per delivery, 1 and 2 instances
#   build/bench.sh shapes     # ingest + render per byte: flat, deep, wide bodies of 10 KB to 10 MB, with and without rules
#
# Results go to tests/Runchat.Generated.Benchmarks/results/ (the table: results.md).
# Ratios compare medians measured in the same run; absolute times on shared machines are noise.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
project="$root/tests/Runchat.Generated.Benchmarks"
out="$project/results"
mkdir -p "$out"

dotnet build "$project" -c Release -nologo -v:q
dll="$project/bin/Release/net10.0/Runchat.Generated.Benchmarks.dll"

if [ "${1:-}" = "--dry" ]; then
  dotnet "$dll" --filter '*' --job dry --artifacts "$out/dry" > "$out/dry.log"
  found=$(sed -n 's/.*Found \([0-9]*\) benchmark(s) in total.*/\1/p' "$out/dry.log")
  executed=$(sed -n 's/^Global total time.*executed benchmarks: \([0-9]*\).*/\1/p' "$out/dry.log")
  if [ -z "$found" ] || [ "$found" != "$executed" ] || grep -iE 'has failed|Exception:' "$out/dry.log" >/dev/null; then
    echo "bench: dry run failed ($executed of ${found:-?} benchmarks ran); see $out/dry.log" >&2
    exit 1
  fi
  echo "bench: dry run OK ($executed benchmarks)"

  # The relay cost load tool, once, small: relays as processes on a throwaway PostgreSQL with pg_stat_statements.
  exports=$(RUNCHAT_POSTGRES_OPTIONS='-c shared_preload_libraries=pg_stat_statements' bash "$root/build/postgres.sh" start)
  eval "$exports"
  trap 'bash "$root/build/postgres.sh" stop "$RUNCHAT_TEST_POSTGRES_DIR"' EXIT
  if ! dotnet "$dll" cost 300 1 1 > "$out/cost-dry.log" 2>&1 || ! grep -F "2 instances / 1 instance, above idle" "$out/cost-dry.log" >/dev/null; then
    echo "bench: the relay cost dry run failed; see $out/cost-dry.log" >&2
    tail -n 20 "$out/cost-dry.log" >&2
    exit 1
  fi
  echo "bench: relay cost dry run OK"
  exit 0
fi

if [ "${1:-}" = "shapes" ]; then
  # IngestShapes.cs: the cost per byte must follow the size, not the shape (largest / smallest < 3).
  dotnet "$dll" shape-tokens > "$out/shape-tokens.tsv"
  dotnet "$dll" --filter '*IngestShapes*' --job short --exporters csv --artifacts "$out/shapes" | tee "$out/shapes.log" >/dev/null
  python3 - "$out/shapes/results/Runchat.Benchmarks.IngestShapes-report.csv" "$out/shape-tokens.tsv" <<'PY' | tee "$out/shapes.md"
import csv, sys
def ns(text):
    value, unit = text.replace(',', '').split()
    return float(value) * {'ns': 1, 'μs': 1e3, 'us': 1e3, 'ms': 1e6, 's': 1e9}[unit]
size = {}
for line in open(sys.argv[2]):
    shape, kb, length, tokens = line.split()
    size[(shape, kb)] = (int(length), int(tokens))
rows = list(csv.DictReader(open(sys.argv[1])))
print("| shape | size | tokens | rules | mean | ns per byte | ns per token | allocated |")
print("|---|---|---|---|---|---|---|---|")
per_byte, per_token, by_shape = {}, {}, {}
for r in sorted(rows, key=lambda r: (r['WithRules'], r['Shape'], int(r['Kilobytes']))):
    length, tokens = size[(r['Shape'], r['Kilobytes'])]
    mean = ns(r['Mean'])
    per_byte.setdefault(r['WithRules'], []).append(mean / length)
    per_token.setdefault(r['WithRules'], []).append(mean / tokens)
    by_shape.setdefault((r['WithRules'], r['Shape']), []).append(mean / length)
    print(f"| {r['Shape']} | {length:,} B | {tokens:,} | {r['WithRules']} | {r['Mean']} | {mean / length:.2f} | {mean / tokens:.1f} | {r['Allocated']} |")
print()
for (rules, shape), values in sorted(by_shape.items()):
    print(f"rules={rules} {shape}: per byte, 10 MB vs 10 KB = {values[-1] / values[0]:.2f}; largest / smallest over the sizes = {max(values) / min(values):.2f} (target < 3)")
for rules in per_byte:
    print(f"rules={rules}: per token, largest / smallest over every shape and size = {max(per_token[rules]) / min(per_token[rules]):.2f}; per byte = {max(per_byte[rules]) / min(per_byte[rules]):.2f} (shapes differ in tokens per byte)")
PY
  exit 0
fi

if [ "${1:-}" = "cost" ]; then
  # CPU per delivery, relays and PostgreSQL, 1 and 2 instances (RelayCost.cs); about 15 minutes.
  exports=$(RUNCHAT_POSTGRES_OPTIONS='-c shared_preload_libraries=pg_stat_statements' bash "$root/build/postgres.sh" start)
  eval "$exports"
  trap 'bash "$root/build/postgres.sh" stop "$RUNCHAT_TEST_POSTGRES_DIR"' EXIT
  dotnet "$dll" cost "${2:-3000}" "${3:-3}" "${4:-15}" | tee "$out/cost.log"
  exit 0
fi

dotnet "$dll" --filter '*SmallTrigger*' '*LargeTranscript*' '*PassThrough*' --iterationCount 15 --warmupCount 3 --launchCount 1 --exporters github --artifacts "$out/bdn" | tee "$out/bdn.log" >/dev/null

# Peak working set of one large-transcript call, each in a fresh process, median of 5.
peak() { for _ in 1 2 3 4 5; do dotnet "$dll" peak "$1" | cut -f4; done | sort -n | sed -n 3p; }
peak_library=$(peak library)
peak_baseline=$(peak handwritten)

# No-op build of the library, with and without the generation step, alternating, median of 15.
dotnet build "$root/src/Runchat.Generated" -nologo -v:q >/dev/null
time_build() {
  local start end
  start=$(date +%s%N)
  dotnet build "$root/src/Runchat.Generated" --no-restore -nologo -v:q "$@" >/dev/null
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
with=(); without=()
for _ in $(seq 1 15); do
  with+=("$(time_build)")
  without+=("$(time_build -p:RunchatSkipGeneration=true)")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 8p; }
build_with=$(median "${with[@]}")
build_without=$(median "${without[@]}")
# MSBuild's own account of the generation targets in a no-op build: wall time above is mostly noise.
target_ms=$(dotnet build "$root/src/Runchat.Generated" --no-restore -nologo -clp:PerformanceSummary 2>&1 \
  | awk '/Target Performance Summary/ { t = 1 } t && /Runchat/ { s += $1 } END { print s + 0 }')

{
  echo "| scenario | measure | baseline | client | client/baseline | target |"
  echo "|---|---|---|---|---|---|"
  # BenchmarkDotNet's github tables: pull Mean, Ratio, Allocated, Alloc Ratio per benchmark.
  for report in "$out"/bdn/results/*-report-github.md; do
    python3 - "$report" <<'PY'
import sys, re
# One row per library benchmark against the hand-written baseline of its group (the method whose
# name starts with HandWritten and has no qualifier), with the ratios BenchmarkDotNet computed.
rows = [l for l in open(sys.argv[1]) if l.startswith('|')]
head = [c.strip() for c in rows[0].strip('|\n').split('|')]
scenario = re.sub(r'.*\.(\w+)-report-github\.md$', r'\1', sys.argv[1])
data = [dict(zip(head, [c.strip() for c in r.strip('|\n').split('|')])) for r in rows[2:] if r.strip('|\n ').strip()]
data = [d for d in data if d.get('Method')]
groups = {}
for d in data:
    groups.setdefault(d.get('Categories', ''), []).append(d)
def kib(text):
    value, unit = text.split()
    return float(value) * {'B': 1 / 1024, 'KB': 1, 'MB': 1024, 'GB': 1024 * 1024}[unit]
for cat, items in groups.items():
    base = min((d for d in items if d['Method'].startswith('HandWritten')), key=lambda d: len(d['Method']))
    for d in items:
        if d is base or d['Method'].startswith('HandWritten'):
            continue
        name = f"{scenario} / {d['Method']}"
        print(f"| {name} | time (mean) | {base['Mean']} | {d['Mean']} | {d['Ratio']} | |")
        print(f"| {name} | allocated | {base['Allocated']} | {d['Allocated']} | {d.get('Alloc Ratio', '')} | |")
        if scenario == 'PassThrough':
            payload_kib = 1024.0
            print(f"| {name} | allocated per payload byte (extra over baseline) | {kib(base['Allocated'])/payload_kib:.3f} | {kib(d['Allocated'])/payload_kib:.3f} ({(kib(d['Allocated'])-kib(base['Allocated']))/payload_kib:+.3f}) | | extra ≤ 0.25 |")
PY
  done
  echo "| LargeTranscript | peak working set / payload | ${peak_baseline} | ${peak_library} | $(python3 -c "print(f'{$peak_library/$peak_baseline:.2f}')") | client ≤ 3.00 |"
  echo "| no-op build | wall time (ms, median of 15) | ${build_without} | ${build_with} | $(python3 -c "print(f'{$build_with/$build_without:.3f}')") | ≤ 1.05 |"
  echo "| no-op build | time in the Runchat* targets (MSBuild performance summary) | | ${target_ms} ms | | |"
} > "$out/results.md"
cat "$out/results.md"
