#!/usr/bin/env bash
# The full test suite: installs what it needs, starts the local
# infrastructure, checks the contracts, and runs every test (unit,
# integration against real PostgreSQL, end-to-end through the gateway,
# grpcurl) on the compiled output.
#
# The chart check (scripts/deploy/check-chart.sh) runs in the background, at
# a lower CPU priority (nice 10), beside everything else, from the start: on
# a machine without the tool cache it first builds kubeconform (helm comes
# prebuilt; promtool is built in CI, see scripts/deploy/tools.sh). Its
# progress lines show up as it goes, its full output at the end, and it
# counts in the exit status. grpcurl is built in the background too, and the
# infrastructure's packages and Kafka's jars are fetched, while the
# dependencies install; the infrastructure starts while TypeScript compiles;
# the tests that run grpcurl wait for it, the others start at once.
#
# Infrastructure (PostgreSQL, Redis, Kafka) that this run starts is stopped at
# its end; components that were already running are left running.
# FLEET_KEEP_INFRA=1 keeps what it started (it says how to stop it).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

work="$(mktemp -d)"
chart_pid="" progress_pid="" grpcurl_pid="" infra_pid="" infra_started=() finished=0

# Stops what this run started: background jobs still running (after a failure
# or Ctrl-C), then the infrastructure components it started. Runs once.
finish() {
  (( finished )) && return 0
  finished=1
  local pid
  for pid in "$chart_pid" "$grpcurl_pid"; do
    # Each job runs in a session of its own (setsid): its process group id is
    # its pid, so this ends its children (go builds) too.
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null
  done
  [[ -n "$progress_pid" ]] && kill "$progress_pid" 2>/dev/null
  # Still starting (a contract check or the build failed): let it end first.
  [[ -n "$infra_pid" ]] && wait "$infra_pid" 2>/dev/null
  if (( ${#infra_started[@]} > 0 )); then
    if [[ "${FLEET_KEEP_INFRA:-}" == 1 ]]; then
      say "left running (FLEET_KEEP_INFRA=1): ${infra_started[*]}; stop with: scripts/infra/infra.sh stop ${infra_started[*]}"
    else
      say "stopping the infrastructure this run started: ${infra_started[*]}"
      bash scripts/infra/infra.sh stop "${infra_started[@]}" || say "could not stop ${infra_started[*]}: run scripts/infra/infra.sh stop ${infra_started[*]}"
    fi
  fi
  rm -rf "$work"
  return 0
}
trap finish EXIT

# grpcurl, the chart check's tools and the infrastructure's packages and jars
# first: they need only Go, pip, apt and Maven, so they download and compile
# while npm ci runs. The chart check itself (Node) starts once the
# dependencies are in.
if [[ "${FLEET_TEST_INFRA:-local}" != containers ]]; then
  bash scripts/infra/infra.sh prepare >"$work/infra-prepare.log" 2>&1 &
fi
# shellcheck disable=SC2016  # expanded by the child shell
setsid bash -c 'bash scripts/infra/tools.sh; status=$?; touch "$1"; exit "$status"' grpcurl "$work/grpcurl-done" \
  >"$work/grpcurl.log" 2>&1 &
grpcurl_pid=$!
say "chart check started in the background (scripts/deploy/check-chart.sh; the first run on a machine builds kubeconform, and promtool in CI); its output follows the tests"
# Its Go build starts once grpcurl's has ended: side by side, both would
# compile Go's standard library (one after the other, the second reuses it).
# shellcheck disable=SC2016  # expanded by the child shell
FLEET_GO_BUILD_AFTER="$work/grpcurl-done" \
setsid nice -n 10 bash -c 'bash scripts/deploy/tools.sh install || exit
                           until [[ -f "$1" ]]; do sleep 1; done
                           exec bash scripts/deploy/check-chart.sh' chart-check "$work/deps-ready" \
  >"$work/chart.log" 2>&1 &
chart_pid=$!
# Its tool progress, live; the tail ends with the chart check.
tail -n +1 -F --pid="$chart_pid" "$work/chart.log" 2>/dev/null \
  | sed -un 's/^\[deploy-tools\] /[chart-check] /p' &
progress_pid=$!

ensure_dependencies
touch "$work/deps-ready"

# FLEET_TEST_INFRA=containers (with a Docker engine): the tests run against
# PostgreSQL, Kafka and Redis containers (testcontainers) that the wrapper
# starts and removes; otherwise against the local processes, started here
# while the contracts are checked and TypeScript compiles (a first run
# resolves Kafka from Maven Central meanwhile).
run_ava=(ava)
if [[ "${FLEET_TEST_INFRA:-local}" == containers ]]; then
  run_ava=(node dist/scripts/with-test-infra.js -- ava)
else
  # What is already up before this run is not this run's to stop.
  for component in ${FLEET_INFRA_COMPONENTS:-postgres redis kafka}; do
    bash scripts/infra/infra.sh status "$component" >/dev/null 2>&1 || infra_started+=("$component")
  done
  say "starting the infrastructure in the background (scripts/infra/infra.sh start)"
  bash scripts/infra/infra.sh start >"$work/infra.log" 2>&1 &
  infra_pid=$!
fi

# The contract checks and the TypeScript build need nothing from each other
# (gen/ is committed): side by side, the checks' output after the build's.
bash scripts/check-contracts.sh >"$work/contracts.log" 2>&1 &
contracts_pid=$!
build
if ! wait "$contracts_pid"; then
  cat "$work/contracts.log" >&2; echo "the contract checks failed" >&2; exit 1
fi
cat "$work/contracts.log"

if [[ -n "$infra_pid" ]]; then
  wait "$infra_pid" || { infra_pid=""; cat "$work/infra-prepare.log" "$work/infra.log" >&2; echo "the infrastructure did not start" >&2; exit 1; }
  infra_pid=""
  cat "$work/infra-prepare.log" "$work/infra.log"
  say "infrastructure up"
fi

# The tests that run grpcurl wait for its build themselves (grpcurlBinary in
# the test harness); the others need not.
export FLEET_GRPCURL_PENDING="$work/grpcurl-done"
[[ -e "$FLEET_GRPCURL_PENDING" ]] || say "grpcurl is still building: the tests that run it wait for it"
load_dev_secrets
# V8's compiled code of each module, kept between processes: every test
# worker, and every service process a test starts, loads most of the same
# 2,000 module files. A full load of the services took 1.30 instead of 1.58
# CPU-seconds with the cache warm (measured 2026-12-03).
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$FLEET_LOCAL_DIR/cache/node-compile}"

say "running tests"
log="$work/ava.log"
set +e
"${run_ava[@]}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [[ $# -eq 0 ]]; then
  say "running the tests with a private broker or database of their own, two at a time"
  ava --config ava.isolated.config.mjs 2>&1 | tee -a "$log"
  isolated=${PIPESTATUS[0]}
  [[ "$isolated" -eq 0 ]] || status="$isolated"
fi

if wait "$grpcurl_pid"; then grpcurl_pid=""
else
  grpcurl_pid=""; cat "$work/grpcurl.log" >&2; echo "grpcurl could not be installed" >&2
  [[ "$status" -ne 0 ]] || status=1
fi
if kill -0 "$chart_pid" 2>/dev/null; then say "waiting for the chart check"; fi
wait "$chart_pid"
chart_status=$?
chart_pid=""
wait "$progress_pid" 2>/dev/null
progress_pid=""
set -e
say "chart check (scripts/deploy/check-chart.sh) output:"
cat "$work/chart.log"
if [[ "$chart_status" -ne 0 ]]; then
  echo "the chart check failed (exit $chart_status, output above)" >&2
  [[ "$status" -ne 0 ]] || status="$chart_status"
fi

# ava prints one ✔ per passed test and one ✘ per failed one (its summary
# omits the passed count when something failed).
passed="$(grep -c '✔' "$log" || true)"
failed="$(grep -c '✘' "$log" || true)"
chart_summary="$(grep -E '^check-chart: [0-9]+ passed' "$work/chart.log" || echo "check-chart: did not finish (exit $chart_status)")"
failures=""
if [[ "${failed:-0}" -gt 0 ]]; then
  # CI keeps only the end of the output: name what failed there, and why
  # (read now: finish removes the log).
  first_failure="$(grep -n '✘' "$log" | head -n 1 | cut -d: -f1)"
  # ava's details of the failures follow the list of that run's tests.
  failures="$(echo "failed tests:"; grep '✘' "$log" | head -n 20
              awk -v from="${first_failure:-0}" 'NR > from && /^  ─+$/ && !shown { shown = 1 } shown' "$log" | head -n 80)"
fi
finish
echo "$chart_summary"
echo "ava: ${passed:-0} passed, ${failed:-0} failed"
[[ -z "$failures" ]] || echo "$failures"
if [[ "$status" -eq 0 && "${passed:-0}" -eq 0 ]]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
