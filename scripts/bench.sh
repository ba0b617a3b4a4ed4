#!/usr/bin/env bash
# Runs the benchmarks in bench/ against the compiled output and the local
# infrastructure. Figures print as a table with a same-run baseline.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"
ensure_dependencies
build
FLEET_INFRA_COMPONENTS="${FLEET_INFRA_COMPONENTS:-postgres}" bash scripts/infra/infra.sh start >/dev/null
node --enable-source-maps dist/bench/gateway-vs-direct.js
