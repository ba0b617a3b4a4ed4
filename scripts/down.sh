#!/usr/bin/env bash
# Stops the services and gateway started by up.sh, then the infrastructure.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUN_DIR="$FLEET_LOCAL_DIR/run"
for pidfile in "$RUN_DIR"/*.pid; do
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    say "stopped $(basename "$pidfile" .pid)"
  fi
  rm -f "$pidfile"
done
[[ "${1:-}" == "--keep-infra" ]] || bash "$REPO_ROOT/scripts/infra/infra.sh" stop
