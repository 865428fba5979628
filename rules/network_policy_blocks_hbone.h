// network-policy-blocks-hbone
//
// Invariant: every pod that will be ambient, every waypoint pod and every HBONE-capable sidecar
// that a Kubernetes NetworkPolicy isolates for ingress is still reachable on TCP 15008 (HBONE).
// Spec: ../shared/spec/platform-and-cost.md §1.3 rules 1-6, 8, 9 (rules/network_policy.h).
//
// Why: after cutover ztunnel tunnels every in-mesh connection to port 15008 of the destination
// pod, and "NetworkPolicy is enforced on the host, outside the pod" (istio.io "Ambient and
// Kubernetes NetworkPolicy"): a policy that admits only the app port (`- port: 8080`) or nothing
// at all now drops all mesh traffic, and ztunnel logs "connection timed out, maybe a
// NetworkPolicy is blocking HBONE port 15008" ([ZT] src/proxy.rs:393). Each receiver is
// classified BLOCKED (no rule admits 15008: deny), PARTIAL (15008 only from listed peers: warn
// when the waypoint or ingress-gateway pods in front of it are not among them, since traffic via
// a waypoint arrives from the waypoint pod) or OPEN. Egress policies on ambient clients must
// admit 15008 too (derived, rule 8: warn). Opening 15008 lets tunnelled traffic reach any port
// of the pod (istio/istio#56659), so the fix also recommends an L4 AuthorizationPolicy.
//
// Violating example (namespace shop labelled istio.io/dataplane-mode=ambient):
//   apiVersion: networking.k8s.io/v1
//   kind: NetworkPolicy
//   metadata: {name: web-ingress, namespace: shop}
//   spec:
//     podSelector: {matchLabels: {app: web}}
//     ingress:
//     - from: [{podSelector: {matchLabels: {app: frontend}}}]
//       ports: [{port: 8080}]          # no `- port: 15008`
//
// Fires on NetworkPolicy writes and on namespace enrollment. Default: deny (PARTIAL and egress:
// warn; HBONE sidecars outside ambient namespaces: warn).
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class NetworkPolicyBlocksHbone final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
