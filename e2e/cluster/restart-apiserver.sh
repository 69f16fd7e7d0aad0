#!/usr/bin/env bash
# Restarts the running e2e cluster's kube-apiserver with the very same command line (fault tests:
# every client sees its connections drop and the API go away for a few seconds, as in an upgrade
# of the control plane). Usage: restart-apiserver.sh [DOWN_SECONDS]  (extra pause while it is down)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

PIDS="$STATE_DIR/pids"
log() { echo "[cluster:restart-apiserver] $*" >&2; }
read -r _ pid bin < <(awk '$1 == "kube-apiserver"' "$PIDS")
[[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$bin")" ]] || { log "kube-apiserver ($pid) is not running"; exit 1; }
mapfile -d '' -t argv <"/proc/$pid/cmdline"

START=$SECONDS
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { log "kube-apiserver ignored SIGTERM for 10s; sending SIGKILL"; kill -KILL "$pid"; sleep 0.5; }
log "stopped kube-apiserver ($pid)"
sleep "${1:-0}"

setsid "${argv[@]}" </dev/null >>"$STATE_DIR/logs/kube-apiserver.log" 2>&1 &
new=$!
# Replace the recorded PID so down.sh stops the new process.
awk -v p="$new" '$1 == "kube-apiserver" { $2 = p } { print }' "$PIDS" >"$PIDS.tmp" && mv "$PIDS.tmp" "$PIDS"

token="$(cut -d, -f1 "$STATE_DIR/pki/tokens.csv")"
port="$(grep -oP 'E2E_API_SERVER=https://127.0.0.1:\K[0-9]+' "$STATE_DIR/env")"
for _ in $(seq 600); do
  curl -skf -H "Authorization: Bearer $token" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { log "kube-apiserver ($new) ready again after $((SECONDS - START))s"; exit 0; }
  kill -0 "$new" 2>/dev/null || { log "kube-apiserver exited while restarting"; exit 1; }
  sleep 0.2
done
log "timed out waiting for kube-apiserver"
exit 1
