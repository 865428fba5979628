// The enforcement configuration: every key of DESIGN.md §4, defaults, and errors naming the key.
#include "webhook/config.h"

#include <gtest/gtest.h>

#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

const std::vector<std::string> kRules = {"peer-authentication-disable",
                                         "l7-policy-without-waypoint",
                                         "virtualservice-needs-httproute",
                                         "dual-dataplane-labels"};

Result<Config> parse(const std::string& yaml) { return parseConfig(yaml, "config.yaml", kRules); }

TEST(Config, EmptyFileGivesDefaults) {
  auto cfg = parse("");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->mode, Mode::kEnforce);
  EXPECT_EQ(cfg->root_namespace, "istio-system");
  EXPECT_FALSE(cfg->root_namespace_set);
  EXPECT_TRUE(cfg->rules.empty());
  EXPECT_TRUE(cfg->mutation_enabled);
  EXPECT_EQ(cfg->audit.max_size_mb, 100);
  EXPECT_EQ(cfg->audit.max_files, 5);
  EXPECT_EQ(cfg->webhook_namespace, "ambient-guard");
}

TEST(Config, ParsesTheDesignExample) {
  auto cfg = parse(R"(
mode: warn
rootNamespace: mesh-root
rules: {l7-policy-without-waypoint: deny, virtualservice-needs-httproute: off}
namespaceOverrides:
- {namespaces: ["pilot-*", payments], mode: warn}
- namespaceSelector:
    matchLabels: {team: payments}
    matchExpressions:
    - {key: tier, operator: In, values: [gold, silver]}
    - {key: legacy, operator: DoesNotExist}
  mode: dryrun
exemptions: {namespaces: [ci-*], users: ["system:serviceaccount:argocd:*"], groups: [breakglass]}
mutation: {enabled: false}
audit: {path: /var/log/ag/audit.log, maxSizeMB: 10, maxFiles: 2}
webhookNamespace: guard
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->mode, Mode::kWarn);
  EXPECT_EQ(cfg->root_namespace, "mesh-root");
  EXPECT_TRUE(cfg->root_namespace_set);
  EXPECT_EQ(cfg->rules.at("l7-policy-without-waypoint"), rules::Action::kDeny);
  EXPECT_EQ(cfg->rules.at("virtualservice-needs-httproute"), rules::Action::kOff);
  ASSERT_EQ(cfg->namespace_overrides.size(), 2u);
  EXPECT_EQ(cfg->namespace_overrides[0].namespaces,
            (std::vector<std::string>{"pilot-*", "payments"}));
  EXPECT_EQ(cfg->namespace_overrides[0].mode, Mode::kWarn);
  ASSERT_TRUE(cfg->namespace_overrides[1].selector.has_value());
  const LabelSelector& sel = *cfg->namespace_overrides[1].selector;
  EXPECT_EQ(cfg->namespace_overrides[1].mode, Mode::kDryrun);
  EXPECT_TRUE(selectorMatches(sel, Labels({{"team", "payments"}, {"tier", "gold"}})));
  EXPECT_FALSE(selectorMatches(sel, Labels({{"team", "payments"}, {"tier", "bronze"}})));
  EXPECT_FALSE(selectorMatches(sel, Labels({{"team", "payments"}, {"tier", "gold"}, {"legacy", "1"}})));
  EXPECT_FALSE(selectorMatches(sel, Labels({{"tier", "gold"}, {"other", "x"}})));
  EXPECT_EQ(cfg->exemptions.namespaces, std::vector<std::string>{"ci-*"});
  EXPECT_EQ(cfg->exemptions.users, std::vector<std::string>{"system:serviceaccount:argocd:*"});
  EXPECT_EQ(cfg->exemptions.groups, std::vector<std::string>{"breakglass"});
  EXPECT_FALSE(cfg->mutation_enabled);
  EXPECT_EQ(cfg->audit.path, "/var/log/ag/audit.log");
  EXPECT_EQ(cfg->audit.max_size_mb, 10);
  EXPECT_EQ(cfg->audit.max_files, 2);
  EXPECT_EQ(cfg->webhook_namespace, "guard");
}

