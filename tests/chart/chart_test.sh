#!/usr/bin/env bash
# The Helm chart's offline checks, one per CTest test (tests/chart/CMakeLists.txt):
#   chart_test.sh <check> [args]
# Environment: SOURCE_DIR (repository root), RENDERED (folder of rendered manifests, written
# by `render`), TOOLS (default $SOURCE_DIR/.tools, filled by scripts/tools.sh).
# A missing tool prints "SKIPPED: <tool> ..." and exits 77 (CTest SKIP_RETURN_CODE).
set -euo pipefail

check="$1"
shift
SOURCE_DIR="${SOURCE_DIR:?}"
TOOLS="${TOOLS:-$SOURCE_DIR/.tools}"
RENDERED="${RENDERED:-}"
CHART="$SOURCE_DIR/charts/appliance"
HERE="$SOURCE_DIR/tests/chart"
MODULES="$TOOLS/npm/node_modules"
HELM="$TOOLS/bin/helm"
# Helm keeps no state outside this run.
helm_home="$(mktemp -d)"
trap 'rm -rf "$helm_home"' EXIT
export HELM_CACHE_HOME="$helm_home/cache" HELM_CONFIG_HOME="$helm_home/config" HELM_DATA_HOME="$helm_home/data"

need() {
  case "$1" in
    helm) [ -x "$HELM" ] || { echo "SKIPPED: helm not found at $HELM (run scripts/tools.sh)"; exit 77; } ;;
    node) command -v node >/dev/null || { echo "SKIPPED: node not found"; exit 77; } ;;
    modules) [ -d "$MODULES/kubernetes-models" ] || { echo "SKIPPED: kubernetes-models not found in $MODULES (run scripts/tools.sh)"; exit 77; } ;;
    promtool) command -v promtool >/dev/null || { echo "SKIPPED: promtool not found (apt-get install prometheus)"; exit 77; } ;;
  esac
}

# helm's own warning about files/alerts.yaml being a symlink is expected; anything else shows.
quiet_helm() { "$HELM" "$@" 2> >(grep -v 'found symbolic link in path' >&2); }

# The value sets rendered and checked: name -> values files.
declare -A SETS=(
  [default]=""
  [dev]="$CHART/values-dev.yaml"
  [prod]="$CHART/values-prod.yaml"
  [all-roles]="$CHART/ci/all-roles-values.yaml"
)
values_args() { [ -z "${SETS[$1]}" ] || echo "-f ${SETS[$1]}"; }

# Expects a command to fail and its output to hold every given line.
expect_failure() {
  local want=("$@") out rc=0
  out="$("${cmd[@]}" 2>&1)" || rc=$?
  echo "$out"
  [ "$rc" -ne 0 ] || { echo "FAIL: expected a failure, got exit 0"; exit 1; }
  for w in "${want[@]}"; do
    grep -qF -- "$w" <<<"$out" || { echo "FAIL: output lacks: $w"; exit 1; }
  done
  echo "ok: refused as expected"
}

