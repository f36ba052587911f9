#!/usr/bin/env bash
# Out-of-tree plugins end to end (issue 5): install this build (SDK + stock binary + built-in
# plugins) into a temp prefix, build examples/hello_plugin and examples/memory_store against
# the *installed* package, run their unit tests, install them into the prefix's plugin folder,
# and have the stock binary list, validate, load and serve them.
#
#   tests/sdk/external_plugin_test.sh <source dir> <build dir>    (ctest -R external_plugin)
#
# Needs a complete build of <build dir>. Binds 127.0.0.1 only (port 0: the host picks a free
# port and logs it); cleans up its temp folder and any server it started.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 <source dir> <build dir>" >&2; exit 2; }
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
cmake_cmd=${CMAKE_COMMAND:-cmake}
ctest_cmd=${CTEST_COMMAND:-ctest}
jobs=${APPLIANCE_TEST_JOBS:-2}
unset DESTDIR CMAKE_PREFIX_PATH  # install exactly into $prefix; find only the package there

work=$(mktemp -d "${TMPDIR:-/tmp}/appliance-sdk-e2e.XXXXXX")
prefix=$work/prefix
server_pid=""

cleanup() {
  if [ -n "$server_pid" ]; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/server.out "$work"/server.err; do
    [ -s "$f" ] && { echo "--- ${f##*/} (last 40 lines)" >&2; tail -n 40 "$f" >&2; }
  done
  exit 1
}
# Runs a command quietly; on failure shows its output and fails.
run() {
  local log=$work/cmd.log
  if ! "$@" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    fail "command failed: $*"
  fi
}
expect_eq() { [ "$2" = "$3" ] || fail "$1: expected [$3], got [$2]"; }
expect_contains() { [[ $2 == *"$3"* ]] || fail "$1: expected to contain [$3], got [$2]"; }

# -- HTTP and server helpers ------------------------------------------------------------------
# http METHOD PATH [curl args...]: sets $status and $body.
http() {
  local method=$1 path=$2
  shift 2
  local out
  out=$(curl -sS --max-time 10 -o "$work/body" -w '%{http_code}' -X "$method" "$@" \
    "http://$listen$path") || fail "curl $method $path failed"
  status=$out
  body=$(cat "$work/body")
}

