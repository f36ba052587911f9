#!/usr/bin/env bash
# Load-tests the Task API with wrk and prints one summary table (see bench/README.md).
#
#   bench/run.sh [--store sqlite|postgres] [--duration 10s] [--connections 32] [--threads 2]
#                [--repeat 2] [--seed 1000] [--scenarios "get_by_id list put post mixed"]
#                [--config FILE] [--wait-idle PCT] [--startup-runs 3] [--no-trivial]
#                [--no-pgbench] [--out FILE]
#   bench/run.sh --soak 10m [--window 60s] [--store ...] [--connections ...] [--threads ...]
#   bench/run.sh --url http://127.0.0.1:8080 --token TOKEN [--pid PID]
#                [--metrics http://127.0.0.1:9464/metrics] [--pg-url postgresql://...] [...]
#
# Without --url it starts the appliance itself from $BUILD/bin (default: build/bin) on
# 127.0.0.1 with a temp config (role api, http.access_log false, the chosen store; for
# postgres a throwaway cluster from scripts/pg-test-cluster.sh), measures start-up time to
# the first 200 from /readyz and idle RSS, seeds --seed tasks with wrk + post.lua, then runs
# each scenario --repeat times (rounds interleaved, so noise spreads over all of them) with
# `wrk -t<threads> -c<connections> -d<duration> --latency`, sampling the server's peak RSS
# (VmHWM, reset before each run). It also loads bench_trivial_server (the HTTP ceiling) with
# the same wrk settings and script, and for postgres runs the bench/pgbench/*.sql scripts with
# pgbench at the same client count (the database ceiling).
#
# With --url and --pg-url (the server's own database) it runs ANALYZE after seeding and reports
# table sizes, as it does for the cluster it starts itself.
#
# With --soak DURATION it skips the ceilings and the scenario rounds: after start-up and seeding
# it runs mixed.lua in back-to-back windows of --window (default 60s) for DURATION, prints one
# line per window (req/s, p50, p99, non-2xx, the server's VmRSS and VmHWM, WAL and table sizes,
# rows and deleted rows) and a summary against the soak targets, to
# bench/results/<date>-soak-<store>.md.
#
# The table goes to stdout and to bench/results/<date>-<store>.md. Everything it starts is
# stopped on exit. Requires wrk and curl (scripts/bootstrap.sh bench installs wrk).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$REPO/bench"
BUILD_DIR="${BUILD:-$REPO/build}"
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$REPO/$BUILD_DIR"

URL="" TOKEN_ARG="${TOKEN:-}" PID_ARG="" PG_URL_ARG="" METRICS_URL="" STORE="sqlite" DURATION="10s" CONNECTIONS=32
THREADS=2 REPEAT=2 SEED=1000 SCENARIOS="get_by_id list put post mixed" EXTRA_CONFIG=""
RUN_TRIVIAL=1 RUN_PGBENCH=1 OUT="" STARTUP_RUNS=3 WAIT_IDLE=0 SOAK="" WINDOW="60s"

die() { echo "bench/run.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --url) URL=${2:?--url needs a value}; shift 2 ;;
    --token) TOKEN_ARG=${2:?--token needs a value}; shift 2 ;;
    --pid) PID_ARG=${2:?--pid needs a value}; shift 2 ;;
    --pg-url) PG_URL_ARG=${2:?--pg-url needs a value}; shift 2 ;;
    --metrics) METRICS_URL=${2:?--metrics needs a value}; shift 2 ;;
    --store) STORE=${2:?--store needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --connections) CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
    --threads) THREADS=${2:?--threads needs a value}; shift 2 ;;
    --repeat) REPEAT=${2:?--repeat needs a value}; shift 2 ;;
    --seed) SEED=${2:?--seed needs a value}; shift 2 ;;
    --scenarios) SCENARIOS=${2:?--scenarios needs a value}; shift 2 ;;
    --config) EXTRA_CONFIG=$(realpath "${2:?--config needs a value}"); shift 2 ;;
    --startup-runs) STARTUP_RUNS=${2:?--startup-runs needs a value}; shift 2 ;;
    --wait-idle) WAIT_IDLE=${2:?--wait-idle needs a value}; shift 2 ;;
    --no-trivial) RUN_TRIVIAL=0; shift ;;
    --no-pgbench) RUN_PGBENCH=0; shift ;;
    --out) OUT=${2:?--out needs a value}; shift 2 ;;
    --soak) SOAK=${2:?--soak needs a value}; shift 2 ;;
    --window) WINDOW=${2:?--window needs a value}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; usage 2 >&2 ;;
  esac
done

[[ "$STORE" == sqlite || "$STORE" == postgres ]] || die "--store must be sqlite or postgres, got '$STORE'"
[[ "$DURATION" =~ ^[0-9]+[smh]?$ ]] || die "--duration must look like 10s, 2m or 30, got '$DURATION'"
[[ -z "$SOAK" || "$SOAK" =~ ^[0-9]+[smh]?$ ]] || die "--soak must look like 10m, 600s or 1h, got '$SOAK'"
[[ "$WINDOW" =~ ^[0-9]+[smh]?$ ]] || die "--window must look like 60s or 1m, got '$WINDOW'"
for n in CONNECTIONS THREADS REPEAT SEED STARTUP_RUNS WAIT_IDLE; do
  [[ "${!n}" =~ ^[0-9]+$ ]] || die "--${n,,} must be a whole number, got '${!n}'"
done
[[ $THREADS -ge 1 && $CONNECTIONS -ge $THREADS ]] || die "need 1 <= --threads <= --connections"
for s in $SCENARIOS; do
  [[ -f "$BENCH/wrk/$s.lua" ]] || die "unknown scenario '$s' (no bench/wrk/$s.lua)"
done
command -v wrk >/dev/null || die "wrk is not installed: scripts/bootstrap.sh bench (or apt-get install -y wrk)"
command -v curl >/dev/null || die "curl is not installed"

duration_seconds() {
  local d=$1
  case "$d" in
    *h) echo $(( ${d%h} * 3600 )) ;;
    *m) echo $(( ${d%m} * 60 )) ;;
    *s) echo "${d%s}" ;;
    *) echo "$d" ;;
  esac
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/appliance-bench.XXXXXX")
SERVER_PID="" TRIVIAL_PID="" PG_STATE=""

