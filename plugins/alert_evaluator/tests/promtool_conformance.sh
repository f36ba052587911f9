#!/usr/bin/env bash
# Runs every promtool-format test file in DIR under the real `promtool test rules` and under
# this engine (alert_rules_test); both must pass, so every expectation is proven right by
# Prometheus. Then checks the rule files (DIR/*_rules.yaml and config/alerts.yaml) with
# `promtool check rules` and `alert_rules_test --check`, and a broken file with both: they
# must agree. Exit 77 (CTest: skipped) when promtool is not installed.
#   promtool_conformance.sh <alert_rules_test or appliance binary> <dir> <config/alerts.yaml>
# With the appliance binary, the engine runs as `appliance --test-rules=F` / `--check-rules=F`.
set -uo pipefail
runner=$1
dir=$2
alerts=$3
if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIPPED: promtool not installed (Debian package prometheus)"
  exit 77
fi
engine() {
  if [[ $(basename "$runner") == appliance ]]; then
    if [[ $1 == --check ]]; then
      shift
      "$runner" "${@/#/--check-rules=}"
    else
      "$runner" "${@/#/--test-rules=}"
    fi
  else
    "$runner" "$@"
  fi
}
shopt -s nullglob
tests=("$dir"/*_test.yaml)
if ((${#tests[@]} == 0)); then
  echo "no *_test.yaml files in $dir" >&2
  exit 1
fi
status=0
for f in "${tests[@]}"; do
  if ! out=$(promtool test rules "$f" 2>&1); then
    echo "promtool FAILED on $f:"
    echo "$out"
    status=1
  fi
  if ! out=$(engine "$f" 2>&1); then
    echo "engine FAILED on $f:"
    echo "$out"
    status=1
  fi
done
for f in "$alerts" "$dir"/*_rules.yaml; do
  promtool check rules "$f" >/dev/null 2>&1 || { echo "promtool check rules FAILED on $f"; status=1; }
  engine --check "$f" >/dev/null 2>&1 || { echo "engine --check FAILED on $f"; status=1; }
done
broken=$(mktemp --suffix=.yaml)
trap 'rm -f "$broken"' EXIT
printf 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n' >"$broken"
if promtool check rules "$broken" >/dev/null 2>&1; then
  echo "promtool accepted a broken rule file"
  status=1
fi
if engine --check "$broken" >/dev/null 2>&1; then
  echo "the engine accepted a broken rule file"
  status=1
fi
((status == 0)) && echo "${#tests[@]} test files pass under promtool and the engine; rule checks agree"
exit $status
