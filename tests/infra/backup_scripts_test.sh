#!/usr/bin/env bash
# scripts/backup.sh and scripts/restore.sh refuse bad input before they touch a database
# (the round trip against a real PostgreSQL is tests/e2e/backup_restore_e2e_test.cpp).
#   backup_scripts_test.sh SOURCE_DIR
set -uo pipefail
src=$1
command -v pg_restore >/dev/null 2>&1 || { echo "SKIPPED: pg_restore not found (postgresql-client-15)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/appliance-bkp.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

# expect EXIT_CODE STDERR_PATTERN COMMAND...
expect() {
  local want=$1 pattern=$2
  shift 2
  local err rc
  err=$(env -u DATABASE_URL "$@" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -ne $want ]] || ! grep -q -- "$pattern" <<<"$err"; then
    echo "FAIL: $* -> exit $rc (want $want), stderr: $err (want /$pattern/)"
    failures=$((failures + 1))
  else
    echo "ok: $(basename "$1") ${*:2} -> $want /$pattern/"
  fi
}

expect 2 "backup.sh \[--url URL\]" "$src/scripts/backup.sh"
expect 2 "restore.sh \[--url URL\]" "$src/scripts/restore.sh"
expect 1 "no database" "$src/scripts/backup.sh" "$work/x.dump"
expect 1 "no database" "$src/scripts/restore.sh" "$work/x.dump"
expect 1 "unknown option --bogus" "$src/scripts/backup.sh" --bogus "$work/x.dump"
expect 1 "one destination only" "$src/scripts/backup.sh" --url postgresql://h/db a b
expect 1 "cannot read" "$src/scripts/restore.sh" --url postgresql://h/db "$work/missing.dump"
echo "not a dump" >"$work/garbage.dump"
expect 1 "not a pg_dump custom-format archive" "$src/scripts/restore.sh" --url postgresql://h/db "$work/garbage.dump"
expect 1 "cannot read $work/nope" "$src/scripts/restore.sh" --url postgresql://h/db --password-file "$work/nope" "$work/garbage.dump"
# A PATH with what the scripts need up to the S3 step, and no aws.
mkdir -p "$work/bin"
for tool in bash pg_dump pg_restore psql; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
expect 1 "aws CLI not found" env PATH="$work/bin" "$src/scripts/restore.sh" --url postgresql://h/db s3://bucket/key
expect 1 "aws CLI not found" env PATH="$work/bin" "$src/scripts/backup.sh" --url postgresql://h/db s3://bucket/key
[[ ! -e "$work/x.dump" ]] || { echo "FAIL: a refused backup left $work/x.dump"; failures=$((failures + 1)); }
echo "backup scripts: $failures failure(s)"
[[ $failures -eq 0 ]]
