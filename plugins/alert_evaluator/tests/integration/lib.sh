# Helpers shared by the alert evaluator's integration scripts; sourced, never run.
# The sourcing script sets $work (its temporary folder) before calling fail.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# eventually <seconds> <command...>: retries every $EVENTUALLY_EVERY seconds (default 0.25).
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  while ((SECONDS < deadline)); do
    "$@" && return 0
    sleep "${EVENTUALLY_EVERY:-0.25}"
  done
  return 1
}

# fail <message>: prints it and the tail of every log in $work, then exits 1.
fail() {
  echo "FAIL: $*"
  local log
  for log in "$work"/*.log; do
    [[ -e $log ]] || continue
    echo "--- $log"
    tail -n 30 "$log"
  done
  exit 1
}