TEST(Config, ErrorsNameTheKey) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"rules: {l7-policy-without-waypoint: block}",
       "config.yaml: rules.l7-policy-without-waypoint: unknown action \"block\" (want "
       "deny|warn|dryrun|off)"},
      {"rules: {no-such-rule: deny}", "config.yaml: rules.no-such-rule: unknown rule"},
      {"mode: strict", "config.yaml: mode: unknown mode \"strict\" (want enforce|warn|dryrun)"},
      {"modes: warn", "config.yaml: modes: unknown key"},
      {"mutation: {enable: true}", "config.yaml: mutation.enable: unknown key (want enabled)"},
      {"mutation: {enabled: maybe}", "config.yaml: mutation.enabled: must be true or false"},
      {"audit: {maxSizeMB: -1}", "config.yaml: audit.maxSizeMB: must be a positive integer"},
      {"exemptions: {users: alice}", "config.yaml: exemptions.users: must be a list of strings"},
      {"namespaceOverrides: [{mode: warn}]",
       "config.yaml: namespaceOverrides[0]: needs exactly one of namespaces or namespaceSelector"},
      {"namespaceOverrides: [{namespaces: [a]}]",
       "config.yaml: namespaceOverrides[0].mode: is required"},
      {"namespaceOverrides: [{namespaces: [a], mode: loud}]",
       "config.yaml: namespaceOverrides[0].mode: unknown mode \"loud\""},
      {"namespaceOverrides: [{namespaceSelector: {matchExpressions: [{key: a, operator: Is}]}, "
       "mode: warn}]",
       "config.yaml: namespaceOverrides[0].namespaceSelector.matchExpressions[0].operator: "
       "unknown operator \"Is\""},
      {"namespaceOverrides: [{namespaceSelector: {matchExpressions: [{key: a, operator: In}]}, "
       "mode: warn}]",
       "config.yaml: namespaceOverrides[0].namespaceSelector.matchExpressions[0].values: must be "
       "non-empty for operator In"},
      {"namespaceOverrides: [{namespaceSelector: {matchLabel: {a: b}}, mode: warn}]",
       "config.yaml: namespaceOverrides[0].namespaceSelector.matchLabel: unknown key"},
      {"- a\n- b", "config.yaml: must be a YAML map at the top level"},
      {"mode: [", "config.yaml:1:"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto cfg = parse(c.yaml);
    ASSERT_FALSE(cfg.ok());
    EXPECT_EQ(cfg.error().rfind(c.error, 0), 0u) << cfg.error();
  }
}

TEST(Config, LoadsFromFileAndNamesIt) {
  const std::string dir = testing::tempDir();
  const std::string good = testing::writeFile(dir, "good.yaml", "mode: dryrun\n");
  auto cfg = loadConfig(good, kRules);
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->mode, Mode::kDryrun);
  const std::string bad = testing::writeFile(dir, "bad.yaml", "mode: loud\n");
  auto err = loadConfig(bad, kRules);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().rfind(bad + ": mode:", 0), 0u) << err.error();
  EXPECT_FALSE(loadConfig(dir + "/missing.yaml", kRules).ok());
}

TEST(Config, GlobMatch) {
  EXPECT_TRUE(globMatch("pilot-*", "pilot-a"));
  EXPECT_FALSE(globMatch("pilot-*", "prod"));
  EXPECT_TRUE(globMatch("shop", "shop"));
  EXPECT_FALSE(globMatch("shop", "shop2"));
  EXPECT_TRUE(globMatch("system:serviceaccount:argocd:*", "system:serviceaccount:argocd:app"));
  EXPECT_TRUE(globMatch("team-?", "team-a"));
}

}  // namespace
}  // namespace ambient_guard
