// `ambient-guard rules`: the rule catalog, rendered from the rules' own RuleDoc (one source of
// truth for the CLI, the JSON consumers and the README "Rules" section).
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rules/rule.h"

namespace ambient_guard {

using RuleList = std::vector<std::unique_ptr<rules::Rule>>;

// Writes the table: ID, DEFAULT, INVARIANT (the invariant wrapped under its own column).
void printRulesTable(const RuleList& rules, std::ostream& out);

// Returns [{id, defaultAction, invariant, why, example, fix}, ...] in catalog order.
nlohmann::json rulesJson(const RuleList& rules);

// Returns the README "Rules" section (Markdown): a summary table, then per rule its invariant,
// why it matters, a violating example and the fix. The README holds this text verbatim between
// `<!-- rules:begin -->` and `<!-- rules:end -->`; a test keeps the two identical.
std::string rulesMarkdown(const RuleList& rules);

}  // namespace ambient_guard
