#include "rules/request_authentication_needs_waypoint.h"

#include "rules/ambient.h"
#include "rules/policy_attachment.h"
#include "rules/scope.h"

namespace ambient_guard::rules {
namespace {

constexpr RuleDoc kDoc{
    "request-authentication-needs-waypoint",
    Action::kDeny,
    "No RequestAuthentication with a selector, or namespace-wide, covers an ambient namespace "
    "(a root-namespace one covers all of them); in ambient it must use targetRefs.",
    "ztunnel never validates JWTs and waypoints ignore selector and namespace-wide policies, so "
    "after migration the policy is silently dropped: invalid or forged tokens are no longer "
    "rejected (fail-open).",
    R"(apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: bookinfo}   # bookinfo is ambient
spec:
  selector: {matchLabels: {app: productpage}}
  jwtRules:
  - {issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks"})",
    R"(apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: bookinfo}
spec:
  targetRefs: [{group: "", kind: Service, name: productpage}]   # Service bound to a waypoint
  jwtRules:
  - {issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks"})"};

// Returns the targetRefs twin `ambient-guard translate` wrote for `ra` (annotation
// ambient-guard.io/translated-from) when every targetRef of it attaches, or nullptr.
const RequestAuthentication* readyTwin(const RuleContext& ctx, const RequestAuthentication& ra) {
  for (const RequestAuthentication* t : ctx.state.list<RequestAuthentication>(ra.ns)) {
    if (t->translated_from != ra.name || t->target_refs.empty()) {
      continue;
    }
    bool attaches = true;
    for (const TargetRef& ref : t->target_refs) {
      attaches = attaches && !ambient::resolveTargetRef(ctx.state, ra.ns, ref, ctx.mesh).unresolved();
    }
    if (attaches) {
      return t;
    }
  }
  return nullptr;
}

void check(const RuleContext& ctx, const RequestAuthentication& ra,
           const std::vector<std::string>& namespaces, const std::string& finding_ns,
           std::vector<Finding>& out) {
  if (!ra.target_refs.empty() || ambient::selectsGatewayPods(ra.selector.match_labels)) {
    return;
  }
  ambient::TargetRefSuggestion fix =
      ambient::suggestTargetRefs(ctx.state, ra.ns, ra.selector, ctx.mesh);
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = kDoc.default_action;
  f.object = ObjectKey{Kind::kRequestAuthentication, ra.ns, ra.name};
  f.ns = finding_ns;
  f.field = ra.selector.present ? "spec.selector" : "spec";
  f.needs_waypoint = !fix.waypoint_ready;
  std::string issuers;
  for (const auto& i : ra.issuers) {
    issuers += (issuers.empty() ? "" : ", ") + (i.empty() ? std::string("<no issuer>") : i);
  }
  f.message = "[" + f.rule + "] " + f.object.str() + " (" +
              describePolicyScope(ra.ns, ra.selector, ctx.mesh) + ") covers ambient " +
              namespaceList(namespaces) +
              ", where nothing applies it: ztunnel does not process JWTs and waypoints ignore "
              "RequestAuthentications without targetRefs. Tokens" +
              (issuers.empty() ? std::string() : " from " + issuers) +
              " are no longer validated, so requests with invalid, expired or forged JWTs are "
              "accepted (fail-open) and AuthorizationPolicies matching requestPrincipals lose "
              "their principals. Fix: replace `" +
              (ra.selector.present ? std::string("selector") : std::string("the namespace-wide scope")) +
              "` with `" + fix.target_refs + "` so a waypoint validates the tokens; " + fix.how +
              ".";
  f.summary = "[" + f.rule + "] " + f.object.str() +
              ": ignored in ambient, JWTs not validated (fail-open); use targetRefs";
  if (const RequestAuthentication* twin = readyTwin(ctx, ra)) {
    // The migration guide's order: the twin is in place, enroll, restart, delete the original.
    f.action = Action::kWarn;
    f.needs_waypoint = false;
    f.message += " Its targetRefs twin " + twin->ns + "/" + twin->name +
                 " (ambient-guard.io/translated-from: " + ra.name +
                 ") attaches to a waypoint, so enrolling is allowed: delete " + ra.name +
                 " right after the pods restart (Istio migration guide, \"Enable ambient mode\" "
                 "Step 5).";
    f.summary = "[" + f.rule + "] " + f.object.str() + ": twin " + twin->name +
                " ready; delete right after the restart";
  }
  out.push_back(std::move(f));
}

}  // namespace

const RuleDoc& RequestAuthenticationNeedsWaypoint::doc() const { return kDoc; }

void RequestAuthenticationNeedsWaypoint::evaluate(const RuleContext& ctx,
                                                  std::vector<Finding>& out) const {
  forEachCoveringPolicy<RequestAuthentication>(
      ctx, [&](const RequestAuthentication& ra, const std::vector<std::string>& namespaces,
               const std::string& finding_ns) { check(ctx, ra, namespaces, finding_ns, out); });
}

}  // namespace ambient_guard::rules
