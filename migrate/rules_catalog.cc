#include "migrate/rules_catalog.h"

#include <algorithm>
#include <ostream>
#include <sstream>

namespace ambient_guard {
namespace {

// Returns the lines of `text` wrapped at `width` columns on spaces.
std::vector<std::string> wrap(std::string_view text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream words{std::string(text)};
  std::string word;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(std::move(line));
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) {
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string pad(std::string s, size_t w) {
  s.resize(std::max(s.size(), w), ' ');
  return s;
}

// Markdown table cells cannot hold a raw '|'.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// Examples and fixes are manifests (YAML) or kubectl commands (shell).
std::string_view fenceFor(std::string_view block) {
  return block.find("apiVersion:") != std::string_view::npos ? "yaml" : "sh";
}

}  // namespace

void printRulesTable(const RuleList& rules, std::ostream& out) {
  size_t id_width = 2;
  for (const auto& r : rules) {
    id_width = std::max(id_width, r->doc().id.size());
  }
  constexpr size_t kActionWidth = 7;
  constexpr size_t kInvariantWidth = 72;
  out << pad("ID", id_width) << "  " << pad("DEFAULT", kActionWidth) << "  INVARIANT\n";
  for (const auto& r : rules) {
    const rules::RuleDoc& d = r->doc();
    std::vector<std::string> lines = wrap(d.invariant, kInvariantWidth);
    for (size_t i = 0; i < std::max<size_t>(lines.size(), 1); ++i) {
      out << pad(i == 0 ? std::string(d.id) : "", id_width) << "  "
          << pad(i == 0 ? std::string(rules::actionName(d.default_action)) : "", kActionWidth)
          << "  " << (i < lines.size() ? lines[i] : "") << "\n";
    }
  }
}

nlohmann::json rulesJson(const RuleList& rules) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : rules) {
    const rules::RuleDoc& d = r->doc();
    arr.push_back({{"id", d.id},
                   {"defaultAction", rules::actionName(d.default_action)},
                   {"invariant", d.invariant},
                   {"why", d.why},
                   {"example", d.example},
                   {"fix", d.fix}});
  }
  return arr;
}

std::string rulesMarkdown(const RuleList& rules) {
  std::ostringstream md;
  md << "| Rule | Default | Invariant |\n|---|---|---|\n";
  for (const auto& r : rules) {
    const rules::RuleDoc& d = r->doc();
    md << "| [`" << d.id << "`](#" << d.id << ") | " << rules::actionName(d.default_action)
       << " | " << cell(d.invariant) << " |\n";
  }
  for (const auto& r : rules) {
    const rules::RuleDoc& d = r->doc();
    md << "\n### " << d.id << "\n\n"
       << "Default: **" << rules::actionName(d.default_action) << "**. " << d.invariant << "\n\n"
       << "Why: " << d.why << "\n\n"
       << "Violating example:\n\n```" << fenceFor(d.example) << "\n"
       << d.example << "\n```\n\n"
       << "Fix:\n\n```" << fenceFor(d.fix) << "\n"
       << d.fix << "\n```\n";
  }
  return md.str();
}

}  // namespace ambient_guard
