// Enforcement: folds a review's findings, the configuration and who/where the request is into a
// Decision (allowed or denied, warnings, what each finding did).
//
// Order of the fold, per finding (DESIGN.md §4):
//   rule action (config `rules` overrides the default; the rule's own demotions are kept)
//   → `off` drops the finding
//   → the namespace's mode caps it (warn: deny→warn; dryrun: everything audit-only)
//   → a finding the cluster already had before the write is at most a warning
//   → an exempted request enforces nothing but keeps every finding for the audit.
// An Enforcer is immutable after construction and is shared by every request thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/objects.h"
#include "rules/rule.h"
#include "webhook/config.h"

namespace ambient_guard {

// Maximum length of one admission warning (the apiserver's recommendation, spec §1.2).
inline constexpr size_t kMaxWarningLength = 120;
// Appended to warnings for violations the cluster had before the write.
inline constexpr std::string_view kPreExistingSuffix = " (already present before this change)";

// Who made the request and where it lands.
struct RequestContext {
  std::string ns;                  // the namespace the write concerns ("" if cluster-scoped)
  const Labels* ns_labels = nullptr;  // that namespace's labels, nullptr when unknown
  // Views of the AdmissionRequest's userInfo: valid while the request is.
  std::string_view user;
  std::span<const std::string> groups;
  bool dry_run = false;  // request.dryRun
};

// A finding with what enforcement did with it.
struct EnforcedFinding {
  rules::Finding finding;
  rules::Action action = rules::Action::kDeny;  // effective action (never kOff)
  bool enforced = false;  // it changed the response: denied the request or added a warning
  // The rule's action before the mode, pre-existence and exemptions (Enforcer::ruleAction).
  rules::Action rule_action = rules::Action::kDeny;
};

// What happened to a request, in the words of the audit log and the auditAnnotations:
// "deny" (not allowed); "would-deny" (allowed, but a finding that is not pre-existing has a rule
// action of deny, so enforce mode without exemption would have denied it); "warn" (the response
// carries warnings); "allow".
std::string_view outcomeName(bool allowed, bool warned,
                             const std::vector<EnforcedFinding>& findings);

struct Decision {
  bool allowed = true;
  Mode mode = Mode::kEnforce;  // the mode applied to the request's namespace
  bool exempted = false;
  std::string exemption;  // why, e.g. "namespace kube-system", "user alice", "group ops"
  bool dry_run = false;
  std::vector<std::string> denials;   // full messages of the findings that deny, "[rule-id] ..."
  std::vector<std::string> warnings;  // one line each, <= kMaxWarningLength, deduplicated
  std::vector<EnforcedFinding> findings;  // every finding not turned off, in review order

  // Returns the denial message for status.message: the denials joined by newlines.
  std::string denialMessage() const;
  // Returns outcomeName() of this decision.
  std::string_view outcome() const { return outcomeName(allowed, !warnings.empty(), findings); }
};

class Enforcer {
 public:
  // `rule_defaults` are the default actions of the known rules (id → action).
  Enforcer(Config config, std::map<std::string, rules::Action, std::less<>> rule_defaults);

  // Returns the decision for the findings of one request.
  Decision decide(std::vector<rules::Finding> findings, const RequestContext& req) const;

  // Returns the mode for a namespace: the most specific override (exact name > glob > label
  // selector; ties go to the earlier entry), else the global mode.
  Mode modeFor(std::string_view ns, const Labels* ns_labels) const;

  // Returns why the request is exempt, or nullopt. The webhook's own namespace and kube-system
  // are always exempt.
  std::optional<std::string> exemptionFor(const RequestContext& req) const;

  // Returns the effective action of a rule before mode and pre-existence are applied.
  rules::Action ruleAction(const rules::Finding& finding) const;

  const Config& config() const { return config_; }

 private:
  Config config_;
  std::map<std::string, rules::Action, std::less<>> rule_defaults_;
};

// Returns the rule id → default action map of `rules`.
std::map<std::string, rules::Action, std::less<>> ruleDefaults(
    const std::vector<std::unique_ptr<rules::Rule>>& rules);

// Returns `text` as a valid admission warning: valid UTF-8 (invalid bytes become '?'), no control
// characters, at most `limit` bytes (cut on a character boundary, ending "...").
std::string sanitizeWarning(std::string_view text, size_t limit = kMaxWarningLength);

}  // namespace ambient_guard
