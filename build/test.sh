#!/usr/bin/env bash
# The tests, with everything they need: a throwaway PostgreSQL on loopback for the relay's
# PostgreSQL tests (build/postgres.sh; installed with apt-get only where initdb is missing), then
# `dotnet test Runchat.Generated.sln` with any extra arguments, then the server is stopped, even when
# the tests fail. With RUNCHAT_TEST_POSTGRES already set, that server is used and left alone.
#
#   bash build/test.sh                                  # everything
#   bash build/test.sh --filter "Category=Postgres"     # any dotnet test arguments
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${RUNCHAT_TEST_POSTGRES:-}" ]; then
  eval "$(bash build/postgres.sh start)"
  trap 'bash build/postgres.sh stop "$RUNCHAT_TEST_POSTGRES_DIR"' EXIT
fi

dotnet test Runchat.Generated.sln "$@"
