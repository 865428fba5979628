#!/usr/bin/env bash
# Builds the pinned test cluster binaries (kube-apiserver, kubectl, etcd) from the Kubernetes and
# etcd Go modules, fetched through the Go module proxy, into
#   ${AG_E2E_CACHE:-$HOME/.cache/ambient-guard/e2e}/k8s-<KUBE_VERSION>_etcd-<ETCD_VERSION>/bin
# and prints that bin directory. A binary already there is reused (its version is part of the path),
# so only the first run pays for the build; see README "Tests" for how long that takes.
#
# k8s.io/kubernetes is not meant to be consumed as a module: its go.mod requires every k8s.io/*
# staging module at v0.0.0 and replaces them with ./staging/src/..., which does not apply to a
# dependency. A throwaway module requires it and replaces each staging module with the published
# v0.<minor>.<patch> release of the same tag. etcd's server module has replace directives too, so it
# is built the same way. Go is test infrastructure only: nothing here ends up in ambient-guard.
set -euo pipefail

KUBE_VERSION=${AG_E2E_KUBE_VERSION:-v1.36.3}
ETCD_VERSION=${AG_E2E_ETCD_VERSION:-v3.6.17}
CACHE=${AG_E2E_CACHE:-$HOME/.cache/ambient-guard/e2e}
OUT="$CACHE/k8s-$KUBE_VERSION"_"etcd-$ETCD_VERSION"
BIN="$OUT/bin"
# -trimpath and no symbols/DWARF: smaller binaries, faster links; GOFLAGS from the caller is kept.
GOBUILD=(go build -trimpath -ldflags=-s\ -w)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOWORK=off

log() { echo "e2e-build: $*" >&2; }

need() { [[ -x "$BIN/$1" ]] || return 0; return 1; }

timed() {  # timed LABEL CMD...: runs CMD, logs its wall time
  local label=$1 start=$SECONDS
  shift
  "$@"
  log "$label took $((SECONDS - start)) s"
}

build_kube() {
  local dir="$OUT/src/kubernetes" staging_minor=${KUBE_VERSION#v1.}
  local staging="v0.$staging_minor"
  mkdir -p "$dir"
  (
    cd "$dir"
    log "kube-apiserver and kubectl $KUBE_VERSION (staging modules $staging)"
    # The .mod of k8s.io/kubernetes names the staging modules it replaces.
    local gomod
    gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
    {
      echo "module ambient-guard.test/e2e-kubernetes"
      echo
      echo "go $(sed -n 's/^go //p' "$gomod")"
      echo
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      echo
      echo "replace ("
      sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" | while read -r m; do
        # Pin every staging module to the same release. The proxy may lack a module nothing we build
        # imports (k8s.io/sample-*); leave those out rather than fail.
        if go mod download "$m@$staging" 2>/dev/null; then
          echo "	$m => $m $staging"
        else
          log "  skipping $m@$staging (not on the proxy; not needed by the binaries)"
        fi
      done
      echo ")"
    } >go.mod.new
    mv go.mod.new go.mod
    timed "kubernetes module download" go mod download k8s.io/kubernetes
    GOFLAGS="${GOFLAGS:-} -mod=mod" timed "resolving kubernetes dependencies" \
      go list -deps k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl >/dev/null
    # What hack/lib/version.sh stamps into a release build: without it the binaries report
    # v0.0.0-master and kubectl warns about version skew.
    local minor=${KUBE_VERSION#v1.}
    minor=${minor%%.*}
    local ldflags="-s -w" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
      ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    timed "kube-apiserver build" go build -trimpath -ldflags="$ldflags" \
      -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
    timed "kubectl build" go build -trimpath -ldflags="$ldflags" \
      -o "$BIN/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
    mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
    mv "$BIN/kubectl.tmp" "$BIN/kubectl"
  )
}

build_etcd() {
  local dir="$OUT/src/etcd"
  mkdir -p "$dir"
  (
    cd "$dir"
    log "etcd $ETCD_VERSION"
    local gomod
    gomod=$(go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
    {
      echo "module ambient-guard.test/e2e-etcd"
      echo
      echo "go $(sed -n 's/^go //p' "$gomod")"
      echo
      echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
      echo
      echo "replace ("
      # server/go.mod replaces its sibling modules (api, client, pkg) with ../<dir>.
      sed -n 's#^\s*\(go.etcd.io/etcd/[a-z0-9/]*\) => \.\./.*#\1#p' "$gomod" | sort -u | while read -r m; do
        echo "	$m => $m $ETCD_VERSION"
      done
      echo ")"
    } >go.mod.new
    mv go.mod.new go.mod
    GOFLAGS="${GOFLAGS:-} -mod=mod" timed "etcd module download" go list -deps go.etcd.io/etcd/server/v3 >/dev/null
    timed "etcd build" "${GOBUILD[@]}" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
    mv "$BIN/etcd.tmp" "$BIN/etcd"
  )
}

# istiod (pilot-discovery) for the differential test (issue 15), from istio.io/istio pinned to a
# pseudo-version of the 1.31 release line (VERSION file "1.31", istio.io/api v1.31.0-rc): the
# proxy serves no release tags of istio.io/istio. Built only by `build.sh istiod`, into its own
# directory keyed by that version; prints the binary's path.
ISTIO_VERSION=${AG_E2E_ISTIO_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}
ISTIO_OUT="$CACHE/istio-$ISTIO_VERSION"

build_istiod() {
  local dir="$ISTIO_OUT/src/istio"
  mkdir -p "$dir" "$ISTIO_OUT/bin"
  (
    cd "$dir"
    log "pilot-discovery (istio.io/istio $ISTIO_VERSION)"
    local gomod
    gomod=$(go mod download -json "istio.io/istio@$ISTIO_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
    printf 'module ambient-guard.test/e2e-istio\n\ngo %s\n\nrequire istio.io/istio %s\n' \
      "$(sed -n 's/^go //p' "$gomod")" "$ISTIO_VERSION" >go.mod
    GOFLAGS="${GOFLAGS:-} -mod=mod" timed "istio module download" \
      go list -deps istio.io/istio/pilot/cmd/pilot-discovery >/dev/null
    timed "pilot-discovery build" nice -n 10 "${GOBUILD[@]}" -o "$ISTIO_OUT/bin/pilot-discovery.tmp" \
      istio.io/istio/pilot/cmd/pilot-discovery
    mv "$ISTIO_OUT/bin/pilot-discovery.tmp" "$ISTIO_OUT/bin/pilot-discovery"
  )
}

if [[ ${1:-} == istiod ]]; then
  [[ -x $ISTIO_OUT/bin/pilot-discovery ]] || build_istiod
  echo "$ISTIO_OUT/bin/pilot-discovery"
  exit 0
fi
if [[ ${1:-} == istiod-version ]]; then
  echo "$ISTIO_VERSION"
  exit 0
fi
if [[ ${1:-} == istiod-path ]]; then  # where the cached binary is (or would be), without building
  echo "$ISTIO_OUT/bin/pilot-discovery"
  exit 0
fi

mkdir -p "$BIN"
if need kube-apiserver || need kubectl; then
  build_kube
fi
if need etcd; then
  build_etcd
fi
echo "$BIN"
