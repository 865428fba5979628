#include "rules/l7_policy_without_waypoint_extra.h"

#include <algorithm>
#include <map>
#include <set>

#include "rules/policy_attachment.h"
#include "rules/scope.h"

namespace ambient_guard::rules::l7_extra {
namespace {

using Outcome = ambient::ZtunnelConversion::Outcome;

// The source-identity conditions of a policy, as ztunnel matches them.
struct IdentityUse {
  std::set<std::string> names;  // Istio's field / key names used
  std::string first_field;      // path of the first one
  std::vector<std::string> principal_patterns;  // principals, notPrincipals, when source.principal
  std::vector<std::string> service_accounts;    // serviceAccounts, notServiceAccounts
  bool only_wildcards = true;                   // every value is "*"
};

IdentityUse identityUse(const AuthorizationPolicy& ap) {
  IdentityUse use;
  auto note = [&](const std::string& name, const std::string& path,
                  const std::vector<std::string>& values) {
    use.names.insert(name);
    if (use.first_field.empty()) {
      use.first_field = path;
    }
    for (const auto& v : values) {
      use.only_wildcards = use.only_wildcards && v == "*";
    }
  };
  for (size_t i = 0; i < ap.rules.size(); ++i) {
    const AuthzRule& r = ap.rules[i];
    const std::string rp = "spec.rules[" + std::to_string(i) + "]";
    for (size_t k = 0; k < r.from.size(); ++k) {
      for (const FieldValues& fv : r.from[k]) {
        const std::string path = rp + ".from[" + std::to_string(k) + "].source." + fv.field;
        if (fv.field == "principals" || fv.field == "notPrincipals") {
          note(fv.field, path, fv.values);
          use.principal_patterns.insert(use.principal_patterns.end(), fv.values.begin(),
                                        fv.values.end());
        } else if (fv.field == "serviceAccounts" || fv.field == "notServiceAccounts") {
          note(fv.field, path, fv.values);
          use.service_accounts.insert(use.service_accounts.end(), fv.values.begin(),
                                      fv.values.end());
        } else if (fv.field == "namespaces" || fv.field == "notNamespaces") {
          note(fv.field, path, fv.values);
        }
      }
    }
    for (size_t k = 0; k < r.when.size(); ++k) {
      const Condition& c = r.when[k];
      if (c.key != "source.principal" && c.key != "source.namespace") {
        continue;
      }
      std::vector<std::string> values = c.values;
      values.insert(values.end(), c.not_values.begin(), c.not_values.end());
      note(c.key, rp + ".when[" + std::to_string(k) + "].key", values);
      if (c.key == "source.principal") {
        use.principal_patterns.insert(use.principal_patterns.end(), values.begin(), values.end());
      }
    }
  }
  return use;
}

// Returns true when the policy already names the waypoint: a principal pattern matching its
// SPIFFE principal, or its service account ("ns/sa", or "sa" in the policy's namespace:
// authorization.go stringToServiceAccountMatch).
bool namesWaypoint(const IdentityUse& use, const Gateway& gw, const std::string& principal,
                   const std::string& policy_ns) {
  for (const auto& p : use.principal_patterns) {
    if (ambient::istioStringMatch(p, principal)) {
      return true;
    }
  }
  const std::string sa = gw.service_account.empty() ? gw.name.str() : gw.service_account;
  for (const auto& s : use.service_accounts) {
    if (s == gw.ns + "/" + sa || (s.find('/') == std::string::npos && policy_ns == gw.ns && s == sa)) {
      return true;
    }
  }
  return false;
}

struct Behind {
  const Gateway* gw = nullptr;
  std::set<std::string> what;  // "Service reviews", "pods of namespace bookinfo"
};

// Returns the waypoints in front of the policy's workloads, by "ns/name".
std::map<std::string, Behind> waypointsInFront(const RuleContext& ctx, const AuthorizationPolicy& ap,
                                               const std::vector<std::string>& namespaces,
                                               const Service* only_svc) {
  std::map<std::string, Behind> out;
  auto add = [&](const std::string& ns, const Labels* labels, ambient::TrafficType traffic,
                 const std::string& what) {
    ambient::WaypointBinding b = ambient::resolveWaypoint(ctx.state, ns, labels, traffic);
    if (b.bound() && b.gateway != nullptr) {
      Behind& e = out[b.ns + "/" + b.name];
      e.gw = b.gateway;
      e.what.insert(what);
    }
  };
  if (only_svc != nullptr) {
    add(only_svc->ns, &only_svc->labels, ambient::TrafficType::kService,
        "Service " + only_svc->ns + "/" + only_svc->name);
    return out;
  }
  for (const std::string& ns : namespaces) {
    std::vector<const Service*> services =
        selectorLess(ap.selector) ? ctx.state.list<Service>(ns)
                                  : ambient::servicesSelectedBy(ctx.state, ns, ap.selector.match_labels);
    for (const Service* svc : services) {
      add(ns, &svc->labels, ambient::TrafficType::kService, "Service " + ns + "/" + svc->name);
    }
    add(ns, nullptr, ambient::TrafficType::kWorkload, "pods of namespace " + ns);
  }
  return out;
}

void checkIdentityShift(const RuleContext& ctx, const RuleDoc& doc, const AuthorizationPolicy& ap,
                        const std::vector<std::string>& namespaces, const std::string& finding_ns,
                        const Service* only_svc, std::vector<Finding>& out) {
  const IdentityUse use = identityUse(ap);
  if (use.names.empty() || use.only_wildcards) {
    return;
  }
  std::vector<std::string> principals;
  std::set<std::string> what;
  std::string first_wp;
  for (const auto& [name, behind] : waypointsInFront(ctx, ap, namespaces, only_svc)) {
    const std::string principal = ambient::waypointPrincipal(*behind.gw, ctx.mesh.trust_domain);
    if (namesWaypoint(use, *behind.gw, principal, ap.ns)) {
      continue;
    }
    principals.push_back(principal);
    what.insert(behind.what.begin(), behind.what.end());
    if (first_wp.empty()) {
      first_wp = name;
    }
  }
  if (principals.empty()) {
    return;
  }
  std::string names;
  for (const auto& n : use.names) {
    names += (names.empty() ? "" : ", ") + n;
  }
  std::string whats;
  for (const auto& w : what) {
    whats += (whats.empty() ? "" : ", ") + w;
  }
  std::string ps;
  for (const auto& p : principals) {
    ps += (ps.empty() ? "" : ", ") + p;
  }
  ambient::TargetRefSuggestion fix =
      ambient::suggestTargetRefs(ctx.state, ap.ns, ap.selector, ctx.mesh);
  Finding f;
  f.rule = std::string(doc.id);
  f.action = Action::kWarn;
  f.object = ObjectKey{Kind::kAuthorizationPolicy, ap.ns, ap.name};
  f.ns = finding_ns;
  f.field = use.first_field;
  f.message = "[" + f.rule + "] " + f.object.str() + " (" +
              describePolicyScope(ap.ns, ap.selector, ctx.mesh) + ", action " + ap.action +
              ") matches source identities (" + names +
              ") and is enforced by ztunnel, but ambient clients reach " + whats +
              " through waypoint " + first_wp +
              (principals.size() > 1 ? " (and others)" : "") +
              ", and waypoints do not impersonate the caller: ztunnel sees the waypoint's "
              "identity " + ps +
              ". For that traffic the identity conditions compare against the waypoint, so an "
              "ALLOW stops admitting the callers it names and a DENY stops blocking them (sidecar "
              "and ingress callers bypass the waypoint and are still matched as themselves). "
              "Fix: enforce the identity rules on the waypoint, which sees the original caller (`" +
              fix.target_refs + "`), and at ztunnel match the waypoint instead (e.g. a DENY with "
              "`notPrincipals: [\"" + principals.front() + "\"]` against bypass).";
  f.summary = "[" + f.rule + "] " + f.object.str() + ": ztunnel sees waypoint identity " +
              principals.front() + ", not the caller's";
  out.push_back(std::move(f));
}

Finding base(const RuleDoc& doc, const AuthorizationPolicy& ap, const std::string& finding_ns,
             std::string field) {
  Finding f;
  f.rule = std::string(doc.id);
  f.action = Action::kWarn;
  f.object = ObjectKey{Kind::kAuthorizationPolicy, ap.ns, ap.name};
  f.ns = finding_ns;
  f.field = std::move(field);
  return f;
}

}  // namespace

void checkPolicy(const RuleContext& ctx, const RuleDoc& doc, const AuthorizationPolicy& ap,
                 const ambient::ZtunnelConversion& conv, const IstioVersion& istio,
                 const std::vector<std::string>& namespaces, const std::string& finding_ns,
                 std::vector<Finding>& out) {
  if (!ap.target_refs.empty()) {
    return;  // a waypoint enforces it; waypoints support dry-run and see the original caller
  }
  const std::string scope = describePolicyScope(ap.ns, ap.selector, ctx.mesh);
  if (conv.outcome == Outcome::kDryRunNotSent) {
    Finding f = base(doc, ap, finding_ns, "metadata.annotations[istio.io/dry-run]");
    const bool ztunnel_can = !istio.version || supportsZtunnelDryRun(*istio.version);
    const std::string fix =
        ztunnel_can
            ? "enable AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY on istiod once every ztunnel "
              "is 1.29 or newer (an older ztunnel enforces dry-run policies instead of logging "
              "them), or dry-run it on a waypoint with targetRefs (waypoints support dry-run), "
              "or remove the annotation to enforce it"
            : "dry-run it on a waypoint with targetRefs (waypoints support dry-run), upgrade to "
              "Istio 1.29+ and enable AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY, or remove "
              "the annotation to enforce it";
    f.message = "[" + f.rule + "] " + f.object.str() + " (" + scope +
                ") is annotated istio.io/dry-run=" + (ap.dry_run ? ap.dry_run->str() : std::string()) +
                " in ambient " + namespaceList(namespaces) + ". " + istio.describe() +
                (ztunnel_can
                     ? ": ztunnel can dry-run policies since 1.29, but only with istiod's "
                       "AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY, which is off by default"
                     : ": ztunnel cannot dry-run policies before 1.29") +
                ", so istiod does not send the policy to ztunnel at all: no dry-run result is "
                "ever logged for these workloads. istiod reports: \"" +
                conv.status_message + "\" Fix: " + fix + ".";
    f.summary = "[" + f.rule + "] " + f.object.str() +
                ": dry-run not supported by ztunnel here; policy not sent at all";
    out.push_back(std::move(f));
  }
  if (ap.selector.present && ap.selector.match_labels.empty()) {
    Finding f = base(doc, ap, finding_ns, "spec.selector");
    f.message = "[" + f.rule + "] " + f.object.str() + " has a selector without labels. Sidecars "
                "applied it to every workload of " + ap.ns +
                ", but istiod gives it workload-selector scope (only a missing selector means "
                "namespace-wide) and ztunnel attaches such policies through their labels alone, "
                "so in ambient " + namespaceList(namespaces) +
                " it may attach to no workload at all. Istio's validator only warns: \"workload "
                "selector specified without labels\". Fix: delete `selector` to make the policy "
                "namespace-wide, or give it the labels of the workloads it is for.";
    f.summary = "[" + f.rule + "] " + f.object.str() +
                ": selector without labels; ztunnel may attach it to nothing";
    out.push_back(std::move(f));
  }
  if (conv.outcome == Outcome::kAccepted) {
    checkIdentityShift(ctx, doc, ap, namespaces, finding_ns, nullptr, out);
  }
}

void checkServiceSubject(const RuleContext& ctx, const RuleDoc& doc, std::vector<Finding>& out) {
  const Service* svc = ctx.state.find<Service>(ctx.subject.key.ns, ctx.subject.key.name);
  if (svc == nullptr || !ambient::isAmbientNamespace(ctx.state, svc->ns, ctx.mesh.enablement)) {
    return;
  }
  auto consider = [&](const AuthorizationPolicy& ap) {
    if (!ap.target_refs.empty()) {
      return;
    }
    if (!selectorLess(ap.selector)) {
      auto selected = ambient::servicesSelectedBy(ctx.state, svc->ns, ap.selector.match_labels);
      if (std::none_of(selected.begin(), selected.end(),
                       [&](const Service* s) { return s->name == svc->name; })) {
        return;
      }
    }
    if (ambient::convertForZtunnel(ap, ctx.mesh).outcome == Outcome::kAccepted) {
      checkIdentityShift(ctx, doc, ap, {svc->ns}, svc->ns, svc, out);
    }
  };
  for (const AuthorizationPolicy* ap : ctx.state.list<AuthorizationPolicy>(svc->ns)) {
    consider(*ap);
  }
  if (svc->ns != ctx.mesh.root_namespace) {
    for (const AuthorizationPolicy* ap : ctx.state.list<AuthorizationPolicy>(ctx.mesh.root_namespace)) {
      consider(*ap);
    }
  }
}

}  // namespace ambient_guard::rules::l7_extra
