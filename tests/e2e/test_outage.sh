# shellcheck shell=bash
# ambient-guard unavailable: the failurePolicy of each overlay, as the real API server applies it.

# enforce: Fail on the deny webhooks. Guarded writes are refused (fail closed) with the API server's
# "failed calling webhook" error; writes the webhooks do not select keep working.
test_outage_enforce_fails_closed_unrelated_writes_succeed() {
  use_mode enforce
  local n=e2e-outage-enforce
  ns "$n" istio.io/dataplane-mode=ambient
  ag_stop enforce
  kcap -n "$n" apply -f - < <(pa_disable)
  expect_krc 1 "a guarded write while ambient-guard is down"
  expect_out 'failed calling webhook "validate.ambient-guard.io"' "the API server's calling error"
  kcap -n "$n" apply -f - <<YAML
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict}
spec: {mtls: {mode: STRICT}}
YAML
  expect_krc 1 "even a harmless guarded write fails closed"
  kcap label namespace "$n" istio-injection=enabled
  expect_krc 1 "an Istio label on a namespace fails closed"
  expect_out 'failed calling webhook "namespaces.validate.ambient-guard.io"' "namespace webhook"
  # Unrelated writes: not selected by any rule or matchCondition.
  kcap label namespace "$n" team=payments
  expect_krc 0 "an unrelated namespace label"
  kcap -n "$n" create configmap settings --from-literal=a=b
  expect_krc 0 "a ConfigMap"
  kcap -n "$n" create service clusterip web --tcp=80:8080
  expect_krc 0 "a Service without the use-waypoint label"
  kcap create namespace e2e-outage-enforce-new
  expect_krc 0 "a namespace without Istio labels"
  # Mutation is failurePolicy Ignore in enforce too: enrolling a namespace is refused by the
  # validating webhook, not by the mutating one.
  ag_start enforce
  kcap -n "$n" apply -f - < <(pa_disable)
  expect_krc 1 "refused again, now by the rule, once ambient-guard is back"
  expect_out "[peer-authentication-disable]" "the rule's denial"
}

# pilot: Ignore everywhere. The same write is admitted without a warning, and the API server
# records that it failed open.
test_outage_pilot_fails_open() {
  use_mode pilot
  local n=e2e-outage-pilot
  ns "$n" istio.io/dataplane-mode=ambient
  ag_stop pilot
  kcap -n "$n" apply -f - < <(pa_disable)
  expect_krc 0 "a guarded write while ambient-guard is down (pilot)"
  expect_no_out "Warning:" "no one warned"
  k -n "$n" get peerauthentication no-mtls >/dev/null || fail "not stored"
  local failed_open
  failed_open=$(jq -r 'select(.objectRef.namespace == "e2e-outage-pilot" and .objectRef.resource == "peerauthentications"
      and .stage == "ResponseComplete") | .annotations // {} | to_entries[]
      | select(.key | startswith("failed-open.validating.webhook.admission.k8s.io/")) | .value' \
    "$E2E_WORK/logs/apiserver-audit.log")
  [[ $failed_open == *validate.ambient-guard.io* ]] ||
    fail "the API server's audit log has no failed-open annotation for validate.ambient-guard.io: '$failed_open'"
  ag_start pilot
}
