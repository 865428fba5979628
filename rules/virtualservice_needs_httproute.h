// virtualservice-needs-httproute
//
// Invariant: no mesh VirtualService (`gateways` empty or containing `mesh`) routes hosts of an
// ambient namespace. VirtualServices bound only to ingress gateways are fine.
//
// Why: ztunnel ignores VirtualServices. With a waypoint they are an Alpha feature, and "mixing
// Istio classic API and Gateway API configuration is not supported" (Istio docs, "Use Layer 7
// features"). Without a waypoint the routing — splits, retries, timeouts, rewrites, fault
// injection — silently stops. The ambient form is an HTTPRoute with a Service parentRef.
//
// Violating example (namespace bookinfo is ambient):
//   apiVersion: networking.istio.io/v1
//   kind: VirtualService
//   metadata: {name: reviews, namespace: bookinfo}
//   spec:
//     hosts: [reviews]
//     http:
//     - route: [{destination: {host: reviews, subset: v1}}]
//
// Fires on VirtualService writes and namespace enrollment. Default: warn.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class VirtualServiceNeedsHttpRoute final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
