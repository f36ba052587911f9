#!/usr/bin/env bash
# `make run`: every role in one process on SQLite with config/local.yaml.
# Creates the data folder and an API token on first run (kept in data/api-token, 0600).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${APPLIANCE_BIN:-build/bin/appliance}"
export APPLIANCE_DATA_DIR="${APPLIANCE_DATA_DIR:-$PWD/data}"
listen="${APPLIANCE_LISTEN:-127.0.0.1:8080}"
export APPLIANCE_LISTEN="$listen"
mkdir -p "$APPLIANCE_DATA_DIR"
token_file="$APPLIANCE_DATA_DIR/api-token"
if [ ! -s "$token_file" ]; then
  (umask 077 && openssl rand -hex 32 > "$token_file")
  echo "Generated a new API token in $token_file"
fi
token="$(head -n1 "$token_file")"

cat <<MSG

  appliance (all roles, SQLite at $APPLIANCE_DATA_DIR/appliance.db)
  API:      http://$listen        docs: http://$listen/docs
  metrics:  http://${APPLIANCE_METRICS_LISTEN:-127.0.0.1:9464}/metrics
  token:    $token

  curl -s -X POST http://$listen/tasks -H "Authorization: Bearer $token" \\
       -H 'Content-Type: application/json' \\
       -d '{"title":"Ship it","content":"First task","due_date":"2030-01-31","request_timestamp":"$(date -u +%Y-%m-%dT%H:%M:%SZ)"}'

MSG
exec "$bin" --role=all --env=local "$@"
