# Shared by the project's scripts: sourced, not run.
# Installs dependencies when needed, puts Node 24 first on PATH, builds, and
# loads the local development secrets.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FLEET_LOCAL_DIR="${FLEET_LOCAL_DIR:-$REPO_ROOT/.local}"
mkdir -p "$FLEET_LOCAL_DIR"

# Seconds since the outermost script started (its child scripts count from
# the same start): a first run's slow installs and builds show where the
# time went.
: "${FLEET_RUN_STARTED:=$EPOCHSECONDS}"
export FLEET_RUN_STARTED
say() { printf '\033[1m[fleet %ss]\033[0m %s\n' "$((EPOCHSECONDS - FLEET_RUN_STARTED))" "$*"; }

# Node 24 comes from the npm package `node` (a devDependency); the machine's
# own node only bootstraps npm.
ensure_dependencies() {
  local marker="$REPO_ROOT/node_modules/.fleet-installed"
  if [[ ! -x "$REPO_ROOT/node_modules/.bin/node" || ! -f "$marker" || "$REPO_ROOT/package-lock.json" -nt "$marker" ]]; then
    say "installing dependencies (npm ci)"
    (cd "$REPO_ROOT" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
    touch "$marker"
  fi
  export PATH="$REPO_ROOT/node_modules/.bin:$PATH"
  local version
  version="$(node --version)"
  [[ "$version" == v24.* ]] || { echo "expected Node 24 from node_modules/.bin, got $version" >&2; exit 1; }
}

build() {
  say "building (tsc)"
  (cd "$REPO_ROOT" && tsc -p .)
}

# Development-only database passwords, generated once per checkout. Real
# deployments inject secrets from their secret store (see docs/).
load_dev_secrets() {
  local file="$FLEET_LOCAL_DIR/dev/secrets.env"
  mkdir -p "$(dirname "$file")"
  [[ -f "$file" ]] || (umask 077 && : >"$file")
  # shellcheck disable=SC1090
  source "$file"
  # Each service gets its passwords the first time a checkout needs them.
  local svc var
  # One pair per service of services/registry.yaml (read from the build).
  local services
  services="$(node "$REPO_ROOT/dist/scripts/registry.js" names)" || { echo "cannot read services/registry.yaml: build first (npm run build)" >&2; exit 1; }
  for svc in $(tr '[:lower:]' '[:upper:]' <<<"$services"); do
    var="${svc}_DB_APP_PASSWORD"
    if [[ -z "${!var:-}" ]]; then
      {
        echo "export ${svc}_DB_OWNER_PASSWORD=$(random_secret)"
        echo "export ${svc}_DB_APP_PASSWORD=$(random_secret)"
      } >>"$file"
    fi
  done
  # shellcheck disable=SC1090
  source "$file"
  export FLEET_PG_SUPERUSER_PASSWORD="${FLEET_PG_SUPERUSER_PASSWORD:-postgres}"
}

random_secret() { node -e 'process.stdout.write(require("crypto").randomBytes(18).toString("base64url"))'; }

# True if process $1 is alive and its command line contains $2 (a pid file may
# be stale, and its pid reused by another process).
process_is() { [[ -n "$1" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"; }

# Stops a process `npm run up` started, by name: its supervisor
# (scripts/lib/supervise.sh), which passes SIGTERM on and waits for the graceful
# shutdown, then whatever is left of the process itself. SIGKILL after 20 s.
stop_local_process() {
  local run_dir=$1 name=$2 pid i
  pid="$(cat "$run_dir/$name.supervisor.pid" 2>/dev/null || true)"
  if process_is "$pid" supervise.sh; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do process_is "$pid" supervise.sh || break; sleep 0.2; done
  fi
  pid="$(cat "$run_dir/$name.pid" 2>/dev/null || true)"
  if process_is "$pid" node; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do process_is "$pid" node || break; sleep 0.2; done
    if process_is "$pid" node; then say "$name did not stop within 20 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$run_dir/$name.supervisor.pid" "$run_dir/$name.pid"
}
