#include "model/decode_platform.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "model/decode_platform_util.h"
#include "model/quantity.h"

namespace ambient_guard::platform_decode {
namespace {

// Annotations the pre-flight reads. The values of the two status annotations are large and only
// their presence matters, so they are stored empty.
constexpr std::string_view kKeptAnnotations[] = {
    "ambient.istio.io/redirection",      "ambient.istio.io/bypass-inbound-capture",
    "sidecar.istio.io/inject",           "sidecar.istio.io/proxyCPU",
    "sidecar.istio.io/proxyCPULimit",    "sidecar.istio.io/proxyMemory",
    "sidecar.istio.io/proxyMemoryLimit", "inject.istio.io/templates",
};
constexpr std::string_view kPresenceAnnotations[] = {"sidecar.istio.io/status",
                                                     "vpc.amazonaws.com/pod-eni"};

Labels keptAnnotations(JsonPtr meta, const std::string& path) {
  JsonPtr ann = meta == nullptr ? nullptr : member(*meta, "annotations");
  if (ann == nullptr) {
    return {};
  }
  if (!ann->is_object()) {
    fail(path + ".annotations", "must be a map of strings");
  }
  std::vector<std::pair<std::string, std::string>> kv;
  for (std::string_view key : kKeptAnnotations) {
    if (JsonPtr v = member(*ann, std::string(key).c_str())) {
      kv.emplace_back(std::string(key), scalar(*v, path + ".annotations." + std::string(key)));
    }
  }
  for (std::string_view key : kPresenceAnnotations) {
    if (member(*ann, std::string(key).c_str()) != nullptr) {
      kv.emplace_back(std::string(key), std::string());
    }
  }
  return Labels(std::move(kv));
}

// Environment variables the pre-flight reads (aws-node, istio-cni-node, istio-proxy).
constexpr std::string_view kKeptEnv[] = {
    "ENABLE_POD_ENI",      "POD_SECURITY_GROUP_ENFORCING_MODE",
    "HOST_PROBE_SNAT_IP",  "HOST_PROBE_SNAT_IPV6",
    "AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE",
    // istiod (docs/istio-1.31-notes.md): primary-remote control plane, ambient dry-run; sidecars:
    // HBONE support picked up at restart after the ambient profile.
    "EXTERNAL_ISTIOD", "AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY", "ISTIO_META_ENABLE_HBONE",
};

void probeInto(const json& probe, std::string kind, const std::string& path,
               std::vector<Probe>& out) {
  if (!probe.is_object()) {
    fail(path, "must be an object");
  }
  for (const char* handler : {"httpGet", "tcpSocket", "grpc"}) {
    if (JsonPtr h = objectAt(probe, handler, path)) {
      Probe p{kind, handler, {}};
      if (JsonPtr port = member(*h, "port")) {
        p.port = portRef(*port, path + "." + handler + ".port");
      }
      out.push_back(std::move(p));
      return;
    }
  }
  if (member(probe, "exec") != nullptr) {
    out.push_back({std::move(kind), "exec", {}});
  }
}

// ISTIO_KUBE_APP_PROBERS: {"/app-health/<container>/livez": {"httpGet": {...}}, ...}
// ([I] pkg/kube/inject/app_probe.go). Unparseable values are ignored: it is a hint only.
void appProbers(const std::string& text, std::vector<Probe>& out) {
  auto parsed = parseJson(text);
  if (!parsed.ok() || !parsed->root().is_object()) {
    return;
  }
  const json j = parsed->root();
  for (const auto& [path, probe] : j.items()) {
    std::string kind = path.ends_with("/livez")     ? "liveness"
                       : path.ends_with("/readyz")  ? "readiness"
                       : path.ends_with("/startupz") ? "startup"
                                                     : "probe";
    try {
      probeInto(probe, kind, "ISTIO_KUBE_APP_PROBERS", out);
    } catch (const PlatformDecodeError&) {
    }
  }
}

Resources resources(const json& c, const std::string& path) {
  Resources r;
  JsonPtr res = objectAt(c, "resources", path);
  if (res == nullptr) {
    return r;
  }
  auto read = [&](const char* section, std::optional<int64_t>& cpu, std::optional<int64_t>& mem) {
    const std::string sp = path + ".resources." + section;
    if (JsonPtr s = objectAt(*res, section, path + ".resources")) {
      if (JsonPtr v = member(*s, "cpu")) {
        cpu = parseCpuMillis(scalar(*v, sp + ".cpu"));
        if (!cpu) {
          fail(sp + ".cpu", "is not a quantity");
        }
      }
      if (JsonPtr v = member(*s, "memory")) {
        mem = parseMemoryBytes(scalar(*v, sp + ".memory"));
        if (!mem) {
          fail(sp + ".memory", "is not a quantity");
        }
      }
    }
  };
  read("requests", r.cpu_request_m, r.memory_request);
  read("limits", r.cpu_limit_m, r.memory_limit);
  return r;
}

struct SpecOptions {
  bool daemonset = false;  // keep the priority class and hostPath volumes
};

Container container(const json& c, const std::string& path, bool init, const SpecOptions& opt,
                    PodSpec& spec) {
  if (!c.is_object()) {
    fail(path, "must be an object");
  }
  Container out;
  out.name = stringAt(c, "name", path);
  out.init = init;
  out.restart_always = init && stringAt(c, "restartPolicy", path) == "Always";
  if (JsonPtr ports = listAt(c, "ports", path)) {
    for (size_t i = 0; i < ports->size(); ++i) {
      const json& p = (*ports)[i];
      const std::string pp = idx(path + ".ports", i);
      if (!p.is_object()) {
        fail(pp, "must be an object");
      }
      out.ports.push_back({stringAt(p, "name", pp),
                           static_cast<int32_t>(intAt(p, "containerPort", pp).value_or(0)),
                           stringAt(p, "protocol", pp)});
    }
  }
  for (const auto& [field, kind] : {std::pair{"livenessProbe", "liveness"},
                                    std::pair{"readinessProbe", "readiness"},
                                    std::pair{"startupProbe", "startup"}}) {
    if (JsonPtr probe = member(c, field)) {
      probeInto(*probe, kind, path + "." + field, out.probes);
    }
  }
  out.resources = resources(c, path);
  if (JsonPtr env = listAt(c, "env", path)) {
    for (size_t i = 0; i < env->size(); ++i) {
      const json& e = (*env)[i];
      const std::string ep = idx(path + ".env", i);
      const std::string name = stringAt(e, "name", ep);
      if (name == "ISTIO_KUBE_APP_PROBERS") {
        appProbers(stringAt(e, "value", ep), spec.app_probers);
        continue;
      }
      if (std::find(std::begin(kKeptEnv), std::end(kKeptEnv), name) != std::end(kKeptEnv)) {
        out.env.emplace_back(name, stringAt(e, "value", ep));
      }
    }
  }
  out.image = stringAt(c, "image", path);  // istiod's tag is the Istio version (rules/istio_version.h)
  return out;
}

PodSpec podSpec(JsonPtr spec, const std::string& path, const SpecOptions& opt) {
  PodSpec out;
  if (spec == nullptr) {
    return out;
  }
  out.host_network = boolAt(*spec, "hostNetwork", path).value_or(false);
  for (const auto& [key, init] : {std::pair{"containers", false}, std::pair{"initContainers", true}}) {
    if (JsonPtr cs = listAt(*spec, key, path)) {
      for (size_t i = 0; i < cs->size(); ++i) {
        out.containers.push_back(container((*cs)[i], idx(path + "." + key, i), init, opt, out));
      }
    }
  }
  if (opt.daemonset) {
    out.priority_class = stringAt(*spec, "priorityClassName", path);
    if (JsonPtr vols = listAt(*spec, "volumes", path)) {
      for (size_t i = 0; i < vols->size(); ++i) {
        const std::string vp = idx(path + ".volumes", i);
        if (JsonPtr hp = objectAt((*vols)[i], "hostPath", vp)) {
          out.host_paths.push_back({stringAt((*vols)[i], "name", vp), stringAt(*hp, "path", vp)});
        }
      }
    }
  }
  return out;
}

Pod decodePod(const json& doc) {
  Pod pod;
  pod.annotations = keptAnnotations(member(doc, "metadata"), "metadata");
  JsonPtr spec = objectAt(doc, "spec", "");
  pod.spec = podSpec(spec, "spec", {});
  if (spec != nullptr) {
    pod.node = stringAt(*spec, "nodeName", "spec");
  }
  if (JsonPtr status = objectAt(doc, "status", "")) {
    pod.phase = stringAt(*status, "phase", "status");
  }
  return pod;
}

template <class W>
W decodeWorkload(const json& doc) {
  W w;
  const bool daemonset = std::is_same_v<W, DaemonSet>;
  const json& spec = specOf(doc);
  if (JsonPtr tmpl = objectAt(spec, "template", "spec")) {
    if (JsonPtr meta = objectAt(*tmpl, "metadata", "spec.template")) {
      w.pod_labels = labelMap(member(*meta, "labels"), "spec.template.metadata.labels");
      w.pod_annotations = keptAnnotations(meta, "spec.template.metadata");
    }
    w.spec = podSpec(objectAt(*tmpl, "spec", "spec.template"), "spec.template.spec",
                     SpecOptions{daemonset});
  }
  if (daemonset) {
    JsonPtr status = objectAt(doc, "status", "");
    w.replicas = status == nullptr
                     ? -1
                     : static_cast<int32_t>(
                           intAt(*status, "desiredNumberScheduled", "status").value_or(0));
  } else {
    w.replicas = static_cast<int32_t>(intAt(spec, "replicas", "spec").value_or(1));
  }
  return w;
}

bool isIpv6(const std::string& addr) { return addr.find(':') != std::string::npos; }

Node decodeNode(const json& doc) {
  Node n;
  const json& spec = specOf(doc);
  for (const std::string& cidr : stringList(spec, "podCIDRs", "spec")) {
    n.ipv6 = n.ipv6 || isIpv6(cidr);
  }
  if (JsonPtr status = objectAt(doc, "status", "")) {
    if (JsonPtr info = objectAt(*status, "nodeInfo", "status")) {
      n.kubelet_version = stringAt(*info, "kubeletVersion", "status.nodeInfo");
      n.kernel_version = stringAt(*info, "kernelVersion", "status.nodeInfo");
      n.os_image = stringAt(*info, "osImage", "status.nodeInfo");
    }
    if (JsonPtr addrs = listAt(*status, "addresses", "status")) {
      for (size_t i = 0; i < addrs->size(); ++i) {
        const std::string ap = idx("status.addresses", i);
        if (stringAt((*addrs)[i], "type", ap) == "InternalIP") {
          n.ipv6 = n.ipv6 || isIpv6(stringAt((*addrs)[i], "address", ap));
        }
      }
    }
  }
  return n;
}

}  // namespace
}  // namespace ambient_guard::platform_decode

