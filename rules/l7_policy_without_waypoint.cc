#include "rules/l7_policy_without_waypoint.h"

#include "rules/ambient.h"
#include "rules/l7_policy_without_waypoint_extra.h"
#include "rules/scope.h"

namespace ambient_guard::rules {
namespace {

using Outcome = ambient::ZtunnelConversion::Outcome;

constexpr RuleDoc kDoc{
    "l7-policy-without-waypoint",
    Action::kDeny,
    "No ztunnel-bound AuthorizationPolicy (selector or namespace-wide) covering an ambient "
    "namespace uses HTTP attributes (trustDomains included) or the CUSTOM/AUDIT action; warns "
    "on dry-run without ztunnel support, selectors without labels, and identity rules on "
    "workloads behind a waypoint (ztunnel sees the waypoint's identity).",
    "ztunnel enforces L4 only: an ALLOW policy loses its HTTP rules (often becoming deny-all), a "
    "DENY policy loses its HTTP conditions (broader, or a silent no-op), and CUSTOM ext_authz is "
    "not enforced at all (fail-open). Waypoints ignore selector policies.",
    R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-get, namespace: bookinfo}   # bookinfo is ambient
spec:
  selector: {matchLabels: {app: reviews}}
  action: ALLOW
  rules:
  - to: [{operation: {methods: ["GET"], paths: ["/reviews/*"]}}])",
    R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-get, namespace: bookinfo}
spec:
  targetRefs: [{group: "", kind: Service, name: reviews}]   # Service bound to a waypoint
  action: ALLOW
  rules:
  - to: [{operation: {methods: ["GET"], paths: ["/reviews/*"]}}])"};

std::string effectText(const AuthorizationPolicy& ap, const ambient::ZtunnelConversion& conv) {
  switch (conv.outcome) {
    case Outcome::kAllowNoRules:
      return "ztunnel drops every rule that uses them, so this ALLOW policy keeps no rule and "
             "matches nothing: every connection to the selected workloads is denied unless "
             "another ALLOW policy matches, and open connections are closed when it applies";
    case Outcome::kAllowRulesOmitted:
      return "ztunnel drops the rules that use them and keeps the others, so callers allowed only "
             "by the dropped rules are denied";
    case Outcome::kDenyWithoutHttp:
      return "ztunnel enforces this DENY without its HTTP conditions, so it denies more than "
             "requested (for example every method and path, not only the ones listed)";
    case Outcome::kDenyNoEffect:
      return "nothing enforceable is left once ztunnel drops them, so this DENY policy is a "
             "no-op: the traffic it should block is allowed (fail-open)";
    case Outcome::kActionNotSent:
      return ap.action == "CUSTOM"
                 ? "ztunnel does not support the CUSTOM action: the external authorizer" +
                       (ap.provider.empty() ? std::string() : " \"" + ap.provider + "\"") +
                       " is never called and requests are not checked (fail-open)"
                 : "ztunnel does not support the AUDIT action: nothing is audited";
    default:
      return "";
  }
}

std::string shortEffect(const AuthorizationPolicy& ap, Outcome outcome) {
  switch (outcome) {
    case Outcome::kAllowNoRules:
      return "ALLOW loses all rules at ztunnel: deny-all";
    case Outcome::kAllowRulesOmitted:
      return "ALLOW loses its HTTP rules at ztunnel";
    case Outcome::kDenyWithoutHttp:
      return "DENY enforced without HTTP conditions";
    case Outcome::kDenyNoEffect:
      return "DENY is a no-op at ztunnel (fail-open)";
    case Outcome::kActionNotSent:
      return ap.action + " not enforced by ztunnel" + (ap.action == "CUSTOM" ? " (fail-open)" : "");
    default:
      return "";
  }
}

void check(const RuleContext& ctx, const AuthorizationPolicy& ap,
           const std::vector<std::string>& namespaces, const std::string& finding_ns,
           std::vector<Finding>& out) {
  ambient::ZtunnelConversion conv = ambient::convertForZtunnel(ap, ctx.mesh);
  l7_extra::checkPolicy(ctx, kDoc, ap, conv, namespaces, finding_ns, out);
  if (conv.outcome == Outcome::kAccepted || conv.outcome == Outcome::kIgnored ||
      conv.outcome == Outcome::kDryRunNotSent) {
    return;
  }
  ambient::TargetRefSuggestion fix =
      ambient::suggestTargetRefs(ctx.state, ap.ns, ap.selector, ctx.mesh);
  if (fix.waypoint_ready && ap.ns == ctx.mesh.root_namespace && !ap.selector.present) {
    // The GatewayClass targetRef applies at waypoints only ([I] pilot/pkg/model/
    // policyattachment.go:176-182): a covered namespace without one would lose the policy.
    std::vector<std::string> unserved;
    for (const std::string& n : namespaces) {
      if (!ambient::resolveWaypoint(ctx.state, n, nullptr, ambient::TrafficType::kService)
               .bound()) {
        unserved.push_back(n);
      }
    }
    if (!unserved.empty()) {
      fix.waypoint_ready = false;
      fix.how += "; no waypoint serves " + namespaceList(unserved) +
                 " yet (`istioctl waypoint apply -n " + unserved.front() + " --enroll-namespace`)";
    }
  }
  Finding f;
  f.rule = std::string(kDoc.id);
  f.object = ObjectKey{Kind::kAuthorizationPolicy, ap.ns, ap.name};
  f.ns = finding_ns;
  f.needs_waypoint = !fix.waypoint_ready;
  // Demote to warn when a waypoint already serves the workloads, unless the policy denies all.
  f.action = (fix.waypoint_ready && conv.outcome != Outcome::kAllowNoRules) ? Action::kWarn
                                                                            : kDoc.default_action;
  std::string what;
  if (conv.outcome == Outcome::kActionNotSent) {
    f.field = "spec.action";
    what = "uses action " + ap.action;
  } else {
    f.field = conv.first_l7_field;
    std::string attrs;
    for (const auto& a : conv.l7_attributes) {
      attrs += (attrs.empty() ? "" : ", ") + a;
    }
    what = "uses HTTP attributes ztunnel cannot enforce (found: " + attrs + ")";
  }
  const std::string ref = f.object.str();
  f.message = "[" + f.rule + "] " + ref + " (" + describePolicyScope(ap.ns, ap.selector, ctx.mesh) +
              ", action " + ap.action + ") is enforced by ztunnel in ambient " +
              namespaceList(namespaces) + " and " + what + ": " + effectText(ap, conv) +
              ". istiod reports: \"" + conv.status_message + "\" Fix: replace `selector` with `" +
              fix.target_refs + "` so a waypoint enforces it; " + fix.how + ".";
  f.summary = "[" + f.rule + "] " + ref + ": " + shortEffect(ap, conv.outcome) + "; use targetRefs";
  out.push_back(std::move(f));
}

}  // namespace

const RuleDoc& L7PolicyWithoutWaypoint::doc() const { return kDoc; }

void L7PolicyWithoutWaypoint::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  if (!ctx.subject.isNamespace() && ctx.subject.key.kind == Kind::kService) {
    l7_extra::checkServiceSubject(ctx, kDoc, out);  // use-waypoint changes shift identities
    return;
  }
  forEachCoveringPolicy<AuthorizationPolicy>(
      ctx, [&](const AuthorizationPolicy& ap, const std::vector<std::string>& namespaces,
               const std::string& finding_ns) { check(ctx, ap, namespaces, finding_ns, out); });
}

}  // namespace ambient_guard::rules
