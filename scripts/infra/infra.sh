#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2016  # A && B || C is intended; single-quoted $ is for the child shell
# Local infrastructure for Fleet mesh: PostgreSQL 15, Redis and a single-node
# Apache Kafka broker (KRaft), all bound to 127.0.0.1, all state under
# $FLEET_LOCAL_DIR (default <repo>/.local). See docs/local-infra.md.
#
# Usage: scripts/infra/infra.sh start|stop|status|reset|env|logs [component...]
# (components: postgres redis kafka; each command acts on the named ones only)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
KAFKA_SCRIPTS="$REPO_ROOT/scripts/kafka"

# ---------------------------------------------------------------- settings --
FLEET_LOCAL_DIR="${FLEET_LOCAL_DIR:-$REPO_ROOT/.local}"
FLEET_INFRA_COMPONENTS="${FLEET_INFRA_COMPONENTS:-postgres redis kafka}"

FLEET_PG_PORT="${FLEET_PG_PORT:-55432}"
FLEET_PG_SUPERUSER_PASSWORD="${FLEET_PG_SUPERUSER_PASSWORD:-postgres}"
FLEET_PG_FAST="${FLEET_PG_FAST:-0}"
FLEET_PG_BIN="${FLEET_PG_BIN:-/usr/lib/postgresql/15/bin}"
FLEET_PG_OS_USER="${FLEET_PG_OS_USER:-postgres}"   # only used when running as root

FLEET_REDIS_PORT="${FLEET_REDIS_PORT:-56379}"

FLEET_KAFKA_VERSION="${FLEET_KAFKA_VERSION:-4.4.0}"
FLEET_KAFKA_PORT="${FLEET_KAFKA_PORT:-59092}"
FLEET_KAFKA_CONTROLLER_PORT="${FLEET_KAFKA_CONTROLLER_PORT:-59093}"
FLEET_KAFKA_HEAP_OPTS="${FLEET_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
# The JIT's first tier only: a local broker and the storage tool start on
# about 40 % less CPU (a broker's start 5.0 against 8.2 CPU-seconds, measured
# 2026-12-03), and a test run starts four brokers. Local brokers serve tests
# and a developer's mesh, never a throughput that needs the optimizing tier.
FLEET_KAFKA_JVM_OPTS="${FLEET_KAFKA_JVM_OPTS--XX:TieredStopAtLevel=1}"
FLEET_KAFKA_READY_TIMEOUT="${FLEET_KAFKA_READY_TIMEOUT:-90}"
# plaintext | sasl_ssl. sasl_ssl mimics Amazon MSK with SASL/SCRAM: the client
# listener on FLEET_KAFKA_PORT requires TLS and SCRAM-SHA-512; the broker talks
# to itself over PLAINTEXT on FLEET_KAFKA_INTERNAL_PORT (loopback only).
FLEET_KAFKA_SECURITY="${FLEET_KAFKA_SECURITY:-plaintext}"
FLEET_KAFKA_INTERNAL_PORT="${FLEET_KAFKA_INTERNAL_PORT:-59094}"
FLEET_KAFKA_SASL_USERNAME="${FLEET_KAFKA_SASL_USERNAME:-fleetmesh}"
FLEET_KAFKA_SASL_PASSWORD="${FLEET_KAFKA_SASL_PASSWORD:-fleetmesh-local-dev}"
if [[ -n "${HOME:-}" ]]; then _default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/fleet-mesh"
else _default_cache="$FLEET_LOCAL_DIR/cache"; fi
FLEET_CACHE_DIR="${FLEET_CACHE_DIR:-$_default_cache}"

# Make the local dir absolute (pg_ctl, redis and kafka all get absolute paths).
mkdir -p "$FLEET_LOCAL_DIR"
FLEET_LOCAL_DIR="$(cd "$FLEET_LOCAL_DIR" && pwd)"

PG_DIR="$FLEET_LOCAL_DIR/postgres"
PGDATA_DIR="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
REDIS_DIR="$FLEET_LOCAL_DIR/redis"
KAFKA_DIR="$FLEET_LOCAL_DIR/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOGS="$KAFKA_DIR/logs"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_HOME="$FLEET_CACHE_DIR/kafka-$FLEET_KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_TLS_DIR="$KAFKA_DIR/tls"
KAFKA_CA_PEM="$KAFKA_TLS_DIR/ca.pem"
KAFKA_KEYSTORE="$KAFKA_TLS_DIR/broker.p12"
KAFKA_KEYSTORE_PASSWORD_FILE="$KAFKA_TLS_DIR/keystore.password"
KAFKA_FORMATTED_SECURITY="$KAFKA_DIR/formatted-security"

export FLEET_KAFKA_BROKERS="${FLEET_KAFKA_BROKERS:-127.0.0.1:$FLEET_KAFKA_PORT}"
# scripts/kafka/*.mjs take their TLS/SASL settings from the environment. Point
# them at the broker this script manages, whatever the caller's shell holds
# (e.g. the exports of "infra.sh env" for a broker in the other mode).
if [[ "$FLEET_KAFKA_SECURITY" == sasl_ssl ]]; then
  export FLEET_KAFKA_TLS=true FLEET_KAFKA_TLS_CA_FILE="$KAFKA_CA_PEM" FLEET_KAFKA_SASL_MECHANISM=scram-sha-512 \
         FLEET_KAFKA_SASL_USERNAME FLEET_KAFKA_SASL_PASSWORD
  unset FLEET_KAFKA_TLS_REJECT_UNAUTHORIZED
else
  unset FLEET_KAFKA_TLS FLEET_KAFKA_TLS_CA_FILE FLEET_KAFKA_TLS_REJECT_UNAUTHORIZED FLEET_KAFKA_SASL_MECHANISM
  export -n FLEET_KAFKA_SASL_USERNAME FLEET_KAFKA_SASL_PASSWORD
fi

