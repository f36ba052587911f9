#!/usr/bin/env bash
# Builds and checks the container image (Dockerfile) without needing a registry or a daemon.
#   scripts/image.sh build [target]   target: runtime (default, distroless) or runtime-slim
#   scripts/image.sh test  [target]   runs the image's binary inside its root filesystem
#   scripts/image.sh bases            makes the local Debian base images with mmdebstrap
# With a Docker daemon, `build` uses `docker build` and the real base images, and `test`
# uses `docker run`. Otherwise buildah (--isolation chroot, vfs storage) builds FROM base
# images that mmdebstrap makes locally from Debian's archive:
#   localhost/appliance-base/debian:bookworm-slim   like debian:bookworm-slim (minbase, no
#                                                    docs/man/locales), also the build stage
#   localhost/appliance-base/cc-debian12:nonroot    like gcr.io/distroless/cc-debian12:nonroot
#                                                    (libc6, libgcc-s1, libstdc++6, libssl3,
#                                                    base-files, netbase, CA bundle, zoneinfo,
#                                                    nonroot 65532; no shell, no apt)
# IMAGE (default appliance:<version>-<revision>) names the result; JOBS the build's -j.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(sed -n 's/^project(appliance VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
IMAGE_SET="${IMAGE:-}"
IMAGE="${IMAGE:-localhost/appliance:${version}-${revision}}"
JOBS="${JOBS:-2}"
BUILDAH=(buildah --storage-driver vfs)
SLIM_BASE=localhost/appliance-base/debian:bookworm-slim
DISTROLESS_BASE=localhost/appliance-base/cc-debian12:nonroot

have_docker() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

need() {
  command -v "$1" >/dev/null || {
    echo "image.sh: $1 is missing (apt-get install $2)" >&2
    exit 1
  }
}

# The last image built of each target is remembered in .tools/ so `test` finds it after a commit.
image_tag() {
  local target="${1:-runtime}" last=".tools/image-${1:-runtime}"
  if [ -z "${IMAGE_SET:-}" ] && [ "${2:-}" != new ] && [ -f "$last" ]; then
    cat "$last"
  elif [ "$target" = runtime ]; then
    echo "$IMAGE"
  else
    echo "$IMAGE-${target#runtime-}"
  fi
}

# Imports a root filesystem tarball as image $2.
import_tar() {
  local tar="$1" name="$2" ctr
  ctr="$("${BUILDAH[@]}" from scratch)"
  "${BUILDAH[@]}" add "$ctr" "$tar" / >/dev/null
  "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  "${BUILDAH[@]}" commit --rm -q "$ctr" "$name" >/dev/null
}

base_exists() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }

make_bases() {
  need mmdebstrap mmdebstrap
  need buildah buildah
  local tmp
  tmp="$(mktemp -d)"
  if ! base_exists "$SLIM_BASE"; then
    echo "image: making $SLIM_BASE with mmdebstrap" >&2
    # The path excludes of docker-debian-artifacts' slim variant; they stay in dpkg.cfg.d
    # so packages installed later in the image are slimmed the same way.
    # merged-usr hook: /usr merged without the usrmerge package (and the perl it pulls in).
    mmdebstrap --mode=root --variant=minbase --quiet --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
      --dpkgopt='path-exclude=/usr/share/linda/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
      bookworm "$tmp/slim.tar"
    import_tar "$tmp/slim.tar" "$SLIM_BASE"
  fi
  if ! base_exists "$DISTROLESS_BASE"; then
    echo "image: making $DISTROLESS_BASE with mmdebstrap" >&2
    # Extracted, not installed (no maintainer scripts, no dpkg, no shell), as distroless does.
    mmdebstrap --mode=root --variant=extract --quiet \
      --include=base-files,netbase,libc6,libgcc-s1,libgomp1,libstdc++6,libssl3 \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
      bookworm "$tmp/distroless.tar"
    # mmdebstrap runs no customize hook for the extract variant: finish the tree here.
    mkdir "$tmp/root"
    tar -xf "$tmp/distroless.tar" -C "$tmp/root"
    scripts/image-distroless-hook.sh "$tmp/root"
    tar -C "$tmp/root" -cf "$tmp/distroless.tar" .
    import_tar "$tmp/distroless.tar" "$DISTROLESS_BASE"
  fi
  rm -rf "$tmp"
}

