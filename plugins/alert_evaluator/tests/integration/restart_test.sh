#!/usr/bin/env bash
# Restart: SIGKILL the evaluator while one alert is pending and one is firing, start it again
# on the same data folder. The pending one must fire at its original activeAt + `for` (not
# `for` after the restart), and the firing one must stay firing, never resolved in between
# (polled every 0.1 s through /api/v1/alerts from the moment the new process is ready).
# Needs a storage plugin that provides the kv_store service in the role (storage_sqlite);
# exits 77 (skipped) without python3/curl; a role without kv_store fails it.
#   restart_test.sh <appliance binary>
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
EVENTUALLY_EVERY=0.1  # the never-resolved check polls this often
appliance=$1
for tool in python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIPPED: $tool not installed"; exit 77; }
done
work=$(mktemp -d)
pids=()
app_pid=
cleanup() {
  [[ -n $app_pid ]] && kill -9 "$app_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
srv_port=$(free_port)
api_port=$(free_port)
metrics_port=$(free_port)
mkdir -p "$work/www"
printf 'fire_value 1\npend_value 1\n' >"$work/www/metrics"
python3 -m http.server "$srv_port" --bind 127.0.0.1 --directory "$work/www" >"$work/target.log" 2>&1 &
pids+=($!)
cat >"$work/rules.yaml" <<'YAML'
groups:
  - name: restart
    rules:
      - alert: FiresFast
        expr: fire_value > 0
        for: 1s
      - alert: PendsLong
        expr: pend_value > 0
        for: 20s
YAML
cat >"$work/appliance.yaml" <<YAML
roles:
  alerts: [storage_sqlite, alert_evaluator, metrics_exporter]
http:
  listen: 127.0.0.1:$api_port
storage_sqlite:
  path: $work/state.db
metrics_exporter:
  listen: 127.0.0.1:$metrics_port
alert_evaluator:
  rule_files: [rules.yaml]
  evaluation_interval: 1s
  scrape:
    targets: [http://127.0.0.1:$srv_port/metrics]
    interval: 1s
YAML
start() {
  (cd "$work" && exec "$appliance" --role=alerts --config="$work/appliance.yaml") >>"$work/appliance.log" 2>&1 &
  app_pid=$!
  ready() { curl -fsS "http://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; }
  eventually 30 ready || fail "appliance not ready"
  if grep -q "kv_store service is not running" "$work/appliance.log"; then
    fail "storage_sqlite did not provide the kv_store service: alert state cannot survive"
  fi
}
# state_of NAME: the alert's "state activeAt" from /api/v1/alerts, or "absent".
state_of() {
  curl -fsS "http://127.0.0.1:$api_port/api/v1/alerts" | python3 -c '
import json, sys
for a in json.load(sys.stdin)["data"]["alerts"]:
    if a["labels"]["alertname"] == sys.argv[1]:
        print(a["state"], a["activeAt"]); break
else:
    print("absent")' "$1"
}
is_state() { [[ $(state_of "$1") == "$2"* ]]; }

start
eventually 15 is_state FiresFast firing || fail "FiresFast never fired"
eventually 15 is_state PendsLong pending || fail "PendsLong never went pending"
fire_before=$(state_of FiresFast)
pend_before=$(state_of PendsLong)
sleep 6  # PendsLong has been pending ~6 s of its 20 s
kill -9 "$app_pid"
wait "$app_pid" 2>/dev/null
echo "killed while FiresFast=[$fire_before] PendsLong=[$pend_before]"
start
restart_epoch=$(date +%s.%N)
fired_at=
while :; do
  fire_now=$(state_of FiresFast)
  [[ $fire_now == "$fire_before" ]] || fail "after the restart FiresFast is [$fire_now], was [$fire_before]"
  pend_now=$(state_of PendsLong)
  [[ ${pend_now#* } == "${pend_before#* }" ]] ||
    fail "PendsLong's activeAt changed: [$pend_before] -> [$pend_now]"
  if [[ $pend_now == firing* ]]; then
    fired_at=$(date +%s.%N)
    break
  fi
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) - float(sys.argv[2]) < 30 else 1)" \
    "$(date +%s.%N)" "$restart_epoch" || fail "PendsLong did not fire within 30 s of the restart"
  sleep 0.1
done
# activeAt + 20 s, allowing the 1 s evaluation interval and polling.
python3 - "$pend_before" "$fired_at" "$restart_epoch" <<'PY' || fail "PendsLong fired at the wrong time"
import sys, datetime
active = datetime.datetime.strptime(sys.argv[1].split()[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
fired, restarted = float(sys.argv[2]), float(sys.argv[3])
print(f"PendsLong fired {fired - active:.1f} s after its activeAt, {fired - restarted:.1f} s after the restart")
sys.exit(0 if 19 <= fired - active <= 23 and fired - restarted < 19 else 1)
PY
echo "PASS"
