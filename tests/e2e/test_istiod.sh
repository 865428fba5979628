# shellcheck shell=bash
# Istio as the oracle (issue 15): the real istiod (pilot-discovery, built by tests/e2e/build.sh
# istiod from the pinned istio.io/istio module) runs against the test API server in ambient mode
# and writes its verdicts as status conditions: ZtunnelAccepted on AuthorizationPolicies, WaypointAccepted on
# targetRefs AuthorizationPolicies, istio.io/WaypointBound on Services. The test applies the
# AuthorizationPolicy, PeerAuthentication, RequestAuthentication and waypoint/Service cases of
# tests/testdata/istiod/ to an ambient namespace without a waypoint and to one with a waypoint,
# waits for those conditions, runs `ambient-guard check -o json` on a kubectl dump of the same
# objects and compares, object by object: istiod says "not (fully) enforced" exactly where we deny
# or warn. It also checks that every "istiod reports: ..." quote in our messages is a condition
# istiod actually wrote on that object.
#
# scripts/e2e.sh runs it only when pilot-discovery is available (see E2E_ISTIOD there).

# istiod's settings (PILOT_* and AMBIENT_* are read by pilot/pkg/features at start):
#   PILOT_ENABLE_AMBIENT=true            ambient index, ztunnel policy conversion
#   AMBIENT_ENABLE_STATUS=true           write ZtunnelAccepted / WaypointAccepted / WaypointBound
#                                        (the default with ambient; status writing then waits for
#                                        the "istio-status-leader" Lease in --namespace)
#   PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER=false  no waypoint Deployments (nothing runs them)
#   PILOT_ENABLE_GATEWAY_API_STATUS=false                the test writes the waypoint's
#                                        status.addresses itself, as istiod does once the
#                                        waypoint's pod is ready
#   PILOT_ENABLE_ANALYSIS=false, VALIDATION_WEBHOOK_CONFIG_NAME="", INJECTION_WEBHOOK_CONFIG_NAME=""
#                                        no analyzers, no webhook configurations to patch
#   ENABLE_CA_SERVER=false               no CA gRPC server (nothing asks for certificates)
# and every listener on a free 127.0.0.1 port.
istiod_start() {
  local http grpc sgrpc https mon ctrlz
  http=$(free_port) grpc=$(free_port) sgrpc=$(free_port) https=$(free_port) mon=$(free_port)
  ctrlz=$(free_port)
  cat >"$E2E_WORK/istiod-mesh.yaml" <<EOF
rootNamespace: istio-system
trustDomain: cluster.local
EOF
  k get namespace istio-system >/dev/null 2>&1 || k create namespace istio-system >/dev/null
  E2E_ISTIOD_HTTP=$http
  start_proc istiod env \
    POD_NAME=istiod-e2e POD_NAMESPACE=istio-system REVISION=default \
    PILOT_ENABLE_AMBIENT=true AMBIENT_ENABLE_STATUS=true \
    PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER=false PILOT_ENABLE_GATEWAY_API_STATUS=false \
    PILOT_ENABLE_ANALYSIS=false VALIDATION_WEBHOOK_CONFIG_NAME= INJECTION_WEBHOOK_CONFIG_NAME= \
    ENABLE_CA_SERVER=false \
    "$E2E_ISTIOD" discovery --kubeconfig "$E2E_WORK/admin.kubeconfig" \
    --meshConfig "$E2E_WORK/istiod-mesh.yaml" --networksConfig "$E2E_WORK/istiod-networks.yaml" \
    --namespace istio-system --domain cluster.local \
    --httpAddr "127.0.0.1:$http" --grpcAddr "127.0.0.1:$grpc" --secureGRPCAddr "127.0.0.1:$sgrpc" \
    --httpsAddr "127.0.0.1:$https" --monitoringAddr "127.0.0.1:$mon" \
    --ctrlz_address 127.0.0.1 --ctrlz_port "$ctrlz" --log_output_level default:info
  wait_until "$E2E_KUBE_DEADLINE" "istiod ready on :$http (logs/istiod.log)" \
    curl -fsS "http://127.0.0.1:$http/ready"
}

# The namespaces: both ambient; idiff-wp has a ready waypoint for service traffic with Service
# httpbin bound to it, a workload-only waypoint, and Services bound to it and to a missing one.
istiod_fixtures() {
  ns idiff-plain istio.io/dataplane-mode=ambient
  ns idiff-wp istio.io/dataplane-mode=ambient
  # istiod creates the default GatewayClasses itself; create istio-waypoint only if it has not yet.
  k get gatewayclass istio-waypoint >/dev/null 2>&1 || apply <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio-waypoint}
spec: {controllerName: istio.io/mesh-controller}
YAML
  apply -n idiff-plain <<YAML
