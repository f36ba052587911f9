#!/usr/bin/env bash
# Logical backup of the tasks database: pg_dump --format=custom to a file or an S3 object.
#
#   backup.sh [--url URL] [--password-file FILE] [--sse-kms-key-id KEY] DEST
#
#   URL   libpq URI or conninfo of the database (default: $DATABASE_URL), e.g.
#         postgresql://appliance@db.example:5432/tasks?sslmode=verify-full&sslrootcert=ca.pem
#   FILE  first line is the password (default: libpq's PGPASSWORD / ~/.pgpass)
#   DEST  a file path, or s3://bucket/key (uploaded with `aws s3 cp`, SSE-KMS with KEY when
#         given, else the bucket's default encryption)
#
# The dump is written next to DEST (or to a temp file for S3), checked with pg_restore --list,
# then moved into place, so DEST is never a partial dump. Prints the size and SHA-256.
# Restore with scripts/restore.sh. docs/operations.md has the procedures.
set -euo pipefail

die() { echo "backup.sh: $*" >&2; exit 1; }
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

url=${DATABASE_URL:-}
password_file=""
kms_key=""
dest=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --url) url=${2:?}; shift 2 ;;
    --url=*) url=${1#*=}; shift ;;
    --password-file) password_file=${2:?}; shift 2 ;;
    --password-file=*) password_file=${1#*=}; shift ;;
    --sse-kms-key-id) kms_key=${2:?}; shift 2 ;;
    --sse-kms-key-id=*) kms_key=${1#*=}; shift ;;
    -h|--help) usage ;;
    -*) die "unknown option $1" ;;
    *) [[ -z "$dest" ]] || die "one destination only"; dest=$1; shift ;;
  esac
done
[[ -n "$dest" ]] || usage
[[ -n "$url" ]] || die "no database: pass --url or set DATABASE_URL"
command -v pg_dump >/dev/null || die "pg_dump not found (apt-get install postgresql-client-15)"
if [[ -n "$password_file" ]]; then
  [[ -r "$password_file" ]] || die "cannot read $password_file"
  PGPASSWORD=$(head -n1 "$password_file")
  export PGPASSWORD
fi

tmpdir=""
cleanup() { [[ -z "$tmpdir" ]] || rm -rf "$tmpdir"; [[ -z "${partial:-}" ]] || rm -f "$partial"; }
trap cleanup EXIT

if [[ "$dest" == s3://* ]]; then
  command -v aws >/dev/null || die "aws CLI not found (needed for $dest)"
  tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/appliance-backup.XXXXXX")
  partial="$tmpdir/tasks.dump"
else
  mkdir -p "$(dirname "$dest")"
  partial="$dest.partial.$$"
fi

# --no-owner/--no-privileges at restore time instead: the dump keeps everything.
pg_dump --dbname="$url" --format=custom --compress=6 --no-password --file="$partial"
pg_restore --list "$partial" >/dev/null || die "the dump does not read back"
size=$(stat -c %s "$partial")
sum=$(sha256sum "$partial" | cut -d' ' -f1)

if [[ "$dest" == s3://* ]]; then
  args=(--only-show-errors)
  [[ -z "$kms_key" ]] || args+=(--sse aws:kms --sse-kms-key-id "$kms_key")
  aws s3 cp "${args[@]}" "$partial" "$dest"
else
  mv -f "$partial" "$dest"
fi
partial=""
echo "backup.sh: wrote $dest ($size bytes, sha256 $sum)"
