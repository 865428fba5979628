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

DataplaneMode namespaceMode(const Labels& ns) {
  const std::string* mode = ns.get(kDataplaneModeLabel);
  const bool ambient = mode != nullptr && *mode == "ambient";
  const bool sidecar = namespaceInjectsSidecars(ns);
  if (ambient && sidecar) {
    return DataplaneMode::kMixed;
  }
  if (ambient) {
    return DataplaneMode::kAmbient;
  }
  return sidecar ? DataplaneMode::kSidecar : DataplaneMode::kNone;
}

bool isAmbientNamespace(const Labels& ns) { return namespaceMode(ns) == DataplaneMode::kAmbient; }

bool isAmbientNamespace(const ClusterView& state, std::string_view ns) {
  const Namespace* n = state.findNamespace(ns);
  return n != nullptr && isAmbientNamespace(n->labels);
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

bool isAmbientWorkload(const Labels& ns, const Labels& pod) {
  if (podGetsSidecar(ns, pod)) {
    return false;  // sidecar.istio.io/status present: the CNI opts the pod out
  }
  const std::string* pod_mode = pod.get(kDataplaneModeLabel);
  if (pod_mode != nullptr && *pod_mode == "ambient") {
    return true;
  }
  const std::string* ns_mode = ns.get(kDataplaneModeLabel);
  return ns_mode != nullptr && *ns_mode == "ambient" && (pod_mode == nullptr || *pod_mode != "none");
}

// ---------------------------------------------------------------------------------------------

bool isL4WhenKey(std::string_view key) {
  return key == "source.ip" || key == "source.namespace" || key == "source.principal" ||
         key == "destination.ip" || key == "destination.port";
}

namespace {

bool isHttpOperationField(std::string_view f) {
  return f == "hosts" || f == "notHosts" || f == "methods" || f == "notMethods" || f == "paths" ||
         f == "notPaths";
}

bool isHttpSourceField(std::string_view f) {
  return f == "remoteIpBlocks" || f == "notRemoteIpBlocks" || f == "requestPrincipals" ||
         f == "notRequestPrincipals" || f == "trustDomains" || f == "notTrustDomains";
}

// Source fields carried into the ztunnel match (authorization.go handleRule).
bool isL4SourceField(std::string_view f) {
  return f == "ipBlocks" || f == "notIpBlocks" || f == "namespaces" || f == "notNamespaces" ||
         f == "serviceAccounts" || f == "notServiceAccounts" || f == "principals" ||
         f == "notPrincipals";
}

// stringToPort drops values that are not ports, which can leave a match empty.
bool anyValidPort(const std::vector<std::string>& values) {
  for (const auto& v : values) {
    unsigned long p = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
    if (ec == std::errc() && ptr == v.data() + v.size() && p <= 65535) {
      return true;
    }
  }
  return false;
}

bool nonEmptyToMatch(const std::vector<FieldValues>& op) {
  for (const auto& fv : op) {
    if ((fv.field == "ports" || fv.field == "notPorts") && anyValidPort(fv.values)) {
      return true;
    }
  }
  return false;
}

bool nonEmptyFromMatch(const std::vector<FieldValues>& src) {
  for (const auto& fv : src) {
    if (isL4SourceField(fv.field) && !fv.values.empty()) {
      return true;
    }
  }
  return false;
}

bool nonEmptyWhenMatch(const Condition& c) {
  if (!isL4WhenKey(c.key)) {
    return false;
  }
  if (c.key == "destination.port") {
    return anyValidPort(c.values) || anyValidPort(c.not_values);
  }
  return !c.values.empty() || !c.not_values.empty();
}

// A converted rule ("group") fires at ztunnel only if every clause has a non-empty match
// (hasEffectiveRules); a rule with no clauses at all matches everything.
bool ruleEffectiveAtZtunnel(const AuthzRule& r) {
  if (!r.to.empty() && std::none_of(r.to.begin(), r.to.end(), nonEmptyToMatch)) {
    return false;
  }
  if (!r.from.empty() && std::none_of(r.from.begin(), r.from.end(), nonEmptyFromMatch)) {
    return false;
  }
  return std::all_of(r.when.begin(), r.when.end(), nonEmptyWhenMatch);
}

// httpRuleFmt in authorization.go, split around its first %s (the found list).
constexpr std::string_view kHttpRuleHead = "ztunnel does not support HTTP attributes (found: ";
constexpr std::string_view kHttpRuleTail =
    "). In ambient mode you must use a waypoint proxy to enforce HTTP rules. ";

}  // namespace

ZtunnelConversion convertForZtunnel(const AuthorizationPolicy& ap,
                                    const rules::MeshSettings& mesh) {
  using Outcome = ZtunnelConversion::Outcome;
  ZtunnelConversion conv;
  // 1. Dry-run: strconv.ParseBool; an unparsable value means "enforce".
  if (ap.dry_run) {
    const std::string& v = *ap.dry_run;
    const bool dry = v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
    if (dry && !mesh.ambient_dry_run) {
      conv.outcome = Outcome::kDryRunNotSent;
      conv.status_message = "found policy \"" + ap.ns + "/" + ap.name +
                            "\" using dry-run annotation, but support for ambient dry-run "
                            "authorizationPolicies isn't enabled";
      return conv;
    }
  }
  // 2. targetRef(s): not intended for ztunnel.
  if (!ap.target_refs.empty()) {
    conv.outcome = Outcome::kIgnored;
    return conv;
  }
  // 3. Only ALLOW and DENY reach ztunnel.
  if (ap.action != "ALLOW" && ap.action != "DENY") {
    conv.outcome = Outcome::kActionNotSent;
    conv.status_message = "ztunnel does not support the " + ap.action + " action";
    return conv;
  }
  // 4-7. Per rule.
  const bool deny = ap.action == "DENY";
  std::set<std::string> found;
  size_t groups = 0;
  size_t effective_groups = 0;
  size_t l7_rules = 0;
  for (size_t i = 0; i < ap.rules.size(); ++i) {
    const AuthzRule& r = ap.rules[i];
    const std::string rp = "spec.rules[" + std::to_string(i) + "]";
    bool l7 = false;
    auto note = [&](const std::string& attr, const std::string& path) {
      found.insert(attr);
      if (conv.first_l7_field.empty()) {
        conv.first_l7_field = path;
      }
      l7 = true;
    };
    for (size_t k = 0; k < r.to.size(); ++k) {
      for (const auto& fv : r.to[k]) {
        if (isHttpOperationField(fv.field)) {
          note(fv.field, rp + ".to[" + std::to_string(k) + "].operation." + fv.field);
        }
      }
    }
    for (size_t k = 0; k < r.from.size(); ++k) {
      for (const auto& fv : r.from[k]) {
        if (isHttpSourceField(fv.field)) {
          note(fv.field, rp + ".from[" + std::to_string(k) + "].source." + fv.field);
        }
      }
    }
    for (size_t k = 0; k < r.when.size(); ++k) {
      if (!isL4WhenKey(r.when[k].key)) {
        note(r.when[k].key, rp + ".when[" + std::to_string(k) + "].key");
      }
    }
    if (l7) {
      ++l7_rules;
    }
    if (!deny && l7) {
      continue;  // ALLOW: the whole rule is dropped (rules = nil)
    }
    ++groups;
    if (ruleEffectiveAtZtunnel(r)) {
      ++effective_groups;
    }
  }
  conv.l7_attributes.assign(found.begin(), found.end());
  if (found.empty()) {
    conv.outcome = Outcome::kAccepted;
    return conv;
  }
  std::string joined;
  for (const auto& a : conv.l7_attributes) {
    joined += (joined.empty() ? "" : ", ") + a;
  }
  // No fixed-size buffer: istiod's message carries the whole list, however long.
  conv.status_message = std::string(kHttpRuleHead) + joined + std::string(kHttpRuleTail);
  if (deny && effective_groups == 0) {
    conv.outcome = Outcome::kDenyNoEffect;
    conv.status_message +=
        "After omitting unsupported HTTP attributes, this DENY policy has no enforceable rules "
        "at ztunnel and will have no effect. Deploy a waypoint proxy and use a targetRef to "
        "enforce this policy.";
  } else if (deny) {
    conv.outcome = Outcome::kDenyWithoutHttp;
    conv.status_message +=
        "DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more "
        "restrictive than requested.";
  } else {
    conv.outcome = groups == 0 ? Outcome::kAllowNoRules : Outcome::kAllowRulesOmitted;
    conv.status_message +=
        "Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more "
        "restrictive than requested.";
  }
  (void)l7_rules;
  return conv;
}

// ---------------------------------------------------------------------------------------------

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
  if (gw.gateway_class == kWaypointClass) {
    return true;
  }
  const GatewayClass* gc = state.find<GatewayClass>("", gw.gateway_class);
  return gc != nullptr && gc->controller == kMeshController;
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
  const std::string& sa = gw.service_account.empty() ? gw.name : gw.service_account;
  return std::string(trust_domain) + "/ns/" + gw.ns + "/sa/" + sa;
}

