// l7-policy-without-waypoint, continued: the checks beyond HTTP attributes and CUSTOM/AUDIT.
// Kept apart from l7_policy_without_waypoint.cc only to keep each file small; same rule id.
//
// For an AuthorizationPolicy enforced by ztunnel (selector or namespace-wide, no targetRefs)
// covering an ambient namespace:
//   - dry-run: `istio.io/dry-run: "true"` while istiod's AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY
//     is off (the default). istiod does not send the policy to ztunnel at all — no enforcement and
//     no dry-run result ([I] pilot/pkg/serviceregistry/ambient/authorization.go:401-418,
//     convertAuthorizationPolicy; [I] pilot/pkg/features/ambient.go:97-100). Warn.
//   - empty selector (`selector: {}` / `matchLabels: {}`): the policy gets Scope WORKLOAD_SELECTOR
//     (authorization.go: only a nil selector is NAMESPACE scope), but ztunnel attaches
//     selector-scoped policies through their labels alone (buildWorkloadPolicies in
//     [I] pilot/pkg/serviceregistry/ambient/workloads.go keeps only a non-nil label selector), so
//     whether it reaches any ambient workload depends on how the empty map decodes, while
//     sidecars applied it namespace-wide. Istio's validator only warns ("workload selector
//     specified without labels", [I] pkg/config/validation/validation.go:1360-1380). Warn.
//   - identity shift: an L4-only policy that matches `principals`, `namespaces`,
//     `serviceAccounts` (or their not* forms, or the `source.principal` / `source.namespace` when
//     keys) on workloads whose Service (or namespace, for pod traffic) is bound to a waypoint.
//     Ambient clients then arrive at the destination ztunnel as the waypoint: "waypoint proxies
//     do not impersonate src identity" (istio.io docs/ambient/usage/authorization-policy), so an
//     ALLOW stops admitting the callers it names and a DENY stops blocking them. Not reported when
//     the policy already names the waypoint's principal or service account (the documented
//     anti-bypass DENY with `notPrincipals: [<waypoint SA>]`). Warn, naming the principal.
// The dry-run message depends on the Istio version: ztunnel dry-run exists from 1.29, behind
// istiod's AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY, and older ztunnels enforce such policies.
#pragma once

#include <string>
#include <vector>

#include "rules/ambient.h"
#include "rules/istio_version.h"
#include "rules/rule.h"

namespace ambient_guard::rules::l7_extra {

// Appends the dry-run, empty-selector and identity-shift findings for a policy that covers the
// ambient `namespaces` (as forEachCoveringPolicy reports it).
void checkPolicy(const RuleContext& ctx, const RuleDoc& doc, const AuthorizationPolicy& ap,
                 const ambient::ZtunnelConversion& conv, const IstioVersion& istio,
                 const std::vector<std::string>& namespaces, const std::string& finding_ns,
                 std::vector<Finding>& out);

// Appends the identity-shift findings a Service write causes (istio.io/use-waypoint added or
// changed): the ztunnel-bound policies selecting the Service's pods now see its waypoint.
void checkServiceSubject(const RuleContext& ctx, const RuleDoc& doc, std::vector<Finding>& out);

}  // namespace ambient_guard::rules::l7_extra