build_args() {
  echo --build-arg "JOBS=$JOBS" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    --build-arg "CREATED=$(date -u +%FT%TZ)" \
    --build-arg "SOURCE=$(git config --get remote.origin.url 2>/dev/null || echo unknown)"
}

build() {
  local target="${1:-runtime}" tag
  tag="$(image_tag "$target" new)"
  # shellcheck disable=SC2046
  if have_docker; then
    docker build --target "$target" $(build_args) -t "$tag" .
  else
    need buildah buildah
    make_bases
    "${BUILDAH[@]}" bud --isolation chroot --layers --target "$target" $(build_args) \
      --build-arg "BUILD_IMAGE=$SLIM_BASE" --build-arg "SLIM_IMAGE=$SLIM_BASE" \
      --build-arg "DISTROLESS_IMAGE=$DISTROLESS_BASE" -t "$tag" .
  fi
  mkdir -p .tools && echo "$tag" >".tools/image-$target"
  echo "image: built $tag" >&2
}

# Size of the image's root filesystem, uncompressed (what `docker images` reports).
image_size() {
  if have_docker; then
    docker image inspect -f '{{.Size}}' "$1"
  else
    "${BUILDAH[@]}" inspect --type image -f '{{.FromImage}}' "$1" >/dev/null
    local ctr mnt
    ctr="$("${BUILDAH[@]}" from -q --pull-never "$1")"
    mnt="$("${BUILDAH[@]}" mount "$ctr")"
    du -sb --apparent-size "$mnt" | cut -f1
    "${BUILDAH[@]}" umount "$ctr" >/dev/null
    "${BUILDAH[@]}" rm "$ctr" >/dev/null
  fi
}

