#!/usr/bin/env bash
# terraform_validate.sh SOURCE_DIR fmt|DIR
#   fmt  - terraform fmt -check -recursive over terraform/
#   DIR  - terraform init -backend=false + validate of terraform/DIR (a root or module that
#          needs only the AWS provider), in a copy of terraform/ so that the source tree gets
#          no .terraform folder or lock file and parallel runs do not collide.
# Exit 77 (SKIPPED) when terraform or the provider mirror is missing.
set -euo pipefail
src=$1 what=$2
command -v terraform >/dev/null 2>&1 || { echo "SKIPPED: terraform not found on PATH"; exit 77; }
export TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
if [[ "$what" == fmt ]]; then
  terraform fmt -check -recursive -diff "$src/terraform"
  echo "terraform fmt: clean"
  exit 0
fi
plugin_dir=${APPLIANCE_TF_PLUGIN_DIR:-/opt/tf-plugins}
[[ -d "$plugin_dir/registry.terraform.io/hashicorp/aws" ]] ||
  { echo "SKIPPED: terraform AWS provider mirror not found in $plugin_dir (set APPLIANCE_TF_PLUGIN_DIR)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/appliance-tf.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$src/terraform" "$work/"
rm -rf $(find "$work/terraform" -name .terraform -type d) $(find "$work/terraform" -name '*_override.tf')
cd "$work/terraform/$what"
if ! terraform init -backend=false -input=false -no-color -plugin-dir="$plugin_dir" >"$work/init.log" 2>&1; then
  cat "$work/init.log"
  exit 1
fi
terraform validate -no-color