cleanup() {
  local rc=$?
  set +e
  [[ -z "$TRIVIAL_PID" ]] || { kill "$TRIVIAL_PID" 2>/dev/null; wait "$TRIVIAL_PID" 2>/dev/null; }
  stop_server
  [[ -z "$PG_STATE" ]] || "$REPO/scripts/pg-test-cluster.sh" stop "$PG_STATE" >/dev/null 2>&1
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[bench] $*" >&2; }

# Runs a command in its own session. With the kernel's autogroup scheduling (on by default in
# Debian), CPU time is shared fairly between sessions first: pg_ctl puts PostgreSQL in its own
# session, and wrk sharing one with the server's 30+ threads is starved in bursts, which shows
# up as wrk-side p99s of hundreds of ms that the server never sees. Each of wrk, the server
# and the database in its own session is also how they would run as separate services.
# (A background job of this script is not a process-group leader, so setsid does not fork
# and $! stays the command's pid.)
in_own_session() { setsid --wait "$@"; }

# --- machine state ----------------------------------------------------------------------

# Jiffies "steal total" from /proc/stat: on a VM, the CPU time the hypervisor gave to others
# while this one wanted it. Two readings around a run give its steal share.
cpu_steal_jiffies() {
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t }' /proc/stat
}

steal_percent() {  # steal_percent "STEAL0 TOTAL0" "STEAL1 TOTAL1"
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
    d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}

# Percent of all CPU time that was busy (not idle/iowait) over the next second: other
# engineers' compiles show up here. Printed before every run so noisy runs can be spotted.
cpu_busy_percent() {
  local a b
  read -r -a a < <(grep '^cpu ' /proc/stat)
  sleep 1
  read -r -a b < <(grep '^cpu ' /proc/stat)
  local total=0 idle i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  idle=$(( b[4] - a[4] + b[5] - a[5] ))
  (( total > 0 )) && echo $(( 100 * (total - idle) / total )) || echo 0
}