alive() {  # the server has not exited (a zombie counts as exited)
  local state
  state=$(awk '{print $3}' "/proc/$server_pid/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

# start_server CONFIG ROLE: starts the stock binary, waits for its "ready" log line (which
# carries the bound address) and for /readyz 200; sets $listen.
start_server() {
  (cd "$work" && exec "$prefix/bin/appliance" --config="$1" --role="$2") \
    >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  listen=""
  for _ in $(seq 300); do
    alive || fail "appliance --role=$2 exited during start-up"
    listen=$(grep -o '"msg":"ready".*"listen":"127\.0\.0\.1:[0-9]*"' "$work/server.out" |
      grep -o '127\.0\.0\.1:[0-9]*' | head -n 1) || true
    [ -n "$listen" ] && break
    sleep 0.1
  done
  [ -n "$listen" ] || fail "appliance --role=$2 not ready within 30 s"
  http GET /readyz
  expect_eq "GET /readyz" "$status" 200
}

# stop_server: SIGTERM, then the exit code must be 0 within 30 s.
stop_server() {
  kill -TERM "$server_pid"
  for _ in $(seq 300); do
    alive || break
    sleep 0.1
  done
  alive && fail "still running 30 s after SIGTERM"
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=""
  [ "$rc" -eq 0 ] || fail "exit code $rc after SIGTERM"
}

for tool in curl nm "$cmake_cmd" "$ctest_cmd"; do
  command -v "$tool" >/dev/null || fail "$tool not found (scripts/bootstrap.sh test installs it)"
done

# -- 1. the SDK, installed --------------------------------------------------------------------
step "install $build into $prefix"
[ -x "$build/bin/appliance" ] || fail "$build/bin/appliance missing: build the tree first (make build)"
run "$cmake_cmd" --install "$build" --prefix "$prefix"
for f in bin/appliance lib/libappliance_sdk.so lib/libappliance_sdk_testing.a include/appliance/sdk.h \
  lib/cmake/appliance/applianceConfig.cmake lib/cmake/appliance/AppliancePlugin.cmake; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
plugin_dir=$prefix/lib/appliance/plugins
# An ASan/UBSan tree installs an instrumented libappliance_sdk_testing.a: instrument the
# examples the same way so that their tests link.
sanitize=""
if grep -q '^APPLIANCE_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt" 2>/dev/null; then
  sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi

# -- 2. the examples, built against it --------------------------------------------------------
for example in hello_plugin memory_store; do
  step "build examples/$example against the installed SDK"
  b=$work/build-$example
  run "$cmake_cmd" -S "$src/examples/$example" -B "$b" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror $sanitize" \
    -DCMAKE_EXE_LINKER_FLAGS="$sanitize" -DCMAKE_MODULE_LINKER_FLAGS="$sanitize"
  found=$(sed -n 's/^appliance_DIR:PATH=//p' "$b/CMakeCache.txt")
  expect_eq "appliance_DIR of $example" "$found" "$prefix/lib/cmake/appliance"
  run "$cmake_cmd" --build "$b" -j "$jobs"
  run "$ctest_cmd" --test-dir "$b" --output-on-failure --timeout 120
  run "$cmake_cmd" --install "$b" --prefix "$prefix"
done
for name in hello memory_store; do
  [ -f "$plugin_dir/$name.so" ] || fail "$name.so not installed into $plugin_dir"
  # appliance_add_plugin hides everything but the entry point.
  exported=$(nm -D --defined-only "$plugin_dir/$name.so" | awk '$2 == "T" {print $3}')
  expect_eq "functions exported by $name.so" "$exported" appliance_plugin
done

# -- 3. the stock binary lists them like its own ----------------------------------------------
step "appliance --list-plugins"
list=$("$prefix/bin/appliance" --list-plugins) || fail "--list-plugins exited non-zero: $list"
echo "$list"
# The ABI the installed SDK headers declare, which the examples were just built against.
abi=$(sed -n 's/^#define APPLIANCE_SDK_ABI_VERSION \([0-9]*\)u\{0,1\}$/\1/p' \
  "$prefix/include/appliance/plugin.h")
[[ -n "$abi" ]] || fail "cannot read APPLIANCE_SDK_ABI_VERSION from the installed plugin.h"
grep -Eq "^hello +1\.0\.0 +$abi +- +- +$plugin_dir/hello\.so$" <<<"$list" || fail "hello not listed"
grep -Eq "^memory_store +1\.0\.0 +$abi +task_store +- +$plugin_dir/memory_store\.so$" <<<"$list" ||
  fail "memory_store not listed as a task_store provider"
grep -Eq "^task_api " <<<"$list" || fail "built-in task_api not listed beside them"

# -- 4. hello: config validated by the host, loaded, served -----------------------------------
step "hello: --check-config refuses a bad greeting"
cat >"$work/bad.yaml" <<EOF
roles: {hello: [hello]}
hello:
  greeting: ""
EOF
rc=0
"$prefix/bin/appliance" --config="$work/bad.yaml" --role=hello --check-config \
  >/dev/null 2>"$work/check.err" || rc=$?
expect_eq "--check-config exit code" "$rc" 2
expect_eq "--check-config stderr" "$(cat "$work/check.err")" \
  "appliance: $work/bad.yaml:3: hello.greeting: must be 1..100 characters, got 0"

step "hello: --role=hello serves GET /hello"
cat >"$work/hello.yaml" <<EOF
http: {listen: "127.0.0.1:0"}
log: {format: json}
data: {dir: $work/data}
roles: {hello: [hello]}
hello:
  greeting: "Hi from an out-of-tree plugin"
EOF
start_server "$work/hello.yaml" hello
http GET /hello
expect_eq "GET /hello status" "$status" 200
expect_eq "GET /hello body" "$body" '{"greeting":"Hi from an out-of-tree plugin"}'
http POST /hello
expect_eq "POST /hello status" "$status" 405
stop_server

# -- 5. memory_store provides task_store to the built-in task_api ------------------------------
step "memory_store + task_api: --role=api creates and reads a task"
token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
cat >"$work/api.yaml" <<EOF
http: {listen: "127.0.0.1:0"}
log: {format: json}
data: {dir: $work/data}
roles: {api: [memory_store, task_api]}
memory_store: {max_tasks: 1000}
task_api:
  auth: {tokens: ["$token"]}
EOF
start_server "$work/api.yaml" api
task='{"title":"from memory_store","content":"stored by an external plugin","due_date":"2030-01-31","request_timestamp":"2024-05-01T12:00:00Z"}'
http POST /tasks -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$task"
expect_eq "POST /tasks status" "$status" 201
id=$(grep -o '"id":[0-9]*' <<<"$body" | head -n 1 | cut -d: -f2)
[ -n "$id" ] || fail "POST /tasks: no id in $body"
http GET "/tasks/$id" -H "Authorization: Bearer $token"
expect_eq "GET /tasks/$id status" "$status" 200
expect_contains "GET /tasks/$id body" "$body" '"title":"from memory_store"'
expect_contains "GET /tasks/$id body" "$body" '"due_date":"2030-01-31"'
http POST /tasks -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$task"
expect_eq "replayed POST /tasks status" "$status" 409
http GET "/tasks/$id"
expect_eq "GET /tasks/$id without a token" "$status" 401
stop_server

# -- 6. a name clash between the built-in folder and plugins.extra_dirs is refused ------------
step "hello.so in plugins.extra_dirs and in the built-in folder: refused"
mkdir -p "$work/extra"
cp "$plugin_dir/hello.so" "$work/extra/hello.so"
cat >"$work/clash.yaml" <<EOF
plugins: {extra_dirs: ["$work/extra"]}
roles: {hello: [hello]}
EOF
rc=0
"$prefix/bin/appliance" --config="$work/clash.yaml" --role=hello --check-config \
  >/dev/null 2>"$work/check.err" || rc=$?
expect_eq "name clash exit code" "$rc" 2
expect_eq "name clash stderr" "$(cat "$work/check.err")" \
  "appliance: plugin name clash: 'hello' is provided by both $plugin_dir/hello.so and $work/extra/hello.so; remove one"

echo
echo "PASS: external plugins build against the installed SDK, load, serve and are refused on a clash"
