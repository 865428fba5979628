#!/usr/bin/env bash
# End-to-end tests against a real kube-apiserver and etcd (issue 14).
#
#   ./scripts/e2e.sh [FILTER]     FILTER: a regular expression on test names (test_enforce_...)
#
# 1. Builds ambient-guard (build/, plain release, ccache) and, once per version, kube-apiserver,
#    kubectl and etcd from the Kubernetes and etcd Go modules through the Go module proxy
#    (tests/e2e/build.sh). They are cached outside the clone, in
#    ${AG_E2E_CACHE:-$HOME/.cache/ambient-guard/e2e}/k8s-<version>_etcd-<version>/bin, so the
#    first run on a machine is the slow one (module download plus a Go build of the three
#    binaries: about 20 minutes on 2 cores); later runs, and fresh clones on the same machine,
#    start at once.
# 2. Starts etcd and kube-apiserver on 127.0.0.1 (free ports) with certificates made here: RBAC,
#    service account token signing, the admission webhook plugins, an audit log.
# 3. Installs the Istio and Gateway API CRDs, ambient-guard's ServiceAccount and ClusterRole from
#    deploy/base, and runs two ambient-guard processes (`serve --kubeconfig`, with a token of that
#    ServiceAccount): one with the config of deploy/overlays/enforce, one with that of
#    deploy/overlays/pilot. The tests switch the cluster between the two overlays' webhook
#    configurations, which differ from `kubectl kustomize deploy/overlays/<mode>` only in
#    clientConfig (url: https://127.0.0.1:PORT/..., the test CA as caBundle).
# 4. Runs tests/e2e/test_*.sh, prints PASS/FAIL per test and ends with "N passed, M failed".
#    Everything it started is stopped on exit, also on failure or Ctrl-C.
#
# Environment: AG_E2E_KUBE_VERSION, AG_E2E_ETCD_VERSION (pins, see tests/e2e/build.sh),
# AG_E2E_CACHE, AG_E2E_CRDS (directory with the CRD files; default ../shared/corpus/crds),
# AG_E2E_BINARY (an ambient-guard binary to test instead of building build/ambient-guard),
# AG_E2E_KEEP=1 (keep the scratch directory with every log), AG_E2E_ISTIOD (0/1: the istiod
# differential test, see below), AG_E2E_ISTIO_VERSION (the istio.io/istio pin of build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
E2E_REPO=$PWD
FILTER=${1:-}

# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh
TEST_FILES=(
  tests/e2e/test_rbac.sh
  tests/e2e/test_admission.sh
  tests/e2e/test_mutation.sh
  tests/e2e/test_waypoint.sh
  tests/e2e/test_filters.sh
  tests/e2e/test_translate.sh
  tests/e2e/test_watch.sh
  tests/e2e/test_control_plane.sh
  tests/e2e/test_outage.sh
  tests/e2e/test_policy_reports.sh
)
# The istiod differential test (tests/e2e/test_istiod.sh, issue 15) needs pilot-discovery, a Go
# build of istio.io/istio that takes as long as the three cluster binaries together. It runs
# when AG_E2E_ISTIOD=1 (building it once), when the binary is already cached, or when FILTER
# selects it; AG_E2E_ISTIOD=0 never runs it. scripts/test.sh (CI) thus skips it on a fresh machine.
E2E_ISTIOD=
E2E_ISTIO_VERSION=$(./tests/e2e/build.sh istiod-version)
istiod_wanted() {
  case ${AG_E2E_ISTIOD:-} in
  1) return 0 ;;
  0) return 1 ;;
  esac
  [[ -x $(./tests/e2e/build.sh istiod-path) ]] && return 0
  local t
  if [[ -n $FILTER ]]; then
    for t in $(list_tests tests/e2e/test_istiod.sh); do
      test_selected "$FILTER" "$t" && return 0
    done
  fi
  return 1
}
if istiod_wanted; then
  TEST_FILES+=(tests/e2e/test_istiod.sh)
else
  echo "e2e: skipping the istiod differential test (pilot-discovery not built; AG_E2E_ISTIOD=1 builds it)" >&2
fi
for f in "${TEST_FILES[@]}"; do
  # shellcheck disable=SC1090
  source "$f"