# With --wait-idle PCT: waits (up to 2 minutes) until the machine is less than PCT% busy over
# one second, then prints that percentage. Without it, just measures.
busy_before_run() {
  local busy waited=0
  busy=$(cpu_busy_percent)
  while (( WAIT_IDLE > 0 && busy >= WAIT_IDLE && waited < 120 )); do
    sleep 4
    waited=$(( waited + 5 ))
    busy=$(cpu_busy_percent)
  done
  echo "$busy"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

rss_kb() {  # rss_kb PID VmRSS|VmHWM
  awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true
}

reset_peak_rss() {  # Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS
  if [[ -n "$1" ]]; then echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; fi
}

mb() { [[ -n "${1:-}" ]] && awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}' || echo "n/a"; }

# Below the kernel's ephemeral range (32768-60999 by default): a port there can be the local
# end of an outgoing connection, which refuses a connect yet makes bind() fail.
free_port() {
  local port i low
  read -r low _ < /proc/sys/net/ipv4/ip_local_port_range
  (( low > 21024 )) || low=32768
  for i in $(seq 1 100); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % (low - 21000) ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  die "no free port found"
}

# The status of GET PATH on 127.0.0.1:PORT, over bash's /dev/tcp (no process spawned, so
# polling it every few ms does not disturb the start-up being timed).
http_status() {  # http_status PORT PATH
  local line=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || { echo 000; return; }
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
  IFS= read -r -t 2 line <&3 || true
  exec 3<&- 3>&-
  line=${line#HTTP/1.1 }
  echo "${line:0:3}"
}

now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }

# --- the appliance under test -------------------------------------------------------------

APP_PORT="" METRICS_PORT="" TOKEN="" STARTUP_MS=()

write_config() {
  APP_PORT=$(free_port)
  METRICS_PORT=$(free_port)
  TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  local storage_plugin="storage_$STORE"
  mkdir -p "$WORK/data"
  {
    echo "# Written by bench/run.sh; overlaid on config/base.yaml."
    echo "http:"
    echo "  listen: 127.0.0.1:$APP_PORT"
    echo "  access_log: false"
    # http.threads as the store's environments run it: 16 from base.yaml for SQLite (local),
    # 4 for PostgreSQL as config/dev.yaml and prod.yaml set.
    [[ "$STORE" == sqlite ]] || echo "  threads: 4"
    echo "log:"
    echo "  level: warn"
    echo "data:"
    echo "  dir: $WORK/data"
    echo "roles:"
    echo "  api: [$storage_plugin, task_api, metrics_exporter]"
    echo "task_api:"
    echo "  auth:"
    echo "    tokens: [\"$TOKEN\"]"
    echo "metrics_exporter:"
    echo "  listen: 127.0.0.1:$METRICS_PORT"
    if [[ "$STORE" == sqlite ]]; then
      echo "storage_sqlite:"
      echo "  path: $WORK/data/appliance.db"
      echo "  synchronous: full"
    else
      echo "storage_postgres:"
      echo "  url: $PG_URL"
    fi
  } > "$WORK/bench.yaml"
  chmod 600 "$WORK/bench.yaml"
}

CONFIG_ARGS=()
start_server() {  # sets SERVER_PID; appends the start-up time to STARTUP_MS
  local bin="$BUILD_DIR/bin/appliance" t0 deadline
  [[ -x "$bin" ]] || die "$bin not found: build it (cmake --build $BUILD_DIR --target appliance storage_$STORE task_api metrics_exporter) or set BUILD"
  CONFIG_ARGS=(--config="$REPO/config/base.yaml" --config="$WORK/bench.yaml")
  [[ -z "$EXTRA_CONFIG" ]] || CONFIG_ARGS+=(--config="$EXTRA_CONFIG")
  t0=$(now_ms)
  setsid "$bin" --role=api "${CONFIG_ARGS[@]}" >> "$WORK/appliance.log" 2>&1 &
  SERVER_PID=$!
  deadline=$(( t0 + 30000 ))
  until [[ "$(http_status "$APP_PORT" /readyz)" == 200 ]]; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 20 "$WORK/appliance.log" >&2
      SERVER_PID=""
      die "the appliance exited during start-up (log above)"
    fi
    (( $(now_ms) < deadline )) || { tail -n 20 "$WORK/appliance.log" >&2; die "not ready after 30 s"; }
    sleep 0.002
  done
  STARTUP_MS+=($(( $(now_ms) - t0 )))
  [[ "$(cat "/proc/$SERVER_PID/comm" 2>/dev/null)" == appliance ]] \
    || die "pid $SERVER_PID is not the appliance (setsid forked?): cannot sample its RSS"
}

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# Server-side latency from the host's http_request_duration_seconds histogram (all routes
# but the probes), read from the metrics listener before and after a run: it tells the time
# spent inside the server from the time a request waited for a CPU (wrk, the server, the
# database and other work share the cores). Prints "le cumulative_count" lines.
server_histogram() {
  [[ -n "$METRICS_URL" ]] || return 0
  curl -s --max-time 5 "$METRICS_URL" | awk '
    /^http_request_duration_seconds_bucket[{]/ {
      if ($0 ~ /route="\/(readyz|livez|health)"/) next
      match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5); sum[le] += $NF
    }
    END { for (k in sum) print k, sum[k] }' || true
}

# server_percentiles BEFORE AFTER: "P50 P99" as the upper bounds (ms) of the histogram buckets
# that hold them, from the difference between two server_histogram snapshots.
server_percentiles() {
  [[ -n "$1" && -n "$2" ]] || { echo "n/a n/a"; return; }
  awk 'NR == FNR {before[$1] = $2; next} {print $1, $2 - before[$1]}' <(echo "$1") <(echo "$2") |
    sed 's/^+Inf /1e9 /' | sort -g | awk '
      {le[NR] = $1; c[NR] = $2} END {
        total = c[NR]; if (total <= 0) {print "n/a n/a"; exit}
        for (i = 1; i <= NR; i++) {
          if (p50 == "" && c[i] >= 0.5 * total) p50 = le[i]
          if (p99 == "" && c[i] >= 0.99 * total) p99 = le[i]
        }
        f = "%g"; printf (p50 >= 1e9 ? "inf" : f) " " (p99 >= 1e9 ? "inf" : f) "\n", p50 * 1000, p99 * 1000
      }'
}

# --- wrk ------------------------------------------------------------------------------

declare -A RPS P50 P99 NON2XX STATUSES PEAK ALL_RPS SP99
RAW_LOG="$WORK/raw.txt"
: > "$RAW_LOG"

# run_wrk LABEL SCRIPT TARGET_URL RSS_PID: runs wrk once, keeps the best run per LABEL.
run_wrk() {
  local label=$1 script=$2 target=$3 pid=$4 out="$WORK/wrk.out" busy peak line steal0 steal
  local hist_before="" hist_after="" sp50="n/a" sp99="n/a"
  busy=$(busy_before_run)
  reset_peak_rss "$pid"
  [[ "$target" != "$BASE_URL" ]] || hist_before=$(server_histogram)
  steal0=$(cpu_steal_jiffies)
  BENCH_SCENARIO="$label" BENCH_TOKEN="$TOKEN" BENCH_ID_MIN="$ID_MIN" BENCH_ID_MAX="$ID_MAX" \
    in_own_session wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$BENCH/wrk/$script.lua" \
    "$target" > "$out" 2>&1 || { cat "$out" >&2; die "wrk failed for $label"; }
  steal=$(steal_percent "$steal0" "$(cpu_steal_jiffies)")
  peak=""
  [[ -z "$pid" ]] || peak=$(rss_kb "$pid" VmHWM)
  if [[ -n "$hist_before" ]]; then
    hist_after=$(server_histogram)
    read -r sp50 sp99 < <(server_percentiles "$hist_before" "$hist_after")
  fi
  line=$(grep '^RESULT ' "$out" | tail -n1) || { cat "$out" >&2; die "no RESULT line from $script.lua"; }
  {
    echo "## $label (machine busy before run: ${busy}%, hypervisor steal during: ${steal}%, load $(loadavg), peak RSS $(mb "$peak") MB, server-side p50 <= $sp50 ms, p99 <= $sp99 ms)"
    grep -v '^RESULT ' "$out"
    echo "$line"
    echo
  } >> "$RAW_LOG"
  local rps p50 p99 non2xx statuses
  rps=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line")
  p50=$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' <<<"$line")
  non2xx=$(sed -n 's/.* non2xx=\([^ ]*\).*/\1/p' <<<"$line")
  statuses=$(sed -n 's/.* statuses=\([^ ]*\).*/\1/p' <<<"$line")
  log "$(printf '%-15s %9.0f req/s  p50 %6.2f ms  p99 %7.2f ms (server p99 <= %s)  %s  (busy before: %s%%, steal %s%%)' \
         "$label" "$rps" "$p50" "$p99" "$sp99" "$statuses" "$busy" "$steal")"
  ALL_RPS[$label]="${ALL_RPS[$label]:-}${ALL_RPS[$label]:+, }$(printf '%.0f (p99 %.1f, steal %s%%)' "$rps" "$p99" "$steal")"
  if [[ -z "${RPS[$label]:-}" ]] || awk -v a="$rps" -v b="${RPS[$label]}" 'BEGIN {exit !(a > b)}'; then
    RPS[$label]=$rps P50[$label]=$p50 P99[$label]=$p99 NON2XX[$label]=$non2xx
    STATUSES[$label]=$statuses SP99[$label]=$sp99
  fi
  if [[ -n "$peak" ]] && { [[ -z "${PEAK[$label]:-}" ]] || (( peak > PEAK[$label] )); }; then
    PEAK[$label]=$peak
  fi
}

# Creates SEED tasks with post.lua (each wrk thread stops after its share) and sets
# ID_MIN/ID_MAX from the ids in the Location headers.
seed_tasks() {
  ID_MIN="" ID_MAX=""
  local created=0 out line
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    (( created < SEED )) || break
    out="$WORK/seed.out"
    BENCH_TOKEN="$TOKEN" BENCH_SEED_COUNT=$(( SEED - created )) BENCH_THREADS="$THREADS" \
      wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$BENCH/wrk/post.lua" "$BASE_URL" > "$out" 2>&1 \
      || { cat "$out" >&2; die "seeding failed"; }
    line=$(grep '^CREATED ' "$out") || { cat "$out" >&2; die "seeding printed no CREATED line"; }
    local n lo hi
    n=$(sed -n 's/.*count=\([0-9]*\).*/\1/p' <<<"$line")
    lo=$(sed -n 's/.*id_min=\([0-9]*\).*/\1/p' <<<"$line")
    hi=$(sed -n 's/.*id_max=\([0-9]*\).*/\1/p' <<<"$line")
    [[ -n "$lo" && -n "$hi" ]] || { cat "$out" >&2; die "seeding created no task: is the server up, and is the token accepted? (wrk output above)"; }
    created=$(( created + n ))
    [[ -n "$ID_MIN" ]] && (( ID_MIN < lo )) || ID_MIN=$lo
    [[ -n "$ID_MAX" ]] && (( ID_MAX > hi )) || ID_MAX=$hi
  done
  (( created > 0 )) || die "seeding created no task"
  log "seeded $created tasks, ids $ID_MIN..$ID_MAX"
}

# --- PostgreSQL ceiling -------------------------------------------------------------------

declare -A PG_TPS PG_P50 PG_P99 PG_ALL
PG_RAN=""
# Scenario -> bench/pgbench scripts, `name@weight` for a weighted mix. mixed.lua's 10% POST and
# 10% DELETE are one insert_delete.sql run (2 requests): its rate counts twice, and its latency
# (two round trips) is left out of the mix's p50/p99, which are per request.
declare -A PGBENCH_FOR=([get_by_id]=get_by_id [put]=update [post]=insert [list]=list_100
  [mixed]="get_by_id@50 update@20 insert_delete@10 list_100@10")
declare -A PGBENCH_REQUESTS=([insert_delete]=2)

run_pgbench_ceiling() {
  local dir="$BENCH/pgbench" db_url secs
  [[ -d "$dir" ]] || { log "no bench/pgbench/: skipping the database ceiling"; return; }
  command -v pgbench >/dev/null || { log "pgbench not installed: skipping the database ceiling"; return; }
  # A separate database, so setup.sql (which truncates) never touches the appliance's tasks.
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres pgbench_ceiling
  db_url="postgresql://postgres@127.0.0.1:$PG_PORT/pgbench_ceiling"
  psql -q -X -v ON_ERROR_STOP=1 -d "$db_url" -f "$dir/setup.sql" > "$WORK/pgbench-setup.log" 2>&1 \
    || { cat "$WORK/pgbench-setup.log" >&2; die "bench/pgbench/setup.sql failed"; }
  secs=$(duration_seconds "$DURATION")
  local round s spec name missing
  for round in $(seq 1 "$REPEAT"); do
    for s in $SCENARIOS; do
      spec="${PGBENCH_FOR[$s]:-}" missing=""
      for name in $spec; do [[ -f "$dir/${name%@*}.sql" ]] || missing=1; done
      [[ -n "$spec" && -z "$missing" ]] || continue
      run_pgbench_once "$s" "$spec" "$db_url" "$secs"
    done
  done
}

run_pgbench_once() {
  local label=$1 spec=$2 db_url=$3 secs=$4 busy out="$WORK/pgbench.out" tps p50 p99 steal0 steal
  local -a files=()
  local item name index=0 skip=-1 weights=0 requests=0 weight
  for item in $spec; do
    name=${item%@*} weight=1
    [[ "$item" == *@* ]] && weight=${item#*@}
    files+=(-f "$BENCH/pgbench/$name.sql${item#"$name"}")
    weights=$((weights + weight))
    requests=$((requests + weight * ${PGBENCH_REQUESTS[$name]:-1}))
    [[ -z "${PGBENCH_REQUESTS[$name]:-}" ]] || skip=$index
    index=$((index + 1))
  done
  busy=$(busy_before_run)
  rm -f "$WORK"/pgblog*
  steal0=$(cpu_steal_jiffies)
  # -M prepared: the store prepares its statements too. -l logs each transaction's latency
  # (and its script's index) so p50/p99 come from the same kind of distribution as wrk's.
  in_own_session pgbench -n -M prepared -c "$CONNECTIONS" -j "$THREADS" -T "$secs" "${files[@]}" \
    -l --log-prefix="$WORK/pgblog" "$db_url" > "$out" 2>&1 \
    || { cat "$out" >&2; die "pgbench failed on $spec"; }
  steal=$(steal_percent "$steal0" "$(cpu_steal_jiffies)")
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | tail -n1)
  tps=$(awk -v t="$tps" -v r="$requests" -v w="$weights" 'BEGIN {printf "%.1f", t * r / w}')
  read -r p50 p99 < <(cat "$WORK"/pgblog* | awk -v skip="$skip" 'NF < 4 || $4 != skip {print $3}' | sort -n |
    awk '{v[NR] = $1} END {if (NR) printf "%.3f %.3f\n", v[int(NR*0.5)+1]/1000, v[int(NR*0.99)+1]/1000; else print "n/a n/a"}')
  {
    echo "## pgbench $spec (machine busy before run: ${busy}%, hypervisor steal during: ${steal}%, load $(loadavg))"
    cat "$out"
    echo "requests_per_s=$tps p50_ms=$p50 p99_ms=$p99"
    echo
  } >> "$RAW_LOG"
  log "$(printf 'pgbench %-13s %9.0f tps    p50 %6s ms  p99 %7s ms  (busy before: %s%%, steal %s%%)' \
         "$label" "$tps" "$p50" "$p99" "$busy" "$steal")"
  PG_RAN=1
  PG_ALL[$label]="${PG_ALL[$label]:-}${PG_ALL[$label]:+, }$(printf '%.0f (p99 %s, steal %s%%)' "$tps" "$p99" "$steal")"
  if [[ -z "${PG_TPS[$label]:-}" ]] || awk -v a="$tps" -v b="${PG_TPS[$label]}" 'BEGIN {exit !(a > b)}'; then
    PG_TPS[$label]=$tps PG_P50[$label]=$p50 PG_P99[$label]=$p99
  fi
}

# --- soak mode ----------------------------------------------------------------------------

# Store-side sizes after a window: "WAL_BYTES DB_BYTES ROWS DELETED DEAD" (n/a where unknown).
# SQLite: the sizes of the -wal and db files, rows and tombstones counted with the sqlite3 CLI
# (read-only) or, without it, appliance_sqlite_wal_bytes from the metrics listener for the WAL.
# PostgreSQL: the size of pg_wal (pg_ls_waldir), pg_total_relation_size('tasks'), n_live_tup
# and n_dead_tup from pg_stat_user_tables, and count(*) of deleted rows.
store_stats() {
  local wal="n/a" db="n/a" rows="n/a" deleted="n/a" dead="n/a" f
  if [[ -z "$URL" && "$STORE" == sqlite ]]; then
    f="$WORK/data/appliance.db"
    [[ -f "$f" ]] && db=$(stat -c %s "$f")
    [[ -f "$f-wal" ]] && wal=$(stat -c %s "$f-wal") || wal=0
    if command -v sqlite3 >/dev/null; then
      read -r rows deleted < <(sqlite3 -readonly -separator ' ' "$f" \
        '.timeout 5000' 'SELECT count(*), coalesce(sum(deleted), 0) FROM tasks' 2>/dev/null || echo "n/a n/a")
    elif [[ -n "$METRICS_URL" ]]; then
      wal=$(curl -s --max-time 5 "$METRICS_URL" | awk '/^appliance_sqlite_wal_bytes/ {print $NF; exit}')
    fi
  elif [[ -n "$PG_URL" ]]; then
    read -r wal db rows dead deleted < <(psql -X -At -F ' ' -d "$PG_URL" -c "
      SELECT (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir()),
             pg_total_relation_size('tasks'),
             s.n_live_tup, s.n_dead_tup,
             (SELECT count(*) FROM tasks WHERE deleted)
      FROM pg_stat_user_tables s WHERE s.relname = 'tasks'" 2>/dev/null || echo "n/a n/a n/a n/a n/a")
  fi
  echo "${wal:-n/a} ${db:-n/a} ${rows:-n/a} ${deleted:-n/a} ${dead:-n/a}"
}

# PostgreSQL's checkpointer and buffer writers, WAL and autovacuum, cumulative since the cluster
# started: which of them wrote the dirty pages (a backend writing its own means shared_buffers
# ran out of clean ones), how many checkpoints ran, how many full-page images the WAL took
# after them and how often it was synced, how often autovacuum processed tasks. Empty for SQLite.
pg_writer_stats() {
  [[ -n "$PG_URL" ]] || return 0
  psql -X -At -d "$PG_URL" -c "
    SELECT format('checkpoints %s timed + %s requested, buffers written by checkpoints %s, '
                  'bgwriter %s, backends %s; WAL full-page images %s, WAL syncs %s; '
                  'autovacuums of tasks %s', b.checkpoints_timed, b.checkpoints_req,
                  b.buffers_checkpoint, b.buffers_clean, b.buffers_backend, w.wal_fpi,
                  w.wal_sync, t.autovacuum_count)
    FROM pg_stat_bgwriter b, pg_stat_wal w, pg_stat_user_tables t
    WHERE t.relname = 'tasks'" 2>/dev/null || true
}

mb_bytes() { [[ "${1:-n/a}" =~ ^[0-9]+$ ]] && awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}' || echo "n/a"; }

SOAK_ROWS=()
run_soak() {
  local soak_s window_s windows w out="$WORK/wrk.out" line busy hb ha sp50 sp99
  local rps p50 p99 non2xx statuses rss hwm wal db rows deleted dead row steal0 steal writers
  soak_s=$(duration_seconds "$SOAK")
  window_s=$(duration_seconds "$WINDOW")
  (( window_s > 0 )) || die "--window must be longer than 0"
  windows=$(( soak_s / window_s ))
  (( windows >= 1 )) || windows=1
  log "soak: mixed.lua for $windows window(s) of ${window_s}s, wrk -t$THREADS -c$CONNECTIONS --latency, against $BASE_URL"
  local hdr
  hdr=$(printf '%3s %9s %8s %8s %7s %8s %8s %8s %8s %9s %8s %8s' \
        win req/s p50_ms p99_ms non2xx rss_MB hwm_MB wal_MB db_MB rows deleted dead)
  log "$hdr"
  for w in $(seq 1 "$windows"); do
    busy=$(cpu_busy_percent)
    reset_peak_rss "$RSS_PID"
    hb=$(server_histogram)
    steal0=$(cpu_steal_jiffies)
    BENCH_SCENARIO="mixed" BENCH_TOKEN="$TOKEN" BENCH_ID_MIN="$ID_MIN" BENCH_ID_MAX="$ID_MAX" \
      in_own_session wrk -t"$THREADS" -c"$CONNECTIONS" -d"${window_s}s" --latency -s "$BENCH/wrk/mixed.lua" \
      "$BASE_URL" > "$out" 2>&1 || { cat "$out" >&2; die "wrk failed in window $w"; }
    steal=$(steal_percent "$steal0" "$(cpu_steal_jiffies)")
    rss="" hwm=""
    if [[ -n "$RSS_PID" ]]; then rss=$(rss_kb "$RSS_PID" VmRSS); hwm=$(rss_kb "$RSS_PID" VmHWM); fi
    sp50="n/a" sp99="n/a"
    if [[ -n "$hb" ]]; then ha=$(server_histogram); read -r sp50 sp99 < <(server_percentiles "$hb" "$ha"); fi
    line=$(grep '^RESULT ' "$out" | tail -n1) || { cat "$out" >&2; die "no RESULT line in window $w"; }
    rps=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' <<<"$line")
    non2xx=$(sed -n 's/.* non2xx=\([^ ]*\).*/\1/p' <<<"$line")
    statuses=$(sed -n 's/.* statuses=\([^ ]*\).*/\1/p' <<<"$line")
    read -r wal db rows deleted dead < <(store_stats)
    writers=$(pg_writer_stats)
    {
      echo "## window $w (machine busy before: ${busy}%, hypervisor steal during: ${steal}%, load $(loadavg), VmRSS $(mb "$rss") MB, VmHWM $(mb "$hwm") MB, server-side p50 <= $sp50 ms, p99 <= $sp99 ms; WAL $wal B, db $db B, rows $rows, deleted $deleted, dead tuples $dead${writers:+; $writers})"
      grep -v '^RESULT ' "$out"
      echo "$line"
      echo
    } >> "$RAW_LOG"
    row="$w $rps $p50 $p99 $non2xx ${rss:-n/a} ${hwm:-n/a} $wal $db $rows $deleted $dead $sp99 $busy $statuses"
    SOAK_ROWS+=("$row")
    log "$(printf '%3s %9.0f %8.2f %8.2f %7s %8s %8s %8s %8s %9s %8s %8s  (server p99 <= %s ms, busy before %s%%, steal %s%%)' \
           "$w" "$rps" "$p50" "$p99" "$non2xx" "$(mb "$rss")" "$(mb "$hwm")" "$(mb_bytes "$wal")" \
           "$(mb_bytes "$db")" "$rows" "$deleted" "$dead" "$sp99" "$busy" "$steal")"
  done
}

# The summary against the soak targets: "key value" lines.
soak_summary() {
  printf '%s\n' "${SOAK_ROWS[@]}" | awk '
    function num(x) { return x ~ /^[0-9.]+$/ }
    { n++; rps[n] = $2; p99[n] = $4; rss[n] = $6; wal[n] = $8 }
    END {
      ratio = (rps[1] > 0) ? rps[n] / rps[1] : 0
      maxp = 0; maxw = 0; maxwal = -1; maxrss = 0
      for (i = 1; i <= n; i++) {
        if (p99[i] > maxp) { maxp = p99[i]; maxw = i }
        if (num(wal[i]) && wal[i] > maxwal) maxwal = wal[i]
        if (i > 1 && num(rss[i]) && rss[i] > maxrss) maxrss = rss[i]
      }
      printf "windows %d\n", n
      printf "rps_first %.0f\nrps_last %.0f\nratio %.3f\nratio_ok %s\n", rps[1], rps[n], ratio, (ratio >= 0.9 && ratio <= 1.1) ? "met" : "not met"
      printf "p99_max %.2f\np99_max_window %d\np99_ok %s\n", maxp, maxw, (maxp < 10) ? "met" : "not met"
      if (maxwal >= 0) printf "wal_max_mb %.1f\nwal_ok %s\n", maxwal / 1048576, (maxwal < 64 * 1048576) ? "met" : "not met"
      else printf "wal_max_mb n/a\nwal_ok n/a\n"
      if (n > 1 && num(rss[1]) && rss[1] > 0) {
        g = 100 * (maxrss - rss[1]) / rss[1]; gl = 100 * (rss[n] - rss[1]) / rss[1]
        printf "rss_first_mb %.1f\nrss_max_mb %.1f\nrss_last_mb %.1f\nrss_growth_pct %.1f\nrss_growth_last_pct %.1f\nrss_ok %s\n", rss[1] / 1024, maxrss / 1024, rss[n] / 1024, g, gl, (g < 5) ? "met" : "not met"
      } else printf "rss_first_mb n/a\nrss_max_mb n/a\nrss_last_mb n/a\nrss_growth_pct n/a\nrss_growth_last_pct n/a\nrss_ok n/a\n"
    }'
}

soak_report() {
  local commit cpu wal_what
  declare -A S
  while read -r k v; do S[$k]=$v; done < <(soak_summary)
  commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$REPO" diff --quiet HEAD 2>/dev/null || commit="$commit+uncommitted"
  cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)
  if [[ "$STORE" == sqlite ]]; then wal_what="size of the \`-wal\` file"; else wal_what="size of pg_wal (\`pg_ls_waldir()\`)"; fi
  echo "# Task API soak test: $STORE, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- Target: ${URL:-the appliance from $BUILD_DIR/bin, role api, started by bench/run.sh} (commit $commit)"
  echo "- Machine: $(nproc) CPUs ($cpu), shared by wrk, the server${PG_URL:+, PostgreSQL} and anything else running; load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "- \`bench/run.sh --soak $SOAK --window $WINDOW --store $STORE\`: mixed.lua (50% GET by id, 20% PUT, 10% POST, 10% DELETE of its own new tasks, 10% list) in ${S[windows]} back-to-back windows of \`wrk -t$THREADS -c$CONNECTIONS -d$WINDOW --latency\`; $SEED tasks seeded, ids ${ID_MIN}..${ID_MAX}"
  if [[ -z "$URL" ]]; then
    if [[ "$STORE" == sqlite ]]; then
      echo "- Store: SQLite, WAL, \`synchronous: full\`"
    else
      echo "- Store: PostgreSQL $(psql -X -At -d "$PG_URL" -c 'show server_version' 2>/dev/null) throwaway cluster, fsync on, synchronous_commit on, autovacuum on, ${PG_TEST_SERVER_OPTS:+server options \`$PG_TEST_SERVER_OPTS\` (PG_TEST_SERVER_OPTS), }otherwise defaults"
    fi
    echo "- Start-up to ready: ${STARTUP_MS[*]} ms; idle RSS $(mb "$IDLE_RSS") MB"
  fi
  echo
  echo "## Summary against the targets"
  echo
  echo "| target | measured | |"
  echo "|---|---|---|"
  echo "| last window's req/s within 10% of the first's | ${S[rps_first]} → ${S[rps_last]} req/s, ratio ${S[ratio]} | ${S[ratio_ok]} |"
  echo "| p99 < 10 ms in every window | max wrk p99 ${S[p99_max]} ms (window ${S[p99_max_window]}) | ${S[p99_ok]} |"
  echo "| WAL < 64 MB | max ${S[wal_max_mb]} MB ($wal_what, read after each window) | ${S[wal_ok]} |"
  echo "| RSS growth after the first window < 5% | VmRSS ${S[rss_first_mb]} MB after window 1, max ${S[rss_max_mb]} MB after a later one (+${S[rss_growth_pct]}%), ${S[rss_last_mb]} MB after the last (+${S[rss_growth_last_pct]}%) | ${S[rss_ok]} |"
  echo
  echo "## Per window"
  echo
  if [[ "$STORE" == sqlite ]]; then
    echo "| window | req/s | p50 ms | p99 ms | server p99 ms | non-2xx | VmRSS MB | VmHWM MB | WAL MB | db MB | rows | deleted rows | busy before |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  else
    echo "| window | req/s | p50 ms | p99 ms | server p99 ms | non-2xx | VmRSS MB | VmHWM MB | pg_wal MB | tasks total MB | n_live_tup | deleted rows | n_dead_tup | busy before |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  fi
  local r w rps p50 p99 non2xx rss hwm wal db rows deleted dead sp99 busy statuses
  for r in "${SOAK_ROWS[@]}"; do
    read -r w rps p50 p99 non2xx rss hwm wal db rows deleted dead sp99 busy statuses <<<"$r"
    if [[ "$STORE" == sqlite ]]; then
      printf '| %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s%% |\n' "$w" "$rps" "$p50" "$p99" "$sp99" \
        "$non2xx" "$(mb "$rss")" "$(mb "$hwm")" "$(mb_bytes "$wal")" "$(mb_bytes "$db")" "$rows" "$deleted" "$busy"
    else
      printf '| %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s%% |\n' "$w" "$rps" "$p50" "$p99" "$sp99" \
        "$non2xx" "$(mb "$rss")" "$(mb "$hwm")" "$(mb_bytes "$wal")" "$(mb_bytes "$db")" "$rows" "$deleted" "$dead" "$busy"
    fi
  done
  echo
  echo "p50/p99 are wrk's (client side); \"server p99\" is the upper bound of the"
  echo "http_request_duration_seconds bucket holding the 99th percentile of the window. VmRSS is"
  echo "read after each window, VmHWM is the peak during it (reset before each window). Sizes and"
  echo "row counts are read after each window, between wrk runs. mixed.lua deletes as many tasks"
  echo "as it creates, so deleted rows (tombstones) grow with every window."
  echo
  echo "<details><summary>Raw windows</summary>"
  echo
  echo '```'
  cat "$RAW_LOG"
  echo '```'
  echo
  echo "</details>"
}

# --- main -----------------------------------------------------------------------------

PG_URL="" PG_PORT="" PGBIN=""
IDLE_RSS="" BASE_URL="" RSS_PID=""
LOAD_BEFORE=$(loadavg)

if [[ -z "$URL" ]]; then
  if [[ "$STORE" == postgres ]]; then
    [[ -f "$BUILD_DIR/lib/appliance/plugins/storage_postgres.so" ]] \
      || die "$BUILD_DIR/lib/appliance/plugins/storage_postgres.so not found: build the storage_postgres target"
    PG_STATE="$WORK/pg.state"
    log "starting a throwaway PostgreSQL cluster (fsync on)"
    PG_URL=$("$REPO/scripts/pg-test-cluster.sh" start "$PG_STATE")
    PG_PORT=$(sed -n 's/^PORT=//p' "$PG_STATE")
    PGBIN=$(sed -n 's/^PGBIN=//p' "$PG_STATE")
  fi
  write_config
  # Start-up time to ready: the first start creates the database (migrations); later ones open it.
  for i in $(seq 1 "$STARTUP_RUNS"); do
    start_server
    (( i == STARTUP_RUNS )) || stop_server
  done
  log "start-up to ready: ${STARTUP_MS[*]} ms (first with an empty database)"
  sleep 1
  IDLE_RSS=$(rss_kb "$SERVER_PID" VmRSS)
  log "idle RSS: $(mb "$IDLE_RSS") MB"
  BASE_URL="http://127.0.0.1:$APP_PORT"
  METRICS_URL="http://127.0.0.1:$METRICS_PORT/metrics"
  RSS_PID=$SERVER_PID
else
  [[ "$URL" =~ ^https?://(127\.0\.0\.1|localhost|\[::1\])(:|/|$) ]] \
    || log "warning: $URL is not on this machine; the numbers include the network"
  [[ -n "$TOKEN_ARG" ]] || log "warning: no --token (or TOKEN): /tasks will answer 401 if auth is on"
  TOKEN=$TOKEN_ARG
  BASE_URL=${URL%/}
  RSS_PID=$PID_ARG
  PG_URL=$PG_URL_ARG
  [[ -z "$RSS_PID" ]] || IDLE_RSS=$(rss_kb "$RSS_PID" VmRSS)
fi

seed_tasks
if [[ -n "$PG_URL" ]]; then
  # Planner statistics for the seeded rows, as autovacuum would take within a minute and as
  # bench/pgbench/setup.sql does for the ceiling. Without them the first minute's plans
  # assume an empty table (GET /tasks then sorts the whole table instead of reading the
  # primary key backwards).
  psql -X -q -d "$PG_URL" -c 'ANALYZE tasks' || die "ANALYZE tasks failed"
fi

if [[ -n "$SOAK" ]]; then
  # Soak mode: no ceilings, no pgbench, no scenario rounds; mixed.lua in windows.
  run_soak
  LOAD_AFTER=$(loadavg)
  if [[ -z "$OUT" ]]; then
    mkdir -p "$BENCH/results"
    OUT="$BENCH/results/$(date -u +%Y-%m-%d)-soak-$STORE.md"
    n=2
    while [[ -e "$OUT" ]]; do OUT="$BENCH/results/$(date -u +%Y-%m-%d)-soak-$STORE-$n.md"; n=$((n + 1)); done
  fi
  soak_report > "$OUT"
  echo
  sed -n '/^## Summary against the targets/,/^p50\/p99 are wrk/p' "$OUT" | sed '$d'
  echo "Written to ${OUT#"$REPO"/}"
  exit 0
fi

TRIVIAL_URL=""
if (( RUN_TRIVIAL )); then
  trivial_bin="$BUILD_DIR/bin/bench_trivial_server"
  if [[ -x "$trivial_bin" ]]; then
    setsid "$trivial_bin" --listen 127.0.0.1:0 --threads 64 > "$WORK/trivial.out" 2>&1 &
    TRIVIAL_PID=$!
    for i in $(seq 1 100); do
      TRIVIAL_URL=$(sed -n 's/^listening on /http:\/\//p' "$WORK/trivial.out")
      [[ -z "$TRIVIAL_URL" ]] || break
      sleep 0.05
    done
    [[ -n "$TRIVIAL_URL" ]] || { cat "$WORK/trivial.out" >&2; die "bench_trivial_server did not start"; }
  else
    log "no $trivial_bin (build target bench_trivial_server): skipping the HTTP ceiling"
  fi
fi

log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $REPEAT round(s), against $BASE_URL"
for round in $(seq 1 "$REPEAT"); do
  log "round $round/$REPEAT"
  # The ceiling runs the get_by_id script too (it answers every path), so wrk does the same
  # Lua and parsing work per request as in the real scenario.
  [[ -z "$TRIVIAL_URL" ]] || run_wrk trivial_ceiling get_by_id "$TRIVIAL_URL" "$TRIVIAL_PID"
  for s in $SCENARIOS; do
    run_wrk "$s" "$s" "$BASE_URL" "$RSS_PID"
  done
done

PEAK_ALL=""
[[ -z "$RSS_PID" ]] || PEAK_ALL=$(for s in $SCENARIOS; do echo "${PEAK[$s]:-0}"; done | sort -n | tail -n1)

if [[ "$STORE" == postgres && -z "$URL" && $RUN_PGBENCH -eq 1 ]]; then
  run_pgbench_ceiling
fi
LOAD_AFTER=$(loadavg)

# --- report ---------------------------------------------------------------------------

fmt_row() {  # label
  local s=$1 pct="" pg="${PG_TPS[$1]:-}"
  [[ -z "$pg" ]] || pct=$(awk -v a="${RPS[$s]}" -v b="$pg" 'BEGIN {printf "%.0f%%", 100 * a / b}')
  printf '| %s | %.0f | %s | %.2f | %.2f | %s | %s | %s | %s | %s |\n' \
    "$s" "${RPS[$s]}" "${ALL_RPS[$s]}" "${P50[$s]}" "${P99[$s]}" "${SP99[$s]:-n/a}" \
    "${NON2XX[$s]}" "${STATUSES[$s]}" "$(mb "${PEAK[$s]:-}")" "${pg:+$(printf '%.0f' "$pg") ($pct)}"
}

report() {
  local commit cpu
  commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$REPO" diff --quiet HEAD 2>/dev/null || commit="$commit+uncommitted"
  cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)
  echo "# Task API load test: $STORE, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- Target: ${URL:-the appliance from $BUILD_DIR/bin, role api, started by bench/run.sh} (commit $commit)"
  local sessions="wrk in its own session"
  [[ -n "$URL" ]] || sessions="wrk, server${PG_URL:+ and PostgreSQL} each in its own session"
  echo "- Machine: $(nproc) CPUs ($cpu), shared by wrk, the server${PG_URL:+, PostgreSQL} and anything else running; load average before $LOAD_BEFORE, after $LOAD_AFTER; kernel autogroup $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a) ($sessions)"
  echo "- wrk: \`-t$THREADS -c$CONNECTIONS -d$DURATION --latency\`, best of $REPEAT run(s) per scenario (all runs listed); $SEED tasks seeded, ids ${ID_MIN}..${ID_MAX}"
  if [[ -z "$URL" ]]; then
    if [[ "$STORE" == sqlite ]]; then
      echo "- Store: SQLite, WAL, \`synchronous: full\` (fsync on every commit, group commit)"
    else
      echo "- Store: PostgreSQL $(psql -X -At -d "$PG_URL" -c 'show server_version' 2>/dev/null) throwaway cluster, fsync on, synchronous_commit on, ${PG_TEST_SERVER_OPTS:+server options \`$PG_TEST_SERVER_OPTS\` (PG_TEST_SERVER_OPTS), }otherwise defaults"
    fi
    echo "- Start-up to ready (spawn to first 200 from /readyz): ${STARTUP_MS[*]} ms (first run with an empty database)"
  fi
  echo "- Idle RSS: $(mb "$IDLE_RSS") MB; peak RSS over all scenarios (VmHWM): $(mb "$PEAK_ALL") MB"
  echo
  echo "| scenario | req/s (best) | all runs (req/s, wrk p99 ms, hypervisor steal) | p50 ms | p99 ms | server p99 ms | non-2xx | statuses | peak RSS MB | pgbench tps (API %) |"
  echo "|---|---:|---|---:|---:|---:|---:|---|---:|---|"
  [[ -z "${RPS[trivial_ceiling]:-}" ]] || fmt_row trivial_ceiling
  for s in $SCENARIOS; do fmt_row "$s"; done
  if [[ -n "$PG_RAN" ]]; then
    echo
    echo "pgbench (\`-n -M prepared -c$CONNECTIONS -j$THREADS\`, bench/pgbench/*.sql, 10000 rows):"
    echo
    echo "| statement | req/s (best) | all runs (req/s, p99 ms, hypervisor steal) | p50 ms | p99 ms |"
    echo "|---|---:|---|---:|---:|"
    for s in $SCENARIOS; do
      [[ -n "${PG_TPS[$s]:-}" ]] || continue
      printf '| %s (%s) | %.0f | %s | %s | %s |\n' "$s" "${PGBENCH_FOR[$s]}" "${PG_TPS[$s]}" \
        "${PG_ALL[$s]}" "${PG_P50[$s]}" "${PG_P99[$s]}"
    done
  fi
  echo
  echo "trivial_ceiling = bench_trivial_server (Poco HTTPServer, 64 threads, keep-alive, constant"
  echo "JSON) loaded with get_by_id.lua; peak RSS for it is the trivial server's. p50/p99 are"
  echo "wrk's (client side: they include waiting for a CPU); \"server p99\" is the upper bound of"
  echo "the http_request_duration_seconds bucket holding the 99th percentile of the same run,"
  echo "measured inside the server (from its /metrics)."
  echo
  echo "<details><summary>Raw runs</summary>"
  echo
  echo '```'
  cat "$RAW_LOG"
  echo '```'
  echo
  echo "</details>"
}

if [[ -z "$OUT" ]]; then
  mkdir -p "$BENCH/results"
  OUT="$BENCH/results/$(date -u +%Y-%m-%d)-$STORE.md"
  n=2
  while [[ -e "$OUT" ]]; do OUT="$BENCH/results/$(date -u +%Y-%m-%d)-$STORE-$n.md"; n=$((n + 1)); done
fi
report > "$OUT"
echo
sed -n '1,/^trivial_ceiling = /p' "$OUT" | sed '$d'
echo "Written to ${OUT#"$REPO"/}"