namespace ambient_guard {

using namespace platform_decode;  // NOLINT: the decoders of this file's two halves

bool isPlatformKind(Kind kind) { return static_cast<int>(kind) >= static_cast<int>(Kind::kNetworkPolicy); }

bool keepPlatformDocument(Kind kind, const json& doc) {
  return kind != Kind::kConfigMap || isKeptConfigMap(doc);
}

AnyObject decodePlatformObject(Kind kind, const json& doc) {
  switch (kind) {
    case Kind::kNetworkPolicy:
      return decodeNetworkPolicy(doc);
    case Kind::kPod:
      return decodePod(doc);
    case Kind::kDeployment:
      return decodeWorkload<Deployment>(doc);
    case Kind::kStatefulSet:
      return decodeWorkload<StatefulSet>(doc);
    case Kind::kDaemonSet:
      return decodeWorkload<DaemonSet>(doc);
    case Kind::kNode:
      return decodeNode(doc);
    case Kind::kConfigMap:
      return decodeConfigMap(doc);
    case Kind::kResourceQuota:
      return decodeResourceQuota(doc);
    case Kind::kFelixConfiguration: {
      FelixConfiguration fc;
      fc.bpf_enabled = boolAt(specOf(doc), "bpfEnabled", "spec");
      return fc;
    }
    case Kind::kInstallation: {
      Installation in;
      if (JsonPtr net = objectAt(specOf(doc), "calicoNetwork", "spec")) {
        in.linux_dataplane = stringAt(*net, "linuxDataplane", "spec.calicoNetwork");
      }
      if (JsonPtr status = objectAt(doc, "status", "")) {
        in.calico_version = stringAt(*status, "calicoVersion", "status");
      }
      return in;
    }
    case Kind::kSecurityGroupPolicy:
      return SecurityGroupPolicy{};
    case Kind::kCiliumNetworkPolicy:
      return decodeCiliumNetworkPolicy(doc);
    case Kind::kCiliumClusterwideNetworkPolicy:
      return decodeCiliumClusterwideNetworkPolicy(doc);
    default:
      break;
  }
  fail("kind", "is not a platform kind");
}

}  // namespace ambient_guard
