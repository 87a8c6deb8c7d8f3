#!/usr/bin/env bash
# A throwaway PostgreSQL on loopback for the relay's PostgreSQL tests and benchmarks.
#
#   eval "$(bash build/postgres.sh start)"   # prints the exports: RUNCHAT_TEST_POSTGRES, RUNCHAT_TEST_POSTGRES_DIR
#   bash build/postgres.sh stop "$RUNCHAT_TEST_POSTGRES_DIR"
#
# RUNCHAT_POSTGRES_OPTIONS adds server settings, e.g. '-c shared_preload_libraries=pg_stat_statements'
# for the relay cost benchmark's statement counts.
#
# start: finds initdb (PATH, then /usr/lib/postgresql/*/bin); installs Debian's postgresql package
# with apt-get only where it is missing; runs initdb into a new temporary folder (trust auth,
# loopback only, no fsync shortcuts: commits are durable as in production) and pg_ctl start on a
# free port. As root it runs both as the postgres user, since initdb refuses root.
# Progress goes to stderr; only the exports go to stdout.
set -euo pipefail

say() { echo "postgres: $*" >&2; }

find_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  local candidate
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

as_owner() {
  # Runs "$@" as the user that owns the cluster (postgres when we are root).
  if [ "$(id -u)" = "0" ]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

start() {
  local bin
  if ! bin=$(find_bin); then
    say "initdb not found; installing Debian's postgresql package"
    local sudo=""
    [ "$(id -u)" = "0" ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
    bin=$(find_bin) || { say "no initdb after installing postgresql"; exit 1; }
  fi

  # pg_stat_statements (for the cost benchmark) only where this installation has it: without it the
  # server would not start, and the benchmark reports no statement counts rather than failing.
  local options="${RUNCHAT_POSTGRES_OPTIONS:-}" libdir
  libdir=$("$bin/pg_config" --pkglibdir 2>/dev/null || echo "$bin/../lib")
  if [[ "$options" == *pg_stat_statements* ]] && [ ! -e "$libdir/pg_stat_statements.so" ]; then
    say "pg_stat_statements is not installed here ($libdir); starting without it"
    options=""
  fi

  local dir port
  dir=$(mktemp -d "${TMPDIR:-/tmp}/runchat-pg.XXXXXX")
  chmod 700 "$dir"
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$dir"
  fi

  port=$(free_port) || { say "no free port"; exit 1; }
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-instructions >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 $options" start >&2 \
    || { cat "$dir/server.log" >&2; exit 1; }
  say "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') started on 127.0.0.1:$port (data $dir/data)"
  echo "export RUNCHAT_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres'"
  echo "export RUNCHAT_TEST_POSTGRES_DIR='$dir'"
}

stop() {
  local dir="${1:-}" bin
  if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
    say "nothing to stop"
    return 0
  fi
  bin=$(find_bin)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  say "PostgreSQL stopped (data $dir/data removed)"
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop <dir>" >&2; exit 2 ;;
esac
