// request-authentication-needs-waypoint
//
// Invariant: no RequestAuthentication with a `selector`, or namespace-wide (no selector, no
// targetRefs), covers an ambient namespace. One in the root namespace covers every ambient
// namespace (root-namespace selectors: those with a Service whose pods they match). Selectors
// that pick gateway pods (Gateway API gateway-name label, `istio: ingressgateway`) are left
// alone: gateways run Envoy and still apply them.
//
// Why: ztunnel consumes only addresses and authorization policies ([ZT] src/xds/types.rs:44-46)
// and never looks at a JWT; waypoints apply only targetRef'd RequestAuthentications ("waypoints
// never use selector", [I] pilot/pkg/model/policyattachment.go:139-149; [API]
// security/v1beta1/request_authentication.proto:278). Once the pods lose their sidecars the
// policy is silently ignored: requests with invalid, expired or forged tokens are no longer
// rejected (fail-open), and request principals stop existing for the AuthorizationPolicies that
// relied on them.
//
// Violating example (namespace bookinfo labelled istio.io/dataplane-mode=ambient):
//   apiVersion: security.istio.io/v1
//   kind: RequestAuthentication
//   metadata: {name: jwt, namespace: bookinfo}
//   spec:
//     selector: {matchLabels: {app: productpage}}
//     jwtRules: [{issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks"}]
//
// Fires on RequestAuthentication writes and namespace enrollment. Default: deny.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class RequestAuthenticationNeedsWaypoint final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
