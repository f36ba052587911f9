#!/usr/bin/env bash
# `source: prometheus` against a real Prometheus (Debian package `prometheus`, started by
# scripts/prometheus-test.sh) that scrapes the real appliance: `appliance --role=alerts`
# evaluates its rules as instant queries against Prometheus's /api/v1/query. A rule over the
# appliance's own series (as Prometheus stored them, with its job/instance labels) fires;
# then Prometheus is stopped: the rule reports health "err" with a lastError, and its alert
# stays firing (a failed query is never taken for "no alert").
# Exit 77 (skipped) without prometheus, python3 or curl.
#   prometheus_source_test.sh <appliance binary> <scripts/prometheus-test.sh>
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
appliance=$1
prom_script=$2
for tool in prometheus python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIPPED: $tool not installed"; exit 77; }
done
work=$(mktemp -d)
app_pid=
state="$work/prometheus.state"
cleanup() {
  [[ -n $app_pid ]] && kill "$app_pid" 2>/dev/null
  "$prom_script" stop "$state" >/dev/null 2>&1
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
api_port=$(free_port)
metrics_port=$(free_port)
prom=$("$prom_script" start "$state" "127.0.0.1:$metrics_port") || fail "cannot start Prometheus"

cat >"$work/rules.yaml" <<'YAML'
groups:
  - name: via-prometheus
    rules:
      - alert: EvaluatorSeenByPrometheus
        expr: up{job="appliance"} == 1 and on(job) sum by (job) (appliance_rule_evaluations_total) > 0
        labels:
          severity: info
        annotations:
          summary: "{{ $labels.instance }} is scraped by Prometheus"
YAML
cat >"$work/appliance.yaml" <<YAML
roles:
  alerts: [alert_evaluator, metrics_exporter]
http:
  listen: 127.0.0.1:$api_port
metrics_exporter:
  listen: 127.0.0.1:$metrics_port
alert_evaluator:
  rule_files: [rules.yaml]
  evaluation_interval: 1s
  source: prometheus
  prometheus:
    url: http://$prom
    timeout: 2s
YAML
(cd "$work" && exec "$appliance" --role=alerts --config="$work/appliance.yaml") >"$work/appliance.log" 2>&1 &
app_pid=$!
alerts() { curl -fsS "http://127.0.0.1:$api_port/api/v1/alerts" 2>/dev/null; }
rules() { curl -fsS "http://127.0.0.1:$api_port/api/v1/rules" 2>/dev/null; }
firing() {
  alerts | python3 -c '
import json, sys
ok = [a for a in json.load(sys.stdin)["data"]["alerts"]
      if a["labels"] == {"alertname": "EvaluatorSeenByPrometheus", "instance": sys.argv[1],
                         "job": "appliance", "severity": "info"}
      and a["state"] == "firing"
      and a["annotations"]["summary"] == sys.argv[1] + " is scraped by Prometheus"]
sys.exit(0 if ok else 1)' "127.0.0.1:$metrics_port" 2>/dev/null
}
eventually 40 firing || fail "the alert never fired through Prometheus: $(alerts) $(rules)"
echo "fired through Prometheus's query API"
healthy() { [[ $(rules) == *'"health":"ok"'* && $(rules) != *'"health":"err"'* ]]; }
healthy || fail "rules not healthy: $(rules)"

"$prom_script" stop "$state" >/dev/null 2>&1
erring() {
  rules | python3 -c '
import json, sys
rules = json.load(sys.stdin)["data"]["groups"][0]["rules"]
sys.exit(0 if all(r["health"] == "err" and r["lastError"].startswith("query failed") for r in rules) else 1)'
}
eventually 20 erring || fail "a stopped Prometheus is not surfaced as lastError: $(rules)"
sleep 2
firing || fail "the alert stopped firing while Prometheus was unreachable: $(alerts)"
echo "Prometheus down: health err with lastError, the alert still firing"
echo "PASS"
