#!/usr/bin/env bash
# A throwaway Prometheus for integration tests.
#
#   scripts/prometheus-test.sh start <statefile> <target host:port>
#       Starts Debian's `prometheus` on 127.0.0.1 at a free port, with a temp data dir and a
#       scrape config (every 1s, job "appliance") pointing at the target's /metrics; waits
#       for /-/ready; writes PROMETHEUS_PID, PROMETHEUS_ADDRESS and PROMETHEUS_DIR to
#       <statefile> and prints the address (127.0.0.1:PORT) on stdout.
#   scripts/prometheus-test.sh stop <statefile> [target]
#       Stops that Prometheus and removes its temp dir and the statefile. Safe to call twice.
#
# Exit codes: 0 ok, 1 failure (the reason and Prometheus's log on stderr), 2 usage.
set -euo pipefail

usage() {
  echo "usage: $0 start <statefile> <target host:port> | stop <statefile> [target]" >&2
  exit 2
}

die() {
  echo "prometheus-test: $*" >&2
  exit 1
}

# True when something on this machine already uses TCP port $1 (any state, v4 or v6).
port_in_use() {
  local hex
  hex=$(printf ':%04X ' "$1")
  grep -qi -- "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# A port below Linux's default ephemeral range (32768+), so clients' source ports rarely
# collide with it; start() retries with another port if the bind still fails.
pick_port() {
  local port tries=0
  while ((tries++ < 200)); do
    port=$((20000 + RANDOM % 12000))
    port_in_use "$port" || { echo "$port"; return 0; }
  done
  return 1
}

# True while $1 is the pid of a Prometheus using data dir $2 (guards against pid reuse).
is_our_prometheus() {
  [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "--storage.tsdb.path=$2/data"
}

# True while child $1 runs (not exited, not a zombie waiting to be reaped).
running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $state && $state != Z* ]]
}

wait_ready() {  # pid address
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    running "$1" || return 1
    if curl -fsS --max-time 1 "http://$2/-/ready" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

start() {
  local statefile=$1 target=$2
  [[ $target =~ ^[^[:space:]]+:[0-9]+$ ]] || die "target must be host:port, got '$target'"
  command -v prometheus >/dev/null || die "prometheus not found (apt-get install prometheus)"
  command -v curl >/dev/null || die "curl not found"
  [[ -e $statefile ]] && die "$statefile exists: stop the previous Prometheus first"

  local dir
  dir=$(mktemp -d /tmp/prometheus-test.XXXXXX)
  cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: appliance
    metrics_path: /metrics
    static_configs:
      - targets: ['$target']
EOF
  local attempt port pid address
  for attempt in 1 2 3 4 5; do
    port=$(pick_port) || { rm -rf "$dir"; die "no free port found"; }
    address="127.0.0.1:$port"
    # setsid: not in the caller's process group, so a Ctrl-C of the test run does not race
    # our stop; stdin/stdout detached so the caller's pipes close when this script exits.
    setsid prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
      --web.listen-address="$address" --storage.tsdb.retention.time=1h \
      --log.level=warn </dev/null >"$dir/prometheus.log" 2>&1 &
    pid=$!
    if wait_ready "$pid" "$address"; then
      printf 'PROMETHEUS_PID=%s\nPROMETHEUS_ADDRESS=%s\nPROMETHEUS_DIR=%s\n' \
        "$pid" "$address" "$dir" >"$statefile"
      echo "$address"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "prometheus-test: attempt $attempt on $address failed:" >&2
    tail -n 20 "$dir/prometheus.log" >&2 || true
  done
  rm -rf "$dir"
  die "Prometheus did not become ready"
}

stop() {
  local statefile=$1
  [[ -e $statefile ]] || return 0
  local pid="" dir="" key value
  while IFS='=' read -r key value; do
    case $key in
      PROMETHEUS_PID) pid=$value ;;
      PROMETHEUS_DIR) dir=$value ;;
    esac
  done <"$statefile"
  [[ $pid =~ ^[0-9]+$ ]] || die "$statefile: no PROMETHEUS_PID"
  [[ $dir == /tmp/prometheus-test.* ]] || die "$statefile: unexpected PROMETHEUS_DIR '$dir'"
  if is_our_prometheus "$pid" "$dir"; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while is_our_prometheus "$pid" "$dir" && ((SECONDS < deadline)); do sleep 0.1; done
    if is_our_prometheus "$pid" "$dir"; then kill -KILL "$pid" 2>/dev/null || true; fi
    while is_our_prometheus "$pid" "$dir"; do sleep 0.05; done
  fi
  rm -rf "$dir"
  rm -f "$statefile"
}

case ${1:-} in
  start) [[ $# -eq 3 ]] || usage; start "$2" "$3" ;;
  stop) [[ $# -eq 2 || $# -eq 3 ]] || usage; stop "$2" ;;  # a target argument is ignored
  *) usage ;;
esac
