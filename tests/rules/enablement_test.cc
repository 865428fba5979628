// istio-cni's enablement selectors (rules/enablement.h): parsing AMBIENT_ENABLEMENT_SELECTOR,
// matching pods and namespaces, and rules that follow a custom selector.
#include "rules/enablement.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rules/ambient.h"
#include "rules/reviewer.h"
#include "tests/rules/rule_review.h"

namespace ambient_guard::ambient {
namespace {

using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::ofRule;
using ::ambient_guard::testing::stateFromYaml;

Labels labels(std::vector<std::pair<std::string, std::string>> kv) { return Labels(std::move(kv)); }

// The chart's default as Helm renders it into istio-cni-config
// ([I] manifests/charts/istio-cni/values.yaml ambient.enablementSelectors, `toYaml | quote`).
constexpr const char* kChartDefault = R"(- podSelector:
    matchLabels:
      istio.io/dataplane-mode: ambient
- namespaceSelector:
    matchLabels:
      istio.io/dataplane-mode: ambient
  podSelector:
    matchExpressions:
    - key: istio.io/dataplane-mode
      operator: NotIn
      values:
      - none
)";

TEST(Enablement, DefaultIsTheChartDefault) {
  auto parsed = parseEnablementSelectors(kChartDefault, "test");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const EnablementSelectors builtin;
  EXPECT_TRUE(builtin.is_default);
  EXPECT_FALSE(parsed->is_default);
  struct Case {
    std::string name;
    Labels ns;
    Labels pod;
    bool captured;
  };
  const Labels ambient_ns = labels({{"istio.io/dataplane-mode", "ambient"}});
  const std::vector<Case> cases = {
      {"namespace labelled, pod unlabelled", ambient_ns, Labels(), true},
      {"namespace labelled, pod opted out", ambient_ns,
       labels({{"istio.io/dataplane-mode", "none"}}), false},
      {"namespace unlabelled, pod labelled", Labels(),
       labels({{"istio.io/dataplane-mode", "ambient"}}), true},
      {"neither", Labels(), labels({{"app", "x"}}), false},
      {"namespace labelled something else", labels({{"istio.io/dataplane-mode", "sidecar"}}),
       Labels(), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(builtin.selects(c.ns, c.pod), c.captured);
    EXPECT_EQ(parsed->selects(c.ns, c.pod), c.captured);
  }
  EXPECT_EQ(builtin.enrollLabels().str(), "istio.io/dataplane-mode=ambient");
  EXPECT_EQ(parsed->enrollLabels().str(), "istio.io/dataplane-mode=ambient");
}

TEST(Enablement, CustomSelectorDecidesEnrollment) {
  // A platform team that enrolls by its own namespace label, and opts pods out with a pod label.
  auto sel = parseEnablementSelectors(R"([
    {"namespaceSelector": {"matchLabels": {"platform.example.com/mesh": "ambient"}},
     "podSelector": {"matchExpressions": [{"key": "platform.example.com/mesh",
                                           "operator": "DoesNotExist"}]}}])",
                                      "ConfigMap istio-system/istio-cni-config");
  ASSERT_TRUE(sel.ok()) << sel.error();
  const Labels custom = labels({{"platform.example.com/mesh", "ambient"}});
  const Labels istio = labels({{"istio.io/dataplane-mode", "ambient"}});
  EXPECT_TRUE(isAmbientNamespace(custom, *sel));
  EXPECT_FALSE(isAmbientNamespace(istio, *sel)) << "the Istio label enrolls nothing here";
  EXPECT_FALSE(isAmbientWorkload(custom, labels({{"platform.example.com/mesh", "off"}}), *sel));
  EXPECT_TRUE(isAmbientWorkload(custom, labels({{"app", "web"}}), *sel));
  // A namespace that also injects sidecars is mixed: the sidecar wins.
  Labels both = custom;
  both.set("istio-injection", "enabled");
  EXPECT_EQ(namespaceMode(both, *sel), DataplaneMode::kMixed);
  EXPECT_FALSE(isAmbientWorkload(both, Labels(), *sel));
  EXPECT_EQ(sel->enrollLabels().str(), "platform.example.com/mesh=ambient");
  EXPECT_NE(sel->str().find("namespaces platform.example.com/mesh=ambient"), std::string::npos)
      << sel->str();
}

TEST(Enablement, EmptyListCapturesNothing) {
  auto sel = parseEnablementSelectors("[]", "test");
  ASSERT_TRUE(sel.ok());
  EXPECT_FALSE(sel->selects(labels({{"istio.io/dataplane-mode", "ambient"}}), Labels()));
  // An entry with both selectors empty captures every pod (labels.Everything()).
  auto all = parseEnablementSelectors("- {}", "test");
  ASSERT_TRUE(all.ok()) << all.error();
  EXPECT_TRUE(all->selects(Labels(), Labels()));
}

