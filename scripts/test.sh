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
if [[ $# -eq 0 ]]; then
  say "running tests with a private broker of their own, alone"
  ava --config ava.isolated.config.mjs 2>&1 | tee -a "$log"
  isolated=${PIPESTATUS[0]}
  [[ "$isolated" -eq 0 ]] || status="$isolated"
fi
set -e
# ava prints one ✔ per passed test and one ✘ per failed one (its summary
# omits the passed count when something failed).
passed="$(grep -c '✔' "$log" || true)"
failed="$(grep -c '✘' "$log" || true)"
rm -f "$log"
echo "ava: ${passed:-0} passed, ${failed:-0} failed"
if [[ "$status" -eq 0 && "${passed:-0}" -eq 0 ]]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
