#!/usr/bin/env bash
# `promtool test rules` against our engine on the same large generated file, one after the
# other in one run: wall time and peak RSS of each (GNU time), both must pass every case.
#   bench/alerts/promtool_compare.sh [ENGINE] [-- big_rules_test.py options]
# The file comes from plugins/alert_evaluator/bench/big_rules_test.py (expectations exact by
# construction, so both tools must pass it).
# ENGINE: the command that runs promtool-format files through our engine; default
# "build/bin/appliance --test-rules=" (falls back to build/bin/alert_rules_test).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
engine=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then engine="$1"; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi
command -v promtool >/dev/null || { echo "promtool not installed (Debian: prometheus)" >&2; exit 77; }
[ -x /usr/bin/time ] || { echo "GNU time not installed (Debian: time)" >&2; exit 77; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$repo/plugins/alert_evaluator/bench/big_rules_test.py" "$work" "$@"
if [ -z "$engine" ]; then
  if "$repo/build/bin/appliance" --help 2>&1 | grep -q -- --test-rules; then
    engine="$repo/build/bin/appliance --test-rules="
  else
    engine="$repo/build/bin/alert_rules_test "
  fi
fi
# A command prefix: "…/appliance --test-rules=" is followed by the file directly, anything else
# by a space; a relative program path is made absolute (the runs happen in the work folder).
[[ "$engine" == *= ]] || engine="$engine "
program="${engine%% *}"
[ -e "$program" ] && engine="$(realpath "$program")${engine#"$program"}"
measure() {  # name, command...
  local name="$1"; shift
  ( cd "$work" && /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" > "$work/$name.out" 2>&1 ) \
    || { echo "$name failed:"; tail -20 "$work/$name.out"; exit 1; }
  read -r secs kb < "$work/$name.time"
  printf '%-10s %7.2f s  peak RSS %6.1f MB\n' "$name" "$secs" "$(echo "$kb / 1024" | bc -l)"
}
measure promtool promtool test rules big_test.yaml
# shellcheck disable=SC2086  # the engine command is split on purpose ("--test-rules=FILE")
measure appliance ${engine}big_test.yaml
