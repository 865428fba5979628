#include "rules/policy_attachment.h"

#include <algorithm>

namespace ambient_guard::ambient {
namespace {

// config.CanonicalGroup: "" and "core" are the same group.
bool coreGroup(std::string_view g) { return g.empty() || g == "core"; }

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

template <class T>
void appendTargeted(const ClusterView& state, std::string_view ns,
                    std::vector<TargetedPolicy>& out) {
  for (const T* p : state.list<T>(ns)) {
    if (!p->target_refs.empty()) {
      out.push_back({ObjectKey{T::kKind, p->ns, p->name}, &p->target_refs});
    }
  }
}

// Makes `r` the resolution for a target that an agentgateway proxy serves: Istio programs
// agentgateway only through Gateway API routes (istio.io docs/ambient/usage/agentgateway).
// In place, so that resolveTargetRef returns its one TargetResolution without a move.
void markAgentgateway(const std::string& ns, const std::string& subject, TargetResolution& r) {
  r.status = TargetResolution::Status::kAgentgateway;
  r.problem = subject + " agentgateway " + r.binding.ns + "/" + r.binding.name +
              " (class istio-agentgateway-waypoint or istio-agentgateway), and Istio applies no "
              "AuthorizationPolicy, RequestAuthentication, WasmPlugin or TrafficExtension to "
              "agentgateway proxies (Istio 1.31: configured only through Gateway API routes)";
  r.fix = "bind the target to an istio-waypoint Gateway (`istioctl waypoint apply -n " + ns +
          "`) to keep this policy, or express it with Gateway API routes on the agentgateway "
          "waypoint";
}

}  // namespace

bool refIsService(const TargetRef& ref) { return coreGroup(ref.group) && ref.kind == "Service"; }

bool refIsGateway(const TargetRef& ref) {
  return ref.group == kGatewayApiGroup && ref.kind == "Gateway";
}

bool refIsGatewayClass(const TargetRef& ref) {
  return ref.group == kGatewayApiGroup && ref.kind == "GatewayClass";
}

bool istioManagesGatewayClass(const ClusterView& state, const Gateway& gw) {
  if (isWaypoint(state, gw)) {
    return true;
  }
  if (const GatewayClass* gc = state.find<GatewayClass>("", gw.gateway_class)) {
    return gc->controller.rfind("istio.io/", 0) == 0;
  }
  return true;  // unknown class: do not claim it is foreign
}

TargetResolution resolveTargetRef(const ClusterView& state, std::string_view policy_ns,
                                  const TargetRef& ref, const rules::MeshSettings& mesh) {
  using Status = TargetResolution::Status;
  TargetResolution r;
  const std::string ns(policy_ns);
  if (!ref.ns.empty() && ref.ns != policy_ns) {
    // validation.go: "cross namespace referencing is not supported"; Istio rejects the write.
    r.status = Status::kInvalid;
    return r;
  }
  if (refIsService(ref)) {
    const Service* svc = state.find<Service>(ns, ref.name);
    if (svc == nullptr) {
      r.status = Status::kTargetNotFound;
      r.problem = "Service " + ns + "/" + ref.name + " was not found";
      r.fix = "create the Service, or fix targetRefs name (a Service targetRef must be in the "
              "policy's namespace)";
      return r;
    }
    r.binding = resolveWaypoint(state, ns, &svc->labels, TrafficType::kService);
    if (r.binding.bound() && r.binding.gateway != nullptr &&
        isAgentgateway(state, *r.binding.gateway)) {
      markAgentgateway(ns, "Service " + ns + "/" + ref.name + " is bound to", r);
      return r;
    }
    if (r.binding.bound()) {
      return r;
    }
    r.status = Status::kServiceNotBound;
    r.problem = "Service " + ns + "/" + ref.name + " is not bound to a waypoint";
    if (!r.binding.problem().empty()) {
      r.problem += " (" + r.binding.problem() + ")";
    }
    auto existing = waypointsIn(state, ns);
    const std::string wp = existing.empty() ? "waypoint" : existing[0]->name;
    r.fix = (existing.empty() ? "deploy a waypoint (`istioctl waypoint apply -n " + ns +
                                    "`) and bind the Service to it"
                              : "bind the Service to waypoint " + ns + "/" + wp) +
            ": `kubectl label service " + ref.name + " -n " + ns + " istio.io/use-waypoint=" + wp +
            " --overwrite`";
    return r;
  }
  if (refIsGateway(ref)) {
    const Gateway* gw = state.find<Gateway>(ns, ref.name);
    if (gw == nullptr) {
      r.status = Status::kTargetNotFound;
      r.problem = "Gateway " + ns + "/" + ref.name + " was not found";
      r.fix = "create the waypoint (`istioctl waypoint apply -n " + ns + " --name " + ref.name +
              "`), or fix targetRefs name (a Gateway targetRef must be in the policy's namespace)";
      return r;
    }
    if (isAgentgateway(state, *gw)) {
      r.binding.gateway = gw;
      r.binding.ns = gw->ns;
      r.binding.name = gw->name;
      markAgentgateway(ns, "it names", r);
      return r;
    }
    if (isWaypoint(state, *gw)) {
      if (waypointFor(state, *gw) == "none") {
        r.status = Status::kWaypointServesNone;
        r.problem = "waypoint " + ns + "/" + ref.name +
                    " has istio.io/waypoint-for=none, so no traffic reaches it";
        r.fix = "set istio.io/waypoint-for to service, workload or all on the Gateway";
      }
      return r;
    }
    if (!istioManagesGatewayClass(state, *gw)) {
      r.status = Status::kGatewayNotIstio;
      r.problem = "Gateway " + ns + "/" + ref.name + " has gatewayClassName " + gw->gateway_class +
                  ", whose controller is not Istio's, so no Istio proxy applies the policy";
      r.fix = "target an istio-waypoint Gateway (or an Istio ingress Gateway)";
    }
    return r;
  }
  if (refIsGatewayClass(ref)) {
    if (ref.name != kWaypointClass) {
      r.status = Status::kGatewayClassName;
      r.problem = "GatewayClass " + ref.name +
                  " is not istio-waypoint; waypoints attach GatewayClass targetRefs only by that "
                  "name";
      r.fix = "use `{group: gateway.networking.k8s.io, kind: GatewayClass, name: istio-waypoint}`";
      return r;
    }
    if (policy_ns != mesh.root_namespace) {
      r.status = Status::kGatewayClassNamespace;
      r.problem = "the policy must be in the root namespace `" + mesh.root_namespace +
                  "` when referencing a GatewayClass";
      r.fix = "move the policy to namespace " + mesh.root_namespace +
              ", or target this namespace's waypoint Gateway instead";
    }
    return r;
  }
  if (ref.group == kIstioNetworkingGroup && ref.kind == "ServiceEntry") {
    // Egress waypoints: a ServiceEntry binds with istio.io/use-waypoint like a Service
    // (fetchWaypointForTarget; policies.go AncestorNotBound; istio.io docs/ambient/usage/
    // egress-gateway).
    const ServiceEntry* se = state.find<ServiceEntry>(ns, ref.name);
    if (se == nullptr) {
      r.status = Status::kTargetNotFound;
      r.problem = "ServiceEntry " + ns + "/" + ref.name + " was not found";
      r.fix = "create the ServiceEntry in the policy's namespace, or fix targetRefs name";
      return r;
    }
    r.binding = resolveWaypoint(state, ns, &se->labels, TrafficType::kService);
    if (r.binding.bound() && r.binding.gateway != nullptr &&
        isAgentgateway(state, *r.binding.gateway)) {
      markAgentgateway(ns, "ServiceEntry " + ns + "/" + ref.name + " is bound to", r);
      return r;
    }
    if (r.binding.bound()) {
      return r;
    }
    r.status = Status::kServiceNotBound;
    r.problem = "ServiceEntry " + ns + "/" + ref.name + " is not bound to a waypoint";
    if (!r.binding.problem().empty()) {
      r.problem += " (" + r.binding.problem() + ")";
    }
    r.fix = "bind it to an egress waypoint: `kubectl label serviceentry " + ref.name + " -n " +
            ns + " istio.io/use-waypoint=<waypoint>` (or label the namespace; istio.io "
            "docs/ambient/usage/egress-gateway)";
    return r;
  }
  // Classic networking.istio.io Gateways attach too, but ambient-guard does not keep those
  // objects; anything else is rejected by Istio's validation (validation.go).
  const bool modelled_elsewhere = ref.group == kIstioNetworkingGroup && ref.kind == "Gateway";
  r.status = modelled_elsewhere ? Status::kNotModelled : Status::kInvalid;
  return r;
}

std::vector<TargetedPolicy> targetedPoliciesIn(const ClusterView& state, std::string_view ns) {
  std::vector<TargetedPolicy> out;
  appendTargeted<AuthorizationPolicy>(state, ns, out);
  appendTargeted<RequestAuthentication>(state, ns, out);
  appendTargeted<WasmPlugin>(state, ns, out);
  appendTargeted<TrafficExtension>(state, ns, out);
  return out;
}

TargetedPolicy targetedPolicy(const ClusterView& state, const ObjectKey& key) {
  TargetedPolicy t{key, nullptr};
  switch (key.kind) {
    case Kind::kAuthorizationPolicy:
      if (const auto* p = state.find<AuthorizationPolicy>(key.ns, key.name)) {
        t.refs = &p->target_refs;
      }
      break;
    case Kind::kRequestAuthentication:
      if (const auto* p = state.find<RequestAuthentication>(key.ns, key.name)) {
        t.refs = &p->target_refs;
      }
      break;
    case Kind::kWasmPlugin:
      if (const auto* p = state.find<WasmPlugin>(key.ns, key.name)) {
        t.refs = &p->target_refs;
      }
      break;
    case Kind::kTrafficExtension:
      if (const auto* p = state.find<TrafficExtension>(key.ns, key.name)) {
        t.refs = &p->target_refs;
      }
      break;
    default:
      break;
  }
  return t;
}

std::vector<Attachment> attachedPolicies(const ClusterView& state, const Service* svc,
                                         const WaypointBinding& binding,
                                         const rules::MeshSettings& mesh) {
  if (svc == nullptr) {
    return attachedPolicies(state, static_cast<const ServiceTarget*>(nullptr), binding, mesh);
  }
  const ServiceTarget target{Kind::kService, svc->ns, svc->name};
  return attachedPolicies(state, &target, binding, mesh);
}

std::vector<Attachment> attachedPolicies(const ClusterView& state, const ServiceTarget* target,
                                         const WaypointBinding& binding,
                                         const rules::MeshSettings& mesh) {
  std::vector<Attachment> out;
  if (!binding.bound()) {
    return out;
  }
  if (target != nullptr) {
    const bool is_entry = target->kind == Kind::kServiceEntry;
    for (const TargetedPolicy& p : targetedPoliciesIn(state, target->ns)) {
      for (size_t i = 0; i < p.refs->size(); ++i) {
        const TargetRef& ref = (*p.refs)[i];
        const bool kind_matches =
            is_entry ? (ref.group == kIstioNetworkingGroup && ref.kind == "ServiceEntry")
                     : refIsService(ref);
        if (kind_matches && ref.name == target->name &&
            (ref.ns.empty() || ref.ns == target->ns)) {
          out.push_back({p.key, i, std::string(is_entry ? "ServiceEntry " : "Service ") +
                                       target->name});
        }
      }
    }
  }
  for (const TargetedPolicy& p : targetedPoliciesIn(state, binding.ns)) {
    for (size_t i = 0; i < p.refs->size(); ++i) {
      const TargetRef& ref = (*p.refs)[i];
      if (refIsGateway(ref) && ref.name == binding.name &&
          (ref.ns.empty() || ref.ns == binding.ns)) {
        out.push_back({p.key, i, "Gateway " + binding.ns + "/" + binding.name});
      }
    }
  }
  for (const TargetedPolicy& p : targetedPoliciesIn(state, mesh.root_namespace)) {
    for (size_t i = 0; i < p.refs->size(); ++i) {
      const TargetRef& ref = (*p.refs)[i];
      if (refIsGatewayClass(ref) && ref.name == kWaypointClass) {
        out.push_back({p.key, i, "GatewayClass istio-waypoint"});
      }
    }
  }
  return out;
}

bool istioStringMatch(std::string_view pattern, std::string_view value) {
  if (pattern == "*") {
    return !value.empty();
  }
  if (!pattern.empty() && pattern.front() == '*') {
    return endsWith(value, pattern.substr(1));
  }
  if (!pattern.empty() && pattern.back() == '*') {
    return value.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0;
  }
  return pattern == value;
}

bool selectsGatewayPods(const Labels& match_labels) {
  if (match_labels.has(kGatewayNameLabel) || match_labels.has("istio.io/gateway-name")) {
    return true;
  }
  const std::string* istio = match_labels.get("istio");
  return istio != nullptr && endsWith(*istio, "gateway");
}

}  // namespace ambient_guard::ambient
