// The rule catalog (`ambient-guard rules`): one source of truth for the CLI, JSON and README.
#include "migrate/rules_catalog.h"

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using ::ambient_guard::testing::runCli;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Returns the README text between the rules markers (excluding the marker lines).
std::string readmeRulesSection() {
  const std::string readme = readFile(std::string(AG_SOURCE_DIR) + "/README.md");
  const std::string begin = "<!-- rules:begin -->\n";
  const std::string end = "<!-- rules:end -->";
  const size_t b = readme.find(begin);
  const size_t e = readme.find(end);
  if (b == std::string::npos || e == std::string::npos || e < b) {
    ADD_FAILURE() << "README.md has no " << begin << "..." << end << " section";
    return "";
  }
  return readme.substr(b + begin.size(), e - b - begin.size());
}

TEST(RulesCatalog, ReadmeSectionIsTheGeneratedMarkdown) {
  const std::string section = readmeRulesSection();
  EXPECT_EQ(section, rulesMarkdown(rules::makeDefaultRules()))
      << "README.md is out of date: replace the section between the rules markers with the "
         "output of `ambient-guard rules -o markdown`";
  auto cli = runCli({"rules", "-o", "markdown"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, section);
}

TEST(RulesCatalog, EveryRuleDocumentsItself) {
  const auto all = rules::makeDefaultRules();
  std::set<std::string> ids;
  const std::regex kebab("[a-z0-9]+(-[a-z0-9]+)*");
  for (const auto& r : all) {
    const rules::RuleDoc& d = r->doc();
    SCOPED_TRACE(std::string(d.id));
    EXPECT_TRUE(std::regex_match(std::string(d.id), kebab));
    EXPECT_TRUE(ids.insert(std::string(d.id)).second) << "duplicate id";
    EXPECT_FALSE(d.invariant.empty());
    EXPECT_FALSE(d.why.empty());
    EXPECT_FALSE(d.example.empty());
    EXPECT_FALSE(d.fix.empty());
  }
}

TEST(RulesCatalog, IdsAndDefaultsAreTheDesignContract) {
  // ../shared/DESIGN.md §3: ids and default actions are part of the contract.
  const std::map<std::string, rules::Action> contract = {
      {"peer-authentication-disable", rules::Action::kDeny},
      {"l7-policy-without-waypoint", rules::Action::kDeny},
      {"virtualservice-needs-httproute", rules::Action::kWarn},
      {"dual-dataplane-labels", rules::Action::kWarn},
      {"waypoint-in-use", rules::Action::kDeny},
      {"targetref-unresolved", rules::Action::kWarn},
      {"request-authentication-needs-waypoint", rules::Action::kDeny},
      {"unsupported-in-ambient", rules::Action::kWarn},
      {"peer-authentication-redundant", rules::Action::kDryrun},
  };
  std::map<std::string, rules::Action> have;
  for (const auto& r : rules::makeDefaultRules()) {
    have[std::string(r->doc().id)] = r->doc().default_action;
  }
  for (const auto& [id, action] : contract) {
    SCOPED_TRACE(id);
    ASSERT_EQ(have.count(id), 1u) << "rule not registered";
    EXPECT_EQ(have[id], action);
  }
}

TEST(RulesCatalog, JsonAndTable) {
  const auto all = rules::makeDefaultRules();
  auto json = runCli({"rules", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto parsed = nlohmann::json::parse(json.out);
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.size(), all.size());
  EXPECT_EQ(parsed, rulesJson(all));
  for (size_t i = 0; i < all.size(); ++i) {
    const rules::RuleDoc& d = all[i]->doc();
    EXPECT_EQ(parsed[i]["id"], std::string(d.id));
    EXPECT_EQ(parsed[i]["defaultAction"], std::string(rules::actionName(d.default_action)));
    for (const char* key : {"invariant", "why", "example", "fix"}) {
      EXPECT_TRUE(parsed[i][key].is_string() && !parsed[i][key].get<std::string>().empty()) << key;
    }
  }
  auto table = runCli({"rules"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("ID ", 0), 0u) << table.out;
  for (const auto& r : all) {
    const std::string row_start = std::string(r->doc().id) + " ";
    const size_t at = table.out.find("\n" + row_start);
    ASSERT_NE(at, std::string::npos) << r->doc().id;
    const std::string line = table.out.substr(at + 1, table.out.find('\n', at + 1) - at - 1);
    EXPECT_NE(line.find(std::string(rules::actionName(r->doc().default_action))), std::string::npos)
        << line;
  }
  EXPECT_EQ(runCli({"rules", "-o", "yaml"}).exit_code, 2);
}

}  // namespace
}  // namespace ambient_guard