apiVersion: v1
kind: Service
metadata: {name: httpbin, labels: {app: httpbin}}
spec:
  selector: {app: httpbin}
  ports: [{name: http, port: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: unbound}
spec:
  selector: {app: unbound}
  ports: [{name: http, port: 8000}]
YAML
  apply -n idiff-wp <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  labels: {istio.io/waypoint-for: service}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: workload-waypoint
  labels: {istio.io/waypoint-for: workload}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: Service
metadata: {name: httpbin, labels: {app: httpbin, istio.io/use-waypoint: waypoint}}
spec:
  selector: {app: httpbin}
  ports: [{name: http, port: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: unbound}
spec:
  selector: {app: unbound}
  ports: [{name: http, port: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: bound-to-workload-waypoint, labels: {istio.io/use-waypoint: workload-waypoint}}
spec:
  selector: {app: wl}
  ports: [{name: http, port: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: bound-to-missing-waypoint, labels: {istio.io/use-waypoint: nope}}
spec:
  selector: {app: missing}
  ports: [{name: http, port: 8000}]
YAML
  # What istiod's gateway status writer does once a waypoint's pod is ready: publish the address.
  local gw ip=10.96.0.100
  for gw in waypoint workload-waypoint; do
    k -n idiff-wp patch gateway.gateway.networking.k8s.io "$gw" --subresource=status --type=merge -p '{
      "status": {
        "addresses": [{"type": "IPAddress", "value": "'"$ip"'"}],
        "conditions": [
          {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
           "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1},
          {"type": "Programmed", "status": "True", "reason": "Programmed", "message": "",
           "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]}}' >/dev/null
    ip=10.96.0.101
  done
}

# The corpus: istio/istio validation test data (copied unchanged, see tests/testdata/istiod/SOURCE.md)
# and the hand-written cases.yaml. Every file is namespace-less.
ISTIOD_CORPUS=(authz-valid.yaml security-v1-AuthorizationPolicy.yaml security-v1-RequestAuthentication.yaml
  reqauth-valid.yaml peerauth-valid.yaml security-v1-PeerAuthentication.yaml cases.yaml)
ISTIOD_NAMESPACES=(idiff-plain idiff-wp)

# Expected disagreements: where istiod's status is silent (or says "accepted") but traffic changes
# all the same, so ambient-guard is right to deny or warn. Key: Kind/namespace/name, "*" for the
# namespace when it holds in both. Each counts as agreed, and is printed with its reason.
declare -A ISTIOD_EXPECTED=(
  [PeerAuthentication/*/pa-disable]="istiod writes no status on PeerAuthentication; ztunnel has no DISABLE and acts as PERMISSIVE (spec 4, a hard blocker in the migration guide)"
  [PeerAuthentication/*/pa-port-disable]="istiod writes no status on PeerAuthentication; ztunnel ignores portLevelMtls DISABLE too (spec 4, 4.2)"
  [RequestAuthentication/*/ra-selector]="istiod writes no status on RequestAuthentication; a selector RequestAuthentication is applied neither by ztunnel nor by waypoints (spec 2.3, policyattachment.go:139-149)"
  [RequestAuthentication/*/full]="istiod writes no status on RequestAuthentication (WaypointAccepted is AuthorizationPolicy only, spec 3.4); its targetRef Service foo does not exist, so no waypoint validates the JWTs"
  [RequestAuthentication/idiff-plain/ra-target-service]="istiod writes no status on RequestAuthentication (spec 3.4); Service httpbin has no waypoint here, so the policy is enforced nowhere"
  [RequestAuthentication/*/valid-request-authentication]="istiod writes no status on RequestAuthentication; selector-based, so no ambient data plane applies it (spec 2.3)"
  [AuthorizationPolicy/*/trust-domains-allow]="silent gap (spec 3.2): the ztunnel converter neither maps nor reports trustDomains; the rule's from becomes an empty match, so this ALLOW matches nothing"
  [AuthorizationPolicy/*/trust-domains-principals]="silent gap (spec 3.2): trustDomains are dropped without a status, the rule becomes principals-only (less restrictive than requested)"
  [AuthorizationPolicy/idiff-wp/l4-allow]="silent gap (spec 3.5): Service httpbin is bound to a waypoint, so ztunnel sees the waypoint's identity, not the principals the policy names; istiod accepts the policy as valid L4"
  [AuthorizationPolicy/idiff-wp/service-account-and-namespace-principal-split]="silent gap (spec 3.5): namespace-wide identity rules (serviceAccounts, principals, namespaces) where Service httpbin is bound to a waypoint: ztunnel sees the waypoint's identity; istiod accepts it as valid L4"
)

# Expected wrong "istiod reports" quotes, same keys: our message quotes a status that this istiod
# does not write. Each is printed with its reason and fails the test once it is gone (stale).
declare -A ISTIOD_EXPECTED_QUOTES=(
  # None left: the trustDomains quotes of main before the Istio 1.27-1.31 merge (which quoted a
  # status that istiod 1.31 does not write) are gone with TrustDomainHandling.
)

# The objects of namespace $1 that lack the condition istiod writes on them, as
# "Kind/namespace/name lacks TYPE". A targetRefs AuthorizationPolicy gets WaypointAccepted, or
# ZtunnelAccepted=False when it is dry-run: istiod's ztunnel and waypoint status writers both
# patch status.conditions of the object, and the last one wins (seen with istio 1.31).
istiod_pending_list() {
  k get authorizationpolicies.security.istio.io,services -n "$1" -o json | jq -r '
    .items[]
    | (.status.conditions // [] | map(.type)) as $have
    | (if .kind == "AuthorizationPolicy" then
         (if (.spec.targetRefs // []) | length > 0 then ["WaypointAccepted", "ZtunnelAccepted"]
          else ["ZtunnelAccepted"] end)
       elif (.metadata.labels // {})["istio.io/use-waypoint"] then ["istio.io/WaypointBound"]
       else empty end) as $want
    | select([$want[] | . as $w | $have | index($w)] | all(. == null))
    | "\(.kind)/\(.metadata.namespace)/\(.metadata.name) lacks \($want | join(" or "))"'
}
# Succeeds when istiod has written its condition(s) on every object that gets one.
istiod_conditions_written() {
  local n
  for n in "${ISTIOD_NAMESPACES[@]}"; do
    [[ -z $(istiod_pending_list "$n") ]] || return 1
  done
}

test_istiod_differential_against_ztunnel_and_waypoint_status() {
  [[ -n ${E2E_ISTIOD:-} ]] || fail "no pilot-discovery (E2E_ISTIOD unset)"
  use_mode pilot
  istiod_start
  echo "report: istiod: pilot-discovery of istio.io/istio $E2E_ISTIO_VERSION (the 1.31 line)"
  istiod_fixtures
  local n f
  for n in "${ISTIOD_NAMESPACES[@]}"; do
    for f in "${ISTIOD_CORPUS[@]}"; do
      apply -n "$n" -f "$E2E_REPO/tests/testdata/istiod/$f"
    done
  done
  if ! (wait_until 120 "istiod's conditions on every AuthorizationPolicy and bound Service (logs/istiod.log)" \
    istiod_conditions_written); then
    for n in "${ISTIOD_NAMESPACES[@]}"; do istiod_pending_list "$n"; done
    fail "istiod did not write every condition"
  fi

  local dump="$E2E_WORK/istiod-backup.json" report="$E2E_WORK/istiod-check.json"
  k get namespaces,services,gatewayclasses.gateway.networking.k8s.io,gateways.gateway.networking.k8s.io,authorizationpolicies.security.istio.io,peerauthentications.security.istio.io,requestauthentications.security.istio.io \
    -A -o json >"$dump"
  "$E2E_AG" check -f "$dump" -o json -n idiff-plain -n idiff-wp >"$report" 2>"$E2E_WORK/istiod-check.err" || true
  jq -e '.kind == "CheckReport"' "$report" >/dev/null || fail "ambient-guard check failed: $(cat "$E2E_WORK/istiod-check.err")"

  local expected expected_quotes
  expected=$(for f in "${!ISTIOD_EXPECTED[@]}"; do jq -n --arg k "$f" --arg v "${ISTIOD_EXPECTED[$f]}" '{($k): $v}'; done |
    jq -s 'add // {}')
  expected_quotes=$(for f in "${!ISTIOD_EXPECTED_QUOTES[@]}"; do
    jq -n --arg k "$f" --arg v "${ISTIOD_EXPECTED_QUOTES[$f]}" '{($k): $v}'; done | jq -s 'add // {}')
  # One row per object: istiod's verdict (flag: not (fully) enforced / ok / silent: no status for
  # this kind) and ours (deny or warn findings), then the quote check.
  jq -n --slurpfile dump "$dump" --slurpfile rep "$report" --argjson exp "$expected" \
    --argjson expq "$expected_quotes" \
    --argjson nss "$(printf '%s\n' "${ISTIOD_NAMESPACES[@]}" | jq -R . | jq -s .)" '
    def conds: [(.status.conditions // [])[]
      | select(.type | IN("ZtunnelAccepted", "WaypointAccepted", "istio.io/WaypointBound"))];
    def bad: .status == "False" or (.reason | IN("Accepted", "WaypointAccepted") | not);
    ($rep[0].namespaces | map(.findings[]) ) as $findings
    | [$dump[0].items[]
       | select(.metadata.namespace as $n | $nss | index($n))
       | select(.kind | IN("AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication", "Service"))
       | select(.kind != "Service" or ((.metadata.labels // {})["istio.io/use-waypoint"] != null))
       | . as $o
       | (conds) as $c
       | {kind, ns: .metadata.namespace, name: .metadata.name, conds: $c,
          istiod: (if (.kind | IN("PeerAuthentication", "RequestAuthentication")) then "silent"
                   elif .kind == "AuthorizationPolicy" and ((.spec.targetRefs // []) | length > 0) then
                     # ztunnel never receives targetRefs policies ("TargetRef is not intended for
                     # ztunnel"): only WaypointAccepted is a verdict. A dry-run one also gets
                     # ZtunnelAccepted=False, and istiod'"'"'s two status writers then race on
                     # status.conditions: when the ztunnel writer wrote last, there is no verdict.
                     ([$c[] | select(.type == "WaypointAccepted")] as $w
                      | if ($w | length) == 0 then "racy" elif ($w | any(bad)) then "flag" else "ok" end)
                   elif ($c | any(bad)) then "flag" else "ok" end),
          ours: [$findings[] | select(.object.kind == $o.kind and .object.namespace == $o.metadata.namespace
                                      and .object.name == $o.metadata.name and (.action | IN("deny", "warn")))]}
       | .key = "\(.kind)/\(.ns)/\(.name)"
       | .reason = ($exp[.key] // $exp["\(.kind)/*/\(.name)"])
       | .agree = (if .istiod == "flag" then (.ours | length > 0) else (.ours | length == 0) end)
       | .quotes = [.ours[] | .message | select(contains("istiod reports: \""))
                    | split("istiod reports: \"")[1:][]]
       | .quote_bad = [.quotes[] as $q | select([$c[] | .message as $m | $q | startswith($m + "\"")] | any | not) | $q]
       | .quote_reason = ($expq[.key] // $expq["\(.kind)/*/\(.name)"])
      ]' >"$E2E_WORK/istiod-compare.json"

  jq -r '.[] | select(.istiod == "racy") |
    "report: not compared \(.key): istiod'"'"'s ztunnel status writer overwrote WaypointAccepted (\([.conds[] | "\(.type)=\(.status)/\(.reason)"] | join("; ")))"' \
    "$E2E_WORK/istiod-compare.json"
  jq '[.[] | select(.istiod != "racy")]' "$E2E_WORK/istiod-compare.json" >"$E2E_WORK/istiod-compare.tmp"
  mv "$E2E_WORK/istiod-compare.tmp" "$E2E_WORK/istiod-compare.json"
  local total agreed
  total=$(jq length "$E2E_WORK/istiod-compare.json")
  jq -r '.[] | select(.agree | not) |
    "report: \(if .reason then "expected" else "DISAGREE" end) \(.key): istiod \(if .istiod == "silent" then "writes no status"
       else ([.conds[] | "\(.type)=\(.status)/\(.reason): \(.message[0:200])"] | join("; ")) end)"
    + " | ours: \(if (.ours | length) == 0 then "nothing" else ([.ours[] | "\(.rule) \(.action)"] | join(", ")) end)"
    + (if .reason then " | reason: \(.reason)" else "" end)' "$E2E_WORK/istiod-compare.json"
  jq -r '.[] | select(.quote_bad | length > 0) | . as $o | .quote_bad[] |
    "report: \(if $o.quote_reason then "expected quote" else "QUOTE MISMATCH" end) \($o.key): our message says istiod reports \"\(.[0:160])...\", istiod wrote \([$o.conds[] | "\"\(.message[0:160])\""] | join("; "))"
    + (if $o.quote_reason then " | reason: \($o.quote_reason)" else "" end)' \
    "$E2E_WORK/istiod-compare.json"
  agreed=$(jq '[.[] | select(.agree or .reason != null)] | length' "$E2E_WORK/istiod-compare.json")
  echo "report: agreement with istiod: $agreed/$total"
  ((total >= 50)) || fail "only $total objects compared (want at least 50)"
  local quotes
  quotes=$(jq '[.[] | .quotes | length] | add' "$E2E_WORK/istiod-compare.json")
  echo "report: \"istiod reports\" quotes checked against istiod's conditions: $quotes"
  jq -e '[.[] | select(.quote_reason == null) | .quote_bad[]] | length == 0' "$E2E_WORK/istiod-compare.json" >/dev/null ||
    fail "our messages quote istiod wrongly (QUOTE MISMATCH lines above)"
  # An expected exception that no longer disagrees is stale.
  local stale
  stale=$(jq -r '.[] | select((.agree and .reason != null) or (.quote_reason != null and (.quote_bad | length == 0))) | .key' \
    "$E2E_WORK/istiod-compare.json")
  [[ -z $stale ]] || fail "expected exceptions that now agree (remove them): $stale"
  ((agreed == total)) || fail "disagreements with istiod (DISAGREE lines above)"
  stop_proc istiod
}
