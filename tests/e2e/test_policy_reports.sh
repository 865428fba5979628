# shellcheck shell=bash
# PolicyReports (issue 17) against the real API server: both ambient-guard instances run with the
# overlays' config (policyReports.enabled: true) and the ServiceAccount's RBAC from deploy/base;
# the wgpolicyk8s.io CRDs come from tests/testdata/crds. One instance wins the Lease and writes a
# PolicyReport per namespace with server-side apply; the reports follow kubectl changes within
# seconds and go away with their namespace.

PR_LEASE=ambient-guard-policy-reports

# pr_json NS: the namespace's PolicyReport as JSON (fails when there is none).
pr_json() { k -n "$1" get policyreport ambient-guard -o json; }
pr_gate() { pr_json "$1" | jq -r '.results[0].properties.gate'; }
pr_gate_is() { [[ $(pr_gate "$1") == "$2" ]]; }
pr_has_rule() { pr_json "$1" | jq -e --arg r "$2" 'any(.results[]; .rule == $r)' >/dev/null; }
pr_lacks_rule() { pr_json "$1" | jq -e --arg r "$2" 'all(.results[]; .rule != $r)' >/dev/null; }
pr_absent() { ! k -n "$1" get policyreport ambient-guard >/dev/null 2>&1; }

# metric MODE NAME [LABEL-FILTER]: the sum of a metric's samples on one instance.
pr_metric() {
  ag_get "$1" /metrics | awk -v name="$2" -v filter="${3:-}" '
    index($0, name) == 1 && (filter == "" || index($0, filter) > 0) { sum += $NF }
    END { printf "%d\n", sum }'
}
pr_leader_mode() {
  local mode
  for mode in enforce pilot; do
    proc_alive "ag-$mode" || continue
    if [[ $(pr_metric "$mode" 'ambient_guard_policy_report_leader ') == 1 ]]; then
      echo "$mode"
      return 0
    fi
  done
  return 1
}
pr_one_leader() {
  local n=0 mode
  for mode in enforce pilot; do
    [[ $(pr_metric "$mode" 'ambient_guard_policy_report_leader ') == 1 ]] && n=$((n + 1))
  done
  ((n == 1))
}

