#!/usr/bin/env bash
# Mutation testing where safety lives (Stryker.NET, pinned in .config/dotnet-tools.json).
#
#   bash build/mutation.sh schemes            # one area: schemes, routes, templates, schedules, safety, operating, backfill
#   bash build/mutation.sh all                # every area, one after the other
#   bash build/mutation.sh routes --since main   # only mutants in files changed since main (Stryker's --since)
#   bash build/mutation.sh changed [REF]      # the areas whose files changed since REF (default origin/main,
#                                             # else main): what CI runs; no area touched, nothing runs
#
# Each area is a Stryker configuration under build/mutation/AREA.json, run from the test project that covers
# it (a test project per package: Stryker's --test-case-filter stops with "Initial test run could not be
# completed" here). Tests that start real processes are skipped (RUNCHAT_TEST_SKIP_PROCESS=1, see
# tests/Shared/TestSupport/ProcessTestAttribute.cs): a mutant is active inside the test host only.
#
# The report goes to artifacts/mutation/AREA/reports (mutation-report.html and .json). The last line is
#   mutation score AREA: NN.N% (killed K, timeout T, survived S, no coverage N)
# and the exit code is non-zero when an area scores under its threshold (85%, "break" in its configuration).
# Survivors that remain, and why each is acceptable, are listed in docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

areas_all=(schemes routes templates schedules safety operating backfill)

usage() {
  echo "usage: bash build/mutation.sh schemes|routes|templates|schedules|safety|operating|backfill|all|changed [REF] [--since REF]" >&2
  exit 2
}

# The test project each area runs against, and the source paths whose change selects it in "changed" mode.
test_project() {
  case "$1" in
    schemes|routes|templates|schedules|operating|backfill) echo "tests/Runchat.Relay.Tests" ;;
    safety) echo "tests/Runchat.Generated.Tests" ;;
    *) usage ;;
  esac
}

sources() {
  case "$1" in
    schemes) echo "src/Runchat.Relay/Signatures/" ;;
    # The route table and its filter, and the templates with their JSONPath: one directory, two areas, so that each
    # run fits in an hour on two cores (together they took over two).
    routes) echo "src/Runchat.Relay/Routes/RelayRoute.cs src/Runchat.Relay/Routes/RelayRouteTable.cs src/Runchat.Relay/Routes/RouteFilter.cs src/Runchat.Relay/Routes/RouteRules.cs" ;;
    templates) echo "src/Runchat.Relay/Routes/MessageTemplate.cs src/Runchat.Relay/Routes/TemplateModel.cs src/Runchat.Relay/Routes/JsonPathQuery.cs" ;;
    schedules) echo "src/Runchat.Relay/Schedules/" ;;
    operating) echo "src/Runchat.Relay/Operations/RelayRetention.cs src/Runchat.Relay/Operations/RelayHeartbeat.cs src/Runchat.Relay/Operations/RelayHealthChecks.cs src/Runchat.Relay/Operations/RelayInstanceStatus.cs src/Runchat.Relay/RunchatRelay.cs src/Runchat.Relay/RelayOperations.cs" ;;
    backfill) echo "src/Runchat.Relay/Operations/RelayBackfill.cs src/Runchat.Relay/Operations/RelayBacktest.cs" ;;
    safety) echo "src/Runchat.Generated/Internal/RunchatSendGuard.cs src/Runchat.Generated/Internal/SecretRedactor.cs src/Runchat.Generated/Internal/ExactJson.cs" ;;
  esac
}

