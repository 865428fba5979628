# shellcheck shell=bash
# ambient-guard runs with a token of deploy/base's ServiceAccount, bound to deploy/base's
# ClusterRole only. Both instances became ready (every initial list done) at setup; this checks
# that no kind was refused or missing on the way, and that the role grants nothing beyond reading.

test_rbac_service_account_lists_and_watches_every_kind() {
  local mode log
  for mode in enforce pilot; do
    ag_get "$mode" /readyz >/dev/null || fail "ambient-guard ($mode) is not ready"
    log="$E2E_WORK/logs/ag-$mode.log"
    grep -q 'initial lists complete' "$log" || fail "ambient-guard ($mode) never completed its lists"
    if grep -E 'HTTP 40[13]|forbidden|not served \(404\)' "$log"; then
      fail "ambient-guard ($mode) was refused a list or watch, or a kind is missing (above)"
    fi
  done
  # Every kind the watch reads has a state gauge: all of them were listed with this token.
  local kinds
  kinds=$(ag_get enforce /metrics | grep -c '^ambient_guard_state_objects{')
  # (16 policy kinds cluster-wide, and Deployment, DaemonSet, ConfigMap in istio-system.)
  ((kinds >= 19)) || fail "state gauges for $kinds kinds, want the 19 watched kinds"
  # Least privilege: read only, no Secrets; the only writes are its PolicyReports and its Lease.
  local sa=system:serviceaccount:ambient-guard:ambient-guard verb_resource
  for verb_resource in "list peerauthentications.security.istio.io" "watch gateways.gateway.networking.k8s.io" \
    "watch httproutes.gateway.networking.k8s.io" \
    "get namespaces" "patch policyreports.wgpolicyk8s.io" "delete clusterpolicyreports.wgpolicyk8s.io" \
    "create leases.coordination.k8s.io -n ambient-guard" \
    "update leases.coordination.k8s.io/ambient-guard-policy-reports -n ambient-guard" \
    "watch deployments.apps -n istio-system" "list daemonsets.apps -n istio-system" \
    "get configmaps/istio-cni-config -n istio-system"; do
    # shellcheck disable=SC2086
    [[ $(k auth can-i $verb_resource --as="$sa" 2>/dev/null) == yes ]] || fail "the ServiceAccount cannot $verb_resource"
  done
  for verb_resource in "create peerauthentications.security.istio.io" "update namespaces" \
    "list secrets" "delete gateways.gateway.networking.k8s.io" "list pods" \
    "update leases.coordination.k8s.io/other -n ambient-guard" "create leases.coordination.k8s.io -n default" \
    "list deployments.apps -n default" "get configmaps/other -n istio-system" \
    "update configmaps/istio-cni-config -n istio-system"; do
    # shellcheck disable=SC2086
    [[ $(k auth can-i $verb_resource --as="$sa" 2>/dev/null) == no ]] || fail "the ServiceAccount can $verb_resource"
  done
}
