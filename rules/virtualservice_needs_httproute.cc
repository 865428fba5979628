#include "rules/virtualservice_needs_httproute.h"

#include <set>

#include "rules/ambient.h"
#include "rules/scope.h"

namespace ambient_guard::rules {
namespace {

constexpr RuleDoc kDoc{
    "virtualservice-needs-httproute",
    Action::kWarn,
    "No mesh VirtualService (gateways empty or containing `mesh`) routes hosts of an ambient "
    "namespace; ingress-only VirtualServices are fine.",
    "ztunnel ignores VirtualServices, and on waypoints they are Alpha and must not be mixed with "
    "Gateway API routes: without a waypoint, splits, retries, timeouts and rewrites silently "
    "stop.",
    R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}   # bookinfo is ambient
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10})",
    R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
  - backendRefs:                    # one Service per former subset
    - {name: reviews-v1, port: 9080, weight: 90}
    - {name: reviews-v2, port: 9080, weight: 10})"};

// Returns the short Service name of an in-cluster host ("reviews.shop.svc.cluster.local" →
// "reviews"), "" for wildcards.
std::string serviceName(const std::string& host) {
  if (host.empty() || host[0] == '*') {
    return "";
  }
  return host.substr(0, host.find('.'));
}

void check(const RuleContext& ctx, const VirtualService& vs, const std::string& only_ns,
           std::vector<Finding>& out) {
  if (!ambient::isMeshVirtualService(vs)) {
    return;
  }
  std::vector<std::string> ambient_hosts;
  std::set<std::string> namespaces;
  for (const std::string& host : vs.hosts) {
    std::string ns = ambient::hostNamespace(host, vs.ns);
    if (ns.empty() || (!only_ns.empty() && ns != only_ns) ||
        !ambient::isAmbientNamespace(ctx.state, ns, ctx.mesh.enablement)) {
      continue;
    }
    ambient_hosts.push_back(host);
    namespaces.insert(ns);
  }
  if (ambient_hosts.empty()) {
    return;
  }
  const std::string target_ns = *namespaces.begin();
  const std::string svc = serviceName(ambient_hosts.front());
  const Service* service = svc.empty() ? nullptr : ctx.state.find<Service>(target_ns, svc);
  ambient::WaypointBinding wp = ambient::resolveWaypoint(
      ctx.state, target_ns, service != nullptr ? &service->labels : nullptr,
      ambient::TrafficType::kService);

  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = kDoc.default_action;
  f.object = ObjectKey{Kind::kVirtualService, vs.ns, vs.name};
  f.ns = only_ns.empty() ? vs.ns.str() : only_ns;
  f.field = "spec.hosts";
  f.needs_waypoint = !wp.bound();
  std::string hosts;
  for (const auto& h : ambient_hosts) {
    hosts += (hosts.empty() ? "" : ", ") + h;
  }
  std::string effect =
      wp.bound()
          ? "waypoint " + wp.ns + "/" + wp.name +
                " applies it only as an Alpha feature, and mixing it with Gateway API routes is "
                "undefined behaviour"
          : "no waypoint serves it, so ztunnel ignores it and its routing silently stops";
  std::string parent = svc.empty() ? "<service>" : svc;
  std::string port;
  if (service != nullptr && service->ports.size() == 1) {
    port = ", port: " + std::to_string(service->ports[0].port);
  }
  f.message = "[" + f.rule + "] " + f.object.str() + " routes mesh traffic for " + hosts +
              " in ambient " + namespaceList({namespaces.begin(), namespaces.end()}) + ": " +
              effect + ". Fix: an HTTPRoute in namespace " + target_ns +
              " with `parentRefs: [{group: \"\", kind: Service, name: " + parent + port +
              "}]` and the routes as rules[].backendRefs (`ambient-guard translate -f` writes it)";
  if (!wp.bound()) {
    f.message += ", plus a waypoint for the Service (`istioctl waypoint apply -n " + target_ns +
                 " --enroll-namespace`)";
  }
  f.message += ".";
  if (!vs.no_httproute_equivalent.empty()) {
    std::string gaps;
    for (const auto& g : vs.no_httproute_equivalent) {
      gaps += (gaps.empty() ? "" : "; ") + g;
    }
    f.message += " No HTTPRoute equivalent: " + gaps + ".";
  }
  f.summary = "[" + f.rule + "] " + f.object.str() + ": mesh VirtualService in ambient; use an " +
              "HTTPRoute with a Service parentRef";
  out.push_back(std::move(f));
}

}  // namespace

const RuleDoc& VirtualServiceNeedsHttpRoute::doc() const { return kDoc; }

void VirtualServiceNeedsHttpRoute::evaluate(const RuleContext& ctx,
                                            std::vector<Finding>& out) const {
  if (!ctx.subject.isNamespace()) {
    if (ctx.subject.key.kind != Kind::kVirtualService) {
      return;
    }
    if (const VirtualService* vs =
            ctx.state.find<VirtualService>(ctx.subject.key.ns, ctx.subject.key.name)) {
      check(ctx, *vs, "", out);
    }
    return;
  }
  const std::string& n = ctx.subject.key.name;
  if (!ambient::isAmbientNamespace(ctx.state, n, ctx.mesh.enablement)) {
    return;
  }
  // A VirtualService in any namespace may route this namespace's hosts (FQDN hosts).
  for (const std::string& ns : ctx.state.namespaceNames()) {
    for (const VirtualService* vs : ctx.state.list<VirtualService>(ns)) {
      check(ctx, *vs, n, out);
    }
  }
}

}  // namespace ambient_guard::rules
