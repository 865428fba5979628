#include "webhook/decode_platform.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "webhook/quantity.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw PlatformDecodeError(path + " " + what);
}

std::string idx(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

const json* member(const json& j, const char* key) {
  if (!j.is_object()) {
    return nullptr;
  }
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

const json* objectAt(const json& j, const char* key, const std::string& path) {
  const json* m = member(j, key);
  if (m != nullptr && !m->is_object()) {
    fail(path + "." + key, "must be an object");
  }
  return m;
}

const json* listAt(const json& j, const char* key, const std::string& path) {
  const json* m = member(j, key);
  if (m != nullptr && !m->is_array()) {
    fail(path + "." + key, "must be a list");
  }
  return m;
}

std::string scalar(const json& j, const std::string& path) {
  if (j.is_string()) {
    return j.get<std::string>();
  }
  if (j.is_boolean()) {
    return j.get<bool>() ? "true" : "false";
  }
  if (j.is_number_integer()) {
    return std::to_string(j.get<int64_t>());
  }
  if (j.is_number()) {
    return j.dump();
  }
  fail(path, "must be a string");
}

std::string stringAt(const json& j, const char* key, const std::string& path) {
  const json* m = member(j, key);
  return m == nullptr ? std::string() : scalar(*m, path + "." + key);
}

std::optional<int64_t> intAt(const json& j, const char* key, const std::string& path) {
  const json* m = member(j, key);
  if (m == nullptr) {
    return std::nullopt;
  }
  if (m->is_number_integer()) {
    return m->get<int64_t>();
  }
  if (m->is_string()) {
    try {
      size_t used = 0;
      int64_t v = std::stoll(m->get<std::string>(), &used);
      if (used == m->get<std::string>().size()) {
        return v;
      }
    } catch (const std::exception&) {
    }
  }
  fail(path + "." + key, "must be an integer");
}

std::optional<bool> boolAt(const json& j, const char* key, const std::string& path) {
  const json* m = member(j, key);
  if (m == nullptr) {
    return std::nullopt;
  }
  if (m->is_boolean()) {
    return m->get<bool>();
  }
  if (m->is_string() && (*m == "true" || *m == "false")) {
    return *m == "true";
  }
  fail(path + "." + key, "must be a boolean");
}

std::vector<std::string> stringList(const json& j, const char* key, const std::string& path) {
  std::vector<std::string> out;
  if (const json* m = listAt(j, key, path)) {
    for (size_t i = 0; i < m->size(); ++i) {
      out.push_back(scalar((*m)[i], idx(path + "." + key, i)));
    }
  }
  return out;
}

Labels labelMap(const json* m, const std::string& path) {
  if (m == nullptr) {
    return {};
  }
  if (!m->is_object()) {
    fail(path, "must be a map of strings");
  }
  std::vector<std::pair<std::string, std::string>> kv;
  kv.reserve(m->size());
  for (const auto& [k, v] : m->items()) {
    kv.emplace_back(k, v.is_null() ? std::string() : scalar(v, path + "." + k));
  }
  return Labels(std::move(kv));
}

// Annotations the pre-flight reads. The values of the two status annotations are large and only
// their presence matters, so they are stored empty.
constexpr std::string_view kKeptAnnotations[] = {
    "ambient.istio.io/redirection",      "ambient.istio.io/bypass-inbound-capture",
    "sidecar.istio.io/inject",           "sidecar.istio.io/proxyCPU",
    "sidecar.istio.io/proxyCPULimit",    "sidecar.istio.io/proxyMemory",
    "sidecar.istio.io/proxyMemoryLimit",
};
constexpr std::string_view kPresenceAnnotations[] = {"sidecar.istio.io/status",
                                                     "vpc.amazonaws.com/pod-eni"};

Labels keptAnnotations(const json* meta, const std::string& path) {
  const json* ann = meta == nullptr ? nullptr : member(*meta, "annotations");
  if (ann == nullptr) {
    return {};
  }
  if (!ann->is_object()) {
    fail(path + ".annotations", "must be a map of strings");
  }
  std::vector<std::pair<std::string, std::string>> kv;
  for (std::string_view key : kKeptAnnotations) {
    if (const json* v = member(*ann, std::string(key).c_str())) {
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
};

KubeLabelSelector labelSelector(const json& j, const std::string& path) {
  if (!j.is_object()) {
    fail(path, "must be an object");
  }
  KubeLabelSelector sel;
  sel.match_labels = labelMap(member(j, "matchLabels"), path + ".matchLabels");
  if (const json* exprs = listAt(j, "matchExpressions", path)) {
    for (size_t i = 0; i < exprs->size(); ++i) {
      const json& e = (*exprs)[i];
      const std::string ep = idx(path + ".matchExpressions", i);
      if (!e.is_object()) {
        fail(ep, "must be an object");
      }
      sel.expressions.push_back(
          {stringAt(e, "key", ep), stringAt(e, "operator", ep), stringList(e, "values", ep)});
    }
  }
  return sel;
}

PortRef portRef(const json& j, const std::string& path) {
  PortRef ref;
  if (j.is_number_integer()) {
    ref.number = static_cast<int32_t>(j.get<int64_t>());
  } else if (j.is_string()) {
    const std::string s = j.get<std::string>();
    // A digits-only string cannot be a port name (IANA_SVC_NAME needs a letter): a number.
    if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      ref.number = static_cast<int32_t>(std::stol(s));
    } else {
      ref.name = s;
    }
  } else {
    fail(path, "must be a port number or name");
  }
  return ref;
}

void probeInto(const json& probe, std::string kind, const std::string& path,
               std::vector<Probe>& out) {
  if (!probe.is_object()) {
    fail(path, "must be an object");
  }
  for (const char* handler : {"httpGet", "tcpSocket", "grpc"}) {
    if (const json* h = objectAt(probe, handler, path)) {
      Probe p{kind, handler, {}};
      if (const json* port = member(*h, "port")) {
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
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return;
  }
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
  const json* res = objectAt(c, "resources", path);
  if (res == nullptr) {
    return r;
  }
  auto read = [&](const char* section, std::optional<int64_t>& cpu, std::optional<int64_t>& mem) {
    const std::string sp = path + ".resources." + section;
    if (const json* s = objectAt(*res, section, path + ".resources")) {
      if (const json* v = member(*s, "cpu")) {
        cpu = parseCpuMillis(scalar(*v, sp + ".cpu"));
        if (!cpu) {
          fail(sp + ".cpu", "is not a quantity");
        }
      }
      if (const json* v = member(*s, "memory")) {
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
  bool daemonset = false;  // keep images, priority class and hostPath volumes
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
  if (const json* ports = listAt(c, "ports", path)) {
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
    if (const json* probe = member(c, field)) {
      probeInto(*probe, kind, path + "." + field, out.probes);
    }
  }
  out.resources = resources(c, path);
  if (const json* env = listAt(c, "env", path)) {
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
  if (opt.daemonset) {
    out.image = stringAt(c, "image", path);
  }
  return out;
}

PodSpec podSpec(const json* spec, const std::string& path, const SpecOptions& opt) {
  PodSpec out;
  if (spec == nullptr) {
    return out;
  }
  out.host_network = boolAt(*spec, "hostNetwork", path).value_or(false);
  for (const auto& [key, init] : {std::pair{"containers", false}, std::pair{"initContainers", true}}) {
    if (const json* cs = listAt(*spec, key, path)) {
      for (size_t i = 0; i < cs->size(); ++i) {
        out.containers.push_back(container((*cs)[i], idx(path + "." + key, i), init, opt, out));
      }
    }
  }
  if (opt.daemonset) {
    out.priority_class = stringAt(*spec, "priorityClassName", path);
    if (const json* vols = listAt(*spec, "volumes", path)) {
      for (size_t i = 0; i < vols->size(); ++i) {
        const std::string vp = idx(path + ".volumes", i);
        if (const json* hp = objectAt((*vols)[i], "hostPath", vp)) {
          out.host_paths.push_back({stringAt((*vols)[i], "name", vp), stringAt(*hp, "path", vp)});
        }
      }
    }
  }
  return out;
}

const json& specOf(const json& doc) {
  static const json kEmpty = json::object();
  const json* spec = objectAt(doc, "spec", "");
  return spec == nullptr ? kEmpty : *spec;
}

Pod decodePod(const json& doc) {
  Pod pod;
  pod.annotations = keptAnnotations(member(doc, "metadata"), "metadata");
  const json* spec = objectAt(doc, "spec", "");
  pod.spec = podSpec(spec, "spec", {});
  if (spec != nullptr) {
    pod.node = stringAt(*spec, "nodeName", "spec");
  }
  if (const json* status = objectAt(doc, "status", "")) {
    pod.phase = stringAt(*status, "phase", "status");
  }
  return pod;
}

template <class W>
W decodeWorkload(const json& doc) {
  W w;
  const bool daemonset = std::is_same_v<W, DaemonSet>;
  const json& spec = specOf(doc);
  if (const json* tmpl = objectAt(spec, "template", "spec")) {
    if (const json* meta = objectAt(*tmpl, "metadata", "spec.template")) {
      w.pod_labels = labelMap(member(*meta, "labels"), "spec.template.metadata.labels");
      w.pod_annotations = keptAnnotations(meta, "spec.template.metadata");
    }
    w.spec = podSpec(objectAt(*tmpl, "spec", "spec.template"), "spec.template.spec",
                     SpecOptions{daemonset});
  }
  if (daemonset) {
    const json* status = objectAt(doc, "status", "");
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
  if (const json* status = objectAt(doc, "status", "")) {
    if (const json* info = objectAt(*status, "nodeInfo", "status")) {
      n.kubelet_version = stringAt(*info, "kubeletVersion", "status.nodeInfo");
      n.kernel_version = stringAt(*info, "kernelVersion", "status.nodeInfo");
      n.os_image = stringAt(*info, "osImage", "status.nodeInfo");
    }
    if (const json* addrs = listAt(*status, "addresses", "status")) {
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

// ConfigMaps by name (spec §2.1 cilium-config, §2.3 istio-cni-config, §4.2 injector values).
enum class ConfigMapRole { kNone, kCilium, kIstioCni, kInjectorValues, kMergedValues, kWaypoint };

ConfigMapRole configMapRole(const json& doc) {
  const json* meta = member(doc, "metadata");
  if (meta == nullptr) {
    return ConfigMapRole::kNone;
  }
  const json* name_j = member(*meta, "name");
  const std::string name = (name_j != nullptr && name_j->is_string()) ? name_j->get<std::string>()
                                                                      : std::string();
  if (name == "cilium-config") {
    return ConfigMapRole::kCilium;
  }
  if (name == "istio-cni-config") {
    return ConfigMapRole::kIstioCni;
  }
  if (name == "istio-sidecar-injector" || name.starts_with("istio-sidecar-injector-")) {
    return ConfigMapRole::kInjectorValues;
  }
  if (name == "values" || name.starts_with("values-")) {
    return ConfigMapRole::kMergedValues;
  }
  if (const json* labels = member(*meta, "labels"); labels != nullptr && labels->is_object()) {
    const json* cls = member(*labels, "gateway.istio.io/defaults-for-class");
    if (cls != nullptr && cls->is_string() && *cls == "istio-waypoint") {
      return ConfigMapRole::kWaypoint;
    }
  }
  return ConfigMapRole::kNone;
}

constexpr std::string_view kCiliumKeys[] = {
    "cni-exclusive",         "bpf-lb-sock-hostns-only",    "kube-proxy-replacement",
    "enable-bpf-masquerade", "enable-host-legacy-routing", "cni-chaining-mode",
    "enable-policy",
};
constexpr std::string_view kIstioCniKeys[] = {
    "AMBIENT_ENABLED", "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP", "AMBIENT_DNS_CAPTURE",
    "AMBIENT_IPV6",    "EXCLUDE_NAMESPACES",                     "CHAINED_CNI_PLUGIN",
    "NATIVE_NFTABLES", "HOST_PROBE_SNAT_IP",                     "HOST_PROBE_SNAT_IPV6",
};

// Adds "global.<component>.resources.<requests|limits>.<cpu|memory>" from Istio values JSON.
void resourceKeys(const json& values, const char* component, const char* prefix,
                  std::vector<std::pair<std::string, std::string>>& kv) {
  const json* global = member(values, "global");
  const json* comp = global == nullptr ? nullptr : member(*global, component);
  const json* res = comp == nullptr ? nullptr : member(*comp, "resources");
  if (res == nullptr) {
    return;
  }
  for (const char* section : {"requests", "limits"}) {
    const json* s = member(*res, section);
    for (const char* r : {"cpu", "memory"}) {
      if (const json* v = s == nullptr ? nullptr : member(*s, r); v != nullptr && !v->is_object()) {
        kv.emplace_back(std::string(prefix) + section + "." + r, scalar(*v, "data"));
      }
    }
  }
}

ConfigMap decodeConfigMap(const json& doc) {
  ConfigMap cm;
  const json* data = objectAt(doc, "data", "");
  if (data == nullptr) {
    return cm;
  }
  std::vector<std::pair<std::string, std::string>> kv;
  auto keep = [&](const auto& keys) {
    for (std::string_view key : keys) {
      if (const json* v = member(*data, std::string(key).c_str())) {
        kv.emplace_back(std::string(key), scalar(*v, "data." + std::string(key)));
      }
    }
  };
  switch (configMapRole(doc)) {
    case ConfigMapRole::kCilium:
      keep(kCiliumKeys);
      break;
    case ConfigMapRole::kIstioCni:
      keep(kIstioCniKeys);
      break;
    case ConfigMapRole::kInjectorValues:
    case ConfigMapRole::kMergedValues: {
      const char* key =
          configMapRole(doc) == ConfigMapRole::kInjectorValues ? "values" : "merged-values";
      if (const json* v = member(*data, key); v != nullptr && v->is_string()) {
        json values = json::parse(v->get<std::string>(), nullptr, /*allow_exceptions=*/false);
        if (values.is_object()) {
          resourceKeys(values, "proxy", kProxyResourcePrefix, kv);
          resourceKeys(values, "waypoint", kWaypointResourcePrefix, kv);
        }
      }
      break;
    }
    case ConfigMapRole::kWaypoint:
      keep(std::array<std::string_view, 1>{"deployment"});
      break;
    case ConfigMapRole::kNone:
      break;
  }
  cm.data = Labels(std::move(kv));
  return cm;
}

ResourceQuota decodeResourceQuota(const json& doc) {
  ResourceQuota rq;
  const json* ss = objectAt(specOf(doc), "scopeSelector", "spec");
  const json* exprs = ss == nullptr ? nullptr : listAt(*ss, "matchExpressions", "spec.scopeSelector");
  if (exprs == nullptr) {
    return rq;
  }
  for (size_t i = 0; i < exprs->size(); ++i) {
    const json& e = (*exprs)[i];
    const std::string ep = idx("spec.scopeSelector.matchExpressions", i);
    if (stringAt(e, "scopeName", ep) == "PriorityClass" && stringAt(e, "operator", ep) == "In") {
      for (auto& v : stringList(e, "values", ep)) {
        rq.priority_classes.push_back(std::move(v));
      }
    }
  }
  return rq;
}

NetworkPolicyRule npRule(const json& r, const char* peers_key, const std::string& path) {
  NetworkPolicyRule rule;
  if (!r.is_object()) {
    fail(path, "must be an object");
  }
  if (const json* ports = listAt(r, "ports", path)) {
    for (size_t i = 0; i < ports->size(); ++i) {
      const json& p = (*ports)[i];
      const std::string pp = idx(path + ".ports", i);
      if (!p.is_object()) {
        fail(pp, "must be an object");
      }
      NetworkPolicyPort port;
      port.protocol = stringAt(p, "protocol", pp);
      if (const json* v = member(p, "port")) {
        port.has_port = true;
        port.port = portRef(*v, pp + ".port");
      }
      if (auto end = intAt(p, "endPort", pp)) {
        port.end_port = static_cast<int32_t>(*end);
      }
      rule.ports.push_back(std::move(port));
    }
  }
  if (const json* peers = listAt(r, peers_key, path)) {
    for (size_t i = 0; i < peers->size(); ++i) {
      const json& p = (*peers)[i];
      const std::string pp = idx(path + "." + peers_key, i);
      if (!p.is_object()) {
        fail(pp, "must be an object");
      }
      NetworkPolicyPeer peer;
      if (const json* s = member(p, "podSelector")) {
        peer.pod_selector = labelSelector(*s, pp + ".podSelector");
      }
      if (const json* s = member(p, "namespaceSelector")) {
        peer.namespace_selector = labelSelector(*s, pp + ".namespaceSelector");
      }
      if (const json* b = objectAt(p, "ipBlock", pp)) {
        peer.ip_block = IpBlock{stringAt(*b, "cidr", pp + ".ipBlock"),
                                stringList(*b, "except", pp + ".ipBlock")};
      }
      rule.peers.push_back(std::move(peer));
    }
  }
  return rule;
}

NetworkPolicy decodeNetworkPolicy(const json& doc) {
  NetworkPolicy np;
  const json& spec = specOf(doc);
  if (const json* s = member(spec, "podSelector")) {
    np.pod_selector = labelSelector(*s, "spec.podSelector");
  }
  np.policy_types = stringList(spec, "policyTypes", "spec");
  for (const auto& [key, peers, out] :
       {std::tuple{"ingress", "from", &np.ingress}, std::tuple{"egress", "to", &np.egress}}) {
    if (const json* rules = listAt(spec, key, "spec")) {
      for (size_t i = 0; i < rules->size(); ++i) {
        out->push_back(npRule((*rules)[i], peers, idx(std::string("spec.") + key, i)));
      }
    }
  }
  return np;
}

// Cilium rule semantics (docs.cilium.io "Policy Enforcement Modes"): an endpoint selected by a
// policy with ingress rules is default-deny for ingress unless enableDefaultDeny.ingress is false.
template <class C>
C decodeCiliumPolicy(const json& doc) {
  C c;
  std::vector<const json*> specs;
  if (const json* s = objectAt(doc, "spec", "")) {
    specs.push_back(s);
  }
  if (const json* many = listAt(doc, "specs", "")) {
    for (const json& s : *many) {
      specs.push_back(&s);
    }
  }
  for (const json* s : specs) {
    if (const json* sel = objectAt(*s, "endpointSelector", "spec")) {
      KubeLabelSelector ls = labelSelector(*sel, "spec.endpointSelector");
      c.selects_all = c.selects_all || (ls.match_labels.empty() && ls.expressions.empty());
    }
    const json* ingress = listAt(*s, "ingress", "spec");
    const json* deny = listAt(*s, "ingressDeny", "spec");
    bool default_deny = true;
    if (const json* dd = objectAt(*s, "enableDefaultDeny", "spec")) {
      default_deny = boolAt(*dd, "ingress", "spec.enableDefaultDeny").value_or(true);
    }
    if (default_deny && ((ingress != nullptr && !ingress->empty()) || (deny != nullptr && !deny->empty()))) {
      c.isolates_ingress = true;
    }
    if (ingress != nullptr) {
      for (size_t i = 0; i < ingress->size(); ++i) {
        const std::string ip = idx("spec.ingress", i);
        for (auto& cidr : stringList((*ingress)[i], "fromCIDR", ip)) {
          c.from_cidrs.push_back(std::move(cidr));
        }
        if (const json* set = listAt((*ingress)[i], "fromCIDRSet", ip)) {
          for (size_t k = 0; k < set->size(); ++k) {
            std::string cidr = stringAt((*set)[k], "cidr", idx(ip + ".fromCIDRSet", k));
            if (!cidr.empty()) {
              c.from_cidrs.push_back(std::move(cidr));
            }
          }
        }
      }
    }
  }
  return c;
}

}  // namespace

bool isPlatformKind(Kind kind) { return static_cast<int>(kind) >= static_cast<int>(Kind::kNetworkPolicy); }

bool keepPlatformDocument(Kind kind, const json& doc) {
  return kind != Kind::kConfigMap || configMapRole(doc) != ConfigMapRole::kNone;
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
      if (const json* net = objectAt(specOf(doc), "calicoNetwork", "spec")) {
        in.linux_dataplane = stringAt(*net, "linuxDataplane", "spec.calicoNetwork");
      }
      if (const json* status = objectAt(doc, "status", "")) {
        in.calico_version = stringAt(*status, "calicoVersion", "status");
      }
      return in;
    }
    case Kind::kSecurityGroupPolicy:
      return SecurityGroupPolicy{};
    case Kind::kCiliumNetworkPolicy:
      return decodeCiliumPolicy<CiliumNetworkPolicy>(doc);
    case Kind::kCiliumClusterwideNetworkPolicy:
      return decodeCiliumPolicy<CiliumClusterwideNetworkPolicy>(doc);
    default:
      break;
  }
  fail("kind", "is not a platform kind");
}

}  // namespace ambient_guard
