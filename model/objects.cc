#include "model/objects.h"

#include <algorithm>

namespace ambient_guard {

Labels::Labels(Items kv) {
  std::sort(kv.begin(), kv.end());
  // Duplicate keys cannot come from JSON objects; keep the last one if a caller passes them.
  auto last = std::unique(kv.rbegin(), kv.rend(),
                          [](const auto& a, const auto& b) { return a.first == b.first; });
  kv.erase(kv.begin(), last.base());
  if (!kv.empty()) {
    kv.shrink_to_fit();
    kv_ = Shared<Items>(std::move(kv));
  }
}

const Labels::Items& Labels::items() const {
  static const Items kEmpty;
  const Items* kv = kv_.get();
  return kv == nullptr ? kEmpty : *kv;
}

const std::string* Labels::get(std::string_view key) const {
  const Items& kv = items();
  auto it = std::lower_bound(kv.begin(), kv.end(), key,
                             [](const auto& p, std::string_view k) { return p.first < k; });
  if (it != kv.end() && it->first == key) {
    return &it->second;
  }
  return nullptr;
}

bool Labels::contains(const Labels& selector) const {
  for (const auto& [k, v] : selector.items()) {
    const std::string* mine = get(k);
    if (mine == nullptr || *mine != v) {
      return false;
    }
  }
  return true;
}

void Labels::set(std::string key, std::string value) {
  if (const std::string* v = get(key); v != nullptr && *v == value) {
    return;  // unchanged: keep sharing
  }
  Items& kv = kv_.mutate();
  auto it = std::lower_bound(kv.begin(), kv.end(), key,
                             [](const auto& p, const std::string& k) { return p.first < k; });
  if (it != kv.end() && it->first == key) {
    it->second = std::move(value);
  } else {
    kv.emplace(it, std::move(key), std::move(value));
  }
}

void Labels::erase(std::string_view key) {
  if (!has(key)) {
    return;
  }
  Items& kv = kv_.mutate();
  std::erase_if(kv, [&](const auto& p) { return p.first == key; });
  if (kv.empty()) {
    kv_.reset();
  }
}

std::string Labels::str() const {
  std::string out;
  for (const auto& [k, v] : items()) {
    if (!out.empty()) {
      out += ',';
    }
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

size_t hashValue(const ServicePort& p) {
  return hashCombine(hashCombine(hashValue(p.port), hashValue(p.name)),
                     hashCombine(hashValue(p.protocol), hashValue(p.app_protocol)));
}

size_t hashValue(const VsDestination& d) {
  return hashCombine(hashValue(d.host), hashValue(d.subset));
}

size_t hashValue(const FieldValues& f) {
  return hashCombine(hashValue(f.field), hashValue(f.values));
}

size_t hashValue(const Condition& c) {
  return hashCombine(hashValue(c.key), hashCombine(hashValue(c.values), hashValue(c.not_values)));
}

size_t hashValue(const RouteRef& r) {
  return hashCombine(
      hashCombine(hashValue(r.group), hashValue(r.kind)),
      hashCombine(hashCombine(hashValue(r.ns), hashValue(r.name)), hashValue(r.section_name)));
}

size_t hashValue(const AuthzRule& r) {
  return hashCombine(hashValue(r.from), hashCombine(hashValue(r.to), hashValue(r.when)));
}

namespace {

struct KindInfo {
  Kind kind;
  std::string_view name;
  std::string_view group;  // API group; "" for core
};

constexpr KindInfo kKinds[] = {
    {Kind::kNamespace, "Namespace", ""},
    {Kind::kService, "Service", ""},
    {Kind::kGateway, "Gateway", "gateway.networking.k8s.io"},
    {Kind::kGatewayClass, "GatewayClass", "gateway.networking.k8s.io"},
    {Kind::kAuthorizationPolicy, "AuthorizationPolicy", "security.istio.io"},
    {Kind::kPeerAuthentication, "PeerAuthentication", "security.istio.io"},
    {Kind::kRequestAuthentication, "RequestAuthentication", "security.istio.io"},
    {Kind::kVirtualService, "VirtualService", "networking.istio.io"},
    {Kind::kDestinationRule, "DestinationRule", "networking.istio.io"},
    {Kind::kEnvoyFilter, "EnvoyFilter", "networking.istio.io"},
    {Kind::kSidecar, "Sidecar", "networking.istio.io"},
    {Kind::kWasmPlugin, "WasmPlugin", "extensions.istio.io"},
    {Kind::kNetworkPolicy, "NetworkPolicy", "networking.k8s.io"},
    {Kind::kPod, "Pod", ""},
    {Kind::kDeployment, "Deployment", "apps"},
    {Kind::kStatefulSet, "StatefulSet", "apps"},
    {Kind::kDaemonSet, "DaemonSet", "apps"},
    {Kind::kNode, "Node", ""},
    {Kind::kConfigMap, "ConfigMap", ""},
    {Kind::kResourceQuota, "ResourceQuota", ""},
    {Kind::kFelixConfiguration, "FelixConfiguration", "crd.projectcalico.org"},
    {Kind::kInstallation, "Installation", "operator.tigera.io"},
    {Kind::kSecurityGroupPolicy, "SecurityGroupPolicy", "vpcresources.k8s.aws"},
    {Kind::kCiliumNetworkPolicy, "CiliumNetworkPolicy", "cilium.io"},
    {Kind::kCiliumClusterwideNetworkPolicy, "CiliumClusterwideNetworkPolicy", "cilium.io"},
    {Kind::kServiceEntry, "ServiceEntry", "networking.istio.io"},
    {Kind::kWorkloadEntry, "WorkloadEntry", "networking.istio.io"},
    {Kind::kWorkloadGroup, "WorkloadGroup", "networking.istio.io"},
    {Kind::kTrafficExtension, "TrafficExtension", "extensions.istio.io"},
    {Kind::kClusterSPIFFEID, "ClusterSPIFFEID", "spire.spiffe.io"},
    {Kind::kHTTPRoute, "HTTPRoute", "gateway.networking.k8s.io"},
    // Aliases: further API groups of a kind above (kindName indexes the rows above by Kind).
    {Kind::kFelixConfiguration, "FelixConfiguration", "projectcalico.org"},
};
static_assert(sizeof(kKinds) / sizeof(kKinds[0]) >= kKindCount);

}  // namespace

std::string_view kindName(Kind kind) { return kKinds[static_cast<int>(kind)].name; }

bool clusterScoped(Kind kind) {
  return kind == Kind::kNamespace || kind == Kind::kGatewayClass || kind == Kind::kNode ||
         kind == Kind::kFelixConfiguration || kind == Kind::kInstallation ||
         kind == Kind::kCiliumClusterwideNetworkPolicy || kind == Kind::kClusterSPIFFEID;
}

std::optional<Kind> kindFromApi(std::string_view api_version, std::string_view kind) {
  std::string_view group;
  if (auto slash = api_version.find('/'); slash != std::string_view::npos) {
    group = api_version.substr(0, slash);
  }
  for (const auto& k : kKinds) {
    if (k.name == kind && k.group == group) {
      return k.kind;
    }
  }
  return std::nullopt;
}

std::optional<Kind> kindFromName(std::string_view kind) {
  for (const auto& k : kKinds) {
    if (k.name == kind) {
      return k.kind;
    }
  }
  return std::nullopt;
}

Kind kindOf(const AnyObject& obj) {
  return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::kKind; }, obj);
}

const Object& metaOf(const AnyObject& obj) {
  return std::visit([](const auto& o) -> const Object& { return o; }, obj);
}

Object& metaOf(AnyObject& obj) {
  return std::visit([](auto& o) -> Object& { return o; }, obj);
}

std::string ObjectKey::str() const {
  std::string out(kindName(kind));
  out += ' ';
  if (!ns.empty() && kind != Kind::kNamespace) {
    out += ns;
    out += '/';
  }
  out += name;
  return out;
}

ObjectKey keyOf(const AnyObject& obj) {
  const Object& m = metaOf(obj);
  return ObjectKey{kindOf(obj), m.ns, m.name};
}

}  // namespace ambient_guard
