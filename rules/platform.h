// What a backup shows about the cluster's CNI and platform: the objects of
// ../shared/spec/platform-and-cost.md §2 (DaemonSets, ConfigMaps, Calico and EKS objects, Nodes),
// found once and read by cni-incompatible, network-policy-blocks-probes and the cost estimate.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"
#include "model/objects.h"
#include "rules/rule.h"

namespace ambient_guard::platform {

struct Version {
  int major = 0;
  int minor = 0;
  int patch = 0;
  auto operator<=>(const Version&) const = default;
  std::string str() const;
};

// Returns the version in an image tag ("docker.io/calico/node:v3.28.1" → 3.28.1,
// "istio/ztunnel:1.24.0-distroless" → 1.24.0), or nullopt.
std::optional<Version> parseVersion(std::string_view text);

// Returns the value of env var `name` in any container of the workload, or nullptr.
const std::string* envOf(const Workload& w, std::string_view name);

struct Platform {
  // CNI objects, by their conventional names (spec §2.1).
  const DaemonSet* cilium = nullptr;        // DaemonSet cilium
  const ConfigMap* cilium_config = nullptr; // ConfigMap cilium-config
  const DaemonSet* anetd = nullptr;         // GKE Dataplane V2 (heuristic)
  const DaemonSet* calico_node = nullptr;   // DaemonSet calico-node
  const DaemonSet* canal = nullptr;         // DaemonSet canal (Calico policy on Flannel)
  const FelixConfiguration* felix = nullptr;   // FelixConfiguration default
  const Installation* installation = nullptr;  // operator Installation default
  const DaemonSet* aws_node = nullptr;      // EKS VPC CNI
  size_t security_group_policies = 0;
  const DaemonSet* multus = nullptr;        // a DaemonSet whose name contains "multus"
  std::vector<const CiliumPolicy*> cilium_policies;  // CNP and CCNP
  // Istio's node agents (§2.1 GKE/OpenShift rows, §2.3, §4).
  const DaemonSet* istio_cni = nullptr;  // DaemonSet istio-cni-node
  const DaemonSet* ztunnel = nullptr;    // DaemonSet ztunnel
  const ConfigMap* istio_cni_config = nullptr;
  // Nodes (Node.status.nodeInfo and labels).
  size_t nodes = 0;
  bool gke = false;         // kubeletVersion contains "-gke"
  bool k3s = false;         // kubeletVersion contains "+k3s"
  bool aks_cilium = false;  // label kubernetes.azure.com/ebpf-dataplane=cilium
  bool ipv6 = false;        // some node has an IPv6 pod CIDR or InternalIP
  bool openshift = false;   // openshift-* namespaces exist
  std::string oldest_kernel;  // lowest kernelVersion seen
  std::string os_image;       // osImage of that node

  bool hasCilium() const { return cilium != nullptr || cilium_config != nullptr; }
  // Returns the value of a cilium-config key, or nullptr.
  const std::string* ciliumKey(std::string_view key) const;
  // Returns the value of an istio-cni-config key, or nullptr.
  const std::string* istioCniKey(std::string_view key) const;
  // Calico eBPF dataplane: FelixConfiguration default bpfEnabled, or Installation BPF.
  bool calicoBpf() const;
  std::optional<Version> calicoVersion() const;
  // Istio version of the node agents (istio-cni-node, else ztunnel image tag).
  std::optional<Version> istioVersion() const;
  // EKS security groups for pods in strict mode: ENABLE_POD_ENI=true, some SecurityGroupPolicy,
  // POD_SECURITY_GROUP_ENFORCING_MODE not "standard" (spec §2.1 EKS).
  bool eksSgpStrict() const;
  // The probe SNAT addresses (HOST_PROBE_SNAT_IP[V6] env or istio-cni-config; spec §2.3).
  std::string snatIpv4() const;
  std::string snatIpv6() const;
  // True when probes also arrive from the IPv6 SNAT address: AMBIENT_IPV6 on (default) and an
  // IPv6 node address is seen (spec §1.3 rule 7).
  bool probesOverIpv6() const;
  // Returns why a probe a NetworkPolicy blocks certainly fails on this platform (spec §1.3 rule
  // 7: Cilium, Calico eBPF before 3.29, EKS SGP strict mode unless istio-cni has the branch-ENI
  // probe fix, `branch_eni_probe_fix`), or "" when it depends on the CNI.
  std::string probeHardFailure(bool branch_eni_probe_fix = false) const;
};

// Finds the platform objects in `state`: DaemonSets in every namespace, the ConfigMaps next to
// them (or in kube-system / the root namespace), cluster-scoped Calico objects and Nodes.
Platform detectPlatform(const ClusterView& state, const rules::MeshSettings& mesh);

}  // namespace ambient_guard::platform
