#!/usr/bin/env bash
# Runs every promtool-format test file in DIR under the real `promtool test rules` and under
# this engine (alert_rules_test); both must pass, so every expectation is proven right by
# Prometheus. Exit 77 (CTest: skipped) when promtool is not installed.
#   promtool_conformance.sh <alert_rules_test binary> <dir>
set -uo pipefail
runner=$1
dir=$2
if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIPPED: promtool not installed (Debian package prometheus)"
  exit 77
fi
shopt -s nullglob
files=("$dir"/*_test.yaml)
if ((${#files[@]} == 0)); then
  echo "no *_test.yaml files in $dir" >&2
  exit 1
fi
status=0
for f in "${files[@]}"; do
  if ! out=$(promtool test rules "$f" 2>&1); then
    echo "promtool FAILED on $f:"
    echo "$out"
    status=1
  fi
  if ! out=$("$runner" "$f" 2>&1); then
    echo "engine FAILED on $f:"
    echo "$out"
    status=1
  fi
done
((status == 0)) && echo "${#files[@]} files pass under promtool and the engine"
exit $status
