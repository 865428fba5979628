// migration-blocker
//
// Invariant: the mesh has none of the hard blockers of Istio's "Migrate from Sidecar to Ambient"
// guide — VM workloads (WorkloadEntry, WorkloadGroup), SPIRE as the certificate provider, a
// primary-remote multicluster control plane — and every sidecar was restarted after the ambient
// profile was installed, so it speaks HBONE to ambient pods.
//
// Why: the guide (istio.io docs/ambient/migrate, "What is not supported") says "migration is not
// possible until these are resolved": "VM-based workloads cannot join the ambient mesh", "Ambient
// mode does not support SPIRE integration", "Only multiple-primary clusters are supported.
// Deployments with one or more remote clusters will not work correctly." Sidecars pick up
// ISTIO_META_ENABLE_HBONE=true only when restarted (docs/ambient/migrate/
// install-ambient-components, "Enable HBONE support in existing sidecars").
//
// Violating example (any namespace of the mesh):
//   apiVersion: networking.istio.io/v1
//   kind: WorkloadEntry
//   metadata: {name: billing-vm, namespace: billing}
//   spec: {address: 10.0.0.12, labels: {app: billing}, serviceAccount: billing}
//
// Fires for a namespace that is, or would be, ambient: `check`/`plan` and the enrollment label
// (when the webhook's state holds these objects, e.g. `serve --state`). Default: deny; a sidecar
// that was not restarted is a warning (restart it).
// No other rule's invariant covers this: cni-incompatible is about the node network,
// dual-dataplane-labels about one namespace's labels; these are properties of the whole mesh.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class MigrationBlocker final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
