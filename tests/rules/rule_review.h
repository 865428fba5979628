// Helpers for the per-rule tests: run the default rules through the Reviewer exactly as the
// webhook (a write against a cluster) and `check` (a namespace) do, and keep one rule's findings
// (defaultReviewer and ofRule come from rule_test_util.h).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rules/reviewer.h"
#include "rules/rule.h"
#include "tests/rules/rule_test_util.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard::testing {

// Returns the YAML documents joined into one multi-document stream.
inline std::string docs(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    out += (p.rfind("---", 0) == 0 ? "" : "---\n") + p + "\n";
  }
  return out;
}

// Returns the object of `state` with the key of `obj`, if any.
inline std::optional<AnyObject> existing(const Snapshot& state, const ObjectKey& key) {
  for (AnyObject& o : state.objects()) {
    if (keyOf(o) == key) {
      return o;
    }
  }
  return std::nullopt;
}

// Reviews writing `object_yaml` into the cluster `cluster_yaml`: an UPDATE when the cluster has
// an object with that key, else a CREATE. Returns the findings of rule `id`.
inline std::vector<rules::Finding> reviewWrite(const std::string& cluster_yaml,
                                               const std::string& object_yaml,
                                               const std::string& id) {
  auto state = stateFromYaml(cluster_yaml);
  Change change;
  change.object = objectFromYaml(object_yaml);
  change.old_object = existing(*state, keyOf(*change.object));
  change.op = change.old_object ? Operation::kUpdate : Operation::kCreate;
  return ofRule(defaultReviewer().review(*state, change), id);
}

// Reviews deleting the object `key` from the cluster. Returns the findings of rule `id`.
inline std::vector<rules::Finding> reviewDelete(const std::string& cluster_yaml,
                                                const ObjectKey& key, const std::string& id) {
  auto state = stateFromYaml(cluster_yaml);
  Change change;
  change.op = Operation::kDelete;
  change.old_object = existing(*state, key);
  EXPECT_TRUE(change.old_object.has_value()) << "no " << key.str() << " in the cluster";
  if (!change.old_object) {
    return {};
  }
  return ofRule(defaultReviewer().review(*state, change), id);
}

// Returns the findings of rule `id` for namespace ns as `check` reports them (as-is; a namespace
// that is not ambient yet is also evaluated as if enrolled).
inline std::vector<rules::Finding> checkNamespace(const std::string& cluster_yaml,
                                                  const std::string& ns, const std::string& id) {
  auto state = stateFromYaml(cluster_yaml);
  return ofRule(defaultReviewer().reviewNamespace(*state, ns), id);
}

// Returns "action object field" per finding, for compact expectations.
inline std::vector<std::string> brief(const std::vector<rules::Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) {
    out.push_back(std::string(rules::actionName(f.action)) + " " + f.object.str() + " " + f.field);
  }
  return out;
}

// Returns true when some finding's message contains `text`.
inline bool anyMessageHas(const std::vector<rules::Finding>& findings, const std::string& text) {
  for (const auto& f : findings) {
    if (f.message.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace ambient_guard::testing
