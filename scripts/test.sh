#!/usr/bin/env bash
# The full test suite: installs what it needs, starts the local
# infrastructure, checks the contracts, and runs every test (unit,
# integration against real PostgreSQL, end-to-end through the gateway,
# grpcurl) on the compiled output.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

ensure_dependencies
bash scripts/check-contracts.sh
build
bash scripts/deploy/check-chart.sh
bash scripts/infra/infra.sh start
bash scripts/infra/tools.sh
load_dev_secrets

say "running tests"
log="$(mktemp)"
set +e
ava "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
count() { { grep -Eo "^\s*[0-9]+ tests? $1" "$log" || true; } | grep -Eo '[0-9]+' | tail -1 || true; }
passed="$(count passed)"
failed="$(count failed)"
rm -f "$log"
echo "ava: ${passed:-0} passed, ${failed:-0} failed"
if [[ "$status" -eq 0 && "${passed:-0}" -eq 0 ]]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
