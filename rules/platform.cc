#include "rules/platform.h"

#include <algorithm>
#include <cctype>

#include "rules/network_policy.h"

namespace ambient_guard::platform {

std::string Version::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::optional<Version> parseVersion(std::string_view text) {
  // The tag follows the last ':' after the last '/' (a registry may carry a port).
  if (auto at = text.find('@'); at != std::string_view::npos) {
    text = text.substr(0, at);
  }
  const size_t slash = text.rfind('/');
  const size_t colon = text.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    text = text.substr(colon + 1);
  }
  if (!text.empty() && (text[0] == 'v' || text[0] == 'V')) {
    text.remove_prefix(1);
  }
  int parts[3] = {0, 0, 0};
  size_t pos = 0;
  int n = 0;
  while (n < 3 && pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    int v = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      v = v * 10 + (text[pos] - '0');
      ++pos;
    }
    parts[n++] = v;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
    } else {
      break;
    }
  }
  if (n < 2) {
    return std::nullopt;
  }
  return Version{parts[0], parts[1], parts[2]};
}

const std::string* envOf(const Workload& w, std::string_view name) {
  for (const Container& c : w.spec.containers) {
    for (const auto& [k, v] : c.env) {
      if (k == name) {
        return &v;
      }
    }
  }
  return nullptr;
}

namespace {

const std::string* dataKey(const ConfigMap* cm, std::string_view key) {
  return cm == nullptr ? nullptr : cm->data.get(key);
}

std::optional<Version> imageVersion(const DaemonSet* ds, std::string_view container_hint) {
  if (ds == nullptr) {
    return std::nullopt;
  }
  for (const Container& c : ds->spec.containers) {
    if (!c.init && (container_hint.empty() || c.name.find(container_hint) != std::string::npos)) {
      if (auto v = parseVersion(c.image)) {
        return v;
      }
    }
  }
  for (const Container& c : ds->spec.containers) {
    if (auto v = parseVersion(c.image)) {
      return v;
    }
  }
  return std::nullopt;
}

// Compares "5.10.0-1234-aws" style kernel versions numerically.
bool kernelLess(const std::string& a, const std::string& b) {
  auto va = parseVersion(a), vb = parseVersion(b);
  if (!va || !vb) {
    return false;
  }
  return *va < *vb;
}

}  // namespace

const std::string* Platform::ciliumKey(std::string_view key) const {
  return dataKey(cilium_config, key);
}

const std::string* Platform::istioCniKey(std::string_view key) const {
  return dataKey(istio_cni_config, key);
}

bool Platform::calicoBpf() const {
  return (felix != nullptr && felix->bpf_enabled.value_or(false)) ||
         (installation != nullptr && installation->linux_dataplane == "BPF");
}

std::optional<Version> Platform::calicoVersion() const {
  if (installation != nullptr && !installation->calico_version.empty()) {
    if (auto v = parseVersion(installation->calico_version)) {
      return v;
    }
  }
  return imageVersion(calico_node, "calico-node");
}

std::optional<Version> Platform::istioVersion() const {
  if (auto v = imageVersion(istio_cni, "install-cni")) {
    return v;
  }
  return imageVersion(ztunnel, "istio-proxy");
}

bool Platform::eksSgpStrict() const {
  if (aws_node == nullptr) {
    return false;
  }
  const std::string* eni = envOf(*aws_node, "ENABLE_POD_ENI");
  const std::string* mode = envOf(*aws_node, "POD_SECURITY_GROUP_ENFORCING_MODE");
  return eni != nullptr && *eni == "true" && security_group_policies > 0 &&
         (mode == nullptr || *mode != "standard");
}

std::string Platform::snatIpv4() const {
  if (istio_cni != nullptr) {
    if (const std::string* ip = envOf(*istio_cni, "HOST_PROBE_SNAT_IP"); ip && !ip->empty()) {
      return *ip;
    }
  }
  if (const std::string* ip = istioCniKey("HOST_PROBE_SNAT_IP"); ip && !ip->empty()) {
    return *ip;
  }
  return std::string(netpol::kProbeSnatIpv4);
}

std::string Platform::snatIpv6() const {
  if (istio_cni != nullptr) {
    if (const std::string* ip = envOf(*istio_cni, "HOST_PROBE_SNAT_IPV6"); ip && !ip->empty()) {
      return *ip;
    }
  }
  if (const std::string* ip = istioCniKey("HOST_PROBE_SNAT_IPV6"); ip && !ip->empty()) {
    return *ip;
  }
  return std::string(netpol::kProbeSnatIpv6);
}

