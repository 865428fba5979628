#include "rules/waypoint_binding_unresolved.h"

#include "rules/ambient.h"

namespace ambient_guard::rules {
namespace {

using Status = ambient::WaypointBinding::Status;

constexpr RuleDoc kDoc{
    "waypoint-binding-unresolved",
    Action::kWarn,
    "Every Service of an ambient namespace bound with istio.io/use-waypoint (its own label or its "
    "Namespace's) binds: the waypoint exists, is ready, admits the namespace and serves service "
    "traffic; so does a canary waypoint it names (istio.io/use-waypoint-canary, valid weight).",
    "istiod then programs the Service without a waypoint: its traffic skips L7 processing, "
    "targetRefs policies on it attach nowhere and HTTPRoutes on it are not applied. istiod says "
    "so only in the Service's istio.io/WaypointBound status condition.",
    R"(apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo   # ambient
  labels: {istio.io/use-waypoint: waypoint}   # waypoint has istio.io/waypoint-for: workload)",
    R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: bookinfo
  labels: {istio.io/waypoint-for: service}   # or all; the waypoint must also be ready
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]})"};

std::string fixText(const ambient::WaypointBinding& b) {
  const std::string wp = b.ns + "/" + b.name;
  switch (b.status) {
    case Status::kNotFound:
      return "create the waypoint (`istioctl waypoint apply -n " + b.ns + " --name " + b.name +
             "`) or fix the label";
    case Status::kNotReady:
      return "wait until waypoint " + wp + " has a ready pod (its status.addresses), or fix the "
             "label";
    case Status::kNotAWaypoint:
      return "point the label at a Gateway of class istio-waypoint";
    case Status::kAttachmentDenied:
      return "allow this namespace in the listeners' allowedRoutes of waypoint " + wp;
    case Status::kUnsupportedTrafficType:
      return "label waypoint " + wp + " istio.io/waypoint-for=service (or all)";
    default:
      return "";
  }
}

// An unusable canary is not fatal: istiod keeps the primary alone and says why in
// istio.io/WaypointBound (istio.io docs/ambient/usage/waypoint "Invalid configuration"; reasons
// CanaryInvalidWeight, CanarySameAsPrimary, or the binding checks of the primary).
void checkCanary(const RuleContext& ctx, const Service& svc, const ambient::WaypointBinding& primary,
                 std::vector<Finding>& out) {
  using CanaryStatus = ambient::WaypointCanary::Status;
  const ambient::WaypointCanary c = ambient::resolveCanary(ctx.state, svc.ns, &svc.labels,
                                                           svc.waypoint_canary_weight, primary);
  if (c.problem().empty() || (c.status == CanaryStatus::kUnusable && c.binding.readiness_unknown)) {
    return;
  }
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = kDoc.default_action;
  f.object = ObjectKey{Kind::kService, svc.ns, svc.name};
  f.ns = svc.ns;
  if (c.from_namespace_label) {
    f.field = "";
  } else if (c.status == CanaryStatus::kInvalidWeight) {
    f.field = "metadata.annotations[istio.io/use-waypoint-canary-weight]";
  } else {
    f.field = "metadata.labels[istio.io/use-waypoint-canary]";
  }
  const std::string canary = c.ns + "/" + c.name;
  const std::string via = c.from_namespace_label ? " (through its Namespace's labels)" : "";
  std::string fix;
  switch (c.status) {
    case CanaryStatus::kInvalidWeight:
      fix = "set istio.io/use-waypoint-canary-weight to an integer from 0 to 100 (it is \"" +
            c.raw_weight + "\")";
      break;
    case CanaryStatus::kSameAsPrimary:
      fix = "name a second waypoint as the canary, or remove istio.io/use-waypoint-canary";
      break;
    default:
      fix = fixText(c.binding);
      break;
  }
  f.message = "[" + f.rule + "] " + f.object.str() + " names canary waypoint " + canary + via +
              " but istiod ignores it and sends all traffic through waypoint " + primary.ns + "/" +
              primary.name + " (Istio 1.31 weighted waypoint canaries). istiod reports: \"" +
              c.problem() + "\" Fix: " + fix + ".";
  f.summary = "[" + f.rule + "] " + f.object.str() + ": canary waypoint " + canary +
              " is ignored";
  out.push_back(std::move(f));
}

void checkService(const RuleContext& ctx, const Service& svc, std::vector<Finding>& out) {
  ambient::WaypointBinding b =
      ambient::resolveWaypoint(ctx.state, svc.ns, &svc.labels, ambient::TrafficType::kService);
  if (b.bound()) {
    checkCanary(ctx, svc, b, out);
    return;
  }
  if (b.problem().empty() || b.readiness_unknown) {
    return;
  }
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = kDoc.default_action;
  f.object = ObjectKey{Kind::kService, svc.ns, svc.name};
  f.ns = svc.ns;
  f.field = b.from_namespace_label ? "" : "metadata.labels[istio.io/use-waypoint]";
  f.needs_waypoint = b.status == Status::kNotFound;
  const std::string via = b.from_namespace_label ? " (through its Namespace's istio.io/use-waypoint)"
                                                 : "";
  f.message = "[" + f.rule + "] " + f.object.str() + " is bound to waypoint " + b.ns + "/" +
              b.name + via + " but cannot use it, so istiod programs it without a waypoint: its "
              "traffic skips L7 processing, targetRefs policies on it attach nowhere and "
              "HTTPRoutes on it are not applied. istiod reports: \"" + b.problem() +
              "\" Fix: " + fixText(b) + ".";
  f.summary = "[" + f.rule + "] " + f.object.str() + ": waypoint " + b.ns + "/" + b.name +
              " does not bind; no L7 for it";
  out.push_back(std::move(f));
}

}  // namespace

const RuleDoc& WaypointBindingUnresolved::doc() const { return kDoc; }

void WaypointBindingUnresolved::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  if (!ctx.subject.isNamespace()) {
    if (ctx.subject.key.kind != Kind::kService ||
        !ambient::isAmbientNamespace(ctx.state, ctx.subject.key.ns, ctx.mesh.enablement)) {
      return;
    }
    if (const Service* svc = ctx.state.find<Service>(ctx.subject.key.ns, ctx.subject.key.name)) {
      checkService(ctx, *svc, out);
    }
    return;
  }
  if (ctx.before != nullptr ||
      !ambient::isAmbientNamespace(ctx.state, ctx.subject.key.name, ctx.mesh.enablement)) {
    return;  // a Namespace write: bindings it takes away are waypoint-in-use's (deny)
  }
  for (const Service* svc : ctx.state.list<Service>(ctx.subject.key.name)) {
    checkService(ctx, *svc, out);
  }
}

}  // namespace ambient_guard::rules
