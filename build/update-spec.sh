#!/usr/bin/env bash
# Takes a new upstream Runchat spec into openapi/runchat.yaml, then shows what it changes.
#
#   build/update-spec.sh <page.md | spec.yaml | spec.json | https://...>
#   build/update-spec.sh openapi/pages/*.md      # several pages, merged into one document
#
# Upstream publishes one page per operation, each a whole document. With several pages, each page's
# spec is checked for parsing, then they are merged (SpecTool merge: the first page's document, with
# the others' operations and components; a component two pages define differently, or an operation
# two pages define, is refused), and the merged document is what the build uses. Keep the pages in
# openapi/pages/: running the command on them again reproduces openapi/runchat.yaml (a test checks it).
#
# The input may be the upstream docs page in markdown form (the ```yaml block is extracted, as in
# the page the current spec came from) or a raw OpenAPI YAML/JSON file. A URL needs network;
# everything else works offline. The spec is validated (it parses as OpenAPI and still has what
# the handwritten layer wraps) before anything is written. Then the client is regenerated and the
# public-API diff against tests/Runchat.Generated.Tests/PublicApi/PublicApi.approved.txt is printed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
spec="$root/openapi/runchat.yaml"
provenance="$root/openapi/PROVENANCE.md"

die() { echo "update-spec: $*" >&2; exit 1; }

