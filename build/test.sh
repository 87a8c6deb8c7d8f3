#!/usr/bin/env bash
# The tests, with everything they need: a throwaway PostgreSQL on loopback for the relay's
# PostgreSQL tests (build/postgres.sh; installed with apt-get only where initdb is missing), then
# `dotnet test Runchat.Generated.sln` with any extra arguments, then the server is stopped, even when
# the tests fail. With RUNCHAT_TEST_POSTGRES already set, that server is used and left alone.
#
# The dashboard's browser tests drive Debian's chromium (/usr/bin/chromium, or RUNCHAT_TEST_CHROMIUM):
# installed with apt-get where it is missing; without it they are skipped, except in CI, where they fail.
#
#   bash build/test.sh                                  # everything
#   bash build/test.sh --fast                           # the inner loop: no real processes (Category=Process skipped)
#   bash build/test.sh --filter "Category=Postgres"     # any dotnet test arguments
#
# --fast skips the tests that start `runchat-job` or a browser as real processes (crashes, kills, signals,
# two relay instances, the dashboard in Chromium); everything else runs, PostgreSQL included. It cannot be
# combined with a --filter of your own: add "&TestCategory!=Process" to yours instead.
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then
    args+=(--filter "TestCategory!=Process")
  else
    args+=("$arg")
  fi
done

if [ -z "${RUNCHAT_TEST_POSTGRES:-}" ]; then
  if exports=$(bash build/postgres.sh start); then
    eval "$exports"
    trap 'bash build/postgres.sh stop "$RUNCHAT_TEST_POSTGRES_DIR"' EXIT
  elif [ "${CI:-}" = "true" ]; then
    echo "test: could not start PostgreSQL (see above); in CI its tests must run" >&2
    exit 1
  else
    # A workstation without PostgreSQL (and without apt-get or sudo): the PostgreSQL tests are
    # skipped, each saying why; everything else runs.
    echo "test: could not start PostgreSQL (see above); its tests will be skipped" >&2
  fi
fi

if [ -z "${RUNCHAT_TEST_CHROMIUM:-}" ] && ! [ -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; fi
  echo "test: installing chromium for the dashboard's browser tests (apt-get)" >&2
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } >&2 \
    || echo "test: could not install chromium; the dashboard's browser tests will say so" >&2
fi

dotnet test Runchat.Generated.sln "${args[@]}"
