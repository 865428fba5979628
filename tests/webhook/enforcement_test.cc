// The enforcement fold: rule actions, modes, namespace overrides, pre-existing findings,
// exemptions and warning hygiene.
#include "webhook/enforcement.h"

#include <gtest/gtest.h>

namespace ambient_guard {
namespace {

using rules::Action;

const std::map<std::string, Action, std::less<>> kDefaults = {
    {"peer-authentication-disable", Action::kDeny},
    {"l7-policy-without-waypoint", Action::kDeny},
    {"virtualservice-needs-httproute", Action::kWarn},
    {"dual-dataplane-labels", Action::kWarn},
};

rules::Finding finding(const std::string& rule, Action action, const std::string& ns = "shop") {
  rules::Finding f;
  f.rule = rule;
  f.action = action;
  f.object = ObjectKey{Kind::kPeerAuthentication, ns, "x"};
  f.ns = ns;
  f.field = "spec";
  f.message = "[" + rule + "] full message\nwith detail";
  f.summary = "[" + rule + "] summary";
  return f;
}

Config config(const std::string& yaml) {
  auto cfg = parseConfig(yaml, "config.yaml",
                         {"peer-authentication-disable", "l7-policy-without-waypoint",
                          "virtualservice-needs-httproute", "dual-dataplane-labels"});
  EXPECT_TRUE(cfg.ok()) << cfg.error();
  return cfg.ok() ? *cfg : Config{};
}

RequestContext in(const std::string& ns, const Labels* labels = nullptr) {
  RequestContext r;
  r.ns = ns;
  r.ns_labels = labels;
  static const std::vector<std::string> kGroups = {"system:authenticated"};
  r.user = "alice";
  r.groups = kGroups;
  return r;
}

TEST(Enforcement, EnforceModeDeniesAndWarns) {
  Enforcer e(Config{}, kDefaults);
  Decision d = e.decide({finding("peer-authentication-disable", Action::kDeny),
                         finding("virtualservice-needs-httproute", Action::kWarn)},
                        in("shop"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.mode, Mode::kEnforce);
  ASSERT_EQ(d.denials.size(), 1u);
  EXPECT_EQ(d.denialMessage(), "[peer-authentication-disable] full message\nwith detail");
  EXPECT_EQ(d.warnings, std::vector<std::string>{"[virtualservice-needs-httproute] summary"});
  ASSERT_EQ(d.findings.size(), 2u);
  EXPECT_TRUE(d.findings[0].enforced);
  EXPECT_EQ(d.findings[0].action, Action::kDeny);
  EXPECT_TRUE(d.findings[1].enforced);
}

TEST(Enforcement, ModesCapActions) {
  struct Case {
    const char* mode;
    bool allowed;
    size_t warnings;
    Action action;
    bool enforced;
  };
  for (const Case& c : {Case{"enforce", false, 0, Action::kDeny, true},
                        Case{"warn", true, 1, Action::kWarn, true},
                        Case{"dryrun", true, 0, Action::kDryrun, false}}) {
    SCOPED_TRACE(c.mode);
    Enforcer e(config(std::string("mode: ") + c.mode), kDefaults);
    Decision d = e.decide({finding("l7-policy-without-waypoint", Action::kDeny)}, in("shop"));
    EXPECT_EQ(d.allowed, c.allowed);
    EXPECT_EQ(d.warnings.size(), c.warnings);
    ASSERT_EQ(d.findings.size(), 1u);
    EXPECT_EQ(d.findings[0].action, c.action);
    EXPECT_EQ(d.findings[0].enforced, c.enforced);
  }
}

TEST(Enforcement, RuleActionsFromConfig) {
  Enforcer e(config("rules: {peer-authentication-disable: warn, dual-dataplane-labels: deny, "
                    "virtualservice-needs-httproute: off}"),
             kDefaults);
  Decision d = e.decide({finding("peer-authentication-disable", Action::kDeny),
                         finding("dual-dataplane-labels", Action::kWarn),
                         finding("virtualservice-needs-httproute", Action::kWarn)},
                        in("shop"));
  ASSERT_EQ(d.findings.size(), 2u);  // `off` drops the finding entirely
  EXPECT_EQ(d.findings[0].action, Action::kWarn);
  EXPECT_EQ(d.findings[1].action, Action::kDeny);
  EXPECT_FALSE(d.allowed);
}

TEST(Enforcement, ConfiguredActionKeepsTheRulesOwnDemotion) {
  // l7-policy-without-waypoint demotes to warn when a waypoint already serves the workloads;
  // configuring the rule as deny must not undo that.
  Enforcer e(config("rules: {l7-policy-without-waypoint: deny}"), kDefaults);
  Decision d = e.decide({finding("l7-policy-without-waypoint", Action::kWarn)}, in("shop"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.findings.at(0).action, Action::kWarn);
  Enforcer e2(config("rules: {l7-policy-without-waypoint: dryrun}"), kDefaults);
  EXPECT_EQ(e2.decide({finding("l7-policy-without-waypoint", Action::kWarn)}, in("shop"))
                .findings.at(0)
                .action,
            Action::kDryrun);
}

TEST(Enforcement, NamespaceOverridesMostSpecificWins) {
  Enforcer e(config(R"(
mode: enforce
namespaceOverrides:
- {namespaceSelector: {matchLabels: {team: payments}}, mode: dryrun}
- {namespaces: ["pilot-*"], mode: warn}
- {namespaces: ["pilot-payments-*"], mode: dryrun}
- {namespaces: [pilot-strict], mode: enforce}
)"),
             kDefaults);
  const Labels payments(std::vector<std::pair<std::string, std::string>>{{"team", "payments"}});
  EXPECT_EQ(e.modeFor("prod", nullptr), Mode::kEnforce);
  EXPECT_EQ(e.modeFor("pilot-a", nullptr), Mode::kWarn);
  EXPECT_EQ(e.modeFor("pilot-a", &payments), Mode::kWarn);  // a glob beats a selector
  EXPECT_EQ(e.modeFor("pilot-payments-1", nullptr), Mode::kDryrun);  // the longer glob
  EXPECT_EQ(e.modeFor("pilot-strict", nullptr), Mode::kEnforce);     // an exact name
  EXPECT_EQ(e.modeFor("billing", &payments), Mode::kDryrun);

  Decision pilot = e.decide({finding("l7-policy-without-waypoint", Action::kDeny)}, in("pilot-a"));
  EXPECT_TRUE(pilot.allowed);
  EXPECT_EQ(pilot.mode, Mode::kWarn);
  EXPECT_EQ(pilot.warnings.size(), 1u);
  Decision prod = e.decide({finding("l7-policy-without-waypoint", Action::kDeny)}, in("prod"));
  EXPECT_FALSE(prod.allowed);
}

TEST(Enforcement, PreExistingFindingsOnlyWarn) {
  Enforcer e(Config{}, kDefaults);
  rules::Finding f = finding("peer-authentication-disable", Action::kDeny);
  f.pre_existing = true;
  f.summary = "[peer-authentication-disable] " + std::string(200, 'x');
  Decision d = e.decide({f}, in("shop"));
  EXPECT_TRUE(d.allowed);
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_LE(d.warnings[0].size(), kMaxWarningLength);
  EXPECT_TRUE(d.warnings[0].ends_with("(already present before this change)")) << d.warnings[0];
  EXPECT_EQ(d.findings.at(0).action, Action::kWarn);
}

TEST(Enforcement, ExemptionsSkipEnforcementButKeepFindings) {
  Enforcer e(config("exemptions: {namespaces: [ci-*], users: [deployer], groups: [breakglass]}"),
             kDefaults);
  struct Case {
    RequestContext req;
    std::string why;
  };
  RequestContext by_user = in("shop");
  by_user.user = "deployer";
  RequestContext by_group = in("shop");
  const std::vector<std::string> breakglass = {"system:authenticated", "breakglass"};
  by_group.groups = breakglass;
  for (const auto& c : {Case{in("kube-system"), "namespace kube-system"},
                        Case{in("ambient-guard"), "namespace ambient-guard"},
                        Case{in("ci-42"), "namespace ci-42"}, Case{by_user, "user deployer"},
                        Case{by_group, "group breakglass"}}) {
    SCOPED_TRACE(c.why);
    Decision d = e.decide({finding("peer-authentication-disable", Action::kDeny),
                           finding("virtualservice-needs-httproute", Action::kWarn)},
                          c.req);
    EXPECT_TRUE(d.allowed);
    EXPECT_TRUE(d.exempted);
    EXPECT_EQ(d.exemption, c.why);
    EXPECT_TRUE(d.warnings.empty());
    ASSERT_EQ(d.findings.size(), 2u);
    EXPECT_FALSE(d.findings[0].enforced);
    EXPECT_EQ(d.findings[0].action, Action::kDeny);
  }
  EXPECT_FALSE(e.decide({finding("peer-authentication-disable", Action::kDeny)}, in("shop"))
                   .exempted);
}

TEST(Enforcement, DryRunRequestsAreAnsweredNormally) {
  Enforcer e(Config{}, kDefaults);
  RequestContext req = in("shop");
  req.dry_run = true;
  Decision d = e.decide({finding("peer-authentication-disable", Action::kDeny)}, req);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.dry_run);
}

TEST(Enforcement, RuleActionIsKeptBeforeModeAndExemption) {
  Enforcer e(config(R"(
rules: {virtualservice-needs-httproute: dryrun, dual-dataplane-labels: "off"}
namespaceOverrides:
- {namespaces: [pilot-*], mode: warn}
- {namespaces: [legacy], mode: dryrun}
exemptions: {users: [deployer]}
)"),
             kDefaults);
  RequestContext deployer = in("shop");
  deployer.user = "deployer";
  rules::Finding pre = finding("peer-authentication-disable", Action::kDeny);
  pre.pre_existing = true;
  struct Case {
    std::string name;
    RequestContext req;
    rules::Finding f;
    Action action;
    Action rule_action;
    std::string outcome;
  };
  for (const auto& c : {
           Case{"enforce", in("shop"), finding("peer-authentication-disable", Action::kDeny),
                Action::kDeny, Action::kDeny, "deny"},
           Case{"warn mode", in("pilot-a"), finding("peer-authentication-disable", Action::kDeny),
                Action::kWarn, Action::kDeny, "would-deny"},
           Case{"dryrun mode", in("legacy"),
                finding("peer-authentication-disable", Action::kDeny), Action::kDryrun,
                Action::kDeny, "would-deny"},
           Case{"exempted", deployer, finding("peer-authentication-disable", Action::kDeny),
                Action::kDeny, Action::kDeny, "would-deny"},
           Case{"pre-existing", in("shop"), pre, Action::kWarn, Action::kDeny, "warn"},
           Case{"configured dryrun", in("shop"),
                finding("virtualservice-needs-httproute", Action::kWarn), Action::kDryrun,
                Action::kDryrun, "allow"},
           Case{"warn rule", in("shop"), finding("virtualservice-needs-httproute", Action::kWarn),
                Action::kDryrun, Action::kDryrun, "allow"},
       }) {
    SCOPED_TRACE(c.name);
    Decision d = e.decide({c.f}, c.req);
    ASSERT_EQ(d.findings.size(), 1u);
    EXPECT_EQ(d.findings[0].action, c.action);
    EXPECT_EQ(d.findings[0].rule_action, c.rule_action);
    EXPECT_EQ(d.outcome(), c.outcome);
  }
  // A rule turned off leaves nothing to audit.
  Decision off = e.decide({finding("dual-dataplane-labels", Action::kWarn)}, in("shop"));
  EXPECT_TRUE(off.findings.empty());
  EXPECT_EQ(off.outcome(), "allow");

  Enforcer plain(Config{}, kDefaults);
  Decision warned =
      plain.decide({finding("virtualservice-needs-httproute", Action::kWarn)}, in("shop"));
  EXPECT_EQ(warned.findings.at(0).rule_action, Action::kWarn);
  EXPECT_EQ(warned.outcome(), "warn");
}

TEST(Enforcement, WarningsAreSanitised) {
  Enforcer e(Config{}, kDefaults);
  rules::Finding f = finding("virtualservice-needs-httproute", Action::kWarn);
  f.summary = "[virtualservice-needs-httproute] line\nbreak\ttab \x01 bad \xff utf8 " +
              std::string(150, 'y');
  Decision d = e.decide({f, f}, in("shop"));
  ASSERT_EQ(d.warnings.size(), 1u);  // identical warnings are sent once
  const std::string& w = d.warnings[0];
  EXPECT_LE(w.size(), kMaxWarningLength);
  EXPECT_TRUE(w.ends_with("..."));
  for (unsigned char c : w) {
    EXPECT_FALSE(c < 0x20 || c == 0x7f) << "control character in " << w;
    EXPECT_LT(c, 0x80) << "invalid UTF-8 kept in " << w;
  }
}

TEST(Enforcement, SanitizeWarningCutsOnCharacterBoundaries) {
  const std::string text = std::string(10, 'a') + "\xc3\xa9\xc3\xa9\xc3\xa9";  // "ééé"
  for (size_t limit = 8; limit <= text.size(); ++limit) {
    SCOPED_TRACE(limit);
    const std::string w = sanitizeWarning(text, limit);
    EXPECT_LE(w.size(), limit);
    EXPECT_EQ(sanitizeWarning(w, 1000), w);  // still valid UTF-8
  }
  EXPECT_EQ(sanitizeWarning("\xe2\x9c\x93 ok"), "\xe2\x9c\x93 ok");
  EXPECT_EQ(sanitizeWarning("a\xc2\x85z"), "a z");  // C1 control NEL
}

}  // namespace
}  // namespace ambient_guard
