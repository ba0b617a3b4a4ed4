#!/usr/bin/env bash
# Builds what the container image contains, without Docker, the same way the
# Dockerfile does, and smoke-tests it.
#
#   scripts/deploy/build-image-context.sh [build] [OUT]   stage sources, npm ci, tsc, prune, assemble
#                                                         OUT/app (default .local/image-context), smoke test
#   scripts/deploy/build-image-context.sh smoke [APP]     only the smoke test of an assembled APP directory
#   scripts/deploy/build-image-context.sh assemble SRC DEST
#                                                         copy the runtime files of a built tree SRC
#                                                         (dist/, production node_modules) into DEST;
#                                                         the Dockerfile runs this step
#
# The image's /app is exactly what `assemble` writes: package.json (ESM), the
# compiled dist/ without tests and benchmarks, production node_modules, each
# component's config/default.yaml, migrations/, the Kafka topic scripts and
# bin/run.mjs. The smoke test runs the assembled tree as uid 10001 (no write
# access to it, like the image's read-only root filesystem) with TMPDIR only:
# it starts the gateway and fleet (no database needed for liveness), checks
# /healthz, /readyz and a graceful SIGTERM stop, and runs migrate and
# create-topics --dry-run.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log() { echo "[image-context] $*"; }
die() { echo "[image-context] error: $*" >&2; exit 1; }

# Files the Docker build context holds (see .dockerignore): keep the two in step.
CONTEXT_PATHS=(package.json package-lock.json tsconfig.json gen services gateway scripts migrations)
CONTEXT_EXCLUDES=(--exclude='*/test' --exclude='*/test/*' --exclude='scripts/infra' --exclude='*.log' --exclude='*/node_modules' --exclude='.local')