done

selected=0
for t in $(list_tests "${TEST_FILES[@]}"); do
  test_selected "$FILTER" "$t" && selected=$((selected + 1))
done
if ((selected == 0)); then
  echo "no test matches '$FILTER'; tests:" >&2
  list_tests "${TEST_FILES[@]}" | sed 's/^/  /' >&2
  exit 2
fi

# The summary line is printed on every exit: a failed setup fails every selected test, an
# interrupted run every test that did not pass.
E2E_PASSED=0
E2E_FAILED=
E2E_DONE=
finish() {
  local rc=$?
  set +e
  e2e_cleanup
  if [[ -z $E2E_DONE ]]; then
    if [[ -n $E2E_FAILED ]]; then
      echo "e2e: interrupted (status $rc)"
    else
      echo "e2e: setup failed (status $rc); see the messages above"
    fi
    echo "$E2E_PASSED passed, $((selected - E2E_PASSED)) failed"
    exit 1
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

./scripts/setup.sh
for tool in jq openssl curl go; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is required" >&2; exit 1; }
done

if [[ -n ${AG_E2E_BINARY:-} ]]; then
  E2E_AG=$(realpath "$AG_E2E_BINARY")
else
  log "building ambient-guard (build/)"
  BUILD_DIR=build AG_TARGETS=ambient-guard ./scripts/build.sh >/dev/null
  E2E_AG=$E2E_REPO/build/ambient-guard
fi
log "kube-apiserver, kubectl, etcd (cached after the first build)"
E2E_BIN=$(./tests/e2e/build.sh)
if [[ " ${TEST_FILES[*]} " == *" tests/e2e/test_istiod.sh "* ]]; then
  log "pilot-discovery, istio.io/istio $E2E_ISTIO_VERSION (cached after the first build)"
  E2E_ISTIOD=$(./tests/e2e/build.sh istiod)
fi

crd_dir=${AG_E2E_CRDS:-$E2E_REPO/../shared/corpus/crds}
E2E_CRDS=("$crd_dir/istio-crd-all.gen.yaml" "$crd_dir/gateway.networking.k8s.io_gateways.yaml"
  "$crd_dir/gateway.networking.k8s.io_httproutes.yaml")
for f in "${E2E_CRDS[@]}"; do
  [[ -f $f ]] || { echo "e2e: missing CRD file $f (set AG_E2E_CRDS)" >&2; exit 1; }
done
# GatewayClass is not in the corpus: it comes from the Gateway API module (experimental channel,
# like the corpus files), fetched through the module proxy into Go's module cache.
gwapi=$(cd "$E2E_BIN" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@${AG_E2E_GATEWAY_API_VERSION:-v1.4.1}" |
  jq -r .Dir)
E2E_CRDS+=("$gwapi/config/crd/experimental/gateway.networking.k8s.io_gatewayclasses.yaml")
# The Policy Report API (wgpolicyk8s.io/v1alpha2) that ambient-guard writes its reports to.
E2E_CRDS+=("$E2E_REPO"/tests/testdata/crds/wgpolicyk8s.io_*.yaml)

E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/ag-e2e.XXXXXX")
log "scratch directory $E2E_WORK"
start_cluster
kube_version=$("$E2E_BIN/kube-apiserver" --version | awk '{print $2}')
etcd_version=$("$E2E_BIN/etcd" --version | awk '/etcd Version/ {print "v" $3}')
server_version=$(k version -o json | jq -r .serverVersion.gitVersion)
echo "kube-apiserver $kube_version (serving $server_version), etcd $etcd_version, kubectl $("$E2E_BIN/kubectl" version --client -o json | jq -r .clientVersion.gitVersion)"
install_crds
ag_setup
k create namespace "$E2E_CANARY_NS" >/dev/null
ag_start enforce
ag_start pilot
echo "ambient-guard $("$E2E_AG" --version 2>/dev/null || echo '(no --version)'): enforce on :$(ag_port enforce), pilot on :$(ag_port pilot)"

run_tests "$FILTER" "${TEST_FILES[@]}"
check_ag_exit
print_summary
((E2E_FAILED == 0))
