#!/usr/bin/env bash
# Prints a directory holding the CRDs of Kubeflow Trainer (TrainJob, ClusterTrainingRuntime,
# TrainingRuntime) and Kueue's Workload, taken from their Go modules through the Go module proxy
# (`go mod download`, checksums verified against sum.golang.org) at the versions in versions.sh, and
# cached under ~/.cache/trainer-agent/cluster/. The e2e tests apply them to the real API server, which
# then validates the operator's TrainJobs against Trainer's own schema.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

if [[ ! -f "$CRDS_DIR/.complete" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  module_dir() { (cd "$tmp" && go mod download -json "$1@$2") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
  trainer="$(module_dir github.com/kubeflow/trainer/v2 "$KUBEFLOW_TRAINER_VERSION")"
  kueue="$(module_dir sigs.k8s.io/kueue "$KUEUE_VERSION")"
  [[ -d "$trainer" && -d "$kueue" ]] || { echo "third-party-crds: go mod download gave no module directory" >&2; exit 1; }
  mkdir -p "$CRDS_DIR"
  cp "$trainer"/manifests/base/crds/trainer.kubeflow.org_*.yaml "$CRDS_DIR/"
  cp "$trainer"/manifests/base/runtimes/torch_distributed.yaml "$CRDS_DIR/runtime-torch-distributed.yaml"
  cp "$kueue"/config/components/crd/bases/kueue.x-k8s.io_workloads.yaml "$CRDS_DIR/"
  chmod -R u+w "$CRDS_DIR"
  printf 'kubeflow-trainer %s\nkueue %s\n' "$KUBEFLOW_TRAINER_VERSION" "$KUEUE_VERSION" >"$CRDS_DIR/.complete"
fi
echo "$CRDS_DIR"