assemble() {
  local src=$1 dest=$2
  [[ -d "$src/dist" && -d "$src/node_modules" ]] || die "assemble: $src has no dist/ or node_modules/ (build it first)"
  rm -rf "$dest" && mkdir -p "$dest/bin"
  cp "$src/package.json" "$dest/"
  # Compiled code, without tests, test support and benchmarks.
  (cd "$src" && tar -cf - --exclude='dist/bench' --exclude='*/test' --exclude='*/testing' dist) | tar -xf - -C "$dest"
  cp -R "$src/node_modules" "$dest/node_modules"
  rm -rf "$dest/node_modules/.bin" "$dest/node_modules/.cache" "$dest/node_modules/.package-lock.json"
  # Configuration defaults: read from <root>/<component>/config/default.yaml.
  local d
  for d in "$src"/services/*/config "$src"/gateway/config; do
    [[ -d "$d" ]] || continue
    d="${d#"$src"/}"
    mkdir -p "$dest/$d" && cp -R "$src/$d/." "$dest/$d/"
  done
  mkdir -p "$dest/migrations" && cp -R "$src/migrations/." "$dest/migrations/"
  mkdir -p "$dest/scripts/kafka"
  cp "$src/scripts/kafka/client.mjs" "$src/scripts/kafka/create-topics.mjs" "$src/scripts/kafka/topics.yaml" "$dest/scripts/kafka/"
  cp "$src/scripts/deploy/run.mjs" "$dest/bin/run.mjs"
  # Readable by everyone, writable by no one but root.
  chmod -R u+rwX,go+rX,go-w "$dest"
  log "assembled $dest ($(du -sh "$dest" | cut -f1))"
}

build() {
  local out=${1:-$repo/.local/image-context}
  local node_bin="$repo/node_modules/.bin"
  [[ -x "$node_bin/node" ]] || die "Node 24 not found at $node_bin/node: run npm ci in $repo first"
  export PATH="$node_bin:$PATH"
  [[ "$(node -p 'process.versions.node.split(".")[0]')" == 24 ]] || die "need Node 24, found $(node --version)"
  local src="$out/src"
  log "staging the build context in $src"
  rm -rf "$src" && mkdir -p "$src"
  (cd "$repo" && tar -cf - "${CONTEXT_EXCLUDES[@]}" "${CONTEXT_PATHS[@]}") | tar -xf - -C "$src"
  cd "$src"
  log "npm ci --ignore-scripts (as the Dockerfile's build stage)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  log "tsc -p ."
  ./node_modules/.bin/tsc -p .
  log "npm prune --omit=dev"
  npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  assemble "$src" "$out/app"
  smoke "$out/app"
}

# ---------------------------------------------------------------- smoke test --
# ok/bad always succeed, so `cond && ok ... || bad ...` is an if-then-else here.
# shellcheck disable=SC2015
smoke() {
  local app=${1:-$repo/.local/image-context/app}
  [[ -f "$app/bin/run.mjs" ]] || die "smoke: $app/bin/run.mjs missing"
  local node="$repo/node_modules/.bin/node"
  # The real Node binary (node_modules/.bin/node is a shim that re-executes it).
  node="$("$node" -p 'process.execPath')"
  local tmp; tmp="$(mktemp -d)"; chmod 1777 "$tmp"
  local failures=0 passed=0
  ok() { passed=$((passed + 1)); echo "  ok   $*"; }
  bad() { failures=$((failures + 1)); echo "  FAIL $*"; }
  # As the image runs it: uid/gid 10001, cwd /app, nothing writable but TMPDIR.
  as_app() {
    (cd "$app" && env -i PATH=/usr/bin:/bin HOME=/nonexistent TMPDIR="$tmp" NODE_ENV=production "$@" \
      setpriv --reuid=10001 --regid=10001 --clear-groups "$node" --enable-source-maps "$app/bin/run.mjs" "${RUN_ARGS[@]}")
  }
  local logf out code
  log "smoke test of $app (as uid 10001)"

  RUN_ARGS=(list); out="$(as_app 2>&1)" || true
  [[ "$out" == *"gateway"*"available"* && "$out" == *"fleet"*"available"* ]] && ok "run.mjs list: $(echo "$out" | tr -s ' ' | paste -sd ';' -)" || bad "run.mjs list: $out"

  RUN_ARGS=(nonsense); code=0; out="$(as_app 2>&1)" || code=$?
  [[ $code -eq 2 && "$out" == *"unknown component"* ]] && ok "unknown component refused (exit 2)" || bad "unknown component: exit $code: $out"

  # start_and_probe NAME READY_EXPECT ENV...: starts a component on free ports,
  # checks /healthz 200 and /readyz, then SIGTERM and a clean exit.
  start_and_probe() {
    local name=$1 want_ready=$2; shift 2
    logf="$tmp/$name.log"
    RUN_ARGS=("$name")
    as_app "$@" >"$logf" 2>&1 &
    local pid=$! ops=""
    for _ in $(seq 1 100); do
      ops="$(sed -n 's/.*"opsPort":\([0-9]*\).*/\1/p' "$logf" | head -1)"
      [[ -n "$ops" ]] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if [[ -z "$ops" ]]; then bad "$name did not start: $(tail -5 "$logf")"; kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; return; fi
    ok "$name started from the assembled tree (ops port $ops)"
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ops/healthz")"
    [[ "$code" == 200 ]] && ok "$name /healthz 200" || bad "$name /healthz $code"
    out="$(curl -s -w ' %{http_code}' "http://127.0.0.1:$ops/readyz")"
    [[ "$out" == *" $want_ready" ]] && ok "$name /readyz: $out" || bad "$name /readyz: $out (wanted $want_ready)"
    # The process runs under setpriv inside a subshell: signal the node process itself.
    local npid; npid="$(pgrep -f -- "$app/bin/run.mjs $name\$" | head -1)"
    [[ -n "$npid" ]] && kill -TERM "$npid"
    code=0; wait "$pid" || code=$?
    [[ $code -eq 0 ]] && grep -q '"msg":"stopped"' "$logf" && ok "$name SIGTERM: graceful stop, exit 0" || bad "$name SIGTERM: exit $code: $(tail -3 "$logf")"
  }
  local common=(FLEETMESH__AUTH__ENABLED=false FLEETMESH__OPS__PORT=0 FLEETMESH__SHUTDOWN__GRACE_MS=1000)
  # The gateway's readiness is its own: an unreachable upstream is the metric
  # gateway_upstream_up, not a reason to leave the load balancer.
  start_and_probe gateway 200 "${common[@]}" FLEETMESH__HTTP__PORT=0 FLEETMESH__UPSTREAMS__FLEET__ADDRESS=127.0.0.1:1
  start_and_probe fleet 503 "${common[@]}" FLEETMESH__GRPC__PORT=0 FLEETMESH__DATABASE__PORT=1 FLEETMESH__DATABASE__PASSWORD=smoke-not-a-secret

  RUN_ARGS=(migrate fleet); code=0; out="$(as_app 2>&1)" || code=$?
  [[ $code -ne 0 && "$out" == *"FLEET_PG_SUPERUSER_PASSWORD is not set"* ]] && ok "migrate fleet without credentials: refuses ($(echo "$out" | grep -o 'FLEET_PG_SUPERUSER_PASSWORD is not set'))" || bad "migrate fleet: exit $code: $out"
  RUN_ARGS=(migrate no-such-service); code=0; out="$(as_app 2>&1)" || code=$?
  [[ $code -eq 2 && "$out" == *"no database defined"* ]] && ok "migrate of an unknown service refused" || bad "migrate unknown: exit $code: $out"

  RUN_ARGS=(create-topics --dry-run); code=0; out="$(as_app 2>&1)" || code=$?
  [[ $code -eq 0 && "$out" == *"would ensure fleet.vehicle.v1"* ]] && ok "create-topics --dry-run: $(grep -c 'would ensure' <<<"$out") topics" || bad "create-topics --dry-run: exit $code: $out"

  rm -rf "$tmp"
  echo "image-context: $passed passed, $failures failed"
  [[ $failures -eq 0 ]]
}

case "${1:-build}" in
  build) build "${2:-}" ;;
  smoke) smoke "${2:-}" ;;
  assemble) [[ $# -eq 3 ]] || die "usage: $0 assemble SRC DEST"; assemble "$2" "$3" ;;
  -h|--help|help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) # a path: build into it
     build "$1" ;;
esac
