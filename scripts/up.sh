#!/usr/bin/env bash
# Starts the whole platform on localhost: infrastructure, migrations, every
# service and the gateway. Safe to re-run: it restarts the Node processes
# with the current code. Each Node process runs under scripts/lib/supervise.sh,
# which starts it again if it dies (a crash, SIGKILL, the OOM killer), as
# Kubernetes does in production. Stop with `npm run down`.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUN_DIR="$FLEET_LOCAL_DIR/run"
mkdir -p "$RUN_DIR"

ensure_dependencies
build
bash "$REPO_ROOT/scripts/infra/infra.sh" start
bash "$REPO_ROOT/scripts/infra/tools.sh" >/dev/null || say "grpcurl could not be installed (optional for running)"
load_dev_secrets
node "$REPO_ROOT/dist/scripts/dev-keys.js" >/dev/null
say "migrating databases"
node "$REPO_ROOT/dist/scripts/migrate.js"
# Services that call peers do it as themselves: each gets an identity service
# client (role mesh_service, and its own <service>_service role where identity
# has one: maintenance_service), created in identity's database before
# anything starts, its secret kept in $FLEET_LOCAL_DIR/dev/<service>-client.json (0600).
say "service clients of the services that call peers"
FLEETMESH__DATABASE__PORT="${FLEET_PG_PORT:-55432}" FLEETMESH__DATABASE__PASSWORD="$IDENTITY_DB_APP_PASSWORD" \
  node "$REPO_ROOT/dist/scripts/service-clients.js"

start_process() { # name entrypoint ops-port [env...]
  local name="$1" entry="$2" ops_port="$3" pid=""
  shift 3
  stop_local_process "$RUN_DIR" "$name"
  # setsid: the supervisor and the service do not share the caller's terminal
  # session, so closing it or pressing Ctrl-C there does not stop them.
  (cd "$REPO_ROOT" && exec setsid bash scripts/lib/supervise.sh "$RUN_DIR/$name" \
     env "$@" node --enable-source-maps "$entry") </dev/null >>"$RUN_DIR/$name.log" 2>&1 &
  for _ in $(seq 1 50); do pid="$(cat "$RUN_DIR/$name.pid" 2>/dev/null || true)"; [[ -n "$pid" ]] && break; sleep 0.1; done
  for _ in $(seq 1 100); do
    # Ready, and answered by this process (not a stale one holding the port).
    if curl -fsS "http://127.0.0.1:$ops_port/readyz" >/dev/null 2>&1 && process_is "$pid" node; then
      say "$name ready (pid $pid, supervised, log $RUN_DIR/$name.log)"
      return 0
    fi
    # Dying before it is ready is a start-up error, not something to retry.
    if ! process_is "$pid" node; then
      stop_local_process "$RUN_DIR" "$name"
      tail -20 "$RUN_DIR/$name.log" >&2; echo "$name exited" >&2; exit 1
    fi
    sleep 0.2
  done
  stop_local_process "$RUN_DIR" "$name"
  tail -20 "$RUN_DIR/$name.log" >&2
  echo "$name did not become ready" >&2
  exit 1
}

# The infrastructure and dev keys this script set up, also when FLEET_LOCAL_DIR
# or the FLEET_*_PORT variables point elsewhere than the config defaults.
dev="$FLEET_LOCAL_DIR/dev"
kafka="127.0.0.1:${FLEET_KAFKA_PORT:-59092}"
# Every service of services/registry.yaml, with what all of them get and its own localEnv.
while IFS=$'\t' read -r name entry ops_port extra; do
  app_password_var="$(tr '[:lower:]' '[:upper:]' <<<"$name")_DB_APP_PASSWORD"
  read -r -a own_env <<<"${extra//$'\t'/ }"
  # Its service credential, if it has one (scripts/service-clients.ts): in the
  # environment, not on a command line where `ps` would show the secret.
  unset FLEETMESH__SERVICE_CREDENTIAL__CLIENT_ID FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET
  if [[ -f "$dev/$name-client.json" ]]; then
    IFS=$'\t' read -r client_id client_secret < <(node -e \
      'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(`${c.clientId}\t${c.clientSecret}\n`)' \
      "$dev/$name-client.json")
    export FLEETMESH__SERVICE_CREDENTIAL__CLIENT_ID="$client_id" FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET="$client_secret"
  fi
  start_process "$name" "$entry" "$ops_port" \
    FLEETMESH__DATABASE__PORT="${FLEET_PG_PORT:-55432}" \
    FLEETMESH__DATABASE__PASSWORD="${!app_password_var}" \
    FLEETMESH__KAFKA__BROKERS="$kafka" FLEETMESH__AUTH__JWKS_FILE="$dev/jwks.json" \
    "${own_env[@]}"
done < <(node "$REPO_ROOT/dist/scripts/registry.js" processes)
unset FLEETMESH__SERVICE_CREDENTIAL__CLIENT_ID FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET client_secret
start_process gateway dist/gateway/src/main.js 9460 \
  FLEETMESH__AUTH__JWKS_FILE="$dev/jwks.json"

grpcurl="$FLEET_LOCAL_DIR/bin/grpcurl"
cat <<MSG

  Fleet mesh is running.

  Gateway (Connect, gRPC-web, gRPC):  http://127.0.0.1:8080
  Fleet service (gRPC, reflection):   127.0.0.1:50061
  Rental service (gRPC, reflection):  127.0.0.1:50062
  Maintenance service (gRPC, reflection): 127.0.0.1:50063
  Identity service (gRPC, reflection): 127.0.0.1:50064
  Ledger service (gRPC, reflection):  127.0.0.1:50065
  OAuth token endpoint:               http://127.0.0.1:8080/oauth/token
  JWKS:                               http://127.0.0.1:8080/.well-known/jwks.json
  Ops (healthz, readyz, metrics):     http://127.0.0.1:9460 (gateway), http://127.0.0.1:9461 (fleet),
                                      http://127.0.0.1:9462 (rental), http://127.0.0.1:9463 (maintenance),
                                      http://127.0.0.1:9464 (identity, also /.well-known/jwks.json),
                                      http://127.0.0.1:9465 (ledger)
  Service clients (rental calls identity and fleet as itself; maintenance rental, identity
  and fleet; ledger identity): $dev/<service>-client.json

  First administrator (once; the password comes from the environment, never a default):
    FLEET_BOOTSTRAP_ADMIN_PASSWORD='choose-a-long-passphrase' npm run bootstrap-admin -- --email admin@example.com

  Log in and keep the access token:
    TOKEN=\$(curl -s http://127.0.0.1:8080/fleetmesh.identity.v1.IdentityService/Login \\
      -H 'content-type: application/json' \\
      -d '{"email":"admin@example.com","password":"choose-a-long-passphrase"}' | node_modules/.bin/node -pe 'JSON.parse(require("fs").readFileSync(0)).tokens.accessToken')

  Or mint a development token (every permission, 1 hour, local keys only):
    TOKEN=\$(node_modules/.bin/node dist/scripts/dev-token.js)

  Try it:
    curl -s http://127.0.0.1:8080/fleetmesh.fleet.v1.FleetService/ListVehicles \\
      -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' -d '{}'
    ${grpcurl#"$REPO_ROOT"/} -plaintext -H "authorization: Bearer \$TOKEN" 127.0.0.1:50061 list

  A process that dies is started again (after 1 s, backing off to 30 s).
  Logs: $RUN_DIR/*.log    Stop: npm run down
MSG
