// Helpers for the rule tests: writes as Reviewer changes, findings of one rule, and a table
// matcher for the findings a case expects. Header-only; included by tests/rules/*_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/reviewer.h"
#include "rules/rule.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard::testing {

// Returns a Reviewer with every default rule and default mesh settings (root istio-system).
inline Reviewer defaultReviewer() {
  return Reviewer(rules::makeDefaultRules(), rules::MeshSettings{});
}

// Returns a CREATE of the single object in `yaml`.
inline Change createOf(const std::string& yaml) {
  Change c;
  c.op = Operation::kCreate;
  c.object = objectFromYaml(yaml);
  return c;
}

// Returns an UPDATE from the object in `old_yaml` to the one in `new_yaml`.
inline Change updateOf(const std::string& old_yaml, const std::string& new_yaml) {
  Change c;
  c.op = Operation::kUpdate;
  c.object = objectFromYaml(new_yaml);
  c.old_object = objectFromYaml(old_yaml);
  return c;
}

// Returns a DELETE of the object in `old_yaml`.
inline Change deleteOf(const std::string& old_yaml) {
  Change c;
  c.op = Operation::kDelete;
  c.old_object = objectFromYaml(old_yaml);
  return c;
}

// Returns the findings of rule `id` only (other rules are tested in their own files).
inline std::vector<rules::Finding> ofRule(const std::vector<rules::Finding>& all,
                                          std::string_view id) {
  std::vector<rules::Finding> out;
  for (const auto& f : all) {
    if (f.rule == id) {
      out.push_back(f);
    }
  }
  return out;
}

// One expected finding: matched by object and field; the message must contain every fragment
// and none of the absent ones.
struct Expect {
  std::string object;  // ObjectKey::str(), e.g. "PeerAuthentication shop/no-mtls"
  std::string field;
  rules::Action action = rules::Action::kDeny;
  std::vector<std::string> fragments;
  std::vector<std::string> absent = {};
  std::string ns = "";  // Finding::ns when not empty
  bool pre_existing = false;
  std::optional<bool> needs_waypoint = std::nullopt;
  std::vector<std::string> summary = {};  // fragments of Finding::summary
};

// Returns "rule object field action" lines, for failure messages.
inline std::string describe(const std::vector<rules::Finding>& findings) {
  std::string out;
  for (const auto& f : findings) {
    out += "\n  " + f.rule + " " + f.object.str() + " " + f.field + " " +
           std::string(rules::actionName(f.action)) + " ns=" + f.ns +
           (f.pre_existing ? " pre-existing" : "") + ": " + f.message;
  }
  return out;
}

// Checks that `got` holds exactly the findings of `want` (any order).
inline void expectFindings(const std::vector<rules::Finding>& got, const std::vector<Expect>& want,
                           std::string_view rule_id) {
  ASSERT_EQ(got.size(), want.size()) << describe(got);
  std::vector<bool> used(got.size(), false);
  for (const Expect& w : want) {
    SCOPED_TRACE(w.object + " " + w.field);
    size_t i = 0;
    while (i < got.size() &&
           (used[i] || got[i].object.str() != w.object || got[i].field != w.field)) {
      ++i;
    }
    ASSERT_LT(i, got.size()) << "no finding for it in:" << describe(got);
    used[i] = true;
    const rules::Finding& f = got[i];
    EXPECT_EQ(f.rule, rule_id);
    EXPECT_EQ(rules::actionName(f.action), rules::actionName(w.action));
    EXPECT_EQ(f.pre_existing, w.pre_existing);
    if (!w.ns.empty()) {
      EXPECT_EQ(f.ns, w.ns);
    }
    EXPECT_EQ(f.message.rfind("[" + std::string(rule_id) + "] ", 0), 0u) << f.message;
    EXPECT_EQ(f.summary.rfind("[" + std::string(rule_id) + "] ", 0), 0u) << f.summary;
    for (const auto& fragment : w.fragments) {
      EXPECT_NE(f.message.find(fragment), std::string::npos)
          << "missing \"" << fragment << "\" in: " << f.message;
    }
    if (w.needs_waypoint) {
      EXPECT_EQ(f.needs_waypoint, *w.needs_waypoint);
    }
    for (const auto& fragment : w.summary) {
      EXPECT_NE(f.summary.find(fragment), std::string::npos)
          << "missing \"" << fragment << "\" in summary: " << f.summary;
    }
    for (const auto& fragment : w.absent) {
      EXPECT_EQ(f.message.find(fragment), std::string::npos)
          << "unexpected \"" << fragment << "\" in: " << f.message;
    }
  }
}

}  // namespace ambient_guard::testing
