#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan+UBSan) in their own build folder
# and runs each for FUZZ_SECONDS over a scratch copy of its seed corpus and regressions, so
# the tree is never written to. `make fuzz` calls it; see tests/fuzz/README.md.
#
#   scripts/fuzz.sh [target...]        every target when none is named
#
# Environment: FUZZ_SECONDS (60 per target), FUZZ_BUILD (build-fuzz), FUZZ_RSS_MB (2048),
# FUZZ_TIMEOUT (10 s per input), JOBS (nproc). Exits 1 when any target crashed, leaked, ran
# out of memory or time on one input, or broke an invariant; the reproducer's path is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
build="${FUZZ_BUILD:-build-fuzz}"
rss_mb="${FUZZ_RSS_MB:-2048}"
input_timeout="${FUZZ_TIMEOUT:-10}"
jobs="${JOBS:-$(nproc)}"
src=tests/fuzz

./scripts/bootstrap.sh fuzz
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
  -DAPPLIANCE_FUZZ=ON -DAPPLIANCE_BUILD_TESTS=OFF -DAPPLIANCE_BUILD_BENCH=OFF \
  -DAPPLIANCE_WERROR=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target fuzzers

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$src"/*.cpp; do
    name="$(basename "$f" .cpp)"
    [ "$name" = replay_main ] || targets+=("$name")
  done
fi

summary=()
failed=0
for t in "${targets[@]}"; do
  bin="$build/bin/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz.sh: no target '$t' ($bin)" >&2; exit 2; }
  run="$build/fuzz-runs/$t"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  for seeds in "$src/corpus/$t" "$src/regressions/$t"; do
    [ -d "$seeds" ] && find "$seeds" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$run/corpus/" \;
  done
  args=(-max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$input_timeout"
    -print_final_stats=1 -artifact_prefix="$run/artifacts/")
  [ -f "$src/$t.dict" ] && args+=(-dict="$src/$t.dict")
  echo "fuzz: $t for ${seconds}s (log: $run/log)"
  start=$(date +%s)
  status=0
  "$bin" "${args[@]}" "$run/corpus" >"$run/log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - start))
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" | tail -1)"
  result=ok
  if [ "$status" -ne 0 ]; then
    failed=1
    result="FAILED (exit $status)"
    echo "fuzz: $t FAILED; the end of its log:" >&2
    tail -n 60 "$run/log" >&2
    for artifact in "$run"/artifacts/*; do
      [ -e "$artifact" ] || continue
      echo "fuzz: $t reproducer: $artifact" >&2
      echo "fuzz:   replay it:  $bin $artifact" >&2
      echo "fuzz:   keep it:    cp $artifact $src/regressions/$t/<what-it-shows>" >&2
    done
  fi
  summary+=("$(printf '%-16s %8ss %14s  %s' "$t" "$elapsed" "${execs:-?}" "$result")")
done

echo
printf 'fuzz: %-16s %9s %14s  %s\n' target time executions result
for line in "${summary[@]}"; do echo "fuzz: $line"; done
exit "$failed"
