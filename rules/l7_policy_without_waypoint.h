// l7-policy-without-waypoint
//
// Invariant: no AuthorizationPolicy enforced by ztunnel (one with a `selector`, or namespace-wide:
// no selector and no targetRef(s)) covers an ambient namespace while using HTTP attributes or the
// CUSTOM / AUDIT action. A policy in the root namespace covers every ambient namespace.
//
// Why: ztunnel enforces L4 only. It silently rewrites such policies (istiod reports it only after
// the fact, in the ZtunnelAccepted condition):
//   - ALLOW: every rule with an HTTP attribute is dropped. With none left, the policy matches
//     nothing, so every connection to the selected pods is denied — an outage — and existing
//     connections are closed when the policy applies.
//   - DENY: HTTP conditions are dropped and the rest enforced (denies more than asked), or, with
//     nothing enforceable left, the policy is a no-op — the traffic it should block gets through.
//   - CUSTOM (ext_authz) and AUDIT are not sent to ztunnel at all: CUSTOM fails open.
// Waypoints ignore selector policies, so the only fix is `targetRefs` onto a waypoint.
//
// Violating example (namespace bookinfo labelled istio.io/dataplane-mode=ambient):
//   apiVersion: security.istio.io/v1
//   kind: AuthorizationPolicy
//   metadata: {name: reviews-get, namespace: bookinfo}
//   spec:
//     selector: {matchLabels: {app: reviews}}
//     rules:
//     - to: [{operation: {methods: ["GET"]}}]
//
// Also, as warnings (rules/l7_policy_without_waypoint_extra.h): the dry-run annotation while
// istiod's ambient dry-run support is off (the policy is not sent to ztunnel at all), a selector
// without labels, and identity rules (principals, namespaces, serviceAccounts) on workloads
// behind a waypoint, where ztunnel sees the waypoint's identity instead of the caller's.
// `trustDomains` / `notTrustDomains` count as HTTP attributes: current istiod reports them so
// (httpSources in authorization.go), so they are not silently dropped.
//
// Fires on AuthorizationPolicy writes, on namespace enrollment, and (identity shift) on Service
// writes. Default: deny; demoted to
// warn when a waypoint already serves the policy's workloads, except for an ALLOW policy left
// with no rules, which denies all traffic whether or not a waypoint exists.
// Mirrors [I] pilot/pkg/serviceregistry/ambient/authorization.go convertAuthorizationPolicy.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class L7PolicyWithoutWaypoint final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
