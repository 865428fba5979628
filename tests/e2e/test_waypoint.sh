# shellcheck shell=bash
# waypoint-in-use through the real API server: a waypoint Gateway and a Service's
# istio.io/use-waypoint binding cannot be taken away while a targetRefs policy depends on them.

# refused KCAP-ARGS...: kubectl (dry run appended by the caller) is refused by waypoint-in-use.
waypoint_refused() {
  kcap "$@"
  [[ $KRC != 0 ]] && grep -qF '[waypoint-in-use]' <<<"$KOUT"
}
waypoint_allowed() {
  kcap "$@"
  [[ $KRC == 0 ]]
}

test_enforce_waypoint_lifecycle_refused_while_policy_depends() {
  use_mode enforce
  local n=e2e-waypoint
  ns "$n" istio.io/dataplane-mode=ambient
  apply -n "$n" <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  labels: {istio.io/waypoint-for: service}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE}
---
apiVersion: v1
kind: Service
metadata:
  name: reviews
  labels: {app: reviews, istio.io/use-waypoint: waypoint}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
YAML
  # What istiod does once the waypoint's Deployment runs: publish its address. On a real API server
  # a new Gateway always has a status (the CRD defaults it to Accepted/Programmed "Unknown",
  # "Waiting for controller"), so until then ambient-guard, like Istio, treats the waypoint as not
  # ready: nothing is bound to it and nothing depends on it.
  k -n "$n" patch gateway.gateway.networking.k8s.io waypoint --subresource=status --type=merge -p '{
    "status": {
      "addresses": [{"type": "IPAddress", "value": "10.96.0.100"}],
      "conditions": [
        {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
         "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1},
        {"type": "Programmed", "status": "True", "reason": "Programmed", "message": "",
         "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]}}' >/dev/null
  apply -n "$n" <<YAML
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-get}
spec:
  targetRefs: [{group: "", kind: Service, name: reviews}]
  action: ALLOW
  rules:
  - to: [{operation: {methods: ["GET"], paths: ["/reviews/*"]}}]
YAML
  # ambient-guard learns about the policy from its watch.
  wait_until "$E2E_WATCH_DEADLINE" "waypoint deletion refused once the policy is seen" \
    waypoint_refused -n "$n" delete gateway.gateway.networking.k8s.io waypoint --dry-run=server
  kcap -n "$n" delete gateway.gateway.networking.k8s.io waypoint
  expect_krc 1 "deleting the waypoint while reviews-get depends on it"
  expect_out 'admission webhook "gateways.validate.ambient-guard.io" denied the request: [waypoint-in-use]' \
    "kubectl prints the denial"
  expect_out "reviews-get" "the message names the dependent policy"
  k -n "$n" get gateway.gateway.networking.k8s.io waypoint >/dev/null || fail "the waypoint is gone"

  kcap -n "$n" label service reviews istio.io/use-waypoint-
  expect_krc 1 "unbinding the Service while reviews-get depends on it"
  expect_out 'admission webhook "services.validate.ambient-guard.io" denied the request: [waypoint-in-use]' \
    "kubectl prints the denial"
  [[ $(label_of service reviews "$n" istio.io/use-waypoint) == waypoint ]] || fail "the label is gone"

  # Repointing the binding is refused too.
  kcap -n "$n" label service reviews istio.io/use-waypoint=other --overwrite
  expect_krc 1 "repointing the Service to another waypoint"
  expect_out "[waypoint-in-use]" "repointing is refused by the same rule"

  # Once the policy is gone, both are allowed.
  k -n "$n" delete authorizationpolicy reviews-get >/dev/null
  wait_until "$E2E_WATCH_DEADLINE" "unbinding allowed once the policy deletion is seen" \
    waypoint_allowed -n "$n" label service reviews istio.io/use-waypoint- --dry-run=server
  kcap -n "$n" label service reviews istio.io/use-waypoint-
  expect_krc 0 "unbinding the Service after the policy is gone"
  kcap -n "$n" delete gateway.gateway.networking.k8s.io waypoint
  expect_krc 0 "deleting the waypoint after the policy is gone"
}

# Weighted waypoint canaries (Istio 1.31) and ServiceEntry (egress) bindings: the webhook filters
# pass canary label and weight annotation changes and ServiceEntry label changes, and
# waypoint-in-use refuses shifting traffic to a canary that lacks the primary's Gateway-targeted
# policy, and unbinding a ServiceEntry a policy targets.
test_enforce_waypoint_canary_and_service_entry() {
  use_mode enforce
  local n=e2e-wp-canary wp
  ns "$n" istio.io/dataplane-mode=ambient
  for wp in waypoint waypoint-v2; do
    apply -n "$n" <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: $wp
  labels: {istio.io/waypoint-for: service}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE}
YAML
    k -n "$n" patch gateway.gateway.networking.k8s.io "$wp" --subresource=status --type=merge -p '{
      "status": {"addresses": [{"type": "IPAddress", "value": "10.96.0.101"}]}}' >/dev/null
  done
  apply -n "$n" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: reviews
  labels: {app: reviews, istio.io/use-waypoint: waypoint}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: httpbin.org
  labels: {istio.io/use-waypoint: waypoint}
spec:
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin/*"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin-get}
spec:
  targetRefs: [{group: networking.istio.io, kind: ServiceEntry, name: httpbin.org}]
  action: ALLOW
  rules:
  - to: [{operation: {methods: ["GET"]}}]
YAML
  # A canary at weight 0 (the default) carries no traffic: allowed.
  kcap -n "$n" label service reviews istio.io/use-waypoint-canary=waypoint-v2
  expect_krc 0 "naming a canary at weight 0"
  wait_until "$E2E_WATCH_DEADLINE" "shifting 5% to the canary refused once the policy is seen" \
    waypoint_refused -n "$n" annotate service reviews istio.io/use-waypoint-canary-weight=5 \
    --dry-run=server
  kcap -n "$n" annotate service reviews istio.io/use-waypoint-canary-weight=5
  expect_krc 1 "shifting traffic to a canary without the primary's Gateway policy"
  expect_out 'admission webhook "services.validate.ambient-guard.io" denied the request: [waypoint-in-use]' \
    "kubectl prints the denial"
  expect_out "deny-admin" "the message names the policy the canary lacks"
  # Replicating the policy on the canary makes the shift safe.
  k -n "$n" patch authorizationpolicy deny-admin --type=merge -p '{"spec": {"targetRefs": [
    {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "waypoint"},
    {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "waypoint-v2"}]}}' >/dev/null
  wait_until "$E2E_WATCH_DEADLINE" "the shift allowed once the replicated policy is seen" \
    waypoint_allowed -n "$n" annotate service reviews istio.io/use-waypoint-canary-weight=5 \
    --dry-run=server

  # The ServiceEntry's binding is guarded like a Service's.
  wait_until "$E2E_WATCH_DEADLINE" "unbinding the ServiceEntry refused once it is seen" \
    waypoint_refused -n "$n" label serviceentry httpbin.org istio.io/use-waypoint- --dry-run=server
  kcap -n "$n" label serviceentry httpbin.org istio.io/use-waypoint-
  expect_krc 1 "unbinding a ServiceEntry that httpbin-get targets"
  expect_out "httpbin-get" "the message names the dependent policy"
}
