#!/usr/bin/env bash
# Writes a kubeconfig that acts as a ServiceAccount of the running e2e cluster, to check RBAC rules
# (e.g. the chart's ClusterRole) the way the operator's pod would hit them.
# Usage: sa-kubeconfig.sh NAMESPACE SERVICEACCOUNT [OUT] [DURATION]
#   OUT defaults to e2e/.cluster/sa-NAMESPACE-SERVICEACCOUNT.kubeconfig; DURATION to 1h.
# Prints the kubeconfig's path. The ServiceAccount must exist.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

NS="${1:?usage: sa-kubeconfig.sh NAMESPACE SERVICEACCOUNT [OUT] [DURATION]}"
SA="${2:?usage: sa-kubeconfig.sh NAMESPACE SERVICEACCOUNT [OUT] [DURATION]}"
OUT="${3:-$STATE_DIR/sa-$NS-$SA.kubeconfig}"
DURATION="${4:-1h}"
ADMIN="$STATE_DIR/kubeconfig"
[[ -f "$ADMIN" ]] || { echo "no cluster: run e2e/cluster/up.sh first" >&2; exit 1; }
kubectl() { "$TOOLS_BIN/kubectl" --kubeconfig="$ADMIN" "$@"; }

# A bound token from the TokenRequest API, as the kubelet would mount into the pod.
TOKEN="$(kubectl create token "$SA" -n "$NS" --duration="$DURATION")"
SERVER="$(kubectl config view --raw -o jsonpath='{.clusters[0].cluster.server}')"
CA="$(kubectl config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"

umask 077
cat >"$OUT" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $SERVER
    certificate-authority-data: $CA
users:
- name: system:serviceaccount:$NS:$SA
  user:
    token: $TOKEN
contexts:
- name: $NS-$SA
  context: {cluster: e2e, user: "system:serviceaccount:$NS:$SA", namespace: $NS}
current-context: $NS-$SA
EOF
echo "$OUT"
