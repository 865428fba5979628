// Istio ambient semantics: enrollment (spec §1.2), PeerAuthentication (§4), hosts of
// VirtualServices, and targetRefs suggestions. AuthorizationPolicy at ztunnel: ambient_authz.cc;
// waypoints: ambient_waypoint.cc.
#include "rules/ambient.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

namespace ambient_guard::ambient {

std::string_view modeName(DataplaneMode mode) {
  switch (mode) {
    case DataplaneMode::kNone:
      return "none";
    case DataplaneMode::kSidecar:
      return "sidecar";
    case DataplaneMode::kAmbient:
      return "ambient";
    case DataplaneMode::kMixed:
      return "mixed";
  }
  return "none";
}

bool namespaceInjectsSidecars(const Labels& ns) {
  const std::string* injection = ns.get(kInjectionLabel);
  if (injection != nullptr) {
    return *injection == "enabled";
  }
  const std::string* rev = ns.get(kRevLabel);
  return rev != nullptr && !rev->empty();
}

DataplaneMode namespaceMode(const Labels& ns, const EnablementSelectors& enablement) {
  const bool ambient = enablement.selectsNamespace(ns);
  const bool sidecar = namespaceInjectsSidecars(ns);
  if (ambient && sidecar) {
    return DataplaneMode::kMixed;
  }
  if (ambient) {
    return DataplaneMode::kAmbient;
  }
  return sidecar ? DataplaneMode::kSidecar : DataplaneMode::kNone;
}

bool isAmbientNamespace(const Labels& ns, const EnablementSelectors& enablement) {
  return namespaceMode(ns, enablement) == DataplaneMode::kAmbient;
}

bool isAmbientNamespace(const ClusterView& state, std::string_view ns,
                        const EnablementSelectors& enablement) {
  const Namespace* n = state.findNamespace(ns);
  return n != nullptr && isAmbientNamespace(n->labels, enablement);
}

bool podGetsSidecar(const Labels& ns, const Labels& pod) {
  const std::string* inject = pod.get("sidecar.istio.io/inject");
  const bool opted_out = inject != nullptr && *inject == "false";
  const std::string* ns_injection = ns.get(kInjectionLabel);
  const std::string* ns_rev = ns.get(kRevLabel);
  const std::string* pod_rev = pod.get(kRevLabel);
  const bool ns_unlabelled = ns_injection == nullptr && ns_rev == nullptr;
  if (ns_rev != nullptr && ns_injection == nullptr && !opted_out) {
    return true;  // case 1
  }
  if (ns_unlabelled && pod_rev != nullptr && !opted_out) {
    return true;  // case 2
  }
  if (ns_injection != nullptr && *ns_injection == "enabled" && !opted_out) {
    return true;  // case 3
  }
  return ns_unlabelled && inject != nullptr && *inject == "true" && pod_rev == nullptr;  // case 4
}

bool isAmbientWorkload(const Labels& ns, const Labels& pod, const EnablementSelectors& enablement) {
  if (podGetsSidecar(ns, pod)) {
    return false;  // sidecar.istio.io/status present: the CNI opts the pod out
  }
  return enablement.selects(ns, pod);
}

// ---------------------------------------------------------------------------------------------

namespace {

bool olderThan(const PeerAuthentication* a, const PeerAuthentication* b) {
  return std::tie(a->created, a->name) < std::tie(b->created, b->name);
}

bool selectorEmpty(const WorkloadSelector& s) { return s.match_labels.empty(); }

}  // namespace

const PeerAuthentication* oldestNamespacePolicy(const ClusterView& state, std::string_view ns) {
  const PeerAuthentication* best = nullptr;
  for (const PeerAuthentication* pa : state.list<PeerAuthentication>(ns)) {
    if (selectorEmpty(pa->selector) && (best == nullptr || olderThan(pa, best))) {
      best = pa;
    }
  }
  return best;
}

EffectiveMtls effectiveMtls(const ClusterView& state, std::string_view ns,
                            const Labels& workload_labels, const rules::MeshSettings& mesh) {
  EffectiveMtls e;
  e.mesh = oldestNamespacePolicy(state, mesh.root_namespace);
  if (ns != mesh.root_namespace) {
    e.ns_policy = oldestNamespacePolicy(state, ns);
    for (const PeerAuthentication* pa : state.list<PeerAuthentication>(ns)) {
      if (!selectorEmpty(pa->selector) && !workload_labels.empty() &&
          workload_labels.contains(pa->selector.match_labels) &&
          (e.workload == nullptr || olderThan(pa, e.workload))) {
        e.workload = pa;
      }
    }
  } else {
    e.ns_policy = e.mesh;
  }
  e.strict = e.mesh != nullptr && e.mesh->mode == "STRICT";
  if (e.ns_policy != nullptr && !e.ns_policy->mode.empty() && e.ns_policy->mode != "UNSET") {
    e.strict = e.ns_policy->mode == "STRICT";
  }
  if (e.workload != nullptr) {
    const std::string& m = e.workload->mode;
    if (m == "STRICT") {
      e.strict = true;
    } else if (m == "PERMISSIVE" || m == "DISABLE") {
      e.strict = false;
    }
  }
  return e;
}

// ---------------------------------------------------------------------------------------------

std::vector<std::string> ambientNamespacesCovered(const ClusterView& state,
                                                  std::string_view policy_ns,
                                                  const rules::MeshSettings& mesh) {
  std::vector<std::string> out;
  if (policy_ns == mesh.root_namespace) {
    for (const std::string& ns : state.namespaceNames()) {
      if (isAmbientNamespace(state, ns, mesh.enablement)) {
        out.push_back(ns);
      }
    }
  } else if (isAmbientNamespace(state, policy_ns, mesh.enablement)) {
    out.emplace_back(policy_ns);
  }
  return out;
}

std::vector<const Service*> servicesSelectedBy(const ClusterView& state, std::string_view ns,
                                               const Labels& match_labels) {
  std::vector<const Service*> out;
  for (const Service* svc : state.list<Service>(ns)) {
    bool shared = false;
    bool agree = true;
    for (const auto& [k, v] : match_labels.items()) {
      if (const std::string* sv = svc->selector.get(k)) {
        shared = true;
        agree = agree && *sv == v;
      }
    }
    if (shared && agree) {
      out.push_back(svc);
    }
  }
  return out;
}

std::string hostNamespace(std::string_view host, std::string_view vs_ns) {
  if (host.empty() || host == "*") {
    return "";
  }
  const size_t dot = host.find('.');
  if (dot == std::string_view::npos) {
    return host[0] == '*' ? "" : std::string(vs_ns);  // short name: the VS's own namespace
  }
  std::string_view rest = host.substr(dot + 1);
  const size_t dot2 = rest.find('.');
  std::string_view ns = rest.substr(0, dot2);
  if (dot2 == std::string_view::npos) {
    // "svc.ns": Kubernetes search-path form. "*.example" would be external; Istio would also
    // treat "name.ns" as external unless the mesh search path resolves it, but users write it
    // for in-cluster services, so we do too.
    return host[0] == '*' ? "" : std::string(ns);
  }
  std::string_view tail = rest.substr(dot2 + 1);
  if (tail.rfind("svc", 0) == 0) {
    return std::string(ns);
  }
  return "";
}

bool isMeshVirtualService(const VirtualService& vs) {
  return vs.gateways.empty() ||
         std::find(vs.gateways.begin(), vs.gateways.end(), "mesh") != vs.gateways.end();
}

bool isGatewayVirtualService(const VirtualService& vs) {
  return std::any_of(vs.gateways.begin(), vs.gateways.end(),
                     [](const std::string& g) { return g != "mesh"; });
}

bool hostIsService(std::string_view host, std::string_view vs_ns, std::string_view svc_ns,
                   std::string_view svc_name) {
  if (host.empty() || host[0] == '*') {
    return false;
  }
  return host.substr(0, host.find('.')) == svc_name && hostNamespace(host, vs_ns) == svc_ns;
}

std::vector<const VirtualService*> gatewayRoutesTo(const ClusterView& state, const Service& svc) {
  std::vector<const VirtualService*> out;
  for (const std::string& ns : state.namespaceNames()) {
    for (const VirtualService* vs : state.list<VirtualService>(ns)) {
      if (!isGatewayVirtualService(*vs)) {
        continue;
      }
      for (const VsDestination& d : vs->destinations) {
        if (hostIsService(d.host, vs->ns, svc.ns, svc.name)) {
          out.push_back(vs);
          break;
        }
      }
    }
  }
  return out;
}

std::vector<std::string> ingressParents(const ClusterView& state, const HTTPRoute& route) {
  std::vector<std::string> out;
  for (const RouteRef& p : route.parent_refs) {
    const bool gateway_ref = (p.group.empty() || p.group == "gateway.networking.k8s.io") &&
                             (p.kind.empty() || p.kind == "Gateway");
    if (!gateway_ref) {
      continue;
    }
    const std::string& ns = p.ns.empty() ? route.ns.str() : p.ns;
    const Gateway* gw = state.find<Gateway>(ns, p.name);
    if (gw == nullptr || isWaypoint(state, *gw)) {
      continue;
    }
    std::string name = ns + "/" + p.name;
    if (std::find(out.begin(), out.end(), name) == out.end()) {
      out.push_back(std::move(name));
    }
  }
  return out;
}

std::vector<const HTTPRoute*> gatewayHttpRoutesTo(const ClusterView& state, const Service& svc) {
  std::vector<const HTTPRoute*> out;
  if (state.count(Kind::kHTTPRoute) == 0) {
    return out;
  }
  for (const std::string& ns : state.namespaceNames()) {
    for (const HTTPRoute* route : state.list<HTTPRoute>(ns)) {
      const bool to_svc = std::any_of(
          route->backend_refs.begin(), route->backend_refs.end(), [&](const RouteRef& b) {
            return b.name == svc.name && (b.ns.empty() ? route->ns.str() : b.ns) == svc.ns;
          });
      if (to_svc && !ingressParents(state, *route).empty()) {
        out.push_back(route);
      }
    }
  }
  return out;
}

bool ingressRoutesTo(const ClusterView& state, const Service& svc) {
  return !gatewayRoutesTo(state, svc).empty() || !gatewayHttpRoutesTo(state, svc).empty();
}

bool parseGoBool(std::string_view v) {
  return v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True";
}

bool ingressUsesWaypoint(const ClusterView& state, const Service& svc) {
  if (const std::string* v = svc.labels.get(kIngressUseWaypointLabel)) {
    return parseGoBool(*v);
  }
  const Namespace* n = state.findNamespace(svc.ns);
  const std::string* v = n != nullptr ? n->labels.get(kIngressUseWaypointLabel) : nullptr;
  return v != nullptr && parseGoBool(*v);
}

TargetRefSuggestion suggestTargetRefs(const ClusterView& state, std::string_view ns,
                                      const WorkloadSelector& selector,
                                      const rules::MeshSettings& mesh) {
  TargetRefSuggestion s;
  const std::string nss(ns);
  if (ns == mesh.root_namespace && !selector.present) {
    s.target_refs =
        "targetRefs: [{group: gateway.networking.k8s.io, kind: GatewayClass, name: "
        "istio-waypoint}]";
    s.how = "it then applies at every waypoint of the mesh";
    s.waypoint_ready = true;
    return s;
  }
  if (selector.present && !selector.match_labels.empty()) {
    auto services = servicesSelectedBy(state, ns, selector.match_labels);
    if (services.size() == 1) {
      const Service& svc = *services[0];
      s.target_refs = "targetRefs: [{group: \"\", kind: Service, name: " + svc.name + "}]";
      WaypointBinding b = resolveWaypoint(state, ns, &svc.labels, TrafficType::kService);
      const bool agent = b.bound() && b.gateway != nullptr && isAgentgateway(state, *b.gateway);
      if (b.bound() && !agent) {
        s.waypoint_ready = true;
        s.waypoint = b.ns + "/" + b.name;
        s.how = "Service " + svc.name + " is bound to waypoint " + s.waypoint;
      } else {
        auto existing = waypointsIn(state, ns);
        std::string wp = existing.empty() ? "waypoint" : existing[0]->name;
        s.waypoint = nss + "/" + wp;
        s.how = std::string(existing.empty() ? "deploy a waypoint (`istioctl waypoint apply -n " +
                                                   nss + "`) and "
                                             : "") +
                "bind the Service to it (`kubectl label service " + svc.name + " -n " + nss +
                " istio.io/use-waypoint=" + wp + "`)";
        if (agent) {
          s.how += "; today it uses agentgateway waypoint " + b.ns + "/" + b.name +
                   ", which applies no Istio policy";
        } else if (!b.problem().empty()) {
          s.how += "; today: " + b.problem();
        }
      }
      return s;
    }
  }
  WaypointBinding b = resolveWaypoint(state, ns, nullptr, TrafficType::kService);
  const bool agent = b.bound() && b.gateway != nullptr && isAgentgateway(state, *b.gateway);
  if (b.bound() && !agent) {
    s.waypoint_ready = true;
    s.waypoint = b.ns + "/" + b.name;
    s.target_refs =
        "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: " + b.name + "}]";
    s.how = "namespace " + nss + " uses waypoint " + s.waypoint;
    if (b.ns != ns) {
      s.how +=
          "; a Gateway targetRef must be in the waypoint's namespace, so create the policy in " +
          b.ns;
    }
    return s;
  }
  auto existing = waypointsIn(state, ns);
  std::string wp = existing.empty() ? "waypoint" : existing[0]->name;
  s.waypoint = nss + "/" + wp;
  s.target_refs =
      "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: " + wp + "}]";
  s.how = existing.empty() ? "deploy the waypoint first (`istioctl waypoint apply -n " + nss +
                                 " --enroll-namespace`)"
                           : "label the namespace to use it (`kubectl label namespace " + nss +
                                 " istio.io/use-waypoint=" + wp + "`)";
  if (agent) {
    s.how += "; today the namespace uses agentgateway waypoint " + b.ns + "/" + b.name +
             ", which applies no Istio policy";
  } else if (!b.problem().empty()) {
    s.how += "; today: " + b.problem();
  }
  return s;
}

}  // namespace ambient_guard::ambient
