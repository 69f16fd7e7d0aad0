#!/usr/bin/env bash
# Stops the processes up.sh started, and only those: each line of e2e/.cluster/pids is
# "name pid binary", and a PID is signalled only while it still runs that binary (PIDs get reused).
# Keeps e2e/.cluster/logs for the post-mortem. Safe to run when nothing is up.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

PIDS="$STATE_DIR/pids"
log() { echo "[cluster:down] $*" >&2; }
[[ -f "$PIDS" ]] || { log "nothing to stop (no $PIDS)"; exit 0; }

ours() { # pid binary: true while pid is alive and still runs binary
  [[ "$(readlink "/proc/$1/exe" 2>/dev/null)" == "$(readlink -f "$2")" ]]
}

# Reverse start order: kwok and controllers first, etcd last, so nothing logs spurious errors
# about a vanished dependency while it is still meant to be running.
mapfile -t lines < <(tac "$PIDS")
for line in "${lines[@]}"; do
  read -r name pid bin <<<"$line"
  ours "$pid" "$bin" || continue
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do ours "$pid" "$bin" || break; sleep 0.1; done
  if ours "$pid" "$bin"; then
    log "$name ($pid) ignored SIGTERM for 5s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  log "stopped $name ($pid)"
done
rm -f "$PIDS"
log "logs kept in $STATE_DIR/logs"
