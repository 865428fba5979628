// waypoint-in-use
//
// Invariant: a write never takes a waypoint away from the traffic that targetRef'd
// AuthorizationPolicies, RequestAuthentications or WasmPlugins are attached to. Such writes are:
//   - deleting a waypoint Gateway, or changing its gatewayClassName (no longer a waypoint), its
//     istio.io/waypoint-for (no longer serving its Services or pods), or its listeners
//     (allowedRoutes no longer admitting a client namespace);
//   - removing, repointing or setting `none` on istio.io/use-waypoint (or
//     use-waypoint-namespace) of a Service, ServiceEntry (egress waypoint) or Namespace;
//   - shifting traffic to a canary waypoint (istio.io/use-waypoint-canary, -canary-namespace,
//     annotation istio.io/use-waypoint-canary-weight; Istio 1.31) that does not apply the
//     Gateway-targeted policies of the primary: the traffic is split per connection, and a
//     policy whose targetRef names a waypoint Gateway applies only at that Gateway
//     (istio.io docs/ambient/usage/waypoint "Configuration attached to the waypoint"). A
//     Namespace's canary weight annotation counts for every Service and ServiceEntry in it that
//     sets none of its own (getCanaryWeight), including those that name their own canary, so a
//     Namespace write that changes it is judged for them like the equivalent Service writes.
// A policy depends on a waypoint for some traffic when the waypoint applies it there: a
// Service-targeted policy to its Service's traffic, a Gateway-targeted policy to the traffic of
// that waypoint's Services and pods, a GatewayClass istio-waypoint policy (root namespace) to
// every waypoint's traffic ([I] pilot/pkg/model/policyattachment.go:151-198;
// [I] pilot/pkg/networking/core/listener_waypoint.go:613-641,875-906).
//
// Why: nothing stops these writes today, and the effect is silent. Sidecars and ztunnel ignore
// targetRef'd policies ([I] pilot/pkg/serviceregistry/ambient/authorization.go:420-424), a
// Service with a missing, unready or non-serving waypoint gets no waypoint at all — traffic then
// goes straight to the pods — and there is no fallback to the namespace waypoint
// ([I] pilot/pkg/serviceregistry/ambient/waypoints.go:98-206). So the policies stop being
// enforced: ALLOW rules no longer restrict callers, DENY rules no longer block, JWTs are no
// longer validated. Repointing a Service to another waypoint keeps its Service-targeted
// policies but drops the Gateway-targeted policies of the old one.
//
// Violating example (AuthorizationPolicy reviews-get has targetRefs Service reviews, and
// Service reviews is bound to this waypoint):
//   kubectl delete gateway waypoint -n bookinfo
//
// Evaluated on Gateway, Service, ServiceEntry and Namespace writes, comparing what the waypoints attach before
// and after the write (RuleContext::before); deleting the Service or Namespace itself is not
// reported. It reports nothing in `check`, which has no write (targetref-unresolved reports
// policies that attach to nothing). Default: deny.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class WaypointInUse final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
