// Istio ambient semantics: waypoints and their binding (spec §2).
#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <tuple>

#include "rules/ambient.h"

namespace ambient_guard::ambient {

std::string WaypointBinding::problem() const {
  const std::string target = "\"" + ns + "/" + name + "\"";
  switch (status) {
    case Status::kNotFound:
    case Status::kNotReady:
      return "waypoint " + target + " is not ready";
    case Status::kNotAWaypoint:
      return "Gateway " + target + " is not a waypoint (gatewayClassName is not istio-waypoint)";
    case Status::kAttachmentDenied:
      return "we are not permitted to attach to waypoint " + target + " (missing allowedRoutes?)";
    case Status::kUnsupportedTrafficType:
      return std::string("attempting to bind to traffic type \"") +
             (traffic == TrafficType::kService ? "service" : "workload") +
             "\" which the waypoint " + target + " does not support";
    default:
      return "";
  }
}

bool isWaypoint(const ClusterView& state, const Gateway& gw) {
  if (gw.gateway_class == kWaypointClass || gw.gateway_class == kAgentgatewayWaypointClass) {
    return true;
  }
  const GatewayClass* gc = state.find<GatewayClass>("", gw.gateway_class);
  return gc != nullptr &&
         (gc->controller == kMeshController || gc->controller == kAgentgatewayWaypointController);
}

bool isAgentgateway(const ClusterView& state, const Gateway& gw) {
  if (gw.gateway_class == kAgentgatewayWaypointClass || gw.gateway_class == kAgentgatewayClass) {
    return true;
  }
  const GatewayClass* gc = state.find<GatewayClass>("", gw.gateway_class);
  return gc != nullptr && (gc->controller == kAgentgatewayWaypointController ||
                           gc->controller == kAgentgatewayController);
}

std::string waypointFor(const ClusterView& state, const Gateway& gw) {
  if (const std::string* v = gw.labels.get(kWaypointForLabel)) {
    return *v;
  }
  if (const GatewayClass* gc = state.find<GatewayClass>("", gw.gateway_class)) {
    if (const std::string* v = gc->labels.get(kWaypointForLabel)) {
      return *v;
    }
  }
  return "service";
}

bool servesTraffic(std::string_view waypoint_for, TrafficType traffic) {
  if (waypoint_for == "all") {
    return true;
  }
  return traffic == TrafficType::kService ? waypoint_for == "service" : waypoint_for == "workload";
}

namespace {

// Returns the listener named by the ambient.istio.io/waypoint-inbound-binding annotation
// ("<protocol>" or "<protocol>/<port>", protocol NONE or PROXY): the one on that port, else for
// PROXY the istio.io/PROXY listener; nullptr when the value is invalid or nothing matches.
// Mirrors makeInboundBinding / findBoundListener, [I] waypoints.go.
const Listener* boundListener(const Gateway& gw) {
  const std::string& ann = gw.inbound_binding;
  if (ann.empty() || std::count(ann.begin(), ann.end(), '/') > 1) {
    return nullptr;
  }
  const size_t slash = ann.find('/');
  const std::string_view protocol = std::string_view(ann).substr(0, slash);
  if (protocol != "NONE" && protocol != "PROXY") {
    return nullptr;
  }
  uint32_t port = 0;  // strconv.ParseUint errors leave 0
  if (slash != std::string::npos) {
    std::from_chars(ann.data() + slash + 1, ann.data() + ann.size(), port);
  }
  for (const Listener& l : gw.listeners) {
    if (port != 0 ? l.port == static_cast<int32_t>(port)
                  : (protocol == "PROXY" && l.protocol == "istio.io/PROXY")) {
      return &l;
    }
  }
  return nullptr;
}

}  // namespace

bool waypointAdmitsNamespace(const ClusterView& state, const Gateway& gw,
                             std::string_view client_ns) {
  if (gw.ns == client_ns) {
    return true;
  }
  // makeAllowedRoutes: the inbound-binding listener, else the HBONE listener, else Same.
  const Listener* binding = boundListener(gw);
  for (size_t i = 0; binding == nullptr && i < gw.listeners.size(); ++i) {
    if (gw.listeners[i].protocol == "HBONE" && gw.listeners[i].port == 15008) {
      binding = &gw.listeners[i];
    }
  }
  if (binding == nullptr) {
    return false;  // no HBONE listener means Same
  }
  const AllowedRoutes& ar = binding->allowed_routes;
  if (ar.from == "All") {
    return true;
  }
  if (ar.from == "Selector") {
    const Namespace* n = state.findNamespace(client_ns);
    Labels labels = n != nullptr ? n->labels : Labels();
    // Kubernetes sets this label on every namespace; backups of old clusters may lack it.
    labels.set("kubernetes.io/metadata.name", std::string(client_ns));
    return labels.contains(ar.selector);
  }
  return false;
}

std::string waypointPrincipal(const Gateway& gw, std::string_view trust_domain) {
  const std::string& sa = gw.service_account.empty() ? gw.name.str() : gw.service_account;
  return std::string(trust_domain) + "/ns/" + gw.ns + "/sa/" + sa;
}

std::vector<const Gateway*> waypointsIn(const ClusterView& state, std::string_view ns) {
  std::vector<const Gateway*> out;
  for (const Gateway* gw : state.list<Gateway>(ns)) {
    if (isWaypoint(state, *gw) && !isAgentgateway(state, *gw) &&
        gw->readiness != GatewayReadiness::kNotReady) {
      out.push_back(gw);
    }
  }
  return out;
}

namespace {

WaypointBinding bindTo(const ClusterView& state, std::string_view client_ns, std::string wp_ns,
                       std::string wp_name, bool from_ns, TrafficType traffic) {
  using Status = WaypointBinding::Status;
  WaypointBinding b;
  b.ns = std::move(wp_ns);
  b.name = std::move(wp_name);
  b.from_namespace_label = from_ns;
  b.traffic = traffic;
  const Gateway* gw = state.find<Gateway>(b.ns, b.name);
  if (gw == nullptr) {
    b.status = Status::kNotFound;
    return b;
  }
  b.gateway = gw;
  if (gw->readiness == GatewayReadiness::kNotReady) {
    b.status = Status::kNotReady;
    return b;
  }
  b.readiness_unknown = gw->readiness == GatewayReadiness::kUnknown;
  if (!isWaypoint(state, *gw)) {
    b.status = Status::kNotAWaypoint;
    return b;
  }
  if (!waypointAdmitsNamespace(state, *gw, client_ns)) {
    b.status = Status::kAttachmentDenied;
    return b;
  }
  if (!servesTraffic(waypointFor(state, *gw), traffic)) {
    // A namespace label that does not cover workload traffic silently leaves pods without a
    // waypoint (waypoints.go:195-206); for our purposes both are "not bound".
    b.status = Status::kUnsupportedTrafficType;
    return b;
  }
  b.status = Status::kBound;
  return b;
}

}  // namespace

WaypointBinding resolveWaypoint(const ClusterView& state, std::string_view ns,
                                const Labels* object_labels, TrafficType traffic) {
  using Status = WaypointBinding::Status;
  if (object_labels != nullptr) {
    if (const std::string* wp = object_labels->get(kUseWaypointLabel)) {
      if (*wp == "none") {
        WaypointBinding b;
        b.status = Status::kOptedOut;
        return b;
      }
      const std::string* wp_ns = object_labels->get(kUseWaypointNamespaceLabel);
      return bindTo(state, ns, wp_ns != nullptr ? *wp_ns : std::string(ns), *wp, false, traffic);
    }
  }
  const Namespace* n = state.findNamespace(ns);
  if (n != nullptr) {
    if (const std::string* wp = n->labels.get(kUseWaypointLabel)) {
      if (*wp == "none") {
        WaypointBinding b;
        b.status = Status::kOptedOut;
        b.from_namespace_label = true;
        return b;
      }
      const std::string* wp_ns = n->labels.get(kUseWaypointNamespaceLabel);
      return bindTo(state, ns, wp_ns != nullptr ? *wp_ns : std::string(ns), *wp, true, traffic);
    }
  }
  return WaypointBinding{};
}

namespace {

// strconv.ParseUint(v, 10, 32) then the [0,100] check of getCanaryWeight: digits only.
std::optional<uint32_t> parseCanaryWeight(std::string_view v) {
  if (v.empty()) {
    return 0;  // absent: default 0
  }
  uint32_t w = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), w);
  if (ec != std::errc() || end != v.data() + v.size() || w > 100) {
    return std::nullopt;
  }
  return w;
}

}  // namespace

