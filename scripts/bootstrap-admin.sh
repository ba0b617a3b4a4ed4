#!/usr/bin/env bash
# Creates the first administrator of a local platform started by up.sh.
#   FLEET_BOOTSTRAP_ADMIN_PASSWORD='...' npm run bootstrap-admin -- --email admin@example.com
# The password comes from FLEET_BOOTSTRAP_ADMIN_PASSWORD or standard input;
# there is no default password. In Kubernetes, run the same entrypoint with
# the identity service's configuration (see docs/deploy-eks.md).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_dependencies
load_dev_secrets
cd "$REPO_ROOT"
FLEETMESH__DATABASE__PORT="${FLEET_PG_PORT:-55432}" \
FLEETMESH__DATABASE__PASSWORD="$IDENTITY_DB_APP_PASSWORD" \
  exec node dist/services/identity/src/bootstrap-admin.js "$@"
