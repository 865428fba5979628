// peer-authentication-redundant
//
// Invariant: every STRICT / PERMISSIVE / UNSET PeerAuthentication that covers an ambient
// namespace changes the effective mTLS mode of some ambient workload. Redundant are:
//   - a selector-less PeerAuthentication that is not the oldest of its namespace: istiod uses
//     only the oldest one (mesh level in the root namespace, namespace level elsewhere);
//   - a namespace-level one that restates what the namespace inherits: STRICT under a mesh-wide
//     STRICT, PERMISSIVE or UNSET under a mesh that is not STRICT;
//   - a mesh-wide PERMISSIVE or UNSET one (PERMISSIVE is the default);
//   - a workload-level one (selector, no portLevelMtls) whose mode equals its namespace's
//     effective mode, or is UNSET.
// DISABLE is peer-authentication-disable's; portLevelMtls policies are never called redundant.
//
// Why: cleanup after migration. In ambient, traffic between ambient pods is always mTLS over
// HBONE; a PeerAuthentication only decides whether plaintext from outside the mesh is accepted,
// through one effective mode per workload computed from the oldest mesh, namespace and workload
// policies ([I] pilot/pkg/serviceregistry/ambient/authorization.go:81-220,
// convertedSelectorPeerAuthentications). Policies that do not change that mode are configuration
// to keep in sync for nothing, and make the effective mode harder to read.
//
// Violating example (istio-system/default is STRICT; namespace shop is ambient):
//   apiVersion: security.istio.io/v1
//   kind: PeerAuthentication
//   metadata: {name: default, namespace: shop}
//   spec:
//     mtls: {mode: STRICT}
//
// Fires on PeerAuthentication writes and namespace enrollment (root-namespace policies only on
// their own writes). Default: dryrun (reported in audit and `check`, never enforced).
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class PeerAuthenticationRedundant final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
