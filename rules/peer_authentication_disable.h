// peer-authentication-disable
//
// Invariant: no PeerAuthentication with mode DISABLE — at the top level or in any portLevelMtls
// entry — applies to an ambient namespace. A selector-less PeerAuthentication in the root
// namespace is mesh-wide and applies to every ambient namespace; selector PeerAuthentications in
// the root namespace are ignored ([API] security/v1beta1/peer_authentication.proto:47).
//
// Why: ambient traffic between proxies is always HBONE with mTLS, so DISABLE is not supported:
// istiod converts it as PERMISSIVE ([I] pilot/pkg/serviceregistry/ambient/authorization.go:
// 130-136), plaintext from outside the mesh is accepted, and the Istio migration guide lists
// DISABLE as a hard blocker. A namespace-level DISABLE also overrides a mesh-wide STRICT for the
// whole namespace (authorization.go:118-122). A port-level DISABLE on a workload whose own mode
// is UNSET under an inherited STRICT is not exempted at all (authorization.go:179-183 only checks
// PERMISSIVE): that port stays STRICT, the opposite of what was asked. A namespace-level
// PERMISSIVE overriding a mesh-wide STRICT is reported too, as a warning (it is supported, but
// silently re-admits plaintext for the whole namespace).
//
// Violating example (namespace legacy labelled istio.io/dataplane-mode=ambient):
//   apiVersion: security.istio.io/v1
//   kind: PeerAuthentication
//   metadata: {name: no-mtls, namespace: legacy}
//   spec:
//     mtls: {mode: DISABLE}
//
// Fires on PeerAuthentication writes and on namespace enrollment. Default: deny.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class PeerAuthenticationDisable final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
