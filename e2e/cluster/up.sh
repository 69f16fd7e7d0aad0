#!/usr/bin/env bash
# Starts a real Kubernetes control plane as local processes for e2e tests: etcd, kube-apiserver
# (RBAC, token auth, service-account keys), kube-controller-manager, kube-scheduler and kwok playing
# the kubelets of three fake nodes (two with 8 nvidia.com/gpu each, one CPU-only).
# Writes e2e/.cluster/: kubeconfig (admin), pids, env (ports, paths), logs/. Stop with down.sh.
# On failure it prints the logs' tails and stops whatever it had started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

START=$SECONDS
LOGS="$STATE_DIR/logs"
PKI="$STATE_DIR/pki"
KUBECONFIG_FILE="$STATE_DIR/kubeconfig"

log() { echo "[cluster:up] $*" >&2; }

# A failed start must not leave processes behind: jest skips globalTeardown when globalSetup throws.
on_exit() {
  local rc=$?
  ((rc == 0)) && return
  log "start-up failed (exit $rc); last log lines:"
  for f in "$LOGS"/*.log; do [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 10 "$f" >&2; }; done
  bash "$CLUSTER_DIR/down.sh" >&2 || true
  exit "$rc"
}
trap on_exit EXIT

# A pids file means a cluster from an earlier run may still be up; stop it (by its recorded PIDs).
[[ -f "$STATE_DIR/pids" ]] && { log "stopping the cluster of an earlier run"; bash "$CLUSTER_DIR/down.sh"; }

bash "$CLUSTER_DIR/build.sh" >/dev/null

# Fresh state every time (etcd data, certificates, tokens); keep the previous run's logs beside it.
rm -rf "$STATE_DIR/logs.previous"
[[ -d "$LOGS" ]] && mv "$LOGS" "$STATE_DIR/logs.previous"
find "$STATE_DIR" -mindepth 1 -maxdepth 1 ! -name 'logs.previous' -exec rm -rf {} + 2>/dev/null || true
mkdir -p "$LOGS" "$PKI"
mkdir -m 700 "$STATE_DIR/etcd" # etcd warns about anything wider

# Free ports, all bound at once so none is handed out twice.
read -r ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT KWOK_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)

# Service-account signing keys and a static admin token (group system:masters bypasses RBAC).
openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
ADMIN_TOKEN="$(openssl rand -hex 24)"
echo "$ADMIN_TOKEN,admin,admin,\"system:masters\"" >"$PKI/tokens.csv"
chmod 600 "$PKI/sa.key" "$PKI/tokens.csv"

# Starts a process in its own session (a Ctrl-C or a killed caller does not take it down; down.sh
# does) and records "name pid binary" so down.sh stops exactly this process.
start() { # name binary args...
  local name="$1"
  shift
  setsid "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
  echo "$name $! $1" >>"$STATE_DIR/pids"
}

# Polls until a command succeeds; fails fast when the process it waits for has died.
wait_for() { # what pid timeout-seconds command...
  local what="$1" pid="$2" deadline=$((SECONDS + $3))
  shift 3
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { log "$what exited during start-up"; return 1; }
    ((SECONDS < deadline)) || { log "timed out waiting for $what"; return 1; }
    sleep 0.2
  done
  log "$what ready after $((SECONDS - START))s"
}
pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$STATE_DIR/pids"; }

# etcd: fsync off, the data is thrown away after the run anyway.
start etcd "$ETCD_BIN/etcd" \
  --name=e2e --data-dir="$STATE_DIR/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync --log-level=warn
wait_for etcd "$(pid_of etcd)" 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

# kube-apiserver with RBAC on, so the chart's least-privilege rules are tested for real. With
# --cert-dir it writes a self-signed serving certificate that the kubeconfig trusts.
start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$API_PORT" --cert-dir="$PKI/apiserver" \
  --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
  --authorization-mode=RBAC --token-auth-file="$PKI/tokens.csv" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --endpoint-reconciler-type=none \
  --audit-policy-file="$CLUSTER_DIR/audit-policy.yaml" --audit-log-path="$LOGS/audit.log" \
  --audit-log-format=json --audit-log-maxsize=2000 --audit-log-maxbackup=1
wait_for kube-apiserver "$(pid_of kube-apiserver)" 90 \
  curl -skf -H "Authorization: Bearer $ADMIN_TOKEN" "https://127.0.0.1:$API_PORT/readyz"

# Admin kubeconfig with the CA inline, so it works from any directory and from client-node.
cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/apiserver/apiserver.crt")
users:
- name: admin
  user:
    token: $ADMIN_TOKEN
contexts:
- name: e2e
  context: {cluster: e2e, user: admin, namespace: default}
current-context: e2e
EOF
chmod 600 "$KUBECONFIG_FILE"

common=(--kubeconfig="$KUBECONFIG_FILE" --authentication-kubeconfig="$KUBECONFIG_FILE"
  --authorization-kubeconfig="$KUBECONFIG_FILE" --leader-elect=false --bind-address=127.0.0.1)

# Each controller acts as its own ServiceAccount (as in kubeadm clusters), so Job, ReplicaSet and
# garbage-collector permissions are the real bootstrap RBAC ones.
start kube-controller-manager "$K8S_BIN/kube-controller-manager" "${common[@]}" \
  --secure-port="$KCM_PORT" --cert-dir="$PKI/kube-controller-manager" \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/apiserver/apiserver.crt"
start kube-scheduler "$K8S_BIN/kube-scheduler" "${common[@]}" \
  --secure-port="$SCHED_PORT" --cert-dir="$PKI/kube-scheduler"

# kwok config: the upstream fast stages plus ours (held pods finish when a test says how).
for f in "$CLUSTER_DIR"/kwok/upstream/*.yaml "$CLUSTER_DIR"/kwok/*.yaml; do
  echo "---"
  cat "$f"
done >"$STATE_DIR/kwok.yaml"
start kwok "$KWOK_BIN/kwok" --kubeconfig="$KUBECONFIG_FILE" --config="$STATE_DIR/kwok.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 --server-address="127.0.0.1:$KWOK_PORT"

kubectl() { "$TOOLS_BIN/kubectl" --kubeconfig="$KUBECONFIG_FILE" "$@"; }
wait_for kube-controller-manager "$(pid_of kube-controller-manager)" 60 \
  curl -skf "https://127.0.0.1:$KCM_PORT/healthz"
wait_for kube-scheduler "$(pid_of kube-scheduler)" 60 curl -skf "https://127.0.0.1:$SCHED_PORT/healthz"

kubectl apply -f "$CLUSTER_DIR/nodes.yaml" >/dev/null
# kwok's node-initialize stage marks them Ready; then the scheduler may place pods on them.
wait_for "fake nodes Ready" "$(pid_of kwok)" 60 \
  kubectl wait --for=condition=Ready node --all --timeout=2s
# Pods need the namespace's default ServiceAccount, which the controller-manager creates.
wait_for "default ServiceAccount" "$(pid_of kube-controller-manager)" 60 kubectl get serviceaccount default

cat >"$STATE_DIR/env" <<EOF
# Written by up.sh; source it to use the running e2e cluster.
export KUBECONFIG="$KUBECONFIG_FILE"
export PATH="$TOOLS_BIN:\$PATH"
E2E_API_SERVER=https://127.0.0.1:$API_PORT
E2E_ETCD=http://127.0.0.1:$ETCD_PORT
E2E_KWOK=http://127.0.0.1:$KWOK_PORT
E2E_TOOLS_BIN=$TOOLS_BIN
EOF
log "cluster up in $((SECONDS - START))s: kubectl --kubeconfig $KUBECONFIG_FILE (or: source $STATE_DIR/env)"