std::string WaypointCanary::problem() const {
  const std::string target = "\"" + ns + "/" + name + "\"";
  switch (status) {
    case Status::kInvalidWeight:
      return "canary waypoint " + target + " has an invalid weight; must be an integer in [0,100]";
    case Status::kSameAsPrimary:
      return "canary waypoint " + target + " must differ from the primary waypoint";
    case Status::kUnusable:
      return "canary " + binding.problem();
    default:
      return "";
  }
}

WaypointCanary resolveCanary(const ClusterView& state, std::string_view ns,
                             const Labels* object_labels, std::string_view object_weight,
                             const WaypointBinding& primary) {
  WaypointCanary c;
  if (!primary.bound()) {
    return c;
  }
  const Namespace* n = state.findNamespace(ns);
  const Labels* source = primary.from_namespace_label ? (n != nullptr ? &n->labels : nullptr)
                                                      : object_labels;
  const std::string* name = source != nullptr ? source->get(kUseWaypointCanaryLabel) : nullptr;
  if (name == nullptr || name->empty() || *name == "none") {
    return c;
  }
  const std::string* canary_ns = source->get(kUseWaypointCanaryNamespaceLabel);
  c.ns = canary_ns != nullptr && !canary_ns->empty() ? *canary_ns : std::string(ns);
  c.name = *name;
  c.from_namespace_label = primary.from_namespace_label;
  c.raw_weight = !object_weight.empty()        ? std::string(object_weight)
                 : n != nullptr                ? n->waypoint_canary_weight.str()
                                               : std::string();
  const std::optional<uint32_t> weight = parseCanaryWeight(c.raw_weight);
  if (!weight) {
    c.status = WaypointCanary::Status::kInvalidWeight;
    return c;
  }
  c.weight = *weight;
  if (c.ns == primary.ns && c.name == primary.name) {
    c.status = WaypointCanary::Status::kSameAsPrimary;
    return c;
  }
  c.binding = bindTo(state, ns, c.ns, c.name, primary.from_namespace_label, TrafficType::kService);
  c.status = c.binding.bound() ? WaypointCanary::Status::kActive : WaypointCanary::Status::kUnusable;
  return c;
}

}  // namespace ambient_guard::ambient