# ----------------------------------------------------------------- helpers --
if [[ -t 1 ]]; then _b=$'\e[1m'; _r=$'\e[31m'; _g=$'\e[32m'; _y=$'\e[33m'; _n=$'\e[0m'
else _b=; _r=; _g=; _y=; _n=; fi
log()  { printf '%s[infra]%s %s\n' "$_b" "$_n" "$*"; }
warn() { printf '%s[infra] warning:%s %s\n' "$_y" "$_n" "$*" >&2; }
die()  { printf '%s[infra] error:%s %s\n' "$_r" "$_n" "$*" >&2; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }
# As root, PostgreSQL runs as its own user through runuser (and the user is
# made with useradd): both live in sbin, which a minimal PATH leaves out.
if is_root; then
  for sbin in /usr/sbin /sbin; do [[ ":$PATH:" == *":$sbin:"* ]] || PATH="$PATH:$sbin"; done
  export PATH
fi

now_ms() { date +%s%3N; }
elapsed() { local s=$1; echo "$(( ($(now_ms) - s) / 100 ))" | sed -E 's/([0-9])$/.\1/; s/^\./0./'; }

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

read_pid() { [[ -s "$1" ]] && tr -dc '0-9' <"$1" || true; }

validate_port() {
  local name=$1 val=$2
  [[ "$val" =~ ^[0-9]+$ ]] && (( val > 0 && val < 65536 )) || die "$name must be a TCP port number, got '$val'"
}


validate_components() {
  local c
  # shellcheck disable=SC2086
  set -- $FLEET_INFRA_COMPONENTS
  (( $# > 0 )) || die "FLEET_INFRA_COMPONENTS is empty (use any of: postgres redis kafka)"
  for c in "$@"; do
    case "$c" in postgres|redis|kafka) ;; *) die "unknown component '$c' in FLEET_INFRA_COMPONENTS (valid: postgres redis kafka)";; esac
  done
}

apt_install() {
  local pkgs=("$@") sudo=()
  if ! is_root; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n)
    else die "missing packages: ${pkgs[*]}. Install them as root: apt-get update && apt-get install -y ${pkgs[*]}"; fi
  fi
  command -v apt-get >/dev/null || die "missing packages (${pkgs[*]}) and no apt-get on this machine; install them manually"
  log "installing ${pkgs[*]} with apt-get (one-time)"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq </dev/null >/dev/null || die "apt-get update failed"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" </dev/null >/dev/null \
    || die "apt-get install ${pkgs[*]} failed"
}

node_bin() {
  if [[ -x "$REPO_ROOT/node_modules/.bin/node" ]]; then echo "$REPO_ROOT/node_modules/.bin/node"
  elif command -v node >/dev/null; then command -v node
  else die "node not found: run 'npm ci' in $REPO_ROOT first"; fi
}

run_node() {
  [[ -d "$REPO_ROOT/node_modules/kafkajs" && -d "$REPO_ROOT/node_modules/yaml" ]] \
    || die "node_modules/kafkajs or node_modules/yaml missing: run 'npm ci' in $REPO_ROOT first"
  "$(node_bin)" "$@"
}

# ============================================================== PostgreSQL ==
# Give a file to the PostgreSQL OS user (no-op when not root).
pg_chown() { if is_root; then chown "$FLEET_PG_OS_USER:" "$@"; fi; }

pg_as_user() {
  if is_root; then runuser -u "$FLEET_PG_OS_USER" -- "$@"; else "$@"; fi
}

pg_ensure_installed() {
  if [[ ! -x "$FLEET_PG_BIN/postgres" ]]; then
    # On Debian 12 postgresql-contrib-15 is provided by postgresql-15 itself.
    apt_install postgresql-15
    [[ -x "$FLEET_PG_BIN/postgres" ]] || die "PostgreSQL 15 not found at $FLEET_PG_BIN after install (set FLEET_PG_BIN)"
  fi
  local share ext
  share="$("$FLEET_PG_BIN/pg_config" --sharedir 2>/dev/null || echo /usr/share/postgresql/15)"
  for ext in btree_gist citext; do
    if [[ ! -f "$share/extension/$ext.control" ]]; then
      apt_install postgresql-contrib-15
      [[ -f "$share/extension/$ext.control" ]] || die "PostgreSQL extension '$ext' is not available ($share/extension/$ext.control missing); install postgresql-contrib-15"
    fi
  done
  if is_root; then
    id "$FLEET_PG_OS_USER" >/dev/null 2>&1 || die "system user '$FLEET_PG_OS_USER' does not exist (it comes with postgresql-common; set FLEET_PG_OS_USER to another non-root user)"
    command -v runuser >/dev/null || die "runuser (util-linux) is required to run PostgreSQL as '$FLEET_PG_OS_USER'"
  fi
}

