#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks: 127.0.0.1 only, a free port,
# a temp data directory, fsync left on (crash-safety tests need real durability).
#
#   pg-test-cluster.sh start        STATEFILE   initdb + start + createdb appliance_test
#   pg-test-cluster.sh stop         STATEFILE   stop the server and remove everything
#   pg-test-cluster.sh stop-server  STATEFILE [fast|immediate]   stop, keep the data
#   pg-test-cluster.sh start-server STATEFILE   start again on the same port
#   pg-test-cluster.sh restart      STATEFILE [fast|immediate]
#   pg-test-cluster.sh url          STATEFILE   print the URL
#
# STATEFILE holds KEY=value lines (shell-sourceable):
#   URL=postgresql://postgres@127.0.0.1:PORT/appliance_test
#   PORT=..., DIR=... (temp dir: data/, log, socket), PGBIN=..., RUNAS=postgres|""
# `start` also prints the URL on stdout. Works as root (initdb and pg_ctl then run as the
# `postgres` user via runuser) and as a normal user. Authentication is `trust` on loopback.
# PG_TEST_SERVER_OPTS adds server settings (e.g. "-c shared_buffers=512MB"), so a benchmark
# can run PostgreSQL configured like a production parameter group.
set -euo pipefail

die() { echo "pg-test-cluster: $*" >&2; exit 1; }

usage() {
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

find_pgbin() {
  local dir
  if [[ -n "${PGBIN:-}" && -x "${PGBIN}/initdb" ]]; then echo "$PGBIN"; return; fi
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir)
    if [[ -x "$dir/initdb" ]]; then echo "$dir"; return; fi
  fi
  for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    if [[ -x "$dir/initdb" ]]; then echo "$dir"; return; fi
  done
  die "initdb not found: install postgresql-15 (apt-get install postgresql-15) or set PGBIN"
}

# Runs a server binary as the cluster owner (root may not run initdb/pg_ctl).
as_owner() {
  if [[ -n "$RUNAS" ]]; then
    runuser -u "$RUNAS" -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Below the kernel's ephemeral range: a port the kernel may hand to an outgoing connection
# between this check and the server's bind would stop the cluster from starting.
pick_port() {
  local port low
  read -r low _ < /proc/sys/net/ipv4/ip_local_port_range
  (( low > 21024 )) || low=32768
  for _ in $(seq 1 50); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % (low - 21000)))
    if ! port_in_use "$port"; then echo "$port"; return; fi
  done
  die "no free port found"
}

load_state() {
  [[ -f "$STATE" ]] || die "state file $STATE not found (run 'start' first)"
  # shellcheck disable=SC1090
  source "$STATE"
  [[ -n "${DIR:-}" && -n "${PORT:-}" && -n "${PGBIN:-}" ]] || die "state file $STATE is incomplete"
}

write_state() {
  local tmp="$STATE.tmp.$$"
  {
    echo "URL=postgresql://postgres@127.0.0.1:$PORT/appliance_test"
    echo "PORT=$PORT"
    echo "DIR=$DIR"
    echo "PGBIN=$PGBIN"
    echo "RUNAS=$RUNAS"
  } >"$tmp"
  mv "$tmp" "$STATE"
}

server_start() {
  as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=300 ${PG_TEST_SERVER_OPTS:-}" start >/dev/null
}

server_stop() {
  local mode="${1:-fast}"
  [[ "$mode" == fast || "$mode" == immediate ]] || die "stop mode must be fast or immediate"
  if [[ -f "$DIR/data/postmaster.pid" ]]; then
    as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -m "$mode" -w -t 60 stop >/dev/null
  fi
}

cmd_start() {
  [[ ! -f "$STATE" ]] || die "state file $STATE exists: a cluster may be running ('stop' it first)"
  PGBIN=$(find_pgbin)
  RUNAS=""
  if [[ $(id -u) -eq 0 ]]; then
    getent passwd postgres >/dev/null || die "running as root needs the 'postgres' user"
    RUNAS=postgres
  fi
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/appliance-pg.XXXXXX")
  chmod 700 "$DIR"
  [[ -z "$RUNAS" ]] || chown "$RUNAS:" "$DIR"
  as_owner "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; rm -rf "$DIR"; die "initdb failed"; }
  local attempt
  for attempt in 1 2 3 4 5; do
    PORT=$(pick_port)
    if server_start; then break; fi
    [[ $attempt -lt 5 ]] || { tail -n 20 "$DIR/log" >&2; rm -rf "$DIR"; die "pg_ctl start failed"; }
  done
  write_state
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres appliance_test
  echo "postgresql://postgres@127.0.0.1:$PORT/appliance_test"
}

cmd_stop() {
  [[ -f "$STATE" ]] || return 0
  load_state
  server_stop immediate || true
  case "$DIR" in
    */appliance-pg.*) rm -rf "$DIR" ;;
    *) die "refusing to remove unexpected directory '$DIR'" ;;
  esac
  rm -f "$STATE"
}

[[ $# -ge 2 ]] || usage
CMD=$1
STATE=$2
shift 2
case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  stop-server) load_state; server_stop "${1:-fast}" ;;
  start-server) load_state; server_start ;;
  restart) load_state; server_stop "${1:-fast}"; server_start ;;
  url) load_state; echo "$URL" ;;
  *) usage ;;
esac
