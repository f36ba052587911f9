#!/usr/bin/env bash
# Integration with a real Alertmanager (Debian package prometheus-alertmanager):
# starts Alertmanager on 127.0.0.1 at a free port (no gossip), a tiny HTTP server serving a
# metrics file, and `appliance --role=alerts` whose alert_evaluator scrapes that file every
# second and notifies Alertmanager. A rule fires: the alert appears in Alertmanager's
# GET /api/v2/alerts with its labels (external labels included) and expanded annotations;
# the metric drops: the alert resolves (gone from Alertmanager's active alerts and from
# /api/v1/alerts) within seconds, which only the resolved notification can do, since the
# firing one said endsAt = now + 4 x resend_delay (4 minutes). Exit 77 (skipped) without prometheus-alertmanager or python3.
#   alertmanager_test.sh <appliance binary>
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
appliance=$1
for tool in prometheus-alertmanager python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIPPED: $tool not installed"; exit 77; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

am_port=$(free_port)
srv_port=$(free_port)
api_port=$(free_port)
metrics_port=$(free_port)

cat >"$work/am.yml" <<YAML
route:
  receiver: "null"
  group_wait: 1s
receivers:
  - name: "null"
YAML
prometheus-alertmanager --config.file="$work/am.yml" --storage.path="$work/am-data" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
pids+=($!)

mkdir -p "$work/www"
echo 'demo_value{shard="a"} 3' >"$work/www/metrics"
python3 -m http.server "$srv_port" --bind 127.0.0.1 --directory "$work/www" >"$work/target.log" 2>&1 &
pids+=($!)

cat >"$work/rules.yaml" <<'YAML'
groups:
  - name: integration
    rules:
      - alert: DemoHigh
        expr: demo_value > 1
        for: 2s
        labels:
          severity: critical
        annotations:
          summary: "demo_value is {{ $value }} on shard {{ $labels.shard }}"
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
  external_labels: {cluster: integration}
  scrape:
    targets: [http://127.0.0.1:$srv_port/metrics]
    interval: 1s
  alertmanager:
    urls: [http://127.0.0.1:$am_port]
    resend_delay: 1m          # endsAt = now + 4m: only a resolved notification ends it sooner
YAML

am_ready() { curl -fsS "http://127.0.0.1:$am_port/-/ready" >/dev/null 2>&1; }
eventually 30 am_ready || fail "Alertmanager not ready"

(cd "$work" && exec "$appliance" --role=alerts --config="$work/appliance.yaml") >"$work/appliance.log" 2>&1 &
pids+=($!)
ready() { curl -fsS "http://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; }
eventually 30 ready || fail "appliance not ready"

am_alerts() { curl -fsS "http://127.0.0.1:$am_port/api/v2/alerts"; }
# The alert in Alertmanager with every label and the expanded annotation.
fired() {
  am_alerts | python3 -c '
import json, sys
alerts = json.load(sys.stdin)
ok = [a for a in alerts if a["labels"].get("alertname") == "DemoHigh"
      and a["labels"] == {"alertname": "DemoHigh", "severity": "critical", "shard": "a",
                          "instance": sys.argv[1], "job": "appliance", "cluster": "integration"}
      and a["annotations"].get("summary") == "demo_value is 3 on shard a"
      and a["status"]["state"] == "active"
      and "/graph?g0.expr=" in a["generatorURL"]]
sys.exit(0 if ok else 1)' "127.0.0.1:$srv_port"
}
# Pending first: nothing in Alertmanager while `for` has not elapsed.
pending() {
  local body
  body=$(curl -fsS "http://127.0.0.1:$api_port/api/v1/alerts") && grep -q '"state":"pending"' <<<"$body"
}
eventually 10 pending || fail "the alert never went pending"
if grep -q DemoHigh <<<"$(am_alerts)"; then
  fail "a pending alert reached Alertmanager"
fi
eventually 20 fired || fail "DemoHigh never appeared in Alertmanager with the right labels: $(am_alerts)"
echo "fired: DemoHigh is active in Alertmanager"

# (Whole bodies into variables: `curl | grep -q` fails under pipefail when grep exits early.)
rules=$(curl -fsS "http://127.0.0.1:$api_port/api/v1/rules")
grep -q '"state":"firing"' <<<"$rules" || fail "/api/v1/rules does not show the rule firing: $rules"
metrics=$(curl -fsS "http://127.0.0.1:$metrics_port/metrics")
grep -q '^ALERTS{alertname="DemoHigh",alertstate="firing"' <<<"$metrics" || fail "ALERTS gauge missing"
grep -Eq "^appliance_notifications_sent_total\{alertmanager=\"http://127.0.0.1:$am_port\"\} [1-9]" \
  <<<"$metrics" || fail "appliance_notifications_sent_total not counted"

echo 'demo_value{shard="a"} 0' >"$work/www/metrics"
resolved() {
  local body
  body=$(am_alerts) && ! grep -q DemoHigh <<<"$body"
}
eventually 20 resolved || fail "DemoHigh did not resolve in Alertmanager: $(am_alerts)"
grep -q DemoHigh <<<"$(curl -fsS "http://127.0.0.1:$api_port/api/v1/alerts")" &&
  fail "/api/v1/alerts still lists DemoHigh"
echo "resolved: DemoHigh left Alertmanager's active alerts"
echo "PASS"