# run_in_image <image> <env file> <cmd...>: the image's entrypoint as UID 65532 inside its
# root filesystem (buildah mount + chroot --userspec), with dummy secrets under /tmp/secrets.
test_image() {
  local target="${1:-runtime}" tag fails=0
  ctr="" mnt=""  # global: the EXIT trap below reads them after this function returned
  tag="$(image_tag "$target")"
  if have_docker; then
    run() { docker run --rm --read-only --tmpfs /tmp --user 65532:65532 "${envs[@]/#/--env=}" \
      -v "$secrets:/tmp/secrets:ro" "$tag" "$@"; }
  else
    need buildah buildah
    ctr="$("${BUILDAH[@]}" from -q --pull-never "$tag")"
    mnt="$("${BUILDAH[@]}" mount "$ctr")"
    # A container runtime would provide /proc and /dev (ld.so reads /proc/self/exe for $ORIGIN).
    mount -t proc proc "$mnt/proc"
    mount --bind /dev "$mnt/dev"
    # EXIT, not RETURN: a failing check ends the script under set -e without a RETURN trap.
    trap 'umount "$mnt/dev" "$mnt/proc"; "${BUILDAH[@]}" umount "$ctr" >/dev/null; "${BUILDAH[@]}" rm "$ctr" >/dev/null' EXIT
    run() { env -i "${envs[@]}" "$(command -v chroot)" --userspec=65532:65532 "$mnt" /usr/local/bin/appliance "$@"; }
  fi
  local secrets
  secrets="$(mktemp -d)"
  printf 'dummy-db-password\n' >"$secrets/password"
  printf 'dummy-api-token-0123456789\n' >"$secrets/tokens"
  cp /etc/ssl/certs/ca-certificates.crt "$secrets/rds-ca.pem"
  chmod 0755 "$secrets" && chmod 0644 "$secrets"/*
  if [ -n "${mnt:-}" ]; then
    mkdir -p "$mnt/tmp/secrets" && cp -a "$secrets/." "$mnt/tmp/secrets/"
  fi
  local envs=(HOSTNAME=image-test DATABASE_URL=postgresql://app@db.example.internal:5432/tasks
    APPLIANCE_DB_PASSWORD_FILE=/tmp/secrets/password APPLIANCE_TOKENS_FILE=/tmp/secrets/tokens
    APPLIANCE_DB_CA_FILE=/tmp/secrets/rds-ca.pem)
  check() {
    local name="$1"
    shift
    if out="$(run "$@" 2>&1)"; then
      echo "ok   $name"
    else
      echo "FAIL $name"
      echo "$out" | sed 's/^/     /'
      fails=$((fails + 1))
    fi
    [ -z "${VERBOSE:-}" ] || echo "$out" | sed 's/^/     /'
  }
  if [ -n "${mnt:-}" ]; then
    fs_check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
    fs_check "/var/lib/appliance owned by 65532" '[ "$(stat -c %u "$mnt/var/lib/appliance")" = 65532 ]'
    fs_check "CA bundle at /etc/ssl/certs/ca-certificates.crt" '[ -s "$mnt/etc/ssl/certs/ca-certificates.crt" ]'
    fs_check "no shell" '[ ! -e "$mnt/bin/sh" ] || [ "$target" = runtime-slim ]'
  fi
  check "--version" --version
  check "--list-plugins" --list-plugins
  check "--check-config --env=prod --role=api" --check-config --env=prod --role=api
  check "--check-config --env=dev --role=api" --check-config --env=dev --role=api
  if [ -n "${mnt:-}" ]; then serve_check; fi
  rm -rf "$secrets"
  [ -z "${mnt:-}" ] || rm -rf "$mnt/tmp/secrets"
  local size
  size="$(image_size "$tag")"
  awk -v s="$size" -v t="$tag" 'BEGIN { printf "image %s: %.1f MB uncompressed (target < 80 MB)\n", t, s / 1e6 }'
  [ "$size" -lt 80000000 ] || { echo "FAIL image size over 80 MB"; fails=$((fails + 1)); }
  [ "$fails" -eq 0 ]
}

# Starts the image's binary (role api, env local: SQLite under /tmp) on 127.0.0.1, waits for
# /readyz, then stops it with SIGTERM: the plugins' libraries load and the server answers.
serve_check() {
  local port=$((20000 + RANDOM % 20000)) mport=$((40000 + RANDOM % 20000)) pid ok=""
  env -i HOSTNAME=image-test APPLIANCE_DATA_DIR=/tmp/data APPLIANCE_LISTEN="127.0.0.1:$port" \
    APPLIANCE_METRICS_LISTEN="127.0.0.1:$mport" \
    "$(command -v chroot)" --userspec=65532:65532 "$mnt" /usr/local/bin/appliance --role=api --env=local \
    >"$mnt/tmp/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 &&
      grep -q '^appliance_build_info' <<<"$(curl -fsS "http://127.0.0.1:$mport/metrics" 2>/dev/null)"; then
      ok=1
      break
    fi
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -n "$ok" ]; then
    echo "ok   serves /readyz and /metrics (role api, env local)"
  else
    echo "FAIL serves /readyz and /metrics (role api, env local)"
    sed 's/^/     /' "$mnt/tmp/serve.log"
    fails=$((fails + 1))
  fi
  rm -rf "$mnt/tmp/data" "$mnt/tmp/serve.log"
}

case "${1:-build}" in
  bases) make_bases ;;
  build) build "${2:-runtime}" ;;
  test) test_image "${2:-runtime}" ;;
  size) image_size "$(image_tag "${2:-runtime}")" ;;
  *) echo "usage: $0 build|test|bases|size [runtime|runtime-slim]" >&2; exit 2 ;;
esac