bool Platform::probesOverIpv6() const {
  const std::string* v6 = istioCniKey("AMBIENT_IPV6");
  return ipv6 && (v6 == nullptr || *v6 != "false");
}

std::string Platform::probeHardFailure(bool branch_eni_probe_fix) const {
  if (hasCilium()) {
    return "Cilium (" +
           std::string(cilium != nullptr ? "DaemonSet " + cilium->ns + "/cilium"
                                         : "ConfigMap " + cilium_config->ns + "/cilium-config") +
           ") enforces NetworkPolicy on the SNAT address";
  }
  if (calicoBpf()) {
    auto v = calicoVersion();
    if (!v || *v < Version{3, 29, 0}) {
      return "Calico eBPF dataplane " + (v ? v->str() : std::string("of unknown version")) +
             " (before 3.29) drops probe replies (istio/istio#52765)";
    }
  }
  if (eksSgpStrict() && !branch_eni_probe_fix) {
    return "EKS security groups for pods in strict mode mis-route link-local probes "
           "(aws/amazon-vpc-cni-k8s#2797)";
  }
  return {};
}

Platform detectPlatform(const ClusterView& state, const rules::MeshSettings& mesh) {
  Platform p;
  for (const std::string& ns : state.namespaceNames()) {
    if (ns.starts_with("openshift-")) {
      p.openshift = true;
    }
    for (const DaemonSet* ds : state.list<DaemonSet>(ns)) {
      const std::string& n = ds->name;
      if (n == "cilium") {
        p.cilium = ds;
      } else if (n == "anetd") {
        p.anetd = ds;
      } else if (n == "calico-node") {
        p.calico_node = ds;
      } else if (n == "canal") {
        p.canal = ds;
      } else if (n == "aws-node") {
        p.aws_node = ds;
      } else if (n == "istio-cni-node") {
        p.istio_cni = ds;
      } else if (n == "ztunnel") {
        p.ztunnel = ds;
      } else if (n.find("multus") != std::string::npos) {
        p.multus = ds;
      }
    }
    p.security_group_policies += state.list<SecurityGroupPolicy>(ns).size();
    for (const CiliumNetworkPolicy* c : state.list<CiliumNetworkPolicy>(ns)) {
      p.cilium_policies.push_back(c);
    }
  }
  for (const CiliumClusterwideNetworkPolicy* c : state.list<CiliumClusterwideNetworkPolicy>("")) {
    p.cilium_policies.push_back(c);
  }
  // ConfigMaps live next to their DaemonSet; fall back to the usual namespaces.
  auto findConfigMap = [&](std::string_view name, std::vector<std::string> namespaces) {
    for (const auto& ns : namespaces) {
      if (const ConfigMap* cm = state.find<ConfigMap>(ns, name)) {
        return cm;
      }
    }
    return static_cast<const ConfigMap*>(nullptr);
  };
  p.cilium_config = findConfigMap(
      "cilium-config",
      {p.cilium != nullptr ? p.cilium->ns.str() : "kube-system", "kube-system", "cilium"});
  p.istio_cni_config = findConfigMap(
      "istio-cni-config",
      {p.istio_cni != nullptr ? p.istio_cni->ns.str() : mesh.root_namespace, mesh.root_namespace,
       "kube-system"});
  p.felix = state.find<FelixConfiguration>("", "default");
  p.installation = state.find<Installation>("", "default");
  for (const Node* node : state.list<Node>("")) {
    ++p.nodes;
    p.gke = p.gke || node->kubelet_version.find("-gke") != std::string::npos;
    p.k3s = p.k3s || node->kubelet_version.find("+k3s") != std::string::npos;
    const std::string* ebpf = node->labels.get("kubernetes.azure.com/ebpf-dataplane");
    p.aks_cilium = p.aks_cilium || (ebpf != nullptr && *ebpf == "cilium");
    p.ipv6 = p.ipv6 || node->ipv6;
    if (!node->kernel_version.empty() &&
        (p.oldest_kernel.empty() || kernelLess(node->kernel_version, p.oldest_kernel))) {
      p.oldest_kernel = node->kernel_version;
      p.os_image = node->os_image;
    }
  }
  return p;
}

}  // namespace ambient_guard::platform
