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
# Tools: grpcurl (built from its Go module with `go install`, pinned version);
# ghz on request.

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

# Module version recorded in a Go binary's build info, e.g. v1.9.4 (empty if unknown).
_fleet_go_binary_version() {
  local go=$1 bin=$2 module=$3
  "$go" version -m "$bin" 2>/dev/null | awk -v m="$module" '$1 == "mod" && $2 == m { print $3 }'
}

# `go install` of <module>/cmd/<name>@<version> into the tools directory,
# unless that version is there already (read from the binary's build info).
_fleet_go_install_tool() {
  local name=$1 module=$2 version=$3 ldflags=$4 gcflags=${5:-} go bin have
  go="$(_fleet_go)" || return 1
  bin="$FLEET_TOOLS_BIN/$name"
  if [[ -x "$bin" ]]; then
    have="$(_fleet_go_binary_version "$go" "$bin" "$module")"
    if [[ "$have" == "$version" ]]; then
      echo "[tools] $name $have already installed: $bin"
      return 0
    fi
    echo "[tools] $name at $bin is ${have:-of unknown version}, want $version: reinstalling"
  fi
  mkdir -p "$FLEET_TOOLS_BIN"
  echo "[tools] installing $name $version with go install ($("$go" env GOVERSION))"
  GOBIN="$FLEET_TOOLS_BIN" CGO_ENABLED=0 "$go" install -trimpath -ldflags "$ldflags" ${gcflags:+-gcflags "$gcflags"} "$module/cmd/$name@$version" </dev/null \
    || _fleet_tools_die "go install $module/cmd/$name@$version failed" || return 1
  have="$(_fleet_go_binary_version "$go" "$bin" "$module")"
  [[ "$have" == "$version" ]] || _fleet_tools_die "installed $name reports module version '$have', expected $version" || return 1
  echo "[tools] installed $name $have: $bin"
}

# -X main.version: `go install` builds do not stamp grpcurl's -version string.
# FLEET_TOOLS_GCFLAGS (default all=-N -l: no optimization, no inlining): the
# tests run grpcurl for a few requests at a time, and an optimized build
# costs a fresh machine's first run about 33 CPU-seconds more (156 against
# 123, measured 2026-12-03). Set it empty for an optimized grpcurl.
FLEET_TOOLS_GCFLAGS="${FLEET_TOOLS_GCFLAGS-all=-N -l}"
fleet_install_grpcurl() {
  _fleet_go_install_tool grpcurl github.com/fullstorydev/grpcurl "$FLEET_GRPCURL_VERSION" "-s -w -X main.version=$FLEET_GRPCURL_VERSION" \
    "$FLEET_TOOLS_GCFLAGS"
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