TEST(Enablement, BadInputIsAClearError) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"podSelector: {}", "must be a list"},
      {"- podSelector: {matchExpressions: [{key: a, operator: Equals, values: [b]}]}",
       "\"Equals\" is not a valid label selector operator"},
      {"- podSelector: {matchExpressions: [{key: a, operator: In}]}",
       "values set can't be empty"},
      {"- namespaceSelector: {matchExpressions: [{key: a, operator: Exists, values: [b]}]}",
       "values set must be empty"},
      {"- podSelector: {matchLabels: [a, b]}", "[0].podSelector.matchLabels must be a map"},
      {"- podSelector: {matchLabels: {a: [b]}}", "must be a string"},
      {"- [unclosed", "failed to parse"},
      {"- 7", "[0] must be a map"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = parseEnablementSelectors(c.text, "--ambient-enablement-selector");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find(c.error), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("--ambient-enablement-selector"), std::string::npos) << r.error();
  }
}

const std::string kCniConfig = R"(
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-cni-config, namespace: istio-system}
data:
  AMBIENT_ENABLED: "true"
  AMBIENT_ENABLEMENT_SELECTOR: |
    - namespaceSelector:
        matchLabels: {platform.example.com/mesh: ambient}
)";

const std::string kShop = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {platform.example.com/mesh: ambient}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: get-only, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{to: [{operation: {methods: [GET]}}]}]
)";

TEST(Enablement, ResolvedFromTheStateOrTheFlag) {
  auto with_cm = stateFromYaml(docs({kCniConfig, kShop}));
  auto resolved = resolveEnablement(*with_cm, "");
  ASSERT_TRUE(resolved.ok()) << resolved.error();
  EXPECT_EQ(resolved->source, "ConfigMap istio-system/istio-cni-config");
  EXPECT_TRUE(isAmbientNamespace(*with_cm, "shop", *resolved));
  // The flag wins over the ConfigMap.
  auto flagged = resolveEnablement(*with_cm, "- podSelector: {matchLabels: {x: y}}");
  ASSERT_TRUE(flagged.ok());
  EXPECT_EQ(flagged->source, "--ambient-enablement-selector");
  EXPECT_FALSE(isAmbientNamespace(*with_cm, "shop", *flagged));
  // No ConfigMap: Istio's default.
  auto without = stateFromYaml(kShop);
  auto fallback = resolveEnablement(*without, "");
  ASSERT_TRUE(fallback.ok());
  EXPECT_TRUE(fallback->is_default);
  EXPECT_FALSE(isAmbientNamespace(*without, "shop", *fallback));
  // A ConfigMap that istio-cni itself would refuse is an error, not a silent default.
  auto broken = stateFromYaml(R"(
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-cni-config, namespace: istio-system}
data: {AMBIENT_ENABLEMENT_SELECTOR: "- podSelector: {matchExpressions: [{key: a, operator: In}]}"}
)");
  auto bad = resolveEnablement(*broken, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("ConfigMap istio-system/istio-cni-config"), std::string::npos);
}

TEST(Enablement, RulesFollowTheCustomSelector) {
  // l7-policy-without-waypoint judges the namespace the custom label enrolls, and `check`'s
  // what-if enrollment sets the custom label instead of istio.io/dataplane-mode.
  auto state = stateFromYaml(docs({kCniConfig, kShop}));
  rules::MeshSettings mesh;
  auto resolved = resolveEnablement(*state, "");
  ASSERT_TRUE(resolved.ok());
  mesh.enablement = std::move(*resolved);
  Reviewer custom(rules::makeDefaultRules(), mesh);
  Reviewer istio_default(rules::makeDefaultRules(), rules::MeshSettings());
  EXPECT_FALSE(
      ofRule(custom.reviewNamespace(*state, "shop", /*what_if=*/false), "l7-policy-without-waypoint")
          .empty());
  EXPECT_TRUE(ofRule(istio_default.reviewNamespace(*state, "shop", /*what_if=*/false),
                     "l7-policy-without-waypoint")
                  .empty());
  // What-if for a namespace not enrolled yet.
  auto plain = stateFromYaml(docs({kCniConfig, R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: get-only, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{to: [{operation: {methods: [GET]}}]}]
)"}));
  EXPECT_FALSE(ofRule(custom.reviewNamespace(*plain, "shop"), "l7-policy-without-waypoint").empty());
  Namespace ns;
  ns.name = "shop";
  ns.labels.set("istio-injection", "enabled");
  const Namespace after = enrolled(ns, mesh.enablement);
  EXPECT_EQ(after.labels.str(), "platform.example.com/mesh=ambient");
}

}  // namespace
}  // namespace ambient_guard::ambient
