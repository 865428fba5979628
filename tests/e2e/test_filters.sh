# shellcheck shell=bash
# What the API server never sends: the overlays' rules, selectors and matchConditions, evaluated by
# the real API server, keep unrelated writes and the excluded namespaces away from the webhook
# (ambient-guard's request counter does not move). Each test has a positive control: a write that
# must be sent moves the counter, so "did not move" is not an artefact of the measurement.

test_filters_unrelated_namespace_and_service_label_changes_never_sent() {
  use_mode enforce
  local n=e2e-filters
  ns "$n" istio.io/dataplane-mode=ambient
  apply -n "$n" <<YAML
apiVersion: v1
kind: Service
metadata: {name: plain}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: bound
  labels: {istio.io/use-waypoint: waypoint}
spec: {ports: [{port: 80}]}
YAML
  local before after
  before=$(ag_requests enforce)
  k label namespace "$n" team=payments >/dev/null
  k annotate namespace "$n" owner=platform >/dev/null
  k label namespace "$n" team=checkout --overwrite >/dev/null
  k -n "$n" label service plain app=web >/dev/null
  k -n "$n" label service bound app=web >/dev/null      # bound: objectSelector matches, matchConditions do not
  k -n "$n" annotate service bound owner=platform >/dev/null
  k -n "$n" delete service plain >/dev/null             # no use-waypoint label: objectSelector
  after=$(ag_requests enforce)
  ((after == before)) || fail "unrelated label changes reached ambient-guard: $((after - before)) request(s)"
  # Positive controls: an Istio label on the namespace, the use-waypoint label on the Service.
  k label namespace "$n" istio.io/use-waypoint=waypoint >/dev/null
  (($(ag_requests enforce validate) > 0)) && (($(ag_requests enforce) > after)) ||
    fail "a namespace istio.io/use-waypoint change did not reach ambient-guard"
  after=$(ag_requests enforce)
  k -n "$n" label service bound istio.io/use-waypoint- >/dev/null
  (($(ag_requests enforce) == after + 1)) ||
    fail "removing use-waypoint from a Service: $(( $(ag_requests enforce) - after )) request(s), want 1"
}

test_filters_kube_system_and_webhook_namespace_never_sent() {
  use_mode enforce
  local before after n
  before=$(ag_requests enforce)
  for n in kube-system ambient-guard; do
    # Enrolled and given a PeerAuthentication DISABLE: both would be refused if they were sent.
    k label namespace "$n" istio.io/dataplane-mode=ambient >/dev/null
    k -n "$n" apply -f - >/dev/null < <(pa_disable e2e-filters)
    k -n "$n" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata:
  name: e2e-filters
  labels: {istio.io/use-waypoint: waypoint}
spec: {ports: [{port: 80}]}
YAML
    k -n "$n" label service e2e-filters istio.io/use-waypoint- >/dev/null
    k -n "$n" delete service e2e-filters >/dev/null
    k -n "$n" delete peerauthentication e2e-filters >/dev/null
    k label namespace "$n" istio.io/dataplane-mode- >/dev/null
  done
  after=$(ag_requests enforce)
  ((after == before)) || fail "writes in kube-system/ambient-guard reached ambient-guard: $((after - before)) request(s)"
  # Positive control: the same PeerAuthentication elsewhere is sent (and allowed: not ambient).
  ns e2e-filters-control
  k -n e2e-filters-control apply -f - >/dev/null < <(pa_disable e2e-filters)
  (($(ag_requests enforce) == after + 1)) || fail "the control write was not sent"
}