# When running as root, PostgreSQL runs as $FLEET_PG_OS_USER, which must be able
# to reach $PG_DIR: every ancestor directory needs the search (x) bit for it.
pg_ensure_dir_access() {
  mkdir -p "$PG_DIR"
  is_root || return 0
  chown "$FLEET_PG_OS_USER:" "$PG_DIR"
  chmod 700 "$PG_DIR"
  if ! runuser -u "$FLEET_PG_OS_USER" -- test -w "$PG_DIR" 2>/dev/null; then
    # Ancestors (top-down) without the "other" search bit that the user does not own.
    local d="$FLEET_LOCAL_DIR" dirs=() blocked=() mode owner
    while [[ "$d" != "/" ]]; do dirs=("$d" "${dirs[@]}"); d="$(dirname "$d")"; done
    for d in "${dirs[@]}"; do
      read -r mode owner < <(stat -c '%A %U' "$d")
      [[ "$owner" != "$FLEET_PG_OS_USER" && "${mode:9:1}" != [xt] ]] && blocked+=("$d")
    done
    (( ${#blocked[@]} > 0 )) || die "user '$FLEET_PG_OS_USER' cannot write $PG_DIR (check its permissions / ACLs)"
    if [[ "${CI:-}" == "true" || "${FLEET_FIX_PERMS:-0}" == "1" ]]; then
      log "granting '$FLEET_PG_OS_USER' search permission (o+x) on: ${blocked[*]}"
      chmod o+x "${blocked[@]}"
      runuser -u "$FLEET_PG_OS_USER" -- test -w "$PG_DIR" || die "user '$FLEET_PG_OS_USER' still cannot write $PG_DIR"
    else
      die "PostgreSQL runs as '$FLEET_PG_OS_USER' (it refuses to run as root) but that user cannot reach $PG_DIR.
       Directories without search permission for it: ${blocked[*]}
       Fix with one of: chmod o+x ${blocked[*]}
                        FLEET_FIX_PERMS=1 $0 start   (does that chmod for you)
                        FLEET_LOCAL_DIR=/var/tmp/fleet-local $0 start"
    fi
  fi
}

pg_write_conf() {
  local fast_conf
  if [[ "$FLEET_PG_FAST" == "1" ]]; then
    fast_conf=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off'
  else
    fast_conf=$'fsync = on\nsynchronous_commit = on\nfull_page_writes = on'
  fi
  local tmp="$PGDATA_DIR/fleet-local.conf.tmp"
  cat >"$tmp" <<EOF
# Written by scripts/infra/infra.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $FLEET_PG_PORT
unix_socket_directories = ''        # TCP on 127.0.0.1 only
max_connections = 300
shared_buffers = 128MB
password_encryption = scram-sha-256
timezone = 'UTC'
log_timezone = 'UTC'
$fast_conf
EOF
  pg_chown "$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$PGDATA_DIR/fleet-local.conf"
}

pg_initdb() {
  log "postgres: initdb in $PGDATA_DIR"
  local pwfile="$PG_DIR/.pwfile" locale_args=(--no-locale)
  # C collation (deterministic), UTF-8 ctype so lower()/citext handle non-ASCII.
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale_args=(--lc-collate=C --lc-ctype=C.UTF-8 --lc-messages=C --lc-monetary=C --lc-numeric=C --lc-time=C); fi
  ( umask 077; printf '%s\n' "$FLEET_PG_SUPERUSER_PASSWORD" >"$pwfile" )
  pg_chown "$pwfile"
  if ! pg_as_user "$FLEET_PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --pwfile="$pwfile" \
        --encoding=UTF8 "${locale_args[@]}" --auth-host=scram-sha-256 --auth-local=scram-sha-256 \
        >"$PG_DIR/initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$PG_DIR/initdb.log" >&2
    rm -rf "$PGDATA_DIR"
    die "postgres: initdb failed (log above, also in $PG_DIR/initdb.log)"
  fi
  rm -f "$pwfile"
  cat >"$PGDATA_DIR/pg_hba.conf" <<'EOF'
# Written by scripts/infra/infra.sh at initdb. Loopback TCP only, password (SCRAM) auth.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
EOF
  pg_chown "$PGDATA_DIR/pg_hba.conf"
  printf "\n# Fleet mesh local settings (port, durability, connections)\ninclude_if_exists = 'fleet-local.conf'\n" \
    >>"$PGDATA_DIR/postgresql.conf"
  echo "$FLEET_PG_PORT" >"$PG_DIR/.initdb-done"
}

pg_running() {
  [[ -f "$PGDATA_DIR/PG_VERSION" ]] || return 1
  pg_as_user "$FLEET_PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

pg_psql() {
  PGPASSWORD="$FLEET_PG_SUPERUSER_PASSWORD" PGCONNECT_TIMEOUT=5 PGOPTIONS="-c client_min_messages=warning" "$FLEET_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$FLEET_PG_PORT" -U postgres "$@"
}

pg_start() {
  pg_ensure_installed
  if pg_running; then
    "$FLEET_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$FLEET_PG_PORT" \
      || die "postgres: a server is running on $PGDATA_DIR but not answering on 127.0.0.1:$FLEET_PG_PORT (started with another FLEET_PG_PORT? run '$0 stop' first)"
    log "postgres: already running on 127.0.0.1:$FLEET_PG_PORT"
    return 0
  fi
  port_open "$FLEET_PG_PORT" && die "postgres: port 127.0.0.1:$FLEET_PG_PORT is already in use by another process (set FLEET_PG_PORT)"
  local t0; t0=$(now_ms)
  pg_ensure_dir_access
  if [[ -f "$PGDATA_DIR/PG_VERSION" ]]; then
    [[ "$(cat "$PGDATA_DIR/PG_VERSION")" == "15" ]] \
      || die "postgres: $PGDATA_DIR was created by PostgreSQL $(cat "$PGDATA_DIR/PG_VERSION"), not 15; run '$0 reset'"
    [[ -f "$PG_DIR/.initdb-done" ]] || die "postgres: $PGDATA_DIR looks half-initialised; run '$0 reset'"
  else
    rm -rf "$PGDATA_DIR"
    pg_initdb
  fi
  pg_write_conf
  touch "$PG_LOG"; pg_chown "$PG_LOG"
  log "postgres: starting on 127.0.0.1:$FLEET_PG_PORT$([[ "$FLEET_PG_FAST" == 1 ]] && echo ' (FLEET_PG_FAST=1: fsync off)')"
  if ! pg_as_user "$FLEET_PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 -s start 9>&-; then
    tail -n 30 "$PG_LOG" >&2 || true
    die "postgres: failed to start (log above, full log: $PG_LOG)"
  fi
  local i
  for ((i = 0; i < 60; i++)); do
    "$FLEET_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$FLEET_PG_PORT" && break
    sleep 0.5
  done
  "$FLEET_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$FLEET_PG_PORT" || die "postgres: not ready after 30 s (see $PG_LOG)"
  # Extensions in template1 so every new database has them; also in 'postgres'.
  local db
  for db in template1 postgres; do
    pg_psql -d "$db" -c 'CREATE EXTENSION IF NOT EXISTS btree_gist; CREATE EXTENSION IF NOT EXISTS citext;' \
      || die "postgres: could not create extensions btree_gist/citext in $db (wrong FLEET_PG_SUPERUSER_PASSWORD for an existing data dir? run '$0 reset')"
  done
  log "postgres: ready in $(elapsed "$t0") s"
}

pg_stop() {
  if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]] || ! pg_running; then log "postgres: not running"; return 0; fi
  log "postgres: stopping"
  pg_as_user "$FLEET_PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 -s stop || die "postgres: pg_ctl stop failed (see $PG_LOG)"
}

pg_status() {
  if [[ -x "$FLEET_PG_BIN/pg_ctl" ]] && pg_running && "$FLEET_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$FLEET_PG_PORT"; then
    local pid; pid=$(head -n1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)
    status_line postgres up "127.0.0.1:$FLEET_PG_PORT" "pid $pid, data $PGDATA_DIR"
  else
    status_line postgres down "127.0.0.1:$FLEET_PG_PORT" "log $PG_LOG"; return 1
  fi
}

# =================================================================== Redis ==
REDIS_PIDFILE="$REDIS_DIR/redis.pid"

redis_ensure_installed() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server redis-tools
  fi
  command -v redis-server >/dev/null || die "redis-server not found after install"
}

redis_ping() { redis-cli -h 127.0.0.1 -p "$FLEET_REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

redis_running() {
  local pid; pid=$(read_pid "$REDIS_PIDFILE")
  pid_alive "$pid" && redis_ping
}

redis_start() {
  redis_ensure_installed
  if redis_running; then log "redis: already running on 127.0.0.1:$FLEET_REDIS_PORT"; return 0; fi
  port_open "$FLEET_REDIS_PORT" && die "redis: port 127.0.0.1:$FLEET_REDIS_PORT is already in use by another process (set FLEET_REDIS_PORT)"
  local t0; t0=$(now_ms)
  mkdir -p "$REDIS_DIR"
  rm -f "$REDIS_PIDFILE"
  cat >"$REDIS_DIR/redis.conf" <<EOF
# Written by scripts/infra/infra.sh on every start. Dev/test only: no password,
# loopback only, no persistence.
bind 127.0.0.1
port $FLEET_REDIS_PORT
protected-mode yes
daemonize yes
pidfile "$REDIS_PIDFILE"
logfile "$REDIS_DIR/redis.log"
dir "$REDIS_DIR"
save ""
appendonly no
EOF
  log "redis: starting on 127.0.0.1:$FLEET_REDIS_PORT"
  redis-server "$REDIS_DIR/redis.conf" 9>&- || { tail -n 20 "$REDIS_DIR/redis.log" >&2 || true; die "redis: failed to start (see $REDIS_DIR/redis.log)"; }
  local i
  for ((i = 0; i < 50; i++)); do redis_ping && break; sleep 0.2; done
  redis_ping || { tail -n 20 "$REDIS_DIR/redis.log" >&2 || true; die "redis: not answering PING after 10 s (see $REDIS_DIR/redis.log)"; }
  log "redis: ready in $(elapsed "$t0") s"
}

redis_stop() {
  local pid; pid=$(read_pid "$REDIS_PIDFILE")
  if ! pid_alive "$pid"; then log "redis: not running"; rm -f "$REDIS_PIDFILE"; return 0; fi
  log "redis: stopping (pid $pid)"
  redis-cli -h 127.0.0.1 -p "$FLEET_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  wait_pid_exit "$pid" 10 || { warn "redis: did not exit, killing"; kill -9 "$pid" 2>/dev/null || true; }
  rm -f "$REDIS_PIDFILE"
}

redis_status() {
  local pid; pid=$(read_pid "$REDIS_PIDFILE")
  if command -v redis-cli >/dev/null && redis_running; then
    status_line redis up "127.0.0.1:$FLEET_REDIS_PORT" "pid $pid"
  else
    status_line redis down "127.0.0.1:$FLEET_REDIS_PORT" "log $REDIS_DIR/redis.log"; return 1
  fi
}

# =================================================================== Kafka ==
java_major() {
  java -version 2>&1 | sed -nE '1s/.*version "([0-9]+)(\.[0-9]+)*.*".*/\1/p; 1s/.*version "1\.([0-9]+).*/\1/p' | head -n1
}

kafka_ensure_java() {
  if ! command -v java >/dev/null; then apt_install openjdk-17-jre-headless; fi
  local major; major=$(java_major)
  [[ -n "$major" ]] || die "kafka: could not determine the Java version from 'java -version'"
  if (( major < 17 )); then die "kafka: Kafka $FLEET_KAFKA_VERSION needs Java 17+, found Java $major on PATH"; fi
}

kafka_ensure_libs() {
  local stamp="$KAFKA_HOME/.resolved" want
  want="$(sha256sum "$KAFKA_SCRIPTS/pom.xml" | cut -d' ' -f1) $FLEET_KAFKA_VERSION"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && compgen -G "$KAFKA_LIBS/kafka_2.13-$FLEET_KAFKA_VERSION.jar" >/dev/null; then
    return 0
  fi
  command -v mvn >/dev/null || apt_install maven
  local t0 tmp; t0=$(now_ms)
  tmp="$KAFKA_HOME/libs.tmp.$$"
  log "kafka: resolving org.apache.kafka:kafka_2.13:$FLEET_KAFKA_VERSION from Maven Central into $KAFKA_LIBS"
  mkdir -p "$KAFKA_HOME"; rm -rf "$tmp"
  # Maven's own JVM with the JIT's first tier only, too: 10 instead of 15 CPU-seconds.
  # shellcheck disable=SC2086
  if ! MAVEN_OPTS="${MAVEN_OPTS:-} $FLEET_KAFKA_JVM_OPTS" mvn -B -q -Dstyle.color=never -f "$KAFKA_SCRIPTS/pom.xml" -Dkafka.version="$FLEET_KAFKA_VERSION" \
        dependency:copy-dependencies -DoutputDirectory="$tmp" </dev/null >"$KAFKA_HOME/mvn.log" 2>&1; then
    cat "$KAFKA_HOME/mvn.log" >&2; rm -rf "$tmp"
    die "kafka: Maven could not resolve Kafka $FLEET_KAFKA_VERSION (log above)"
  fi
  [[ -f "$tmp/kafka_2.13-$FLEET_KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka: kafka_2.13-$FLEET_KAFKA_VERSION.jar missing after resolution"; }
  rm -rf "$KAFKA_LIBS"; mv "$tmp" "$KAFKA_LIBS"
  echo "$want" >"$stamp"
  log "kafka: resolved $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $(elapsed "$t0") s"
}

kafka_pid_ok() {
  local pid; pid=$(read_pid "$KAFKA_PID")
  pid_alive "$pid" || return 1
  # Guard against pid reuse: it must be our broker.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $KAFKA_PROPS" || return 1
  echo "$pid"
}

kafka_sasl_ssl() { [[ "$FLEET_KAFKA_SECURITY" == sasl_ssl ]]; }

# What kafka_format records and later starts compare against: the mode, and in
# sasl_ssl mode the SCRAM user (and a hash of its password), because both only
# take effect when the storage is formatted.
kafka_security_fingerprint() {
  if kafka_sasl_ssl; then
    printf 'sasl_ssl %s %s\n' "$FLEET_KAFKA_SASL_USERNAME" \
      "$(printf '%s' "$FLEET_KAFKA_SASL_PASSWORD" | sha256sum | cut -c1-16)"
  else
    echo plaintext
  fi
}

# Data formatted before the mode was recorded was formatted for plaintext.
kafka_check_security() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] || return 0
  local prev want prev_mode
  prev=$(cat "$KAFKA_FORMATTED_SECURITY" 2>/dev/null || echo plaintext)
  want=$(kafka_security_fingerprint)
  [[ "$prev" == "$want" ]] && return 0
  prev_mode=${prev%% *}
  if [[ "$prev_mode" != "$FLEET_KAFKA_SECURITY" ]]; then
    die "kafka: $KAFKA_DATA was formatted for FLEET_KAFKA_SECURITY=$prev_mode, not $FLEET_KAFKA_SECURITY.
       Use FLEET_KAFKA_SECURITY=$prev_mode, or another FLEET_LOCAL_DIR for the $FLEET_KAFKA_SECURITY broker,
       or run '$0 reset' (deletes all local data: postgres, redis and kafka) and start again."
  fi
  die "kafka: $KAFKA_DATA was formatted with SCRAM user '$(cut -d' ' -f2 <<<"$prev")' and another password than
       FLEET_KAFKA_SASL_USERNAME='$FLEET_KAFKA_SASL_USERNAME' / FLEET_KAFKA_SASL_PASSWORD now give; the SCRAM user is only
       created when the storage is formatted. Use the old values, or run '$0 reset' (deletes all local data)."
}

# Kafka's --add-scram parser splits on these characters, and the password also
# ends up in shell export lines (infra.sh env).
kafka_validate_sasl_user() {
  local name val
  for name in FLEET_KAFKA_SASL_USERNAME FLEET_KAFKA_SASL_PASSWORD; do
    val=${!name}
    [[ -n "$val" ]] || die "$name must not be empty"
    [[ "$val" =~ ^[A-Za-z0-9._~@%+:/-]+$ ]] || die "$name may only contain letters, digits and . _ ~ @ % + : / -"
  done
}

# A private CA and a broker certificate for 127.0.0.1 and localhost, made once
# with openssl. Clients trust $KAFKA_CA_PEM. (keytool, which comes with Java,
# needed seven JVM starts for the same: about 6 CPU-seconds, against well
# under one, and a test run makes this twice, for its private brokers.)
kafka_ensure_tls() {
  if [[ -s "$KAFKA_CA_PEM" && -s "$KAFKA_KEYSTORE" && -s "$KAFKA_KEYSTORE_PASSWORD_FILE" ]]; then return 0; fi
  command -v openssl >/dev/null || apt_install openssl
  local t0 tmp pass; t0=$(now_ms)
  tmp="$KAFKA_DIR/tls.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"; chmod 700 "$tmp"
  pass=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" >"$tmp/broker.ext"
  # The CA's key signs the broker's certificate and is then deleted: nothing
  # else is ever signed by it.
  if ! {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 \
      -subj "/CN=Fleet mesh local Kafka CA" -addext "basicConstraints=critical,CA:true" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -newkey rsa:2048 -nodes -keyout "$tmp/broker.key" -out "$tmp/broker.csr" -subj "/CN=localhost" &&
    openssl x509 -req -in "$tmp/broker.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days 3650 -extfile "$tmp/broker.ext" -out "$tmp/broker.pem" &&
    openssl pkcs12 -export -in "$tmp/broker.pem" -inkey "$tmp/broker.key" -certfile "$tmp/ca.pem" -name broker \
      -out "$tmp/broker.p12" -passout "fd:3" 3<<<"$pass"
  } >"$tmp/openssl.log" 2>&1; then
    cat "$tmp/openssl.log" >&2; rm -rf "$tmp"
    die "kafka: generating the TLS certificates with openssl failed (log above)"
  fi
  rm -f "$tmp/ca.key" "$tmp/broker.key" "$tmp/broker.csr" "$tmp/broker.ext" "$tmp/openssl.log"
  ( umask 077; printf '%s\n' "$pass" >"$tmp/keystore.password" )
  # The directory stays private (keys); clients of other users need the CA.
  chmod 755 "$tmp"; chmod 600 "$tmp/broker.p12"; chmod 644 "$tmp/ca.pem" "$tmp/broker.pem"
  rm -rf "$KAFKA_TLS_DIR"; mv "$tmp" "$KAFKA_TLS_DIR"
  log "kafka: made a local CA and a broker certificate for 127.0.0.1/localhost in $(elapsed "$t0") s ($KAFKA_CA_PEM)"
}

kafka_listener_props() {
  if kafka_sasl_ssl; then
    local pass; pass=$(cat "$KAFKA_KEYSTORE_PASSWORD_FILE")
    cat <<EOF
# FLEET_KAFKA_SECURITY=sasl_ssl: clients on SASL_SSL (TLS + SCRAM-SHA-512, like
# Amazon MSK); the broker's own traffic on PLAINTEXT listeners bound to loopback.
listeners=SASL_SSL://127.0.0.1:$FLEET_KAFKA_PORT,INTERNAL://127.0.0.1:$FLEET_KAFKA_INTERNAL_PORT,CONTROLLER://127.0.0.1:$FLEET_KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$FLEET_KAFKA_PORT,INTERNAL://127.0.0.1:$FLEET_KAFKA_INTERNAL_PORT
listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_KEYSTORE
ssl.keystore.password=$pass
ssl.key.password=$pass
ssl.client.auth=none
EOF
  else
    cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$FLEET_KAFKA_PORT,CONTROLLER://127.0.0.1:$FLEET_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$FLEET_KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
EOF
  fi
}

kafka_write_props() {
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  local listener_props; listener_props=$(kafka_listener_props)
  # In sasl_ssl mode the file holds the keystore password.
  ( if kafka_sasl_ssl; then umask 077; fi
  cat >"$KAFKA_PROPS.tmp" <<EOF
# Written by scripts/infra/infra.sh on every start. Single-node KRaft (broker+controller).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$FLEET_KAFKA_CONTROLLER_PORT
$listener_props
log.dirs=$KAFKA_DATA

# Topics come from scripts/kafka/topics.yaml (create-topics.mjs), never auto-created.
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

log.segment.bytes=104857600
log.retention.check.interval.ms=60000
EOF
  )
  mv -f "$KAFKA_PROPS.tmp" "$KAFKA_PROPS"
}

kafka_format() {
  local formatted_with="$KAFKA_DIR/formatted-with"
  if [[ -f "$KAFKA_DATA/meta.properties" ]]; then
    local prev; prev=$(cat "$formatted_with" 2>/dev/null || echo unknown)
    if [[ "$prev" != "unknown" && "$prev" != "$FLEET_KAFKA_VERSION" ]] \
       && [[ "$(printf '%s\n%s\n' "$prev" "$FLEET_KAFKA_VERSION" | sort -V | head -n1)" != "$prev" ]]; then
      die "kafka: $KAFKA_DATA was formatted by Kafka $prev, which is newer than $FLEET_KAFKA_VERSION (no downgrades); run '$0 reset'"
    fi
    kafka_check_security
    return 0
  fi
  local cluster_id
  # What `StorageTool random-uuid` prints (16 random bytes, URL-safe base64
  # without padding, not starting with '-'), without starting a JVM for it.
  cluster_id=-
  while [[ "$cluster_id" == -* ]]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "kafka: could not make a cluster id (got '$cluster_id')"
  local scram=()
  # SCRAM credentials live in the cluster metadata; formatting is the one
  # moment they can be added without a running broker.
  kafka_sasl_ssl && scram=(--add-scram "SCRAM-SHA-512=[name=$FLEET_KAFKA_SASL_USERNAME,password=$FLEET_KAFKA_SASL_PASSWORD]")
  log "kafka: formatting $KAFKA_DATA (cluster id $cluster_id)$(kafka_sasl_ssl && echo ", SCRAM-SHA-512 user '$FLEET_KAFKA_SASL_USERNAME'")"
  # shellcheck disable=SC2086
  if ! java $FLEET_KAFKA_JVM_OPTS -Dlog4j2.configurationFile="file:$KAFKA_SCRIPTS/log4j2-tools.xml" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
        --config "$KAFKA_PROPS" --cluster-id "$cluster_id" --ignore-formatted "${scram[@]}" >"$KAFKA_LOGS/format.log" 2>&1; then
    cat "$KAFKA_LOGS/format.log" >&2
    die "kafka: storage format failed (log above)"
  fi
  echo "$FLEET_KAFKA_VERSION" >"$formatted_with"
  kafka_security_fingerprint >"$KAFKA_FORMATTED_SECURITY"
}

kafka_start() {
  local pid
  # Before the "already running" shortcut: a broker in the other mode would
  # only show up as "not answering".
  kafka_check_security
  if pid=$(kafka_pid_ok); then
    run_node "$KAFKA_SCRIPTS/ready.mjs" --timeout "$FLEET_KAFKA_READY_TIMEOUT" --quiet \
      || die "kafka: broker process $pid is running but not answering on $FLEET_KAFKA_BROKERS (see $KAFKA_LOGS/server.log)"
    log "kafka: already running on 127.0.0.1:$FLEET_KAFKA_PORT$(kafka_sasl_ssl && echo ' (SASL_SSL)') (pid $pid)"
    run_node "$KAFKA_SCRIPTS/create-topics.mjs" --quiet || die "kafka: topic creation failed"
    return 0
  fi
  local p ports=("$FLEET_KAFKA_PORT" "$FLEET_KAFKA_CONTROLLER_PORT") port_vars="FLEET_KAFKA_PORT / FLEET_KAFKA_CONTROLLER_PORT"
  if kafka_sasl_ssl; then ports+=("$FLEET_KAFKA_INTERNAL_PORT"); port_vars+=" / FLEET_KAFKA_INTERNAL_PORT"; fi
  for p in "${ports[@]}"; do
    port_open "$p" && die "kafka: port 127.0.0.1:$p is already in use by another process (set $port_vars)"
  done
  kafka_ensure_java
  kafka_ensure_libs
  local t0; t0=$(now_ms)
  mkdir -p "$KAFKA_DIR"
  kafka_sasl_ssl && kafka_ensure_tls
  kafka_write_props
  kafka_format
  rm -f "$KAFKA_PID"
  if kafka_sasl_ssl; then
    log "kafka: starting Kafka $FLEET_KAFKA_VERSION (KRaft) on 127.0.0.1:$FLEET_KAFKA_PORT (SASL_SSL, SCRAM-SHA-512), internal 127.0.0.1:$FLEET_KAFKA_INTERNAL_PORT, controller 127.0.0.1:$FLEET_KAFKA_CONTROLLER_PORT"
  else
    log "kafka: starting Kafka $FLEET_KAFKA_VERSION (KRaft) on 127.0.0.1:$FLEET_KAFKA_PORT, controller 127.0.0.1:$FLEET_KAFKA_CONTROLLER_PORT"
  fi
  # shellcheck disable=SC2086
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PID" \
    java $FLEET_KAFKA_HEAP_OPTS $FLEET_KAFKA_JVM_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true \
      -Dkafka.logs.dir="$KAFKA_LOGS" \
      -Dlog4j2.configurationFile="file:$KAFKA_SCRIPTS/log4j2.xml" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
      </dev/null >"$KAFKA_LOGS/kafka.out" 2>&1 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do [[ -s "$KAFKA_PID" ]] && break; sleep 0.1; done
  pid=$(read_pid "$KAFKA_PID")
  [[ -n "$pid" ]] || die "kafka: broker process did not start (see $KAFKA_LOGS/kafka.out)"
  if ! FLEET_KAFKA_PID="$pid" run_node "$KAFKA_SCRIPTS/ready.mjs" --timeout "$FLEET_KAFKA_READY_TIMEOUT"; then
    echo "----- $KAFKA_LOGS/kafka.out (tail) -----" >&2; tail -n 20 "$KAFKA_LOGS/kafka.out" >&2 || true
    echo "----- $KAFKA_LOGS/server.log (tail) -----" >&2; tail -n 40 "$KAFKA_LOGS/server.log" >&2 || true
    pid_alive "$pid" && kill "$pid" 2>/dev/null || true
    die "kafka: broker did not become ready"
  fi
  log "kafka: ready in $(elapsed "$t0") s (pid $pid)"
  run_node "$KAFKA_SCRIPTS/create-topics.mjs" || die "kafka: topic creation failed"
}

kafka_stop() {
  local pid
  if ! pid=$(kafka_pid_ok); then log "kafka: not running"; rm -f "$KAFKA_PID"; return 0; fi
  log "kafka: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  wait_pid_exit "$pid" 60 || { warn "kafka: still running after 60 s, sending SIGKILL"; kill -9 "$pid" 2>/dev/null || true; wait_pid_exit "$pid" 10 || true; }
  rm -f "$KAFKA_PID"
}

kafka_status() {
  local pid
  local prev_mode
  prev_mode=$(cut -d' ' -f1 "$KAFKA_FORMATTED_SECURITY" 2>/dev/null || echo plaintext)
  if [[ -f "$KAFKA_DATA/meta.properties" && "$prev_mode" != "$FLEET_KAFKA_SECURITY" ]]; then
    status_line kafka down "127.0.0.1:$FLEET_KAFKA_PORT" "data formatted for FLEET_KAFKA_SECURITY=$prev_mode, not $FLEET_KAFKA_SECURITY"; return 1
  fi
  if pid=$(kafka_pid_ok) && run_node "$KAFKA_SCRIPTS/ready.mjs" --timeout 10 --quiet >/dev/null 2>&1; then
    if kafka_sasl_ssl; then
      status_line kafka up "127.0.0.1:$FLEET_KAFKA_PORT" "pid $pid, Kafka $FLEET_KAFKA_VERSION KRaft, SASL_SSL/SCRAM-SHA-512, internal :$FLEET_KAFKA_INTERNAL_PORT, controller :$FLEET_KAFKA_CONTROLLER_PORT"
    else
      status_line kafka up "127.0.0.1:$FLEET_KAFKA_PORT" "pid $pid, Kafka $FLEET_KAFKA_VERSION KRaft, controller :$FLEET_KAFKA_CONTROLLER_PORT"
    fi
  else
    status_line kafka down "127.0.0.1:$FLEET_KAFKA_PORT" "log $KAFKA_LOGS/server.log"; return 1
  fi
}

# ================================================================== common ==
wait_pid_exit() {
  local pid=$1 secs=$2 i
  for ((i = 0; i < secs * 5; i++)); do pid_alive "$pid" || return 0; sleep 0.2; done
  return 1
}

status_line() {
  local name=$1 state=$2 addr=$3 extra=$4 color=$_g
  [[ "$state" == up ]] || color=$_r
  printf '%-9s %s%-5s%s %-16s %s\n' "$name" "$color" "$state" "$_n" "$addr" "$extra"
}

# The components a command acts on: those named after it, else $1 (its default
# set). CHOSEN keeps them space-delimited; `chosen NAME` tests membership.
CHOSEN=""
choose_components() {
  local default=$1 c; shift
  for c in "$@"; do
    case "$c" in postgres|redis|kafka) ;; *) die "unknown component '$c' (valid: postgres redis kafka)";; esac
  done
  if (( $# > 0 )); then CHOSEN=" $* "; else CHOSEN=" $default "; fi
}
chosen() { [[ "$CHOSEN" == *" $1 "* ]]; }
chosen_list() { local c out=(); for c in postgres redis kafka; do chosen "$c" && out+=("$c"); done; echo "${out[*]}"; }

print_urls() {
  echo
  log "connection details:"
  chosen postgres && echo "  postgres  postgres://postgres:$FLEET_PG_SUPERUSER_PASSWORD@127.0.0.1:$FLEET_PG_PORT/postgres"
  chosen redis    && echo "  redis     redis://127.0.0.1:$FLEET_REDIS_PORT"
  if chosen kafka; then
    if kafka_sasl_ssl; then
      echo "  kafka     127.0.0.1:$FLEET_KAFKA_PORT (SASL_SSL, SCRAM-SHA-512 user '$FLEET_KAFKA_SASL_USERNAME', CA $KAFKA_CA_PEM, Kafka $FLEET_KAFKA_VERSION)"
    else
      echo "  kafka     127.0.0.1:$FLEET_KAFKA_PORT (PLAINTEXT, Kafka $FLEET_KAFKA_VERSION)"
    fi
  fi
  echo "  env       eval \"\$($0 env)\""
  return 0
}

cmd_env() {
  choose_components "$FLEET_INFRA_COMPONENTS" "$@"
  chosen postgres && {
    echo "export DATABASE_URL='postgres://postgres:$FLEET_PG_SUPERUSER_PASSWORD@127.0.0.1:$FLEET_PG_PORT/postgres'"
    echo "export PGHOST=127.0.0.1 PGPORT=$FLEET_PG_PORT PGUSER=postgres PGPASSWORD='$FLEET_PG_SUPERUSER_PASSWORD'"
  }
  chosen redis && echo "export REDIS_URL='redis://127.0.0.1:$FLEET_REDIS_PORT'"
  chosen kafka && echo "export KAFKA_BROKERS='127.0.0.1:$FLEET_KAFKA_PORT' FLEET_KAFKA_BROKERS='127.0.0.1:$FLEET_KAFKA_PORT'"
  # The settings scripts/kafka/*.mjs, the scripts/events-*.ts tools and the Helm
  # topic Job read; FLEET_KAFKA_SECURITY keeps later infra.sh calls in this mode.
  if chosen kafka && kafka_sasl_ssl; then
    echo "export FLEET_KAFKA_SECURITY=sasl_ssl FLEET_KAFKA_TLS=true FLEET_KAFKA_TLS_CA_FILE='$KAFKA_CA_PEM'"
    echo "export FLEET_KAFKA_SASL_MECHANISM=scram-sha-512 FLEET_KAFKA_SASL_USERNAME='$FLEET_KAFKA_SASL_USERNAME' FLEET_KAFKA_SASL_PASSWORD='$FLEET_KAFKA_SASL_PASSWORD'"
  fi
  return 0
}

# Serialises concurrent start/stop/reset. Daemons are started with 9>&- so they
# do not inherit (and keep holding) the lock.
take_lock() {
  exec 9>"$FLEET_LOCAL_DIR/.infra.lock"
  flock -w 300 9 || die "another infra.sh is running (lock $FLEET_LOCAL_DIR/.infra.lock held for 300 s)"
}

cmd_start() {
  choose_components "$FLEET_INFRA_COMPONENTS" "$@"
  local t0; t0=$(now_ms)
  take_lock
  chosen postgres && pg_start
  chosen redis && redis_start
  chosen kafka && kafka_start
  log "started in $(elapsed "$t0") s ($(chosen_list)); data in $FLEET_LOCAL_DIR"
  print_urls
}

# Installs what the components need without starting them (packages; Kafka's
# jars from Maven Central): scripts/test.sh runs it while npm ci runs. Under
# the same lock as start, which so waits for it.
cmd_prepare() {
  choose_components "$FLEET_INFRA_COMPONENTS" "$@"
  local t0; t0=$(now_ms)
  take_lock
  chosen postgres && pg_ensure_installed
  chosen redis && redis_ensure_installed
  if chosen kafka; then kafka_ensure_java; kafka_ensure_libs; fi
  log "prepared in $(elapsed "$t0") s ($(chosen_list))"
}

cmd_stop() {
  # With no component named: everything we may have started, whatever
  # FLEET_INFRA_COMPONENTS says now.
  choose_components "postgres redis kafka" "$@"
  take_lock
  chosen kafka && kafka_stop
  chosen redis && redis_stop
  if chosen postgres; then
    if [[ -x "$FLEET_PG_BIN/pg_ctl" ]]; then pg_stop; else log "postgres: not installed"; fi
  fi
  return 0
}

cmd_status() {
  choose_components "$FLEET_INFRA_COMPONENTS" "$@"
  local rc=0
  chosen postgres && { pg_status || rc=1; }
  chosen redis && { redis_status || rc=1; }
  chosen kafka && { kafka_status || rc=1; }
  return $rc
}

cmd_reset() {
  cmd_stop "$@"
  local dirs=()
  chosen postgres && dirs+=("$PG_DIR")
  chosen redis && dirs+=("$REDIS_DIR")
  chosen kafka && dirs+=("$KAFKA_DIR")
  log "deleting data in ${dirs[*]}"
  rm -rf "${dirs[@]}"
}

cmd_logs() {
  choose_components "postgres redis kafka" "$@"
  chosen postgres && echo "$PG_LOG"
  chosen redis && echo "$REDIS_DIR/redis.log"
  chosen kafka && echo "$KAFKA_LOGS/server.log"
  return 0
}

usage() {
  cat <<EOF
Usage: $0 <command> [component...]     (components: postgres redis kafka)

  start  [c...]  start the named components (default: FLEET_INFRA_COMPONENTS, now "$FLEET_INFRA_COMPONENTS");
                 idempotent; starting Kafka creates its topics
  prepare [c...] install what the named components need (packages, Kafka's jars) without starting them
  stop   [c...]  stop the named components; with none named, all three
  status [c...]  one line per component (default: FLEET_INFRA_COMPONENTS); exits 1 if any of them is down
  reset  [c...]  stop the named components (default: all three) and delete their data
                 (keeps $FLEET_LOCAL_DIR/bin and the Kafka jar cache)
  env    [c...]  print export lines (DATABASE_URL, REDIS_URL, KAFKA_BROKERS; Kafka TLS/SASL settings in
                 sasl_ssl mode; default: FLEET_INFRA_COMPONENTS): eval "\$($0 env)"
  logs   [c...]  print the log file paths (default: all three)

Environment (defaults): FLEET_LOCAL_DIR (<repo>/.local), FLEET_INFRA_COMPONENTS ("postgres redis kafka"),
  FLEET_PG_PORT (55432), FLEET_PG_SUPERUSER_PASSWORD (postgres), FLEET_PG_FAST (0),
  FLEET_REDIS_PORT (56379), FLEET_KAFKA_PORT (59092), FLEET_KAFKA_CONTROLLER_PORT (59093),
  FLEET_KAFKA_VERSION ($FLEET_KAFKA_VERSION), FLEET_CACHE_DIR (~/.cache/fleet-mesh),
  FLEET_KAFKA_SECURITY (plaintext | sasl_ssl: TLS + SCRAM-SHA-512 like Amazon MSK), and for sasl_ssl
  FLEET_KAFKA_INTERNAL_PORT (59094), FLEET_KAFKA_SASL_USERNAME (fleetmesh), FLEET_KAFKA_SASL_PASSWORD. See docs/local-infra.md.
EOF
}

main() {
  validate_components
  validate_port FLEET_PG_PORT "$FLEET_PG_PORT"
  validate_port FLEET_REDIS_PORT "$FLEET_REDIS_PORT"
  validate_port FLEET_KAFKA_PORT "$FLEET_KAFKA_PORT"
  validate_port FLEET_KAFKA_CONTROLLER_PORT "$FLEET_KAFKA_CONTROLLER_PORT"
  case "$FLEET_KAFKA_SECURITY" in
    plaintext) ;;
    sasl_ssl)
      validate_port FLEET_KAFKA_INTERNAL_PORT "$FLEET_KAFKA_INTERNAL_PORT"
      kafka_validate_sasl_user
      local a b
      for a in FLEET_KAFKA_PORT FLEET_KAFKA_CONTROLLER_PORT FLEET_KAFKA_INTERNAL_PORT; do
        for b in FLEET_KAFKA_PORT FLEET_KAFKA_CONTROLLER_PORT FLEET_KAFKA_INTERNAL_PORT; do
          [[ "$a" < "$b" && "${!a}" == "${!b}" ]] && die "$a and $b must differ (both are ${!a})"
        done
      done ;;
    *) die "FLEET_KAFKA_SECURITY must be plaintext or sasl_ssl, got '$FLEET_KAFKA_SECURITY'" ;;
  esac
  local cmd="${1:-}"; shift || true
  case "$cmd" in
    start) cmd_start "$@" ;;
    prepare) cmd_prepare "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    reset) cmd_reset "$@" ;;
    env) cmd_env "$@" ;;
    logs) cmd_logs "$@" ;;
    -h|--help|help) usage ;;
    "") usage >&2; exit 2 ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
