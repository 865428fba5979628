// The webhook's enforcement configuration (`serve --config F`, DESIGN.md §4): global mode,
// per-rule actions, namespace overrides, exemptions, mutation and audit settings.
//
// Parsed once at startup from YAML; a Config is an immutable value afterwards and is safe to
// read from every request thread. Every error names the file and the key path, and unknown keys
// are errors, so a typo never silently disables enforcement.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/glob.h"
#include "model/label_selector.h"
#include "model/objects.h"
#include "model/result.h"
#include "rules/rule.h"

namespace ambient_guard {

// How strongly findings are applied. Caps rule actions: kWarn turns deny into warn, kDryrun turns
// everything into audit-only.
enum class Mode { kEnforce, kWarn, kDryrun };

std::string_view modeName(Mode mode);
std::optional<Mode> parseMode(std::string_view text);

// A Kubernetes LabelSelector (matchLabels AND matchExpressions), evaluated by
// model/label_selector.h like every other selector.
using LabelSelector = KubeLabelSelector;

// One entry of `namespaceOverrides`: namespaces by name glob, or by label selector.
struct NamespaceOverride {
  std::vector<std::string> namespaces;  // globs (fnmatch: `*`, `?`, `[...]`)
  std::optional<LabelSelector> selector;
  Mode mode = Mode::kEnforce;
};

// Requests exempted from enforcement (still audited). Entries are globs.
struct Exemptions {
  std::vector<std::string> namespaces;
  std::vector<std::string> users;
  std::vector<std::string> groups;
};

struct AuditSettings {
  std::string path;  // empty: no audit file
  int max_size_mb = 100;
  int max_files = 5;
};

// Background PolicyReports of every namespace's migration readiness (README "PolicyReports").
struct PolicyReportSettings {
  bool enabled = false;
  int resync_seconds = 180;      // rescan at least this often, changes or not
  int debounce_seconds = 2;      // quiet time after a change before a scan
};

struct Config {
  Mode mode = Mode::kEnforce;
  std::string root_namespace = "istio-system";
  bool root_namespace_set = false;  // rootNamespace was given in the file
  std::map<std::string, rules::Action, std::less<>> rules;  // per-rule action overrides
  std::vector<NamespaceOverride> namespace_overrides;
  Exemptions exemptions;
  bool mutation_enabled = true;
  AuditSettings audit;
  PolicyReportSettings policy_reports;
  std::string webhook_namespace = "ambient-guard";
};

// Returns the configuration in `text` (YAML). `source` names the file in errors
// ("config.yaml: rules.x: unknown rule ..."); `rule_ids` are the rules that may be named under
// `rules`. Empty text yields the defaults. Never throws.
Result<Config> parseConfig(std::string_view text, const std::string& source,
                           const std::vector<std::string>& rule_ids);

// Reads and parses the file at `path`.
Result<Config> loadConfig(const std::string& path, const std::vector<std::string>& rule_ids);

}  // namespace ambient_guard
