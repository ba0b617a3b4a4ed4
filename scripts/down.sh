#!/usr/bin/env bash
# Stops the services and gateway started by up.sh (their supervisors first, so
# nothing starts them again), then the infrastructure.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUN_DIR="$FLEET_LOCAL_DIR/run"
for pidfile in "$RUN_DIR"/*.pid; do
  [[ -f "$pidfile" ]] || continue
  name="$(basename "$pidfile" .pid)"
  name="${name%.supervisor}"
  [[ -f "$RUN_DIR/$name.pid" || -f "$RUN_DIR/$name.supervisor.pid" ]] || continue
  stop_local_process "$RUN_DIR" "$name"
  say "stopped $name"
done
[[ "${1:-}" == "--keep-infra" ]] || bash "$REPO_ROOT/scripts/infra/infra.sh" stop