[ $# -ge 1 ] || { echo "usage: build/update-spec.sh <page.md | spec.yaml | spec.json | url>..." >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
spectool() { dotnet run --project "$root/build/SpecTool" --verbosity quiet -- "$@"; }

# A docs page wraps the spec in a ```yaml (or ````yaml) fence: prints the first such block.
# (mawk, Debian's awk, has no {3,} intervals.)
yaml_block() {
  awk 'f == 0 && /^```+[ \t]*ya?ml/ { match($0, /^`+/); fence = substr($0, 1, RLENGTH); f = 1; next }
       f == 1 && $0 == fence { exit }
       f == 1 { print }' "$1"
}

# Makes $work/candidate.yaml the spec, unless it already is ($1 names the candidate in that message),
# and starts openapi/PROVENANCE.md with its source ($2) and form ($3); the caller appends the rest.
install_candidate() {
  if cmp -s "$work/candidate.yaml" "$spec"; then
    echo "update-spec: openapi/runchat.yaml is already $1; no change."
    exit 0
  fi
  cp "$work/candidate.yaml" "$spec"
  cat > "$provenance" <<NOTE
# Where \`runchat.yaml\` comes from

| | |
|---|---|
| Source | $2 |
| Taken | $(date -u +%Y-%m-%d) |
| Form | $3 |
| sha256 | $(sha256sum "$spec" | cut -d' ' -f1) |

NOTE
}

# What changed: the spec's diff stat, then the public API regenerated from it and compared with the
# approved snapshot (the diff printed; nothing approved). Both modes end here.
report_changes() {
  git -C "$root" --no-pager diff --stat -- openapi/ || true
  echo "update-spec: regenerating and comparing the public API..."
  local log="$work/test.log"
  if dotnet test "$root/tests/Runchat.Generated.Tests" --filter "FullyQualifiedName~PublicApiMatchesTheApprovedSnapshot" > "$log" 2>&1; then
    echo "update-spec: the public API is unchanged."
  elif grep -q "The public API of Runchat.Generated changed" "$log"; then
    echo "update-spec: the public API changed:"
    sed -n '/The public API of Runchat.Generated changed/,/Stack Trace/p' "$log" | grep -E '^\s*[+-] ' || true
    echo "update-spec: review it, run the tests, then re-approve with:"
    echo "  RUNCHAT_APPROVE_PUBLIC_API=1 dotnet test Runchat.Generated.sln --filter PublicApiMatchesTheApprovedSnapshot"
  else
    grep -E 'error|Error' "$log" | sort -u | head -n 20 >&2 || true
    die "the client no longer builds with this spec (errors above); fix the handwritten layer or revert openapi/"
  fi
}

if [ $# -gt 1 ]; then
  pages=()
  rows=""
  i=0
  for page in "$@"; do
    [ -f "$page" ] || die "no such file: $page"
    i=$((i + 1))
    yaml_block "$page" > "$work/page$i.yaml"
    [ -s "$work/page$i.yaml" ] || die "$page has no \`\`\`yaml block"
    pages+=("$work/page$i.yaml")
    # The first lines are captured before they are matched (a pipe into grep -q under pipefail fails at random).
    head_lines=$(head -n 3 "$page")
    if [[ "$head_lines" == *Reconstructed* ]]; then origin='reconstructed from the rendered page'; else origin='the page as published'; fi
    rows="$rows| $(basename "$page") | $(sha256sum "$page" | cut -d' ' -f1) | $origin |
"
  done
  spectool merge "$work/candidate.yaml" "${pages[@]}" || die "the pages do not merge, or the result dropped what the client wraps (see above); nothing was changed"
  install_candidate "the merge of these pages" \
    "the pages below, merged by \`build/update-spec.sh openapi/pages/*.md\` (\`SpecTool merge\`)" \
    "one OpenAPI document: the first page's, with the other pages' operations and components"
  cat >> "$provenance" <<NOTE
| page | sha256 | form |
|---|---|---|
$rows
The seed page (\`job-message.md\`) is upstream's page as published. The others are reconstructed, in the
seed's form, from what their rendered pages state (\`../shared/upstream/README.md\`); each says so at its
top. Nothing in this repository edits the merged document: the build pins our operation names on a copy
in \`obj/\` (see \`build/Runchat.Generation.targets\`).
NOTE
  echo "update-spec: wrote openapi/runchat.yaml (merged from $# pages) and openapi/PROVENANCE.md"
  report_changes
  exit 0
fi

source_arg=$1

if [[ "$source_arg" =~ ^https?:// ]]; then
  curl -fsSL --max-time 60 "$source_arg" -o "$work/input" \
    || die "could not download $source_arg (a URL needs network; save the page and pass the file instead)"
else
  [ -f "$source_arg" ] || die "no such file: $source_arg"
  cp "$source_arg" "$work/input"
fi

if grep -qE '^`{3,}[[:space:]]*ya?ml' "$work/input"; then
  yaml_block "$work/input" > "$work/candidate.yaml"
  form="the yaml block of a markdown page"
elif grep -qE '^[[:space:]]*\{' "$work/input" && grep -q '"openapi"' "$work/input"; then
  cp "$work/input" "$work/candidate.json"
  form="a JSON spec, converted to YAML"
elif grep -qE '^(openapi|swagger):' "$work/input"; then
  cp "$work/input" "$work/candidate.yaml"
  form="a raw YAML spec, verbatim"
else
  die "no OpenAPI spec found in $source_arg (expected a markdown page with a \`\`\`yaml block, or a YAML/JSON spec)"
fi

if [ -f "$work/candidate.json" ]; then
  spectool to-yaml "$work/candidate.json" "$work/candidate.yaml" || die "the JSON spec is invalid (see above); nothing was changed"
fi
[ -s "$work/candidate.yaml" ] || die "the spec block in $source_arg is empty"
spectool check "$work/candidate.yaml" || die "the spec is invalid or dropped what the client wraps (see above); nothing was changed"

install_candidate "this spec" "$source_arg" "$form"
cat >> "$provenance" <<NOTE
The file is the upstream spec exactly as published. Nothing in this repository edits it: the
build pins our operation names on a copy in \`obj/\` (see \`build/Runchat.Generation.targets\`).
To take a new version, run \`build/update-spec.sh <page.md|spec.yaml|url>\`.
NOTE
echo "update-spec: wrote openapi/runchat.yaml ($form) and openapi/PROVENANCE.md"
report_changes
