#!/usr/bin/env bash
# Mutation testing where safety lives (Stryker.NET, pinned in .config/dotnet-tools.json).
#
#   bash build/mutation.sh schemes            # one area: schemes, routes, templates, jsonpath, schedules, safety,
#                                             # operating, services, backfill
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

# Each area is one configuration, build/mutation/AREA.json: its project, its test project and the files it mutates
# ("mutate") are written there alone; this script reads them.
areas_all=(schemes routes templates jsonpath schedules safety operating services backfill)

usage() {
  local names
  names=$(IFS='|'; echo "${areas_all[*]}")
  echo "usage: bash build/mutation.sh $names|all|changed [REF] [--since REF]" >&2
  exit 2
}

is_area() {
  local area
  for area in "${areas_all[@]}"; do [ "$area" = "$1" ] && return 0; done
  return 1
}

# The test project an area runs against (its configuration's "test-projects"), as a directory under tests/.
test_project() {
  python3 - "$root/build/mutation/$1.json" <<'PY'
import json, sys
print("tests/" + json.load(open(sys.argv[1]))["stryker-config"]["test-projects"][0].removesuffix(".csproj"))
PY
}

# The areas whose "mutate" globs (relative to their project, src/NAME for NAME.csproj; "**/" any folders, "*" any
# name) match one of the paths given, a line each (the program itself comes on standard input).
areas_of() {
  python3 - "$root/build/mutation" "$1" "${areas_all[@]}" <<'PY'
import json, re, sys
folder, paths, areas = sys.argv[1], [p.strip() for p in sys.argv[2].splitlines() if p.strip()], sys.argv[3:]
def regex(glob):
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i): out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i): out, i = out + ".*", i + 2
        elif glob[i] == "*": out, i = out + "[^/]*", i + 1
        else: out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out + r"\Z")
for area in areas:
    config = json.load(open(f"{folder}/{area}.json"))["stryker-config"]
    root = "src/" + config["project"].removesuffix(".csproj") + "/"
    globs = [regex(g) for g in config["mutate"]]
    if any(p.startswith(root) and any(g.match(p[len(root):]) for g in globs) for p in paths):
        print(area)
PY
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
    # An assignment, so that a failure here stops the script (set -e) rather than run no area.
    selected=$(areas_of "$changed")
    mapfile -t areas < <(printf '%s' "$selected" | sed '/^$/d')
    if [ ${#areas[@]} -eq 0 ]; then
      echo "mutation: no file of the areas (${areas_all[*]}) changed since $ref; nothing to run"
      exit 0
    fi
    echo "mutation: changed since $ref: ${areas[*]}" >&2
    ;;
  *) is_area "$mode" || usage; areas=("$mode") ;;
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
