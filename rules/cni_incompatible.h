// cni-incompatible
//
// Invariant: the cluster's CNI and platform settings support ambient's in-pod redirection
// (../shared/spec/platform-and-cost.md §2.1-§2.3): every FAIL/WARN row a backup can show, each
// with the exact setting to change, and "verify on node" where a backup cannot tell (kernel
// modules).
//
// Why: istio-cni moves each ambient pod's traffic into ztunnel from inside the pod's network
// namespace and SNATs kubelet probes to 169.254.7.127. CNIs that own the node's CNI config
// (Cilium `cni.exclusive`), rewrite sources (Cilium BPF masquerade, Calico eBPF before 3.29),
// mis-route link-local replies (EKS security groups for pods in strict mode), or hide the
// DaemonSets from their quota (GKE system-node-critical) break capture or health checks, and
// nothing in Istio checks them up front (istio.io "Platform-Specific Prerequisites").
//
// Violating example (Cilium installed with default Helm values):
//   apiVersion: v1
//   kind: ConfigMap
//   metadata: {name: cilium-config, namespace: kube-system}
//   data:
//     cni-exclusive: "true"
//
// Pre-flight only (RuleDoc::preflight_only): evaluated by `check`/`plan` for namespaces that are,
// or would be, ambient; never on admission (the webhook does not watch these objects).
// Default: deny (rows marked WARN in the spec: warn; verify-on-node notes: dryrun).
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class CniIncompatible final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
