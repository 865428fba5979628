// Istio ambient semantics: AuthorizationPolicy at ztunnel (spec §3.2-3.3).
#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

#include "rules/ambient.h"

namespace ambient_guard::ambient {

bool isL4WhenKey(std::string_view key) {
  return key == "source.ip" || key == "source.namespace" || key == "source.principal" ||
         key == "destination.ip" || key == "destination.port";
}

namespace {

bool isHttpOperationField(std::string_view f) {
  return f == "hosts" || f == "notHosts" || f == "methods" || f == "notMethods" || f == "paths" ||
         f == "notPaths";
}

bool isTrustDomainField(std::string_view f) { return f == "trustDomains" || f == "notTrustDomains"; }

bool isHttpSourceField(std::string_view f, TrustDomainHandling trust_domains) {
  return f == "remoteIpBlocks" || f == "notRemoteIpBlocks" || f == "requestPrincipals" ||
         f == "notRequestPrincipals" ||
         (trust_domains == TrustDomainHandling::kReportedAsHttp && isTrustDomainField(f));
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
                                    const rules::MeshSettings& mesh,
                                    TrustDomainHandling trust_domains) {
  using Outcome = ZtunnelConversion::Outcome;
  ZtunnelConversion conv;
  // 1. Dry-run: strconv.ParseBool; an unparsable value means "enforce".
  if (ap.dry_run) {
    const bool dry = parseGoBool(*ap.dry_run);
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
    std::vector<std::string> trust_domain_paths;
    for (size_t k = 0; k < r.from.size(); ++k) {
      for (const auto& fv : r.from[k]) {
        const std::string path = rp + ".from[" + std::to_string(k) + "].source." + fv.field;
        if (isHttpSourceField(fv.field, trust_domains)) {
          note(fv.field, path);
        } else if (isTrustDomainField(fv.field) && !fv.values.empty()) {
          trust_domain_paths.push_back(path);
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
    const bool effective = ruleEffectiveAtZtunnel(r);
    if (effective) {
      ++effective_groups;
    }
    if (!trust_domain_paths.empty()) {
      conv.dropped_trust_domain_fields.insert(conv.dropped_trust_domain_fields.end(),
                                              trust_domain_paths.begin(), trust_domain_paths.end());
      ++(effective ? conv.trust_domain_rules_widened : conv.trust_domain_rules_never_match);
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
  if (deny) {
    // istiod 1.31 (the istio.io/istio module the e2e differential test runs, issue 15) writes
    // the same message whether or not an enforceable rule is left; the "no enforceable rules
    // ... will have no effect" wording of spec §3.3 is a later master change (fa33fa971ef) that
    // 1.31 does not have. Our finding says the no-op in its own words.
    conv.outcome = effective_groups == 0 ? Outcome::kDenyNoEffect : Outcome::kDenyWithoutHttp;
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

}  // namespace ambient_guard::ambient
