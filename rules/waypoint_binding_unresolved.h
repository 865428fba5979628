// waypoint-binding-unresolved
//
// Invariant: every Service in an ambient namespace that is bound to a waypoint with
// istio.io/use-waypoint (on the Service or inherited from its Namespace) binds: the named Gateway
// exists, is a waypoint, is ready (status.addresses), admits the Service's namespace and serves
// service traffic (istio.io/waypoint-for service or all).
//
// Why: istiod then sends the Service to ztunnel without a waypoint. Traffic to it skips L7
// processing altogether: targetRefs policies on the Service attach nowhere, HTTPRoutes on it are
// not applied. istiod says so only in the Service's status, condition istio.io/WaypointBound=False
// with the reasons WaypointIsNotReady, AttachmentDenied or UnsupportedTrafficType
// ([I] pilot/pkg/serviceregistry/ambient/waypoints.go:98-206, status.go:23-64); the mismatch was
// found by the istiod differential test (tests/e2e/test_istiod.sh, issue 15).
//
// A usable primary with an unusable canary (istio.io/use-waypoint-canary, Istio 1.31: missing,
// not ready, not admitting, not serving service traffic, the same as the primary, or an invalid
// istio.io/use-waypoint-canary-weight) is reported too: istiod ignores the canary, keeps the
// primary alone and says why only in istio.io/WaypointBound.
//
// Violating example (namespace bookinfo is ambient; waypoint serves workload traffic only):
//   apiVersion: v1
//   kind: Service
//   metadata: {name: reviews, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
//
// Fires in `check` for every Service of a namespace and on the Service writes the webhook is sent
// (deploy/base: UPDATEs that change istio.io/use-waypoint; Service CREATE is not sent, so a new
// Service bound to a bad waypoint is only seen by `check`). A binding that a write takes away is
// waypoint-in-use's to report. Default: warn.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class WaypointBindingUnresolved final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
