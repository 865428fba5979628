#include "rules/targetref_unresolved.h"

#include "model/strings.h"
#include "rules/policy_attachment.h"

namespace ambient_guard::rules {
namespace {

using Status = ambient::TargetResolution::Status;

constexpr RuleDoc kDoc{
    "targetref-unresolved",
    Action::kWarn,
    "Every targetRef of an AuthorizationPolicy, RequestAuthentication, WasmPlugin or "
    "TrafficExtension attaches: a Service or ServiceEntry bound to a waypoint serving service "
    "traffic, a waypoint (or Istio ingress) Gateway in the policy's namespace, or GatewayClass "
    "`istio-waypoint` from the root namespace; agentgateway waypoints apply no Istio policy; "
    "a Service that an ingress gateway routes to (a gateway VirtualService, or an HTTPRoute on "
    "a Gateway that is not a waypoint) sets istio.io/ingress-use-waypoint.",
    "Sidecars and ztunnel ignore policies with targetRefs; only the waypoint or Gateway the "
    "targetRef selects applies them. An unresolved targetRef leaves the policy enforced nowhere, "
    "and istiod says so only in a status condition.",
    R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-get, namespace: bookinfo}
spec:
  targetRefs: [{group: "", kind: Service, name: reviews}]   # reviews has no waypoint
  rules:
  - to: [{operation: {methods: ["GET"]}}])",
    R"(apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
  labels: {istio.io/use-waypoint: waypoint}   # bind the Service to a ready waypoint first
# ... spec unchanged; the AuthorizationPolicy now attaches at waypoint bookinfo/waypoint)"};

std::string refText(const TargetRef& ref) {
  return (ref.group.empty() ? std::string() : ref.group + "/") + ref.kind + " " + ref.name;
}

// A Service-targeted policy that attaches at the waypoint still misses the requests of ingress
// gateways, which go straight to the pods unless the Service or its Namespace sets
// istio.io/ingress-use-waypoint=true (istio.io docs/ambient/usage/waypoint, "Ingress gateways and
// waypoints": "By default, ingress-originated traffic will not use the destination service
// waypoint"; the migration guide: "Ingress gateways bypass waypoints by default").
void checkIngress(const RuleContext& ctx, const ambient::TargetedPolicy& p, size_t i,
                  const ambient::TargetResolution& r, std::vector<Finding>& out) {
  const TargetRef& ref = (*p.refs)[i];
  if (!ambient::refIsService(ref) || !r.binding.bound()) {
    return;
  }
  const Service* svc = ctx.state.find<Service>(p.key.ns, ref.name);
  if (svc == nullptr || ambient::ingressUsesWaypoint(ctx.state, *svc)) {
    return;
  }
  const std::vector<const VirtualService*> routes = ambient::gatewayRoutesTo(ctx.state, *svc);
  const std::vector<const HTTPRoute*> http_routes =
      ambient::gatewayHttpRoutesTo(ctx.state, *svc);
  if (routes.empty() && http_routes.empty()) {
    return;
  }
  std::string via;
  for (const VirtualService* vs : routes) {
    std::string gws;
    for (const std::string& g : vs->gateways) {
      if (g != "mesh") {
        gws += (gws.empty() ? "" : ", ") + g;
      }
    }
    via += (via.empty() ? "" : "; ") + std::string("VirtualService ") + vs->ns + "/" + vs->name +
           " (gateways " + gws + ")";
  }
  // Gateway API ingress: an HTTPRoute on an ingress (non-waypoint) Gateway with the Service as
  // a backendRef; istiod applies ingress-use-waypoint to it the same way ([I] pilot/pkg/
  // serviceregistry/ambient/services.go; istio.io docs/ambient/usage/waypoint).
  for (const HTTPRoute* route : http_routes) {
    via += (via.empty() ? "" : "; ") + std::string("HTTPRoute ") + route->ns + "/" +
           route->name + " (parentRefs Gateway " +
           join(ambient::ingressParents(ctx.state, *route), ", ") + ")";
  }
  const std::string svc_name = svc->ns + "/" + svc->name;
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = kDoc.default_action;
  f.object = p.key;
  f.ns = p.key.ns;
  f.field = "spec.targetRefs[" + std::to_string(i) + "]";
  f.message = "[" + f.rule + "] " + p.key.str() + " targetRefs[" + std::to_string(i) +
              "] (Service " + ref.name + ") attaches at waypoint " + r.binding.ns + "/" +
              r.binding.name + ", but ingress traffic to Service " + svc_name +
              " does not go through it: " + via + " routes to it, and neither the Service nor "
              "Namespace " + svc->ns + " sets istio.io/ingress-use-waypoint=true, so the ingress "
              "gateway sends those requests straight to the pods and the policy is not applied "
              "to them (ingress bypasses waypoints by default; istio.io docs/ambient/usage/"
              "waypoint). Fix: `kubectl label service " + svc->name + " -n " + svc->ns + " " +
              std::string(ambient::kIngressUseWaypointLabel) + "=true` (or label the namespace), "
              "or apply the policy at the ingress gateway too.";
  f.summary = "[" + f.rule + "] " + p.key.str() + ": ingress traffic to Service " + svc_name +
              " bypasses its waypoint (no istio.io/ingress-use-waypoint)";
  out.push_back(std::move(f));
}

void checkPolicy(const RuleContext& ctx, const ambient::TargetedPolicy& p,
                 std::vector<Finding>& out) {
  for (size_t i = 0; i < p.refs->size(); ++i) {
    const TargetRef& ref = (*p.refs)[i];
    ambient::TargetResolution r = ambient::resolveTargetRef(ctx.state, p.key.ns, ref, ctx.mesh);
    if (!r.unresolved()) {
      checkIngress(ctx, p, i, r, out);
      continue;
    }
    Finding f;
    f.rule = std::string(kDoc.id);
    f.action = kDoc.default_action;
    f.object = p.key;
    f.ns = p.key.ns;
    f.field = "spec.targetRefs[" + std::to_string(i) + "]";
    f.needs_waypoint = r.status == Status::kServiceNotBound ||
                       (r.status == Status::kTargetNotFound && ambient::refIsGateway(ref));
    const std::string where = p.refs->size() == 1 ? "its only targetRef" : "this targetRef";
    f.message = "[" + f.rule + "] " + p.key.str() + " targetRefs[" + std::to_string(i) + "] (" +
                refText(ref) + ") does not attach: " + r.problem +
                ". Sidecars and ztunnel ignore policies with targetRefs, so through " + where +
                " the policy is enforced nowhere. Fix: " + r.fix + ".";
    f.summary = "[" + f.rule + "] " + p.key.str() + ": targetRefs[" + std::to_string(i) + "] " +
                refText(ref) + " does not attach; enforced nowhere";
    out.push_back(std::move(f));
  }
}

}  // namespace

const RuleDoc& TargetRefUnresolved::doc() const { return kDoc; }

void TargetRefUnresolved::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  if (!ctx.subject.isNamespace()) {
    ambient::TargetedPolicy p = ambient::targetedPolicy(ctx.state, ctx.subject.key);
    if (p.refs != nullptr && !p.refs->empty()) {
      checkPolicy(ctx, p, out);
    }
    return;
  }
  if (ctx.before != nullptr) {
    return;  // a Namespace write: bindings it takes away are waypoint-in-use's (deny)
  }
  for (const ambient::TargetedPolicy& p :
       ambient::targetedPoliciesIn(ctx.state, ctx.subject.key.name)) {
    checkPolicy(ctx, p, out);
  }
}

}  // namespace ambient_guard::rules
