#!/usr/bin/env bash
# Developer/CI tools installed into $FLEET_LOCAL_DIR/bin (default <repo>/.local/bin).
#
#   scripts/infra/tools.sh [install]   install missing tools (idempotent), print their paths
#   scripts/infra/tools.sh ghz         install ghz (the rental benchmark's gRPC load generator)
#   scripts/infra/tools.sh path        print the tools directory
#   scripts/infra/tools.sh env         print 'export PATH=...' (eval "$(scripts/infra/tools.sh env)")
#   source scripts/infra/tools.sh      put the tools directory on PATH in the current shell
#                                      (also defines fleet_tools_install)
#
# Tools: grpcurl (built from its Go module, pinned version, without its xDS
# resolver: see fleet_install_grpcurl); ghz on request (`go install`).

_fleet_tools_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FLEET_LOCAL_DIR="${FLEET_LOCAL_DIR:-$_fleet_tools_repo/.local}"
FLEET_TOOLS_BIN="$FLEET_LOCAL_DIR/bin"
FLEET_GRPCURL_VERSION="${FLEET_GRPCURL_VERSION:-v1.9.4}"
export FLEET_TOOLS_BIN

_fleet_tools_die() { echo "[tools] error: $*" >&2; return 1; }

_fleet_go() {
  if command -v go >/dev/null 2>&1; then command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go
  else _fleet_tools_die "Go is not installed (need Go >= 1.25 for grpcurl $FLEET_GRPCURL_VERSION): install it to /usr/local/go or put it on PATH"; fi
}

# Version of a module recorded in a Go binary's build info, e.g. v1.9.4: the
# main module's, or a dependency's (empty if unknown).
_fleet_go_binary_version() {
  local go=$1 bin=$2 module=$3
  "$go" version -m "$bin" 2>/dev/null | awk -v m="$module" '($1 == "mod" || $1 == "dep") && $2 == m { print $3 }'
}

# _fleet_tool_is_current GO NAME BIN MODULE VERSION: BIN is there and built
# from MODULE at VERSION (else it says why it will be built again).
_fleet_tool_is_current() {
  local go=$1 name=$2 bin=$3 module=$4 version=$5 have
  [[ -x "$bin" ]] || return 1
  have="$(_fleet_go_binary_version "$go" "$bin" "$module")"
  if [[ "$have" == "$version" ]]; then
    echo "[tools] $name $have already installed: $bin"
    return 0
  fi
  echo "[tools] $name at $bin is ${have:-of unknown version}, want $version: reinstalling"
  return 1
}

# `go install` of <module>/cmd/<name>@<version> into the tools directory,
# unless that version is there already (read from the binary's build info).
_fleet_go_install_tool() {
  local name=$1 module=$2 version=$3 ldflags=$4 gcflags=${5:-} go bin have
  go="$(_fleet_go)" || return 1
  bin="$FLEET_TOOLS_BIN/$name"
  _fleet_tool_is_current "$go" "$name" "$bin" "$module" "$version" && return 0
  mkdir -p "$FLEET_TOOLS_BIN"
  echo "[tools] installing $name $version with go install ($("$go" env GOVERSION))"
  GOBIN="$FLEET_TOOLS_BIN" CGO_ENABLED=0 "$go" install -trimpath -ldflags "$ldflags" ${gcflags:+-gcflags "$gcflags"} "$module/cmd/$name@$version" </dev/null \
    || _fleet_tools_die "go install $module/cmd/$name@$version failed" || return 1
  have="$(_fleet_go_binary_version "$go" "$bin" "$module")"
  [[ "$have" == "$version" ]] || _fleet_tools_die "installed $name reports module version '$have', expected $version" || return 1
  echo "[tools] installed $name $have: $bin"
}

