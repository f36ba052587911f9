#!/usr/bin/env bash
# Installs the Debian 12 packages a profile needs, only those missing. Idempotent and quick
# when everything is present (one dpkg-query). Profiles: run, test, bench, fuzz, image, all.
set -euo pipefail

profile="${1:-test}"

run_pkgs=(cmake make g++ pkg-config libpoco-dev libyaml-cpp-dev prometheus-cpp-dev libboost-dev libre2-dev
  libboost-filesystem-dev libpq-dev libsqlite3-dev zlib1g-dev libssl-dev openssl curl git)
test_pkgs=(googletest libgtest-dev libgmock-dev libbenchmark-dev postgresql-15 postgresql-client-15
  prometheus prometheus-alertmanager clang-format unzip python3)
bench_pkgs=(wrk postgresql-contrib time bc)
fuzz_pkgs=(clang-14 libfuzzer-14-dev)
image_pkgs=(buildah mmdebstrap ca-certificates tzdata)

case "$profile" in
  run) want=("${run_pkgs[@]}") ;;
  test) want=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want=("${run_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  fuzz) want=("${run_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  image) want=("${image_pkgs[@]}" git) ;;
  all) want=("${run_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}" "${fuzz_pkgs[@]}" "${image_pkgs[@]}") ;;
  *) echo "bootstrap.sh: unknown profile '$profile' (run, test, bench, fuzz, image, all)" >&2; exit 2 ;;
esac

# npm (scripts/tools.sh) may come with a nodejs from outside Debian: Debian's only when absent.
if [[ "$profile" == test || "$profile" == bench || "$profile" == all ]] && ! command -v npm >/dev/null; then
  want+=(npm)
fi

missing=()
installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${want[@]}" 2>/dev/null || true)"
for pkg in "${want[@]}"; do
  grep -qx "$pkg installed" <<<"$installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