case "$check" in
  render)
    need helm
    mkdir -p "$RENDERED"
    rm -f "$RENDERED"/*.yaml
    for set in "${!SETS[@]}"; do
      # shellcheck disable=SC2046
      quiet_helm template appliance "$CHART" --namespace appliance $(values_args "$set") >"$RENDERED/$set.yaml"
      # shellcheck disable=SC2046
      quiet_helm template appliance "$CHART" --namespace appliance $(values_args "$set") \
        --api-versions monitoring.coreos.com/v1 >"$RENDERED/$set-monitoring.yaml"
      plain=$(grep -cE '^kind: (ServiceMonitor|PrometheusRule)$' "$RENDERED/$set.yaml" || true)
      mon=$(grep -cE '^kind: (ServiceMonitor|PrometheusRule)$' "$RENDERED/$set-monitoring.yaml" || true)
      echo "$set: $(grep -c '^kind:' "$RENDERED/$set.yaml") objects; with monitoring.coreos.com/v1: $mon ServiceMonitor/PrometheusRule"
      [ "$plain" -eq 0 ] || { echo "FAIL $set: monitoring objects rendered without monitoring.coreos.com/v1"; exit 1; }
      [ "$mon" -ge 2 ] || { echo "FAIL $set: no ServiceMonitor/PrometheusRule with monitoring.coreos.com/v1"; exit 1; }
    done
    ;;
  lint)
    need helm
    for set in default dev prod all-roles; do
      # shellcheck disable=SC2046
      quiet_helm lint --strict "$CHART" $(values_args "$set")
    done
    ;;
  schema-rejects-typo)
    need helm
    cmd=("$HELM" template appliance "$CHART" -f "$HERE/fixtures/typo-values.yaml")
    expect_failure "Additional property replica is not allowed"
    ;;
  symlink)
    # files/alerts.yaml must be config/alerts.yaml itself, so the rules have one source.
    target="$(readlink -f "$CHART/files/alerts.yaml")"
    [ "$target" = "$(readlink -f "$SOURCE_DIR/config/alerts.yaml")" ] ||
      { echo "FAIL charts/appliance/files/alerts.yaml must link to config/alerts.yaml (it resolves to $target)"; exit 1; }
    echo "ok: charts/appliance/files/alerts.yaml -> config/alerts.yaml"
    ;;
  k8s-schema)
    need node; need modules
    node "$HERE/k8s_validate.js" "$MODULES" "$RENDERED"/*.yaml
    ;;
  k8s-schema-catches-typos)
    need node; need modules
    cmd=(node "$HERE/k8s_validate.js" "$MODULES" "$HERE/fixtures/unknown-fields.yaml")
    expect_failure ".spec.replica: unknown field" "readOnlyRootFileSystem: unknown field" \
      ".spec.endpoints[0].intervall: unknown field" "revisionHistoryLimit must be integer"
    ;;
  policy)
    need node; need modules
    node "$HERE/policy.js" "$MODULES" "$RENDERED"/*.yaml
    ;;
  policy-catches-violations)
    need node; need modules
    cmd=(node "$HERE/policy.js" "$MODULES" "$HERE/fixtures/insecure.yaml")
    expect_failure "pod runAsNonRoot must be true" "readOnlyRootFilesystem must be true" \
      "allowPrivilegeEscalation must be false" "capabilities must drop ALL" \
      "seccompProfile must be RuntimeDefault" "image uses the latest tag" "needs a memory limit" \
      "no readinessProbe" "3 replicas and no PodDisruptionBudget" "wildcard in verbs" \
      "cluster-wide RBAC" "automountServiceAccountToken must be false" "mount it as a file" \
      "target-type must be ip" "listen-ports must hold HTTP 80 and HTTPS 443" "no ACM certificate-arn"
    ;;
  prometheus-rule)
    need node; need modules; need promtool
    node "$HERE/promql_checks.js" rules "$MODULES" "$RENDERED/all-roles-monitoring.yaml" "$SOURCE_DIR/config/alerts.yaml"
    ;;
  dashboards)
    need node; need modules; need promtool
    node "$HERE/promql_checks.js" dashboards "$MODULES" "$RENDERED/all-roles-monitoring.yaml" "$SOURCE_DIR"
    ;;
  check-config)
    need node; need modules
    set_name="$1" binary="$2"
    node "$HERE/check_config.js" "$MODULES" "$RENDERED/$set_name.yaml" "$binary" "$SOURCE_DIR"
    ;;
  check-config-catches-typo)
    need helm; need node; need modules
    binary="$1"
    out="$(mktemp)"
    quiet_helm template appliance "$CHART" -f "$CHART/values-prod.yaml" --set config.http.listn=0.0.0.0:1 >"$out"
    cmd=(node "$HERE/check_config.js" "$MODULES" "$out" "$binary" "$SOURCE_DIR")
    expect_failure "listn"
    rm -f "$out"
    ;;
  notes)
    # NOTES.txt renders only at install time (that needs a cluster): render it through tpl in
    # a copy of the chart, for each value set, and look for its two essentials.
    need helm
    copy="$(mktemp -d)"
    cp -rL "$CHART" "$copy/appliance"
    cp "$CHART/templates/NOTES.txt" "$copy/appliance/files/notes.txt"
    printf '%s\n' 'apiVersion: v1' 'kind: ConfigMap' 'metadata: {name: notes}' 'data:' \
      '  notes: {{ tpl (.Files.Get "files/notes.txt") . | quote }}' >"$copy/appliance/templates/zz-notes.yaml"
    for set in "${!SETS[@]}"; do
      # shellcheck disable=SC2046
      notes="$("$HELM" template appliance "$copy/appliance" $(values_args "$set") --show-only templates/zz-notes.yaml)"
      grep -q 'port-forward svc/appliance-api' <<<"$notes" || { echo "FAIL $set: NOTES.txt lacks how to reach the API"; exit 1; }
      grep -qE 'comes from Secret|auth.existingSecret is empty' <<<"$notes" || { echo "FAIL $set: NOTES.txt lacks where the token comes from"; exit 1; }
      echo "$set: NOTES.txt renders"
    done
    rm -rf "$copy"
    ;;
  readme)
    need node; need modules
    node "$HERE/readme_values.js" "$MODULES" "$CHART"
    ;;
  *)
    echo "chart_test.sh: unknown check $check" >&2
    exit 2
    ;;
esac
