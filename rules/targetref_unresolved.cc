#include "rules/targetref_unresolved.h"

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
    "`istio-waypoint` from the root namespace; agentgateway waypoints apply no Istio policy.",
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

void checkPolicy(const RuleContext& ctx, const ambient::TargetedPolicy& p,
                 std::vector<Finding>& out) {
  for (size_t i = 0; i < p.refs->size(); ++i) {
    const TargetRef& ref = (*p.refs)[i];
    ambient::TargetResolution r = ambient::resolveTargetRef(ctx.state, p.key.ns, ref, ctx.mesh);
    if (!r.unresolved()) {
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
  for (const ambient::TargetedPolicy& p : ambient::targetedPoliciesIn(ctx.state, ctx.subject.key.name)) {
    checkPolicy(ctx, p, out);
  }
}

}  // namespace ambient_guard::rules
