#include "rules/l7_policy_without_waypoint.h"

#include <optional>

#include "rules/ambient.h"
#include "rules/istio_version.h"
#include "rules/l7_policy_without_waypoint_extra.h"
#include "rules/policy_attachment.h"
#include "rules/scope.h"

namespace ambient_guard::rules {
namespace {

using Outcome = ambient::ZtunnelConversion::Outcome;

constexpr RuleDoc kDoc{
    "l7-policy-without-waypoint",
    Action::kDeny,
    "No ztunnel-bound AuthorizationPolicy (selector or namespace-wide) covering an ambient "
    "namespace uses HTTP attributes or the CUSTOM/AUDIT action, or trustDomains (dropped "
    "silently by istiod 1.31); warns "
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

// Returns the targetRefs twin `ambient-guard translate` wrote for `ap` (an AuthorizationPolicy of
// the same namespace annotated ambient-guard.io/translated-from: <ap's name>) when every one of
// its targetRefs attaches to a waypoint that applies it, or nullptr. With a ready twin the
// migration guide's order holds: enroll, restart, then delete the original at once.
const AuthorizationPolicy* readyTwin(const RuleContext& ctx, const AuthorizationPolicy& ap) {
  for (const AuthorizationPolicy* t : ctx.state.list<AuthorizationPolicy>(ap.ns)) {
    if (t->translated_from != ap.name || t->target_refs.empty()) {
      continue;
    }
    bool attaches = true;
    for (const TargetRef& ref : t->target_refs) {
      attaches = attaches && !ambient::resolveTargetRef(ctx.state, ap.ns, ref, ctx.mesh).unresolved();
    }
    if (attaches) {
      return t;
    }
  }
  return nullptr;
}

// Demotes a finding about `ap` to a warning when its twin is ready, and says what to do.
void applyTwin(const AuthorizationPolicy* twin, const AuthorizationPolicy& ap, Finding& f) {
  if (twin == nullptr) {
    return;
  }
  f.action = Action::kWarn;
  f.needs_waypoint = false;
  f.message += " Its targetRefs twin AuthorizationPolicy " + twin->ns + "/" + twin->name +
               " (ambient-guard.io/translated-from: " + ap.name +
               ") attaches to a waypoint, so enrolling is allowed: delete " + ap.name +
               " right after the pods restart (Istio migration guide, \"Enable ambient mode\" "
               "Step 5); L7 policies have a brief enforcement gap until then (plan a "
               "maintenance window).";
  f.summary = "[" + f.rule + "] " + f.object.str() + ": twin " + twin->name +
              " ready; delete right after the restart";
}

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
                       (ap.provider.empty() ? std::string() : " \"" + ap.provider.str() + "\"") +
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

// Appends the finding for source.trustDomains / notTrustDomains that istiod 1.31 drops without a
// status (docs/istio-1.31-notes.md §1.3).
void checkTrustDomains(const RuleContext& ctx, const AuthorizationPolicy& ap,
                       const ambient::ZtunnelConversion& conv, const IstioVersion& istio,
                       const std::vector<std::string>& namespaces, const std::string& finding_ns,
                       std::vector<Finding>& out) {
  if (conv.dropped_trust_domain_fields.empty()) {
    return;
  }
  const bool deny = ap.action == "DENY";
  std::string assumed;
  if (!istio.version) {
    assumed = istio.describe() + "; assuming Istio " + kLatestKnownIstio.str() +
              " (trustDomains are API fields since 1.31)";
  } else if (!hasTrustDomainsField(*istio.version)) {
    assumed = istio.describe() + ": source.trustDomains is not part of the AuthorizationPolicy "
              "API before 1.31, so nothing in this mesh enforces it";
  } else {
    assumed = istio.describe();
  }
  std::vector<std::string> effects;
  if (conv.trust_domain_rules_never_match > 0) {
    effects.push_back(std::to_string(conv.trust_domain_rules_never_match) +
                      " rule(s) name no other source, so their source match is empty and never "
                      "matches: " +
                      (deny ? "the DENY never fires and the traffic it should block is allowed "
                              "(fail-open)"
                            : "callers they should admit are denied (deny-all when no other "
                              "ALLOW rule matches)"));
  }
  if (conv.trust_domain_rules_widened > 0) {
    effects.push_back(std::to_string(conv.trust_domain_rules_widened) +
                      " rule(s) are enforced without the trust-domain condition: " +
                      (deny ? "they deny callers of every trust domain, more than written"
                            : "they admit callers of every trust domain, less restrictive than "
                              "written"));
  }
  Finding f;
  f.rule = std::string(kDoc.id);
  f.object = ObjectKey{Kind::kAuthorizationPolicy, ap.ns, ap.name};
  f.ns = finding_ns;
  f.field = conv.dropped_trust_domain_fields.front();
  f.action = kDoc.default_action;
  std::string effect;
  for (const auto& e : effects) {
    effect += (effect.empty() ? "" : "; ") + e;
  }
  const ambient::TargetRefSuggestion fix =
      ambient::suggestTargetRefs(ctx.state, ap.ns, ap.selector, ctx.mesh);
  const std::string ref = f.object.str();
  f.message = "[" + f.rule + "] " + ref + " (" + describePolicyScope(ap.ns, ap.selector, ctx.mesh) +
              ", action " + ap.action + ") is enforced by ztunnel in ambient " +
              namespaceList(namespaces) + " and matches on " + f.field + ". " + assumed +
              ": istiod does not copy trustDomains/notTrustDomains into the ztunnel policy and "
              "writes no status condition about it (ZtunnelAccepted stays True, \"attached to "
              "ztunnel\"). " + effect + ". Fix: match the trust domain with a principal prefix "
              "ztunnel enforces (`principals: [\"<trust-domain>/*\"]`, or `notPrincipals`), or "
              "replace `selector` with `" + fix.target_refs + "` so a waypoint enforces it" +
              (fix.how.empty() ? "" : "; " + fix.how) + ".";
  f.summary = "[" + f.rule + "] " + ref + ": trustDomains silently dropped by istiod " +
              (istio.version ? istio.version->str() : kLatestKnownIstio.str()) +
              "; use principals \"<td>/*\" or targetRefs";
  out.push_back(std::move(f));
}

// Returns true when `ap` is a waypoint's policy (targetRefs), which this rule never reports:
// ztunnel ignores it (convertForZtunnel: kIgnored, or kDryRunNotSent before that, and
// l7_extra::checkPolicy leaves dry-run to the waypoint), so nothing about it is dropped.
bool waypointPolicy(const AuthorizationPolicy& ap) { return !ap.target_refs.empty(); }

void check(const RuleContext& ctx, const AuthorizationPolicy& ap,
           const std::vector<std::string>& namespaces, const std::string& finding_ns,
           std::vector<Finding>& out) {
  const IstioVersion istio = istioVersionOf(ctx.state, ctx.mesh);
  const auto handling = istio.version && reportsTrustDomainsAsHttp(*istio.version)
                            ? ambient::TrustDomainHandling::kReportedAsHttp
                            : ambient::TrustDomainHandling::kDroppedSilently;
  ambient::ZtunnelConversion conv = ambient::convertForZtunnel(ap, ctx.mesh, handling);
  l7_extra::checkPolicy(ctx, kDoc, ap, conv, istio, namespaces, finding_ns, out);
  // The ready twin, looked for once and only when there is a finding to demote.
  std::optional<const AuthorizationPolicy*> twin;
  auto twinOf = [&] {
    if (!twin) {
      twin = readyTwin(ctx, ap);
    }
    return *twin;
  };
  const size_t before_td = out.size();
  checkTrustDomains(ctx, ap, conv, istio, namespaces, finding_ns, out);
  if (out.size() > before_td) {
    applyTwin(twinOf(), ap, out.back());
  }
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
  applyTwin(twinOf(), ap, f);
  out.push_back(std::move(f));
}

}  // namespace

const RuleDoc& L7PolicyWithoutWaypoint::doc() const { return kDoc; }

void L7PolicyWithoutWaypoint::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  if (!ctx.subject.isNamespace() && ctx.subject.key.kind == Kind::kService) {
    l7_extra::checkServiceSubject(ctx, kDoc, out);  // use-waypoint changes shift identities
    return;
  }
  if (!ctx.subject.isNamespace() && ctx.subject.key.kind == Kind::kAuthorizationPolicy) {
    const auto* ap = ctx.state.find<AuthorizationPolicy>(ctx.subject.key.ns, ctx.subject.key.name);
    if (ap != nullptr && waypointPolicy(*ap)) {
      return;  // before working out which ambient namespaces it would cover
    }
  }
  forEachCoveringPolicy<AuthorizationPolicy>(
      ctx, [&](const AuthorizationPolicy& ap, const std::vector<std::string>& namespaces,
               const std::string& finding_ns) {
        if (!waypointPolicy(ap)) {
          check(ctx, ap, namespaces, finding_ns, out);
        }
      });
}

}  // namespace ambient_guard::rules
