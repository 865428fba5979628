// Decoders of the NetworkPolicy and CNI configuration kinds: NetworkPolicy, ConfigMap (only the
// ones ../shared/spec/platform-and-cost.md §2 and §4 name), ResourceQuota, Cilium policies.
#include <array>
#include <string_view>
#include <tuple>

#include "model/decode_platform_util.h"

namespace ambient_guard::platform_decode {

// ConfigMaps by name (spec §2.1 cilium-config, §2.3 istio-cni-config, §4.2 injector values).
namespace {
enum class ConfigMapRole { kNone, kCilium, kIstioCni, kInjectorValues, kMergedValues, kWaypoint };
}  // namespace

static ConfigMapRole configMapRole(const json& doc) {
  JsonPtr meta = member(doc, "metadata");
  if (meta == nullptr) {
    return ConfigMapRole::kNone;
  }
  JsonPtr name_j = member(*meta, "name");
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
  if (JsonPtr labels = member(*meta, "labels"); labels != nullptr && labels->is_object()) {
    JsonPtr cls = member(*labels, "gateway.istio.io/defaults-for-class");
    if (cls != nullptr && cls->is_string() && *cls == "istio-waypoint") {
      return ConfigMapRole::kWaypoint;
    }
  }
  return ConfigMapRole::kNone;
}

static constexpr std::string_view kCiliumKeys[] = {
    "cni-exclusive",         "bpf-lb-sock-hostns-only",    "kube-proxy-replacement",
    "enable-bpf-masquerade", "enable-host-legacy-routing", "cni-chaining-mode",
    "enable-policy",
};
static constexpr std::string_view kIstioCniKeys[] = {
    "AMBIENT_ENABLED", "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP", "AMBIENT_DNS_CAPTURE",
    "AMBIENT_IPV6",    "EXCLUDE_NAMESPACES",                     "CHAINED_CNI_PLUGIN",
    "NATIVE_NFTABLES", "HOST_PROBE_SNAT_IP",                     "HOST_PROBE_SNAT_IPV6",
    "AMBIENT_ENABLEMENT_SELECTOR",  // rules/enablement.h
};

// Adds "global.<component>.resources.<requests|limits>.<cpu|memory>" from Istio values JSON.
static void resourceKeys(const json& values, const char* component, const char* prefix,
                  std::vector<std::pair<std::string, std::string>>& kv) {
  JsonPtr global = member(values, "global");
  JsonPtr comp = global == nullptr ? nullptr : member(*global, component);
  JsonPtr res = comp == nullptr ? nullptr : member(*comp, "resources");
  if (res == nullptr) {
    return;
  }
  for (const char* section : {"requests", "limits"}) {
    JsonPtr s = member(*res, section);
    for (const char* r : {"cpu", "memory"}) {
      if (JsonPtr v = s == nullptr ? nullptr : member(*s, r); v != nullptr && !v->is_object()) {
        kv.emplace_back(std::string(prefix) + section + "." + r, scalar(*v, "data"));
      }
    }
  }
}

ConfigMap decodeConfigMap(const json& doc) {
  ConfigMap cm;
  JsonPtr data = objectAt(doc, "data", "");
  if (data == nullptr) {
    return cm;
  }
  std::vector<std::pair<std::string, std::string>> kv;
  auto keep = [&](const auto& keys) {
    for (std::string_view key : keys) {
      if (JsonPtr v = member(*data, std::string(key).c_str())) {
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
      if (JsonPtr v = member(*data, key); v != nullptr && v->is_string()) {
        auto parsed = parseJson(v->string_view());
        const json values = parsed.ok() ? parsed->root() : json();
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
  JsonPtr ss = objectAt(specOf(doc), "scopeSelector", "spec");
  JsonPtr exprs = ss == nullptr ? nullptr : listAt(*ss, "matchExpressions", "spec.scopeSelector");
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

static NetworkPolicyRule npRule(const json& r, const char* peers_key, const std::string& path) {
  NetworkPolicyRule rule;
  if (!r.is_object()) {
    fail(path, "must be an object");
  }
  if (JsonPtr ports = listAt(r, "ports", path)) {
    for (size_t i = 0; i < ports->size(); ++i) {
      const json& p = (*ports)[i];
      const std::string pp = idx(path + ".ports", i);
      if (!p.is_object()) {
        fail(pp, "must be an object");
      }
      NetworkPolicyPort port;
      port.protocol = stringAt(p, "protocol", pp);
      if (JsonPtr v = member(p, "port")) {
        port.has_port = true;
        port.port = portRef(*v, pp + ".port");
      }
      if (auto end = intAt(p, "endPort", pp)) {
        port.end_port = static_cast<int32_t>(*end);
      }
      rule.ports.push_back(std::move(port));
    }
  }
  if (JsonPtr peers = listAt(r, peers_key, path)) {
    for (size_t i = 0; i < peers->size(); ++i) {
      const json& p = (*peers)[i];
      const std::string pp = idx(path + "." + peers_key, i);
      if (!p.is_object()) {
        fail(pp, "must be an object");
      }
      NetworkPolicyPeer peer;
      if (JsonPtr s = member(p, "podSelector")) {
        peer.pod_selector = labelSelector(*s, pp + ".podSelector");
      }
      if (JsonPtr s = member(p, "namespaceSelector")) {
        peer.namespace_selector = labelSelector(*s, pp + ".namespaceSelector");
      }
      if (JsonPtr b = objectAt(p, "ipBlock", pp)) {
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
  if (JsonPtr s = member(spec, "podSelector")) {
    np.pod_selector = labelSelector(*s, "spec.podSelector");
  }
  np.policy_types = stringList(spec, "policyTypes", "spec");
  for (const auto& [key, peers, out] :
       {std::tuple{"ingress", "from", &np.ingress}, std::tuple{"egress", "to", &np.egress}}) {
    if (JsonPtr rules = listAt(spec, key, "spec")) {
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
static C decodeCiliumPolicy(const json& doc) {
  C c;
  std::vector<JsonPtr> specs;
  if (JsonPtr s = objectAt(doc, "spec", "")) {
    specs.push_back(s);
  }
  if (JsonPtr many = listAt(doc, "specs", "")) {
    for (const json& s : *many) {
      specs.push_back(JsonPtr(s));
    }
  }
  for (JsonPtr s : specs) {
    if (JsonPtr sel = objectAt(*s, "endpointSelector", "spec")) {
      KubeLabelSelector ls = labelSelector(*sel, "spec.endpointSelector");
      c.selects_all = c.selects_all || (ls.match_labels.empty() && ls.expressions.empty());
    }
    JsonPtr ingress = listAt(*s, "ingress", "spec");
    JsonPtr deny = listAt(*s, "ingressDeny", "spec");
    bool default_deny = true;
    if (JsonPtr dd = objectAt(*s, "enableDefaultDeny", "spec")) {
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
        if (JsonPtr set = listAt((*ingress)[i], "fromCIDRSet", ip)) {
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

bool isKeptConfigMap(const json& doc) { return configMapRole(doc) != ConfigMapRole::kNone; }

CiliumNetworkPolicy decodeCiliumNetworkPolicy(const json& doc) {
  return decodeCiliumPolicy<CiliumNetworkPolicy>(doc);
}

CiliumClusterwideNetworkPolicy decodeCiliumClusterwideNetworkPolicy(const json& doc) {
  return decodeCiliumPolicy<CiliumClusterwideNetworkPolicy>(doc);
}

}  // namespace ambient_guard::platform_decode
