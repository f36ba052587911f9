#!/usr/bin/env bash
# terraform_validate.sh SOURCE_DIR fmt|list|DIR
#   fmt  - terraform fmt -check -recursive over terraform/
#   list - the directories under terraform/ that need only the AWS provider (no helm or
#          kubernetes in their versions.tf): those `terraform validate` can check offline
#   DIR  - terraform init -backend=false + validate of terraform/DIR, in a copy of terraform/
#          so that the source tree gets no .terraform folder and parallel runs do not collide.
#          Providers come from the local mirror (APPLIANCE_TF_PLUGIN_DIR, default
#          /opt/tf-plugins), or from the registry when APPLIANCE_TF_ONLINE=1 (CI).
# Exit 77 (SKIPPED) when terraform or the provider mirror is missing.
set -euo pipefail
src=$1 what=$2
if [[ "$what" == list ]]; then
  cd "$src/terraform"
  for v in $(find . -name versions.tf -not -path '*/.terraform/*' | sort); do
    grep -Eq 'hashicorp/(helm|kubernetes)' "$v" || dirname "${v#./}"
  done
  exit 0
fi
command -v terraform >/dev/null 2>&1 || { echo "SKIPPED: terraform not found on PATH"; exit 77; }
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
[[ "${APPLIANCE_TF_ONLINE:-0}" == 1 ]] || export TF_CLI_CONFIG_FILE=/dev/null
if [[ "$what" == fmt ]]; then
  terraform fmt -check -recursive -diff "$src/terraform"
  echo "terraform fmt: clean"
  exit 0
fi
init_args=(-backend=false -input=false -no-color)
if [[ "${APPLIANCE_TF_ONLINE:-0}" != 1 ]]; then
  plugin_dir=${APPLIANCE_TF_PLUGIN_DIR:-/opt/tf-plugins}
  [[ -d "$plugin_dir/registry.terraform.io/hashicorp/aws" ]] ||
    { echo "SKIPPED: terraform AWS provider mirror not found in $plugin_dir (set APPLIANCE_TF_PLUGIN_DIR, or APPLIANCE_TF_ONLINE=1)"; exit 77; }
  init_args+=(-plugin-dir="$plugin_dir")
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/appliance-tf.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$src/terraform" "$work/"
find "$work/terraform" -name .terraform -type d -prune -exec rm -rf {} +
find "$work/terraform" -name '*_override.tf' -delete
cd "$work/terraform/$what"
if ! terraform init "${init_args[@]}" >"$work/init.log" 2>&1; then
  cat "$work/init.log"
  exit 1
fi
terraform validate -no-color
