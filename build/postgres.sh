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

# A port below the kernel's ephemeral range (Linux: 32768-60999 unless set otherwise), so an outgoing connection
# cannot be holding it; and not one something listens on now.
free_port() {
  local low=32768 port
  if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
    read -r low _ < /proc/sys/net/ipv4/ip_local_port_range
  fi
  [ "$low" -gt 12000 ] || low=32768
  for _ in $(seq 1 50); do
    port=$(( 10000 + RANDOM % (low - 11000) ))
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

  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-instructions >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # A port can still be taken between the check and the bind: on a bind failure, another port, up to five times.
  local attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port) || { say "no free port"; exit 1; }
    if as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 $options" start >&2; then
      break
    fi
    local log
    log=$(cat "$dir/server.log" 2>/dev/null || true)
    if [[ "$log" != *"could not bind"* && "$log" != *"already in use"* ]] || [ "$attempt" = 5 ]; then
      echo "$log" >&2
      exit 1
    fi
    say "port $port was taken at the bind; trying another"
    : > "$dir/server.log"
  done
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
