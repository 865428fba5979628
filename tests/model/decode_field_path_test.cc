// Field paths in decode errors (model/decode_platform_util.h FieldPath): the decoders spell a
// path out only when an error names it, so these cases pin the exact path and problem of each
// nested place of an AuthorizationPolicy, the metadata and the selectors; and repeated keys keep
// the last value, as the apiserver (Go's encoding/json) reads them.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/decode.h"
#include "model/json_value.h"
#include "model/state_file.h"

namespace ambient_guard {
namespace {

std::string loadError(const std::string& yaml) {
  std::vector<AnyObject> objs;
  auto stats = loadText(yaml, "policy.yaml", objs);
  return stats.ok() ? std::string("(loaded)") : stats.error();
}

std::string policy(const std::string& spec, const std::string& metadata_extra = "") {
  return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
         "metadata: {name: p, namespace: shop" + metadata_extra + "}\nspec:\n  " + spec + "\n";
}

TEST(DecodeFieldPath, AuthorizationPolicyErrorsNameTheExactField) {
  struct Case {
    std::string spec;
    std::string error;  // "<path> <problem>"
  };
  const std::vector<Case> cases = {
      {"rules: {a: 1}", "spec.rules must be a list"},
      {"rules: [{}, x]", "spec.rules[1] must be an object"},
      {"rules: [{from: x}]", "spec.rules[0].from must be a list"},
      {"rules: [{from: [{source: x}]}]", "spec.rules[0].from[0].source must be an object"},
      {"rules: [{}, {from: [{}, {source: {principals: [a, [b]]}}]}]",
       "spec.rules[1].from[1].source.principals[1] must be a string"},
      {"rules: [{to: [{operation: {methods: [GET, {}]}}]}]",
       "spec.rules[0].to[0].operation.methods[1] must be a string"},
      {"rules: [{to: [{operation: []}]}]", "spec.rules[0].to[0].operation must be an object"},
      {"rules: [{when: [x]}]", "spec.rules[0].when[0] must be an object"},
      {"rules: [{when: [{key: k, values: [a, [b]]}]}]",
       "spec.rules[0].when[0].values[1] must be a string"},
      {"rules: [{when: [{key: [k]}]}]", "spec.rules[0].when[0].key must be a string"},
      {"targetRefs: [{kind: Gateway, name: w}, x]", "spec.targetRefs[1] must be an object"},
      {"targetRefs: {name: w}", "spec.targetRefs must be a list"},
      {"targetRef: {kind: Gateway, name: [w]}", "spec.targetRef.name must be a string"},
      {"selector: {matchLabels: {app: {}}}", "spec.selector.matchLabels.app must be a string"},
      {"selector: {matchLabels: [a]}", "spec.selector.matchLabels must be a map of strings"},
      {"selector: x", "spec.selector must be an object"},
      {"provider: x", "spec.provider must be an object"},
      {"provider: {name: [x]}", "spec.provider.name must be a string"},
      {"action: [ALLOW]", "spec.action must be a string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.spec);
    const std::string error = loadError(policy(c.spec));
    EXPECT_NE(error.find("AuthorizationPolicy p: "), std::string::npos) << error;
    EXPECT_NE(error.find(c.error), std::string::npos) << error;
  }
}

TEST(DecodeFieldPath, MetadataErrorsNameTheExactField) {
  EXPECT_NE(loadError(policy("action: ALLOW", ", labels: {app: [x]}"))
                .find("metadata.labels.app must be a string"),
            std::string::npos);
  EXPECT_NE(loadError(policy("action: ALLOW", ", annotations: [x]"))
                .find("metadata.annotations must be a map of strings"),
            std::string::npos);
}

TEST(DecodeFieldPath, ScalarsFromYamlStillReadAsText) {
  // A YAML number or bool where Kubernetes stores text is text, with no error.
  std::vector<AnyObject> objs;
  auto stats = loadText(policy("rules: [{to: [{operation: {ports: [8080, \"9090\"]}}]}]",
                               ", labels: {version: 2, canary: true}"),
                        "policy.yaml", objs);
  ASSERT_TRUE(stats.ok()) << stats.error();
  ASSERT_EQ(objs.size(), 1u);
  const auto& ap = std::get<AuthorizationPolicy>(objs[0]);
  ASSERT_EQ(ap.rules.size(), 1u);
  ASSERT_EQ(ap.rules[0].to.size(), 1u);
  EXPECT_EQ(ap.rules[0].to[0],
            (std::vector<FieldValues>{{"ports", {"8080", "9090"}}}));
  ASSERT_NE(ap.labels.get("version"), nullptr);
  EXPECT_EQ(*ap.labels.get("version"), "2");
  ASSERT_NE(ap.labels.get("canary"), nullptr);
  EXPECT_EQ(*ap.labels.get("canary"), "true");
}

TEST(DecodeFieldPath, RepeatedKeysInAClauseKeepTheLastValue) {
  auto doc = parseJson(R"({"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy",
    "metadata":{"name":"p","namespace":"shop"},
    "spec":{"rules":[{"from":[{"source":{"principals":["a"],"namespaces":["n"],
                                         "principals":["b","c"]}}],
                      "to":[{"operation":{"paths":["/x"],"paths":null}}]}]}})");
  ASSERT_TRUE(doc.ok()) << doc.error();
  auto obj = decodeObject(doc->root());
  ASSERT_TRUE(obj.ok()) << obj.error();
  ASSERT_TRUE(obj->has_value());
  const auto& ap = std::get<AuthorizationPolicy>(**obj);
  ASSERT_EQ(ap.rules.size(), 1u);
  EXPECT_EQ(ap.rules[0].from[0], (std::vector<FieldValues>{{"namespaces", {"n"}},
                                                           {"principals", {"b", "c"}}}));
  EXPECT_EQ(ap.rules[0].to[0], std::vector<FieldValues>{});
}

}  // namespace
}  // namespace ambient_guard