[ $# -ge 1 ] || usage
mode=$1
shift
since=""
ref=""
while [ $# -gt 0 ]; do
  case "$1" in
    --since) [ $# -ge 2 ] || usage; since=$2; shift 2 ;;
    *) if [ "$mode" = "changed" ] && [ -z "$ref" ]; then ref=$1; shift; else usage; fi ;;
  esac
done

case "$mode" in
  all) areas=("${areas_all[@]}") ;;
  changed)
    if [ -z "$ref" ]; then
      if git rev-parse -q --verify origin/main >/dev/null; then ref=origin/main; else ref=main; fi
    fi
    if ! base=$(git merge-base "$ref" HEAD 2>/dev/null); then
      echo "mutation: cannot find $ref in this clone (a shallow clone?); fetch it, or name another base" >&2
      exit 2
    fi
    # Within each area, only the mutants of files changed since the base (Stryker's --since).
    since=$base
    changed=$(git diff --name-only "$base" -- src; git diff --name-only -- src; git ls-files --others --exclude-standard -- src)
    areas=()
    for area in "${areas_all[@]}"; do
      for path in $(sources "$area"); do
        if printf '%s\n' "$changed" | grep -F -- "$path" >/dev/null; then
          areas+=("$area")
          break
        fi
      done
    done
    if [ ${#areas[@]} -eq 0 ]; then
      echo "mutation: no file of schemes, routes, templates, schedules, safety, operating or backfill changed since $ref; nothing to run"
      exit 0
    fi
    echo "mutation: changed since $ref: ${areas[*]}" >&2
    ;;
  schemes|routes|templates|schedules|safety|operating|backfill) areas=("$mode") ;;
  *) usage ;;
esac

dotnet tool restore >/dev/null

started_postgres=""
stop_postgres() {
  if [ -n "$started_postgres" ]; then bash build/postgres.sh stop "$RUNCHAT_TEST_POSTGRES_DIR" || true; fi
}
trap stop_postgres EXIT
if [ -z "${RUNCHAT_TEST_POSTGRES:-}" ]; then
  # The relay's tests run on PostgreSQL too; a mutant a PostgreSQL test would kill must not survive for want of one.
  if exports=$(bash build/postgres.sh start); then
    eval "$exports"
    started_postgres=1
  elif [ "${CI:-}" = "true" ]; then
    echo "mutation: could not start PostgreSQL; in CI its tests must run" >&2
    exit 1
  fi
fi

export RUNCHAT_TEST_SKIP_PROCESS=1
failed=()
summaries=()
for area in "${areas[@]}"; do
  output="$root/artifacts/mutation/$area"
  rm -rf "$output"
  args=(--config-file "$root/build/mutation/$area.json" --output "$output")
  if [ -n "$since" ]; then
    args+=(--since:"$since")
  fi
  echo "mutation: $area ($(test_project "$area"))" >&2
  start=$(date +%s)
  # Stryker reads the projects as MSBuild evaluates them after a build: the client's generated code
  # (obj/**/generated) must exist, or its analysis fails on a fresh clone.
  dotnet build "$(test_project "$area")" -v q -nologo >&2
  (cd "$(test_project "$area")" && dotnet stryker "${args[@]}") >&2 || true
  seconds=$(( $(date +%s) - start ))
  report="$output/reports/mutation-report.json"
  if [ ! -f "$report" ]; then
    echo "mutation: $area produced no report (see above)" >&2
    failed+=("$area")
    continue
  fi
  # Stryker's own score: detected (killed, timeout) over valid mutants (detected, survived, no coverage).
  summary=$(python3 - "$report" "$area" "$root/build/mutation/$area.json" "$seconds" <<'PY'
import json, sys
report, area, config, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
counts = {}
for f in json.load(open(report))["files"].values():
    for m in f["mutants"]:
        counts[m["status"]] = counts.get(m["status"], 0) + 1
killed, timeout = counts.get("Killed", 0), counts.get("Timeout", 0)
survived, nocov = counts.get("Survived", 0), counts.get("NoCoverage", 0)
valid = killed + timeout + survived + nocov
score = 100.0 * (killed + timeout) / valid if valid else 100.0
threshold = json.load(open(config))["stryker-config"]["thresholds"]["break"]
print(f"{score:.1f} {threshold} {seconds} mutation score {area}: {score:.1f}% (killed {killed}, timeout {timeout}, survived {survived}, no coverage {nocov})")
PY
)
  read -r score threshold took line <<<"$summary"
  echo "mutation: $area took $took s" >&2
  summaries+=("$line")
  if python3 -c "import sys; sys.exit(0 if float('$score') >= float('$threshold') else 1)"; then :; else
    echo "mutation: $area scores $score%, under its threshold of $threshold%" >&2
    failed+=("$area")
  fi
done

[ ${#failed[@]} -eq 0 ] || echo "mutation: under the threshold or without a report: ${failed[*]}" >&2
# The last lines, one per area: its score (and, on stderr just before, how long it took).
for line in "${summaries[@]}"; do
  echo "$line"
done
[ ${#failed[@]} -eq 0 ]
