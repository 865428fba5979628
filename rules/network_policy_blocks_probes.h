// network-policy-blocks-probes
//
// Invariant: kubelet probes (httpGet, tcpSocket, grpc) still reach the pods that will be ambient
// when a NetworkPolicy isolates them: some rule admits the SNAT source 169.254.7.127 (or
// HOST_PROBE_SNAT_IP, plus the IPv6 address on dual-stack clusters) on the probe port.
// Spec: ../shared/spec/platform-and-cost.md §1.1, §1.3 rule 7.
//
// Why: istio-cni SNATs every probe to an ambient pod to the link-local address 169.254.7.127 so
// the pod can tell it from mesh traffic ([I] cni/pkg/iptables/iptables.go:625-646); the
// NetworkPolicy exemption for "traffic from the pod's node" then no longer applies. "Depending on
// your CNI, kubelet probes and link-local addresses may be ignored by this policy, or be blocked
// by it" (istio.io "Ambient and Kubernetes NetworkPolicy"); where blocked, pods go unready and
// restart in a loop. On Cilium, Calico eBPF before 3.29 and EKS security groups for pods in
// strict mode the failure is certain, so the rule denies there. Probe ports come from the
// workload template: the injector rewrote the sidecar-era Pod's probes to port 15020
// ([I] pkg/kube/inject/app_probe.go:68-90), and after cutover the kubelet hits the app port.
//
// Violating example (namespace shop is ambient, the Deployment probes :8080):
//   apiVersion: networking.k8s.io/v1
//   kind: NetworkPolicy
//   metadata: {name: deny-all, namespace: shop}
//   spec:
//     podSelector: {}
//     policyTypes: [Ingress]
//
// Fires on NetworkPolicy writes and on namespace enrollment. Default: warn (deny on the CNIs
// above).
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class NetworkPolicyBlocksProbes final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
