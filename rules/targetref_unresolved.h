// targetref-unresolved
//
// Invariant: every targetRef of an AuthorizationPolicy, RequestAuthentication or WasmPlugin
// attaches to something that applies it:
//   - a Service must exist in the policy's namespace and be bound (istio.io/use-waypoint on the
//     Service or its Namespace) to a ready waypoint that serves service traffic;
//   - a Gateway must exist in the policy's namespace and be a waypoint (not waypoint-for=none) or
//     a Gateway of an Istio-managed class (an ingress gateway);
//   - a GatewayClass must be `istio-waypoint` and the policy must live in the root namespace;
//   - a Service that an ingress gateway routes to (a VirtualService bound to a gateway other
//     than `mesh`, or an HTTPRoute whose parentRefs name a Gateway that is not a waypoint and
//     whose backendRefs name the Service) must set istio.io/ingress-use-waypoint=true (or its
//     Namespace must), else the ingress requests bypass the waypoint and the policy (Istio 1.31
//     docs/ambient/usage/waypoint "Ingress gateways and waypoints").
//
// Why: sidecars and ztunnel ignore every policy with targetRefs ("if targetRef is specified,
// ignore the policy altogether", [I] pilot/pkg/model/policyattachment.go:127-137;
// [I] pilot/pkg/serviceregistry/ambient/authorization.go:420-424). Only a waypoint or Gateway
// that the targetRef selects applies it, so an unresolved targetRef means the policy is enforced
// nowhere — an ALLOW restricts nobody, a DENY blocks nothing, a RequestAuthentication validates
// no token. istiod reports it only in the WaypointAccepted status (AncestorNotBound,
// TargetNotFound, Invalid: [I] pilot/pkg/serviceregistry/ambient/policies.go:38-159), and the
// GatewayClass name check happens only at runtime (policyattachment.go:176-182).
//
// Violating example (Service reviews has no istio.io/use-waypoint, nor does its namespace):
//   apiVersion: security.istio.io/v1
//   kind: AuthorizationPolicy
//   metadata: {name: reviews-get, namespace: bookinfo}
//   spec:
//     targetRefs: [{group: "", kind: Service, name: reviews}]
//     rules:
//     - to: [{operation: {methods: ["GET"]}}]
//
// Fires on AuthorizationPolicy / RequestAuthentication / WasmPlugin writes and, in `check`, for
// every namespace. A binding that a Service, Namespace or Gateway write takes away is
// waypoint-in-use's to report (deny), so admission of a Namespace does not repeat it here.
// ServiceEntry targets resolve through the ServiceEntry's use-waypoint binding (egress
// waypoints); classic networking.istio.io Gateway targets are not checked (not modelled).
// Default: warn.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class TargetRefUnresolved final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