# Every namespace `check` evaluates (all but the system ones), not terminating, has a report.
pr_every_namespace_reported() {
  local want got
  want=$(k get namespaces -o json | jq -r '.items[] | select(.metadata.deletionTimestamp == null)
      | .metadata.name | select(IN("kube-system", "kube-public", "kube-node-lease", "local-path-storage", "istio-system") | not)' | sort)
  got=$(k get policyreports -A -o json | jq -r '.items[] | select(.metadata.name == "ambient-guard")
      | .metadata.namespace' | sort)
  [[ $want == "$got" ]]
}

test_policy_reports_appear_for_every_namespace() {
  use_mode enforce
  ns e2e-pr-sidecar istio-injection=enabled
  ns e2e-pr-ambient istio.io/dataplane-mode=ambient
  wait_until "$E2E_WATCH_DEADLINE" "a PolicyReport in every namespace" pr_every_namespace_reported
  k get policyreports -A
  local r
  r=$(pr_json e2e-pr-sidecar)
  jq -e '.results[0] | .policy == "ambient-guard" and .rule == "namespace-gate" and .result == "pass"
      and .properties.gate == "ready" and .properties.evaluatedAs == "enrolled"' <<<"$r" >/dev/null ||
    fail "the sidecar namespace's gate result: $(jq -c '.results[0]' <<<"$r")"
  jq -e '.scope.kind == "Namespace" and .scope.name == "e2e-pr-sidecar"' <<<"$r" >/dev/null ||
    fail "scope: $(jq -c .scope <<<"$r")"
  # Garbage collection owns the report to its namespace.
  [[ $(jq -r '.metadata.ownerReferences[0].uid' <<<"$r") == $(k get namespace e2e-pr-sidecar -o jsonpath='{.metadata.uid}') ]] ||
    fail "ownerReference: $(jq -c .metadata.ownerReferences <<<"$r")"
  # Written by server-side apply, under the field manager ambient-guard.
  local managed
  managed=$(k -n e2e-pr-sidecar get policyreport ambient-guard --show-managed-fields -o json |
    jq -c '[.metadata.managedFields[] | {manager, operation}]')
  jq -e 'any(.[]; .manager == "ambient-guard" and .operation == "Apply")' <<<"$managed" >/dev/null ||
    fail "managedFields: $managed"
  [[ $(pr_gate e2e-pr-ambient) == ready ]] || fail "the ambient namespace is $(pr_gate e2e-pr-ambient)"
  [[ $(pr_json e2e-pr-ambient | jq -r '.results[0].properties.evaluatedAs') == current ]] ||
    fail "an ambient namespace is evaluated as it is"
  # The cluster summary counts namespaces per gate.
  local c
  c=$(k get clusterpolicyreport ambient-guard -o json)
  jq -e '.summary.pass >= 2 and (.results | length) == 3' <<<"$c" >/dev/null ||
    fail "ClusterPolicyReport: $(jq -c '{summary, results: [.results[] | .message]}' <<<"$c")"
}

test_policy_report_changes_when_a_blocker_is_introduced_or_fixed() {
  use_mode enforce
  local n=e2e-pr-blocker start
  ns "$n"
  wait_until "$E2E_WATCH_DEADLINE" "the new namespace's report says ready" pr_gate_is "$n" ready
  k -n "$n" apply -f - >/dev/null < <(pa_disable)  # allowed: not ambient yet
  start=$SECONDS
  wait_until "$E2E_WATCH_DEADLINE" "the PeerAuthentication DISABLE blocks the namespace" pr_gate_is "$n" blocked
  echo "blocker reported after <= $((SECONDS - start)) s"
  pr_has_rule "$n" peer-authentication-disable || fail "no peer-authentication-disable result"
  pr_json "$n" | jq -e '.results[] | select(.rule == "peer-authentication-disable")
      | .result == "fail" and .severity == "high" and .resources[0].kind == "PeerAuthentication"
        and .resources[0].name == "no-mtls" and .properties.gate == "blocked"' >/dev/null ||
    fail "the finding's result: $(pr_json "$n" | jq -c '.results')"
  k -n "$n" delete peerauthentication no-mtls >/dev/null
  start=$SECONDS
  wait_until "$E2E_WATCH_DEADLINE" "the fix unblocks the namespace" pr_gate_is "$n" ready
  echo "fix reported after <= $((SECONDS - start)) s"
  # The stale result is gone, not left behind next to the new gate.
  pr_lacks_rule "$n" peer-authentication-disable || fail "stale result: $(pr_json "$n" | jq -c '.results')"
}

test_policy_report_disappears_with_the_namespace() {
  use_mode enforce
  local n=e2e-pr-deleted
  ns "$n"
  wait_until "$E2E_WATCH_DEADLINE" "the namespace's report" pr_json "$n"
  # Without a controller manager the namespace stays Terminating (and the garbage collector that
  # follows the ownerReference does not run): ambient-guard deletes the report itself.
  k delete namespace "$n" --wait=false >/dev/null
  wait_until "$E2E_WATCH_DEADLINE" "the report of the deleted namespace is gone" pr_absent "$n"
}

test_policy_report_only_the_leader_writes() {
  use_mode enforce
  proc_alive ag-pilot || ag_start pilot
  wait_until 30 "exactly one instance holds the Lease" pr_one_leader
  local leader standby holder
  leader=$(pr_leader_mode)
  [[ $leader == enforce ]] && standby=pilot || standby=enforce
  holder=$(k -n ambient-guard get lease "$PR_LEASE" -o jsonpath='{.spec.holderIdentity}')
  echo "leader: $leader ($holder), standby: $standby"
  [[ -n $holder ]] || fail "the Lease has no holder"
  ((  $(pr_metric "$leader" ambient_guard_policy_report_writes_total 'result="applied"') > 0 )) ||
    fail "the leader has written nothing"
  [[ $(pr_metric "$standby" ambient_guard_policy_report_writes_total) == 0 ]] ||
    fail "the standby wrote: $(ag_get "$standby" /metrics | grep policy_report_writes)"
  [[ $(pr_metric "$standby" ambient_guard_policy_report_scan_seconds_count) == 0 ]] ||
    fail "the standby scanned"

  # The leader goes away (SIGTERM releases the Lease): the standby takes over and writes.
  ag_stop "$leader"
  has_lease() { [[ $(pr_metric "$standby" 'ambient_guard_policy_report_leader ') == 1 ]]; }
  wait_until 30 "the standby takes the Lease over" has_lease
  [[ $(k -n ambient-guard get lease "$PR_LEASE" -o jsonpath='{.spec.holderIdentity}') != "$holder" ]] ||
    fail "the Lease still names $holder"
  ns e2e-pr-takeover
  wait_until "$E2E_WATCH_DEADLINE" "the new leader reports a new namespace" pr_json e2e-pr-takeover
  ((  $(pr_metric "$standby" ambient_guard_policy_report_writes_total 'result="applied"') > 0 )) ||
    fail "the new leader has written nothing"
  ag_start "$leader"
}
