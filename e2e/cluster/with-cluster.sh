#!/usr/bin/env bash
# Runs a command against a fresh e2e cluster and always stops the cluster afterwards, also when the
# command fails or the run is interrupted (logs stay in e2e/.cluster/logs).
# Usage: with-cluster.sh COMMAND [ARGS...]   e.g. with-cluster.sh npx jest -c jest.e2e.config.js
# Sets E2E_CLUSTER=external, so the jest global setup uses this cluster instead of starting its own.
set -euo pipefail
CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

(($# > 0)) || { echo "usage: with-cluster.sh COMMAND [ARGS...]" >&2; exit 2; }

trap 'bash "$CLUSTER_DIR/down.sh"' EXIT
# Turn signals into a normal exit so the EXIT trap runs.
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$CLUSTER_DIR/up.sh"
E2E_CLUSTER=external "$@"
