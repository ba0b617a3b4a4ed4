#!/usr/bin/env bash
# supervise.sh RUN_PREFIX COMMAND...: runs COMMAND and starts it again when it
# exits, crashes or is killed (SIGKILL included), after 1 s, doubling up to 30 s
# while it keeps dying within a minute of its start. What Kubernetes does for a
# pod, for the processes `npm run up` starts on a developer's machine.
#
# Writes RUN_PREFIX.supervisor.pid (this script) and RUN_PREFIX.pid (the
# command's current process). SIGTERM or SIGINT to this script is passed to the
# command, waited for, and ends the supervision: that is how `npm run down`
# and a re-run of `npm run up` stop a service.
set -u
prefix=$1
shift

child="" pause="" stopping=0
stop() {
  stopping=1
  [[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null
  [[ -n "$pause" ]] && kill "$pause" 2>/dev/null
}
trap stop TERM INT
echo $$ >"$prefix.supervisor.pid"
note() { echo "[supervise] $(date -u +%FT%TZ) $*"; }

delay=1
while :; do
  started=$SECONDS
  "$@" &
  child=$!
  echo "$child" >"$prefix.pid"
  # wait returns early when a signal arrives; the loop waits for the child itself.
  wait "$child"; code=$?
  while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done
  child=""
  (( stopping )) && break
  ran=$((SECONDS - started))
  (( ran >= 60 )) && delay=1
  note "$(basename "$prefix") exited with status $code after ${ran} s; starting it again in ${delay} s"
  sleep "$delay" &
  pause=$!
  wait "$pause"
  pause=""
  (( stopping )) && break
  delay=$(( delay * 2 > 30 ? 30 : delay * 2 ))
done
rm -f "$prefix.pid" "$prefix.supervisor.pid"
note "$(basename "$prefix") stopped"
