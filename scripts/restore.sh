#!/usr/bin/env bash
# Restores a backup of scripts/backup.sh (pg_dump custom format) into a database.
#
#   restore.sh [--url URL] [--password-file FILE] [--force] SOURCE
#
#   URL     the target database (default: $DATABASE_URL); it must exist (CREATE DATABASE)
#   FILE    first line is the password
#   SOURCE  a file path, or s3://bucket/key (downloaded with `aws s3 cp`)
#   --force restore over a database that already has tables: objects of the dump are
#           dropped and recreated (pg_restore --clean --if-exists); other tables stay
#
# Without --force a database holding any table, view or sequence outside the system schemas
# is refused, so a restore never mixes two histories. The restore runs in one transaction
# (all or nothing), without the dump's owners and grants (the connecting user owns what it
# restores), then ANALYZEs. Sequences come back with the dump, so new ids continue after the
# restored ones; tombstones and last_request_at come back with the rows, so replays of
# requests older than the backup are still refused (409).
set -euo pipefail

die() { echo "restore.sh: $*" >&2; exit 1; }
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

url=${DATABASE_URL:-}
password_file=""
force=0
src=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --url) url=${2:?}; shift 2 ;;
    --url=*) url=${1#*=}; shift ;;
    --password-file) password_file=${2:?}; shift 2 ;;
    --password-file=*) password_file=${1#*=}; shift ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    -*) die "unknown option $1" ;;
    *) [[ -z "$src" ]] || die "one source only"; src=$1; shift ;;
  esac
done
[[ -n "$src" ]] || usage
[[ -n "$url" ]] || die "no database: pass --url or set DATABASE_URL"
command -v pg_restore >/dev/null || die "pg_restore not found (apt-get install postgresql-client-15)"
command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client-15)"
if [[ -n "$password_file" ]]; then
  [[ -r "$password_file" ]] || die "cannot read $password_file"
  PGPASSWORD=$(head -n1 "$password_file")
  export PGPASSWORD
fi

tmpdir=""
trap '[[ -z "$tmpdir" ]] || rm -rf "$tmpdir"' EXIT
dump=$src
if [[ "$src" == s3://* ]]; then
  command -v aws >/dev/null || die "aws CLI not found (needed for $src)"
  tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/appliance-restore.XXXXXX")
  dump="$tmpdir/tasks.dump"
  aws s3 cp --only-show-errors "$src" "$dump"
fi
[[ -r "$dump" ]] || die "cannot read $dump"
pg_restore --list "$dump" >/dev/null || die "$src is not a pg_dump custom-format archive"

objects=$(psql "$url" --no-password -X -A -t -v ON_ERROR_STOP=1 -c "
  SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'")
args=(--dbname="$url" --no-password --single-transaction --exit-on-error --no-owner --no-privileges)
if [[ "$objects" != 0 ]]; then
  [[ $force == 1 ]] || die "the target database is not empty ($objects tables, views or sequences); restore into an empty database, or pass --force to replace the dump's objects"
  args+=(--clean --if-exists)
  echo "restore.sh: --force: replacing the dump's objects in a database with $objects of them" >&2
fi
pg_restore "${args[@]}" "$dump"
psql "$url" --no-password -X -q -v ON_ERROR_STOP=1 -c "ANALYZE" >/dev/null
tasks=$(psql "$url" --no-password -X -A -t -c "SELECT count(*) FROM tasks" 2>/dev/null || echo "?")
echo "restore.sh: restored $src ($tasks rows in tasks)"