# grpcurl is built from its own main package (cmd/grpcurl of the pinned
# module, verified against the Go checksum database like `go install`), less
# one line: the blank import of google.golang.org/grpc/xds, which registers
# the xds:// target scheme. That import pulls in Envoy's control-plane API,
# the cncf/xds types, Google's S2A and cloud auth: 407 instead of 628
# packages, and 94 instead of 147 CPU-seconds to build on a fresh machine
# (measured 2026-12-03, Go 1.26.8). Everything else (reflection, TLS, ALTS,
# headers, every flag) is grpcurl's; the tests and operators here dial
# host:port. For xds:// targets, install upstream grpcurl instead.
# -X main.version: `go build` does not stamp grpcurl's -version string.
# FLEET_TOOLS_GCFLAGS (default all=-N -l: no optimization, no inlining): the
# tests run grpcurl for a few requests at a time, and an optimized build
# costs a fresh machine's first run about a third more CPU (156 against 123
# CPU-seconds with the xDS resolver, measured 2026-12-03). Set it empty for
# an optimized grpcurl.
FLEET_TOOLS_GCFLAGS="${FLEET_TOOLS_GCFLAGS-all=-N -l}"
_FLEET_GRPCURL_MODULE=github.com/fullstorydev/grpcurl
fleet_install_grpcurl() {
  local go bin="$FLEET_TOOLS_BIN/grpcurl" version="$FLEET_GRPCURL_VERSION" have mod src dropped status=0
  go="$(_fleet_go)" || return 1
  _fleet_tool_is_current "$go" grpcurl "$bin" "$_FLEET_GRPCURL_MODULE" "$version" && return 0
  mkdir -p "$FLEET_TOOLS_BIN"
  echo "[tools] building grpcurl $version without the xDS resolver ($("$go" env GOVERSION))"
  mod="$(mktemp -d)"
  printf 'module fleet-mesh/grpcurl\n\ngo 1.25.0\n\nrequire %s %s\n' "$_FLEET_GRPCURL_MODULE" "$version" >"$mod/go.mod"
  (
    set -e
    cd "$mod"
    export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
    "$go" mod download "$_FLEET_GRPCURL_MODULE" </dev/null
    src="$("$go" list -m -f '{{.Dir}}' "$_FLEET_GRPCURL_MODULE" </dev/null)"
    [[ -d "$src/cmd/grpcurl" ]] || { echo "no cmd/grpcurl in $_FLEET_GRPCURL_MODULE@$version" >&2; exit 1; }
    local lines=0
    for f in "$src"/cmd/grpcurl/*.go; do
      [[ "$f" == *_test.go ]] && continue
      lines=$(( lines + $(wc -l <"$f") ))
      sed '/^[[:space:]]*_ "google.golang.org\/grpc\/xds"$/d' "$f" >"$(basename "$f")"
    done
    # Exactly the one import line, or the source is not what this expects.
    dropped=$(( lines - $(cat ./*.go | wc -l) ))
    [[ "$dropped" -eq 1 ]] || { echo "expected to drop 1 line (the xds import) from cmd/grpcurl, dropped $dropped" >&2; exit 1; }
    "$go" build -trimpath -ldflags "-s -w -X main.version=$version" ${FLEET_TOOLS_GCFLAGS:+-gcflags "$FLEET_TOOLS_GCFLAGS"} \
      -o "$bin.tmp" . </dev/null
  ) || status=$?
  rm -rf "$mod"
  [[ "$status" -eq 0 ]] || { rm -f "$bin.tmp"; _fleet_tools_die "building grpcurl $version failed"; return 1; }
  mv "$bin.tmp" "$bin"
  have="$(_fleet_go_binary_version "$go" "$bin" "$_FLEET_GRPCURL_MODULE")"
  [[ "$have" == "$version" ]] || _fleet_tools_die "built grpcurl reports module version '$have', expected $version" || return 1
  echo "[tools] installed grpcurl $have: $bin"
}

# ghz, a gRPC load generator: only the rental benchmark uses it (bench/lib/ghz.ts).
FLEET_GHZ_VERSION="${FLEET_GHZ_VERSION:-v0.120.0}"
fleet_install_ghz() {
  _fleet_go_install_tool ghz github.com/bojand/ghz "$FLEET_GHZ_VERSION" "-s -w"
}

fleet_tools_install() {
  fleet_install_grpcurl || return 1
  local out
  out="$("$FLEET_TOOLS_BIN/grpcurl" -version 2>&1)" || _fleet_tools_die "'$FLEET_TOOLS_BIN/grpcurl -version' failed: $out" || return 1
  echo "[tools] $out"
  echo "[tools] tools directory: $FLEET_TOOLS_BIN  (eval \"\$($_fleet_tools_repo/scripts/infra/tools.sh env)\" to put it on PATH)"
}

fleet_tools_path() {
  case ":$PATH:" in *":$FLEET_TOOLS_BIN:"*) ;; *) export PATH="$FLEET_TOOLS_BIN:$PATH" ;; esac
}

# Sourced: just set up PATH and the functions.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  fleet_tools_path
  return 0
fi

set -euo pipefail
# shellcheck disable=SC2016  # $PATH in the env output must stay literal
case "${1:-install}" in
  install) fleet_tools_install ;;
  ghz) fleet_install_ghz ;;
  path) echo "$FLEET_TOOLS_BIN" ;;
  env) printf 'export FLEET_TOOLS_BIN=%q\nexport PATH=%q:"$PATH"\n' "$FLEET_TOOLS_BIN" "$FLEET_TOOLS_BIN" ;;
  -h|--help|help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "usage: $0 [install|path|env]" >&2; exit 2 ;;
esac
