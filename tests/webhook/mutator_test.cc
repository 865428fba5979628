// Namespace enrollment / rollback patches, applied with nlohmann's independent RFC 6902
// implementation, including reinvocation on the patched object.
#include "webhook/mutator.h"

#include <gtest/gtest.h>

namespace ambient_guard {
namespace {

using nlohmann::json;

constexpr const char* kNow = "2024-05-01T10:00:00Z";

json ns(const json& labels, const json& annotations = nullptr) {
  json o = {{"apiVersion", "v1"},
            {"kind", "Namespace"},
            {"metadata", {{"name", "demo"}, {"uid", "u-1"}}},
            {"spec", {{"finalizers", {"kubernetes"}}}}};
  if (!labels.is_null()) {
    o["metadata"]["labels"] = labels;
  }
  if (!annotations.is_null()) {
    o["metadata"]["annotations"] = annotations;
  }
  return o;
}

// Applies the mutation's patch, then checks that a reinvocation on the result changes nothing.
json applyAndReinvoke(const json& object, const json& old_object, const Mutation& m) {
  json patched = object.patch(m.patch);
  Mutation again = mutateNamespace(patched, old_object, "2030-01-01T00:00:00Z");
  EXPECT_TRUE(again.patch.empty()) << "reinvocation patched again: " << again.patch.dump();
  return patched;
}

TEST(Mutator, EnrollmentRemovesInjectionAndRecordsIt) {
  const json old = ns({{"kubernetes.io/metadata.name", "demo"}, {"istio-injection", "enabled"}});
  const json obj = ns({{"kubernetes.io/metadata.name", "demo"},
                       {"istio-injection", "enabled"},
                       {"istio.io/dataplane-mode", "ambient"}});
  Mutation m = mutateNamespace(obj, old, kNow);
  EXPECT_EQ(m.kind, Mutation::Kind::kEnroll);
  // annotations absent: the whole map is added, never a key under a missing parent.
  EXPECT_EQ(m.patch, json::parse(R"([
    {"op":"remove","path":"/metadata/labels/istio-injection"},
    {"op":"add","path":"/metadata/annotations","value":{
      "ambient-guard.io/enrolled-at":"2024-05-01T10:00:00Z",
      "ambient-guard.io/previous-injection":"{\"istio-injection\":\"enabled\"}"}}])"));
  json want = ns({{"kubernetes.io/metadata.name", "demo"}, {"istio.io/dataplane-mode", "ambient"}},
                 {{"ambient-guard.io/enrolled-at", kNow},
                  {"ambient-guard.io/previous-injection", R"({"istio-injection":"enabled"})"}});
  EXPECT_EQ(applyAndReinvoke(obj, old, m), want);
}

TEST(Mutator, EnrollmentWithRevisionLabelEscapesSlash) {
  const json obj = ns({{"istio.io/rev", "1-22"}, {"istio.io/dataplane-mode", "ambient"}},
                      {{"owner", "team-a"}});
  Mutation m = mutateNamespace(obj, nullptr, kNow);  // CREATE
  EXPECT_EQ(m.kind, Mutation::Kind::kEnroll);
  EXPECT_EQ(m.patch, json::parse(R"([
    {"op":"add","path":"/metadata/annotations/ambient-guard.io~1enrolled-at",
     "value":"2024-05-01T10:00:00Z"},
    {"op":"add","path":"/metadata/annotations/ambient-guard.io~1previous-injection",
     "value":"{\"istio.io/rev\":\"1-22\"}"},
    {"op":"remove","path":"/metadata/labels/istio.io~1rev"}])"));
  json patched = applyAndReinvoke(obj, nullptr, m);
  EXPECT_FALSE(patched["metadata"]["labels"].contains("istio.io/rev"));
  EXPECT_EQ(patched["metadata"]["annotations"]["owner"], "team-a");
}

TEST(Mutator, NoPatchWhenNothingChanges) {
  struct Case {
    const char* name;
    json object;
    json old_object;
  };
  const json ambient = ns({{"istio.io/dataplane-mode", "ambient"}});
  const std::vector<Case> cases = {
      {"already ambient, still ambient", ambient, ambient},
      {"sidecar namespace", ns({{"istio-injection", "enabled"}}), ns({{"a", "b"}})},
      {"no labels at all", ns(nullptr), ns(nullptr)},
      {"enrolled before, stamp kept",
       ns({{"istio.io/dataplane-mode", "ambient"}}, {{"ambient-guard.io/enrolled-at", "x"}}),
       ns({{"a", "b"}})},
      {"injection disabled is not sidecar injection",
       ns({{"istio-injection", "disabled"}, {"istio.io/dataplane-mode", "ambient"}},
          {{"ambient-guard.io/enrolled-at", "x"}}),
       ns(nullptr)},
      {"invalid mode value does not roll back",
       ns({{"istio.io/dataplane-mode", "Ambient"}},
          {{"ambient-guard.io/previous-injection", R"({"istio-injection":"enabled"})"}}),
       ambient},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Mutation m = mutateNamespace(c.object, c.old_object, kNow);
    EXPECT_TRUE(m.patch.empty()) << m.patch.dump();
    EXPECT_EQ(m.kind, Mutation::Kind::kNone);
  }
}

TEST(Mutator, RollbackRestoresRecordedLabels) {
  const json annotations = {{"ambient-guard.io/enrolled-at", kNow},
                            {"ambient-guard.io/previous-injection",
                             R"({"istio-injection":"enabled","istio.io/rev":"1-22"})"},
                            {"owner", "team-a"}};
  const json old = ns({{"kubernetes.io/metadata.name", "demo"}, {"istio.io/dataplane-mode", "ambient"}},
                      annotations);
  for (const json& mode : {json(nullptr), json("none")}) {
    SCOPED_TRACE(mode.dump());
    json labels = {{"kubernetes.io/metadata.name", "demo"}};
    if (!mode.is_null()) {
      labels["istio.io/dataplane-mode"] = mode;
    }
    const json obj = ns(labels, annotations);
    Mutation m = mutateNamespace(obj, old, kNow);
    EXPECT_EQ(m.kind, Mutation::Kind::kRollback);
    json patched = applyAndReinvoke(obj, old, m);
    EXPECT_EQ(patched["metadata"]["labels"]["istio-injection"], "enabled");
    EXPECT_EQ(patched["metadata"]["labels"]["istio.io/rev"], "1-22");
    EXPECT_EQ(patched["metadata"]["annotations"], json({{"owner", "team-a"}}));
  }
}

TEST(Mutator, RollbackKeepsLabelsTheWriteSets) {
  const json annotations = {{"ambient-guard.io/previous-injection", R"({"istio.io/rev":"1-22"})"}};
  const json obj = ns({{"istio.io/rev", "1-23"}}, annotations);
  Mutation m = mutateNamespace(obj, ns({{"istio.io/dataplane-mode", "ambient"}}, annotations), kNow);
  json patched = obj.patch(m.patch);
  EXPECT_EQ(patched["metadata"]["labels"]["istio.io/rev"], "1-23");
  EXPECT_FALSE(patched["metadata"].contains("annotations") &&
               patched["metadata"]["annotations"].contains(
                   "ambient-guard.io/previous-injection"));
}

TEST(Mutator, RollbackAddsTheWholeLabelsMapWhenAbsent) {
  const json obj = ns(nullptr, {{"ambient-guard.io/previous-injection", R"({"istio-injection":"enabled"})"}});
  Mutation m = mutateNamespace(obj, nullptr, kNow);
  ASSERT_FALSE(m.patch.empty());
  bool added_map = false;
  for (const auto& op : m.patch) {
    if (op["path"] == "/metadata/labels") {
      added_map = op["op"] == "add" && op["value"] == json({{"istio-injection", "enabled"}});
    }
  }
  EXPECT_TRUE(added_map) << m.patch.dump();
  json patched = applyAndReinvoke(obj, nullptr, m);
  EXPECT_EQ(patched["metadata"]["labels"]["istio-injection"], "enabled");
}

TEST(Mutator, UnreadableAnnotationIsReportedNotGuessed) {
  const json obj = ns({{"a", "b"}}, {{"ambient-guard.io/previous-injection", "not json"}});
  Mutation m = mutateNamespace(obj, nullptr, kNow);
  EXPECT_TRUE(m.patch.empty());
  ASSERT_EQ(m.notes.size(), 1u);
}

// istio-cni with a custom enablement selector (Helm `ambient.enablementSelectors`, ConfigMap
// istio-cni-config AMBIENT_ENABLEMENT_SELECTOR): the namespace label that enrolls is the
// selector's, and dataplane-mode=ambient alone is not enrollment.
TEST(Mutator, CustomEnablementSelectorDecidesEnrollmentAndRollback) {
  auto parsed = ambient::parseEnablementSelectors(R"(
- namespaceSelector: {matchLabels: {platform.example.com/mesh: ambient}}
  podSelector: {matchExpressions: [{key: istio.io/dataplane-mode, operator: NotIn, values: [none]}]}
)",
                                                  "ConfigMap istio-system/istio-cni-config");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const ambient::EnablementSelectors& custom = *parsed;
  const json old = ns({{"kubernetes.io/metadata.name", "demo"}, {"istio-injection", "enabled"}});
  const json obj = ns({{"kubernetes.io/metadata.name", "demo"},
                       {"istio-injection", "enabled"},
                       {"platform.example.com/mesh", "ambient"}});
  Mutation m = mutateNamespace(obj, old, kNow, custom);
  EXPECT_EQ(m.kind, Mutation::Kind::kEnroll);
  json patched = obj.patch(m.patch);
  EXPECT_FALSE(patched["metadata"]["labels"].contains("istio-injection"));
  EXPECT_EQ(patched["metadata"]["annotations"]["ambient-guard.io/previous-injection"],
            R"({"istio-injection":"enabled"})");
  EXPECT_EQ(patched["metadata"]["annotations"]["ambient-guard.io/enrolled-at"], kNow);
  EXPECT_TRUE(mutateNamespace(patched, old, "2030-01-01T00:00:00Z", custom).patch.empty());
  // Istio's default selectors do not see that label as enrollment.
  EXPECT_TRUE(mutateNamespace(obj, old, kNow).patch.empty());
  // Under the custom selector, dataplane-mode=ambient on the namespace enrolls nothing.
  const json default_label = ns({{"istio-injection", "enabled"},
                                 {"istio.io/dataplane-mode", "ambient"}});
  EXPECT_EQ(mutateNamespace(default_label, old, kNow, custom).kind, Mutation::Kind::kNone);
  // Rollback: the selector's label removed (or `none`) restores the recorded injection.
  for (const json& value : {json(nullptr), json("none")}) {
    SCOPED_TRACE(value.dump());
    json labels = {{"kubernetes.io/metadata.name", "demo"}};
    if (!value.is_null()) {
      labels["platform.example.com/mesh"] = value;
    }
    const json rolled = ns(labels, patched["metadata"]["annotations"]);
    Mutation r = mutateNamespace(rolled, patched, kNow, custom);
    EXPECT_EQ(r.kind, Mutation::Kind::kRollback);
    json restored = rolled.patch(r.patch);
    EXPECT_EQ(restored["metadata"]["labels"]["istio-injection"], "enabled");
    EXPECT_EQ(restored["metadata"]["annotations"], json::object());
  }
  // Another value of the selector's label is not a rollback (like dataplane-mode=typo).
  const json typo =
      ns({{"platform.example.com/mesh", "ambinet"}}, patched["metadata"]["annotations"]);
  EXPECT_EQ(mutateNamespace(typo, patched, kNow, custom).kind, Mutation::Kind::kNone);
}

TEST(Mutator, EscapeJsonPointer) {
  EXPECT_EQ(escapeJsonPointer("istio.io/rev"), "istio.io~1rev");
  EXPECT_EQ(escapeJsonPointer("a~/b"), "a~0~1b");
  EXPECT_EQ(escapeJsonPointer("~1"), "~01");
  // nlohmann's json_pointer decodes what we encode.
  json doc = {{"a~/b", 1}};
  EXPECT_EQ(doc.at(json::json_pointer("/" + escapeJsonPointer("a~/b"))), 1);
}

}  // namespace
}  // namespace ambient_guard