std::vector<const Gateway*> waypointsIn(const ClusterView& state, std::string_view ns) {
  std::vector<const Gateway*> out;
  for (const Gateway* gw : state.list<Gateway>(ns)) {
    if (isWaypoint(state, *gw) && gw->readiness != GatewayReadiness::kNotReady) {
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
      if (isAmbientNamespace(state, ns)) {
        out.push_back(ns);
      }
    }
  } else if (isAmbientNamespace(state, policy_ns)) {
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

}  // namespace ambient_guard::ambient

namespace ambient_guard::ambient {

TargetRefSuggestion suggestTargetRefs(const ClusterView& state, std::string_view ns,
                                      const WorkloadSelector& selector,
                                      const rules::MeshSettings& mesh) {
  TargetRefSuggestion s;
  const std::string nss(ns);
  if (ns == mesh.root_namespace && !selector.present) {
    s.target_refs =
        "targetRefs: [{group: gateway.networking.k8s.io, kind: GatewayClass, name: istio-waypoint}]";
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
      if (b.bound()) {
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
        if (!b.problem().empty()) {
          s.how += "; today: " + b.problem();
        }
      }
      return s;
    }
  }
  WaypointBinding b = resolveWaypoint(state, ns, nullptr, TrafficType::kService);
  if (b.bound()) {
    s.waypoint_ready = true;
    s.waypoint = b.ns + "/" + b.name;
    s.target_refs =
        "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: " + b.name + "}]";
    s.how = "namespace " + nss + " uses waypoint " + s.waypoint;
    if (b.ns != ns) {
      s.how += "; a Gateway targetRef must be in the waypoint's namespace, so create the policy in " +
               b.ns;
    }
    return s;
  }
  auto existing = waypointsIn(state, ns);
  std::string wp = existing.empty() ? "waypoint" : existing[0]->name;
  s.waypoint = nss + "/" + wp;
  s.target_refs =
      "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: " + wp + "}]";
  s.how = existing.empty()
              ? "deploy the waypoint first (`istioctl waypoint apply -n " + nss +
                    " --enroll-namespace`)"
              : "label the namespace to use it (`kubectl label namespace " + nss +
                    " istio.io/use-waypoint=" + wp + "`)";
  if (!b.problem().empty()) {
    s.how += "; today: " + b.problem();
  }
  return s;
}

}  // namespace ambient_guard::ambient
