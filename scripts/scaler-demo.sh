#!/usr/bin/env bash
# Sends a burst of signed workflow_job webhooks to a running `make run` and prints GET /runners
# while the dry-run pool scales up, runs the jobs and scales back down.
#   make run          # in one terminal
#   scripts/scaler-demo.sh [jobs]   # in another (default 8 jobs)
# Environment: APPLIANCE_URL (http://127.0.0.1:8080), APPLIANCE_SCALER_WEBHOOK_SECRET (the
# demo secret of config/local.yaml), DEMO_RUN_SECONDS (how long each job "runs", 10).
set -euo pipefail

url=${APPLIANCE_URL:-http://127.0.0.1:8080}
secret=${APPLIANCE_SCALER_WEBHOOK_SECRET:-local-demo-webhook-secret}
jobs=${1:-8}
run_seconds=${DEMO_RUN_SECONDS:-10}
base=$(( $(date +%s) * 100 ))
labels='["self-hosted","linux","terraform","kubernetes"]'

for tool in curl openssl python3; do
  command -v "$tool" >/dev/null || { echo "scaler-demo: $tool is required" >&2; exit 1; }
done
curl -fsS "$url/runners" >/dev/null 2>&1 || {
  echo "scaler-demo: nothing answers GET $url/runners; start the appliance with make run" >&2
  exit 1
}

send() {  # action job_id
  local now body sig
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  body="{\"action\":\"$1\",\"workflow_job\":{\"id\":$2,\"run_id\":$base,\"status\":\"$1\",\"labels\":$labels,\"runner_name\":null,\"created_at\":\"$now\",\"started_at\":\"$now\"},\"repository\":{\"full_name\":\"demo/app\"}}"
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
  curl -fsS -o /dev/null -X POST "$url/webhooks/github" \
    -H "Content-Type: application/json" -H "X-GitHub-Event: workflow_job" \
    -H "X-GitHub-Delivery: demo-$1-$2" -H "X-Hub-Signature-256: sha256=$sig" \
    --data-binary "$body"
}

show() {  # label
  curl -fsS "$url/runners" | python3 -c '
import json, sys
label = sys.argv[1]
for p in json.load(sys.stdin)["pools"]:
    d, s, l = p["demand"], p["supply"], p["limits"]
    last = p["decisions"][0]["message"] if p["decisions"] else "-"
    print("%14s  pool=%s queued=%d running=%d  runners=%d (idle %d, busy %d, booting %d)"
          "  desired=%d limits=%d-%d  last: %s" % (label, p["name"], d["queued"],
          d["in_progress"], s["current"], s["idle"], s["busy"], s["booting"], p["desired"],
          l["min"], l["max"], last))
' "$1"
}

show "before"
echo "--- $jobs jobs queued"
for ((k = 1; k <= jobs; k++)); do send queued $((base + k)); done
for t in 1 2 3 4 6 8; do sleep 1; show "+${t}s"; done
echo "--- runners picked the jobs up"
for ((k = 1; k <= jobs; k++)); do send in_progress $((base + k)); done
sleep 1; show "running"
sleep "$run_seconds"
echo "--- jobs completed; idle runners go after scale_down_delay (30s in config/local.yaml)"
for ((k = 1; k <= jobs; k++)); do send completed $((base + k)); done
for t in 1 10 20 30 35 40; do
  sleep $(( t == 1 ? 1 : (t <= 30 ? 10 : 5) )); show "+${t}s idle"
done
echo "--- recent decisions: curl $url/runners (or open it in a browser)"
