// Istio ambient semantics (rules/ambient.h): enrollment precedence, the ztunnel conversion of
// AuthorizationPolicy, waypoint binding, effective mTLS, host namespaces and targetRef advice.
// Expected values come from ../shared/spec/ambient-semantics.md and Istio's source cited there.
#include "rules/ambient.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testlib/testlib.h"

namespace ambient_guard::ambient {
namespace {

using ::ambient_guard::testing::objectFromYaml;
using ::ambient_guard::testing::stateFromYaml;
using Outcome = ZtunnelConversion::Outcome;
using Status = WaypointBinding::Status;
const EnablementSelectors kDefaultSelectors;

Labels labels(std::vector<std::pair<std::string, std::string>> kv) { return Labels(std::move(kv)); }

// ---------------------------------------------------------------------------------------------
// Enrollment (spec §1.2)

TEST(Ambient, NamespaceModeSidecarWins) {
  struct Case {
    std::string name;
    Labels ns;
    DataplaneMode mode;
  };
  const std::vector<Case> cases = {
      {"unlabelled", labels({}), DataplaneMode::kNone},
      {"injection enabled", labels({{"istio-injection", "enabled"}}), DataplaneMode::kSidecar},
      {"injection disabled", labels({{"istio-injection", "disabled"}}), DataplaneMode::kNone},
      {"ambient", labels({{"istio.io/dataplane-mode", "ambient"}}), DataplaneMode::kAmbient},
      {"dataplane-mode none", labels({{"istio.io/dataplane-mode", "none"}}), DataplaneMode::kNone},
      {"dataplane-mode is case-sensitive", labels({{"istio.io/dataplane-mode", "Ambient"}}),
       DataplaneMode::kNone},
      {"injection enabled + ambient: sidecar wins",
       labels({{"istio-injection", "enabled"}, {"istio.io/dataplane-mode", "ambient"}}),
       DataplaneMode::kMixed},
      {"injection disabled + ambient",
       labels({{"istio-injection", "disabled"}, {"istio.io/dataplane-mode", "ambient"}}),
       DataplaneMode::kAmbient},
      {"rev", labels({{"istio.io/rev", "canary"}}), DataplaneMode::kSidecar},
      {"rev + ambient: sidecar wins",
       labels({{"istio.io/rev", "canary"}, {"istio.io/dataplane-mode", "ambient"}}),
       DataplaneMode::kMixed},
      {"rev blocked by injection=disabled + ambient",
       labels({{"istio.io/rev", "canary"},
               {"istio-injection", "disabled"},
               {"istio.io/dataplane-mode", "ambient"}}),
       DataplaneMode::kAmbient},
      {"rev + injection enabled + ambient",
       labels({{"istio.io/rev", "canary"},
               {"istio-injection", "enabled"},
               {"istio.io/dataplane-mode", "ambient"}}),
       DataplaneMode::kMixed},
      {"empty rev does not inject",
       labels({{"istio.io/rev", ""}, {"istio.io/dataplane-mode", "ambient"}}),
       DataplaneMode::kAmbient},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(modeName(namespaceMode(c.ns, kDefaultSelectors)), modeName(c.mode));
    EXPECT_EQ(isAmbientNamespace(c.ns, kDefaultSelectors), c.mode == DataplaneMode::kAmbient);
    EXPECT_EQ(namespaceInjectsSidecars(c.ns),
              c.mode == DataplaneMode::kSidecar || c.mode == DataplaneMode::kMixed);
  }
}

TEST(Ambient, IsAmbientNamespaceLooksUpTheNamespace) {
  auto state = stateFromYaml(R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mixed, labels: {istio.io/dataplane-mode: ambient, istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: orphan, namespace: ghost}
)");
  EXPECT_TRUE(isAmbientNamespace(*state, "shop", kDefaultSelectors));
  EXPECT_FALSE(isAmbientNamespace(*state, "mixed", kDefaultSelectors));
  EXPECT_FALSE(isAmbientNamespace(*state, "ghost", kDefaultSelectors));  // objects, but no Namespace object
  EXPECT_FALSE(isAmbientNamespace(*state, "missing", kDefaultSelectors));
}

TEST(Ambient, PodSidecarAndAmbientCapture) {
  struct Case {
    std::string name;
    Labels ns;
    Labels pod;
    bool sidecar;
    bool ambient;
  };
  const Labels none;
  const Labels ambient_ns = labels({{"istio.io/dataplane-mode", "ambient"}});
  const Labels injected = labels({{"istio-injection", "enabled"}});
  const Labels injected_ambient =
      labels({{"istio-injection", "enabled"}, {"istio.io/dataplane-mode", "ambient"}});
  const Labels rev_ns = labels({{"istio.io/rev", "canary"}});
  const Labels opt_out = labels({{"sidecar.istio.io/inject", "false"}});
  const std::vector<Case> cases = {
      // R1.1 case 1: namespace istio.io/rev without istio-injection.
      {"R1.1 case 1: namespace rev", rev_ns, none, true, false},
      {"R1.1 case 1: pod opts out", rev_ns, opt_out, false, false},
      {"R1.1 case 1: injection=disabled blocks rev",
       labels({{"istio.io/rev", "canary"}, {"istio-injection", "disabled"}}), none, false, false},
      // R1.1 case 2: pod istio.io/rev in an unlabelled namespace.
      {"R1.1 case 2: pod rev", none, labels({{"istio.io/rev", "canary"}}), true, false},
      {"R1.1 case 2: pod rev opts out", none,
       labels({{"istio.io/rev", "canary"}, {"sidecar.istio.io/inject", "false"}}), false, false},
      {"R1.1 case 2: namespace injection=disabled blocks pod rev",
       labels({{"istio-injection", "disabled"}}), labels({{"istio.io/rev", "canary"}}), false,
       false},
      // R1.1 case 3: istio-injection=enabled.
      {"R1.1 case 3: injection enabled", injected, none, true, false},
      {"R1.1 case 3: pod opts out", injected, opt_out, false, false},
      // R1.1 case 4: pod sidecar.istio.io/inject=true in an unlabelled namespace.
      {"R1.1 case 4: pod inject=true", none, labels({{"sidecar.istio.io/inject", "true"}}), true,
       false},
      {"R1.1 case 4: not with injection=disabled", labels({{"istio-injection", "disabled"}}),
       labels({{"sidecar.istio.io/inject", "true"}}), false, false},
      {"R1.1 case 4 in an ambient namespace: sidecar wins", ambient_ns,
       labels({{"sidecar.istio.io/inject", "true"}}), true, false},
      // R1.2 / R1.3: the sidecar wins.
      {"R1.3 injected + ambient namespace", injected_ambient, none, true, false},
      {"R1.3 ambient pod in injected namespace is still injected", injected,
       labels({{"istio.io/dataplane-mode", "ambient"}}), true, false},
      {"R1.4 inject=false is the way out of an injected namespace", injected,
       labels({{"istio.io/dataplane-mode", "ambient"}, {"sidecar.istio.io/inject", "false"}}),
       false, true},
      // R1.4: pod level versus namespace level.
      {"R1.2 ambient namespace", ambient_ns, none, false, true},
      {"R1.4 ambient pod in unlabelled namespace", none,
       labels({{"istio.io/dataplane-mode", "ambient"}}), false, true},
      {"R1.4 ambient pod in namespace labelled none",
       labels({{"istio.io/dataplane-mode", "none"}}),
       labels({{"istio.io/dataplane-mode", "ambient"}}), false, true},
      {"R1.4 pod none in ambient namespace", ambient_ns,
       labels({{"istio.io/dataplane-mode", "none"}}), false, false},
      {"unlabelled pod, unlabelled namespace", none, none, false, false},
      {"ambient + injection=disabled namespace",
       labels({{"istio-injection", "disabled"}, {"istio.io/dataplane-mode", "ambient"}}), none,
       false, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(podGetsSidecar(c.ns, c.pod), c.sidecar);
    EXPECT_EQ(isAmbientWorkload(c.ns, c.pod, kDefaultSelectors), c.ambient);
  }
}

// ---------------------------------------------------------------------------------------------
// AuthorizationPolicy at ztunnel (spec §3.2, §3.3)

// Returns an AuthorizationPolicy shop/p with the given spec body (indented two spaces) and
// optional metadata annotations (flow map text).
AuthorizationPolicy policy(const std::string& spec, const std::string& annotations = "") {
  std::string yaml =
      "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, "
      "namespace: shop" +
      (annotations.empty() ? std::string() : ", annotations: " + annotations) + "}\nspec:\n" +
      spec;
  AnyObject obj = objectFromYaml(yaml);
  return std::holds_alternative<AuthorizationPolicy>(obj) ? std::get<AuthorizationPolicy>(obj)
                                                         : AuthorizationPolicy{};
}

constexpr const char* kHttpHead =
    "ztunnel does not support HTTP attributes (found: %s). In ambient mode you must use a "
    "waypoint proxy to enforce HTTP rules. ";
constexpr const char* kAllowTail =
    "Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more "
    "restrictive than requested.";
constexpr const char* kDenyMixedTail =
    "DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more "
    "restrictive than requested.";
// istiod 1.31 words a DENY with nothing enforceable left like any other DENY with HTTP
// attributes (checked against the real istiod by tests/e2e/test_istiod.sh); only the outcome
// tells them apart.
constexpr const char* kDenyNoEffectTail = kDenyMixedTail;

std::string httpStatus(const std::string& found, const std::string& tail) {
  std::string head = kHttpHead;
  head.replace(head.find("%s"), 2, found);
  return head + tail;
}

TEST(Ambient, EveryHttpAttributeKindIsReported) {
  struct Case {
    std::string field;
    std::string rule;  // one rules[] entry
    std::string path;  // first_l7_field
  };
  auto to = [](const std::string& f) {
    return Case{f, "  - to: [{operation: {" + f + ": [\"x\"]}}]\n",
                "spec.rules[0].to[0].operation." + f};
  };
  auto from = [](const std::string& f, const std::string& v) {
    return Case{f, "  - from: [{source: {" + f + ": [\"" + v + "\"]}}]\n",
                "spec.rules[0].from[0].source." + f};
  };
  const std::vector<Case> cases = {
      to("hosts"),
      to("notHosts"),
      to("methods"),
      to("notMethods"),
      to("paths"),
      to("notPaths"),
      from("remoteIpBlocks", "10.0.0.0/8"),
      from("notRemoteIpBlocks", "10.0.0.0/8"),
      from("requestPrincipals", "*"),
      from("notRequestPrincipals", "*"),
      // Current istiod reports trust domains as HTTP attributes (httpSources in
      // [I] pilot/pkg/serviceregistry/ambient/authorization.go).
      from("trustDomains", "cluster.local"),
      from("notTrustDomains", "cluster.local"),
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.field);
    for (const std::string action : {"ALLOW", "DENY"}) {
      SCOPED_TRACE(action);
      ZtunnelConversion conv =
          convertForZtunnel(policy("  action: " + action + "\n  rules:\n" + c.rule), {});
      EXPECT_EQ(conv.l7_attributes, std::vector<std::string>{c.field});
      EXPECT_EQ(conv.first_l7_field, c.path);
      // A rule made only of an HTTP attribute: ALLOW keeps no rule, DENY keeps nothing
      // enforceable.
      EXPECT_EQ(static_cast<int>(conv.outcome),
                static_cast<int>(action == "ALLOW" ? Outcome::kAllowNoRules
                                                   : Outcome::kDenyNoEffect));
    }
  }
}

TEST(Ambient, L4SourceAndOperationFieldsAreNotHttp) {
  for (const std::string rule :
       {"  - from: [{source: {principals: [\"cluster.local/ns/a/sa/b\"]}}]\n",
        "  - from: [{source: {notPrincipals: [\"*\"]}}]\n",
        "  - from: [{source: {namespaces: [\"a\"], notNamespaces: [\"b\"]}}]\n",
        "  - from: [{source: {serviceAccounts: [\"a/b\"], notServiceAccounts: [\"c\"]}}]\n",
        "  - from: [{source: {ipBlocks: [\"10.0.0.1\"], notIpBlocks: [\"10.0.0.2\"]}}]\n",
        "  - to: [{operation: {ports: [\"8080\"], notPorts: [\"9090\"]}}]\n"}) {
    SCOPED_TRACE(rule);
    ZtunnelConversion conv = convertForZtunnel(policy("  rules:\n" + rule), {});
    EXPECT_EQ(static_cast<int>(conv.outcome), static_cast<int>(Outcome::kAccepted));
    EXPECT_TRUE(conv.l7_attributes.empty());
    EXPECT_EQ(conv.status_message, "");
  }
}

TEST(Ambient, WhenKeysClassifiedLikeIstiod) {
  struct Case {
    std::string key;
    std::string value;
    bool l4;
  };
  const std::vector<Case> cases = {
      // l4WhenAttributes, [I] authorization.go.
      {"source.ip", "10.0.0.1", true},
      {"source.namespace", "shop", true},
      {"source.principal", "cluster.local/ns/shop/sa/a", true},
      {"destination.ip", "10.0.0.2", true},
      {"destination.port", "8080", true},
      // Everything else is an "HTTP attribute" to ztunnel.
      {"request.headers[x-user]", "alice", false},
      {"request.auth.claims[iss]", "https://issuer", false},
      {"request.auth.principal", "https://issuer/sub", false},
      {"source.serviceAccount", "shop/a", false},
      {"source.trustDomain", "cluster.local", false},
      {"connection.sni", "a.example.com", false},
      {"remote.ip", "10.0.0.3", false},
      {"experimental.envoy.filters.network.mysql_proxy[db.table]", "[update]", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    EXPECT_EQ(isL4WhenKey(c.key), c.l4);
    ZtunnelConversion conv = convertForZtunnel(
        policy("  rules:\n  - when: [{key: \"" + c.key + "\", values: [\"" + c.value + "\"]}]\n"),
        {});
    if (c.l4) {
      EXPECT_EQ(static_cast<int>(conv.outcome), static_cast<int>(Outcome::kAccepted));
      EXPECT_TRUE(conv.l7_attributes.empty());
    } else {
      EXPECT_EQ(static_cast<int>(conv.outcome), static_cast<int>(Outcome::kAllowNoRules));
      EXPECT_EQ(conv.l7_attributes, std::vector<std::string>{c.key});
      EXPECT_EQ(conv.first_l7_field, "spec.rules[0].when[0].key");
      EXPECT_EQ(conv.status_message, httpStatus(c.key, kAllowTail));
    }
  }
}

TEST(Ambient, FoundListIsSortedAndUnique) {
  ZtunnelConversion conv = convertForZtunnel(policy(R"(  rules:
  - to: [{operation: {paths: ["/a"]}}]
    when: [{key: "request.headers[x-b]", values: ["1"]}]
  - from: [{source: {trustDomains: ["td"], requestPrincipals: ["*"]}}]
    to: [{operation: {methods: ["POST"], notPaths: ["/b"]}}]
  - when: [{key: "request.headers[x-b]", values: ["2"]}, {key: "remote.ip", values: ["1.2.3.4"]}]
)"),
                                             {});
  const std::vector<std::string> want = {"methods",   "notPaths",  "paths",
                                         "remote.ip", "request.headers[x-b]", "requestPrincipals",
                                         "trustDomains"};
  EXPECT_EQ(conv.l7_attributes, want);
  EXPECT_EQ(conv.first_l7_field, "spec.rules[0].to[0].operation.paths");
  EXPECT_EQ(conv.status_message,
            httpStatus("methods, notPaths, paths, remote.ip, request.headers[x-b], "
                       "requestPrincipals, trustDomains",
                       kAllowTail));
}

// Istio builds the message with fmt.Sprintf; a long attribute list must come through whole.
TEST(Ambient, LongFoundListIsNotTruncated) {
  std::string when;
  std::string found;
  for (int i = 0; i < 40; ++i) {
    std::string key = "request.headers[x-a-rather-long-header-name-" + std::to_string(100 + i) + "]";
    when += std::string(when.empty() ? "" : ", ") + "{key: \"" + key + "\", values: [\"v\"]}";
    found += std::string(found.empty() ? "" : ", ") + key;
  }
  ZtunnelConversion conv =
      convertForZtunnel(policy("  action: DENY\n  rules:\n  - when: [" + when + "]\n"), {});
  EXPECT_EQ(conv.l7_attributes.size(), 40u);
  EXPECT_EQ(conv.status_message, httpStatus(found, kDenyNoEffectTail));
}

TEST(Ambient, ConvertForZtunnelOutcomes) {
  struct Case {
    std::string name;
    std::string spec;
    std::string annotations;
    bool ambient_dry_run;
    Outcome outcome;
    std::string status;  // exact ZtunnelAccepted message ("" = none)
  };
  const std::string dry_run_msg =
      "found policy \"shop/p\" using dry-run annotation, but support for ambient dry-run "
      "authorizationPolicies isn't enabled";
  const std::string l7_allow = "  selector: {matchLabels: {app: a}}\n  rules:\n"
                               "  - to: [{operation: {methods: [\"GET\"]}}]\n";
  const std::vector<Case> cases = {
      {"L4 ALLOW accepted",
       "  rules:\n  - from: [{source: {principals: [\"cluster.local/ns/a/sa/b\"]}}]\n"
       "    to: [{operation: {ports: [\"8080\"]}}]\n",
       "", false, Outcome::kAccepted, ""},
      {"ALLOW without rules (allow-nothing) is accepted", "  action: ALLOW\n", "", false,
       Outcome::kAccepted, ""},
      {"CUSTOM is not sent",
       "  action: CUSTOM\n  provider: {name: ext-authz}\n  rules:\n"
       "  - to: [{operation: {paths: [\"/admin\"]}}]\n",
       "", false, Outcome::kActionNotSent, "ztunnel does not support the CUSTOM action"},
      {"AUDIT is not sent", "  action: AUDIT\n  rules:\n  - {}\n", "", false,
       Outcome::kActionNotSent, "ztunnel does not support the AUDIT action"},
      {"dry-run true is not sent", l7_allow, "{istio.io/dry-run: \"true\"}", false,
       Outcome::kDryRunNotSent, dry_run_msg},
      {"dry-run True (ParseBool)", l7_allow, "{istio.io/dry-run: \"True\"}", false,
       Outcome::kDryRunNotSent, dry_run_msg},
      {"dry-run 1 (ParseBool)", l7_allow, "{istio.io/dry-run: \"1\"}", false,
       Outcome::kDryRunNotSent, dry_run_msg},
      {"dry-run false is enforced", l7_allow, "{istio.io/dry-run: \"false\"}", false,
       Outcome::kAllowNoRules, httpStatus("methods", kAllowTail)},
      {"dry-run unparsable is enforced", l7_allow, "{istio.io/dry-run: \"yes\"}", false,
       Outcome::kAllowNoRules, httpStatus("methods", kAllowTail)},
      {"dry-run with ambient dry-run enabled is converted", l7_allow,
       "{istio.io/dry-run: \"true\"}", true, Outcome::kAllowNoRules,
       httpStatus("methods", kAllowTail)},
      {"dry-run is checked before targetRefs",
       "  targetRefs: [{kind: Service, group: \"\", name: a}]\n  rules:\n"
       "  - to: [{operation: {methods: [\"GET\"]}}]\n",
       "{istio.io/dry-run: \"true\"}", false, Outcome::kDryRunNotSent, dry_run_msg},
      {"targetRefs is ignored by ztunnel",
       "  targetRefs: [{kind: Service, group: \"\", name: a}]\n  rules:\n"
       "  - to: [{operation: {methods: [\"GET\"]}}]\n",
       "", false, Outcome::kIgnored, ""},
      {"targetRef (singular) is ignored by ztunnel",
       "  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}\n"
       "  action: CUSTOM\n  provider: {name: ext-authz}\n  rules:\n  - {}\n",
       "", false, Outcome::kIgnored, ""},
      {"ALLOW partial: HTTP rule dropped, L4 rule kept",
       "  rules:\n  - to: [{operation: {methods: [\"GET\"]}}]\n"
       "  - from: [{source: {namespaces: [\"front\"]}}]\n",
       "", false, Outcome::kAllowRulesOmitted, httpStatus("methods", kAllowTail)},
      {"ALLOW with HTTP in every rule keeps no rule",
       "  rules:\n  - from: [{source: {namespaces: [\"front\"]}}]\n"
       "    to: [{operation: {paths: [\"/a\"]}}]\n"
       "  - when: [{key: \"request.auth.claims[iss]\", values: [\"x\"]}]\n",
       "", false, Outcome::kAllowNoRules,
       httpStatus("paths, request.auth.claims[iss]", kAllowTail)},
      {"ALLOW trustDomains with principals is dropped whole",
       "  rules:\n  - from: [{source: {principals: [\"*\"], trustDomains: [\"td\"]}}]\n", "",
       false, Outcome::kAllowNoRules, httpStatus("trustDomains", kAllowTail)},
      {"DENY with ports is enforced without HTTP",
       "  action: DENY\n  rules:\n"
       "  - to: [{operation: {methods: [\"GET\"], ports: [\"8080\"]}}]\n",
       "", false, Outcome::kDenyWithoutHttp, httpStatus("methods", kDenyMixedTail)},
      {"DENY with L4 source and HTTP when-clause is a no-op",
       "  action: DENY\n  rules:\n  - from: [{source: {notNamespaces: [\"shop\"]}}]\n"
       "    when: [{key: \"request.headers[x]\", values: [\"1\"]}]\n",
       "", false, Outcome::kDenyNoEffect, httpStatus("request.headers[x]", kDenyNoEffectTail)},
      {"DENY spec §3.7 Example B is a no-op",
       R"(  action: DENY
  rules:
  - from: [{source: {notNamespaces: ["shop"]}}]
    to:   [{operation: {methods: ["POST","PUT","DELETE"], paths: ["/admin/*"]}}]
    when: [{key: "request.headers[x-internal]", notValues: ["true"]}]
)",
       "", false, Outcome::kDenyNoEffect,
       httpStatus("methods, paths, request.headers[x-internal]", kDenyNoEffectTail)},
      {"DENY with an empty rule {} keeps a match-all group",
       "  action: DENY\n  rules:\n  - {}\n  - to: [{operation: {paths: [\"/a\"]}}]\n", "", false,
       Outcome::kDenyWithoutHttp, httpStatus("paths", kDenyMixedTail)},
      {"DENY with only an empty rule {} is accepted", "  action: DENY\n  rules:\n  - {}\n", "",
       false, Outcome::kAccepted, ""},
      {"DENY: a later L4 rule stays effective",
       "  action: DENY\n  rules:\n  - to: [{operation: {methods: [\"GET\"]}}]\n"
       "  - from: [{source: {namespaces: [\"evil\"]}}]\n",
       "", false, Outcome::kDenyWithoutHttp, httpStatus("methods", kDenyMixedTail)},
      {"DENY: one to-entry with ports keeps the to-clause",
       "  action: DENY\n  rules:\n"
       "  - to: [{operation: {methods: [\"GET\"]}}, {operation: {ports: [\"80\"]}}]\n",
       "", false, Outcome::kDenyWithoutHttp, httpStatus("methods", kDenyMixedTail)},
      {"DENY: L4 when-clause does not rescue an HTTP when-clause",
       "  action: DENY\n  rules:\n  - when: [{key: destination.port, values: [\"80\"]}, "
       "{key: connection.sni, values: [\"a\"]}]\n",
       "", false, Outcome::kDenyNoEffect, httpStatus("connection.sni", kDenyNoEffectTail)},
      {"DENY trustDomains only is a no-op",
       "  action: DENY\n  rules:\n  - from: [{source: {notTrustDomains: [\"td\"]}}]\n", "",
       false, Outcome::kDenyNoEffect, httpStatus("notTrustDomains", kDenyNoEffectTail)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    rules::MeshSettings mesh;
    mesh.ambient_dry_run = c.ambient_dry_run;
    ZtunnelConversion conv = convertForZtunnel(policy(c.spec, c.annotations), mesh);
    EXPECT_EQ(static_cast<int>(conv.outcome), static_cast<int>(c.outcome));
    EXPECT_EQ(conv.status_message, c.status);
  }
}

// ---------------------------------------------------------------------------------------------
// Waypoints (spec §2)

constexpr const char* kWaypointCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: ns-wp}}
---
apiVersion: v1
kind: Namespace
metadata:
  name: app2
  labels: {istio.io/use-waypoint: shared-all, istio.io/use-waypoint-namespace: infra}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: optout, labels: {istio.io/use-waypoint: none}}
---
apiVersion: v1
kind: Namespace
metadata: {name: plain}
---
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: custom-waypoint, labels: {istio.io/waypoint-for: workload}}
spec: {controllerName: istio.io/mesh-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio}
spec: {controllerName: istio.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ns-wp, namespace: app}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status: {addresses: [{value: 10.0.0.1}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: svc-wp, namespace: app}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status: {addresses: [{value: 10.0.0.2}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: not-ready, namespace: app}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status: {conditions: [{type: Programmed, status: "False"}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: manifest-only, namespace: app}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress, namespace: app}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
status: {addresses: [{value: 10.0.0.3}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: wl-wp, namespace: app, labels: {istio.io/waypoint-for: workload}}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.4}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: all-wp, namespace: app, labels: {istio.io/waypoint-for: all}}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.5}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: none-wp, namespace: app, labels: {istio.io/waypoint-for: none}}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.6}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: class-wp, namespace: app}
spec: {gatewayClassName: custom-waypoint}
status: {addresses: [{value: 10.0.0.7}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: class-wp-override, namespace: app, labels: {istio.io/waypoint-for: service}}
spec: {gatewayClassName: custom-waypoint}
status: {addresses: [{value: 10.0.0.8}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared-all, namespace: infra}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE, allowedRoutes: {namespaces: {from: All}}}
status: {addresses: [{value: 10.0.1.1}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared-selector, namespace: infra}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: a}}}}
status: {addresses: [{value: 10.0.1.2}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared-by-name, namespace: infra}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
    allowedRoutes:
      namespaces: {from: Selector, selector: {matchLabels: {kubernetes.io/metadata.name: app}}}
status: {addresses: [{value: 10.0.1.3}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared-same, namespace: infra}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE, allowedRoutes: {namespaces: {from: Same}}}
status: {addresses: [{value: 10.0.1.4}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared-no-hbone, namespace: infra}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
status: {addresses: [{value: 10.0.1.5}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: sandwich
  namespace: infra
  annotations: {ambient.istio.io/waypoint-inbound-binding: PROXY/15088}
spec:
  gatewayClassName: custom-waypoint
  listeners:
  - {name: proxy, port: 15088, protocol: istio.io/PROXY, allowedRoutes: {namespaces: {from: All}}}
status: {addresses: [{value: 10.0.1.6}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: sandwich-by-protocol
  namespace: infra
  labels: {istio.io/waypoint-for: service}
  annotations: {ambient.istio.io/waypoint-inbound-binding: PROXY}
spec:
  gatewayClassName: custom-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE}
  - {name: proxy, port: 15088, protocol: istio.io/PROXY, allowedRoutes: {namespaces: {from: All}}}
status: {addresses: [{value: 10.0.1.7}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: bad-binding
  namespace: infra
  annotations: {ambient.istio.io/waypoint-inbound-binding: TLS/15088}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE, allowedRoutes: {namespaces: {from: All}}}
  - {name: proxy, port: 15088, protocol: istio.io/PROXY}
status: {addresses: [{value: 10.0.1.8}]}
)";

TEST(Ambient, ResolveWaypoint) {
  auto state = stateFromYaml(kWaypointCluster);
  struct Case {
    std::string name;
    std::string ns;
    std::optional<Labels> object;  // nullopt: the namespace only
    TrafficType traffic;
    Status status;
    std::string wp;  // "ns/name" the label resolved to ("" when no label applies)
    bool from_ns_label;
    std::string problem;
  };
  const auto svc = TrafficType::kService;
  const auto wl = TrafficType::kWorkload;
  auto use = [](const std::string& wp) { return labels({{"istio.io/use-waypoint", wp}}); };
  auto use_in = [](const std::string& wp, const std::string& ns) {
    return labels({{"istio.io/use-waypoint", wp}, {"istio.io/use-waypoint-namespace", ns}});
  };
  const std::vector<Case> cases = {
      {"object label wins over namespace label", "app", use("svc-wp"), svc, Status::kBound,
       "app/svc-wp", false, ""},
      {"namespace label applies", "app", labels({{"app", "x"}}), svc, Status::kBound, "app/ns-wp",
       true, ""},
      {"namespace only", "app", std::nullopt, svc, Status::kBound, "app/ns-wp", true, ""},
      {"object none: no fallback to the namespace", "app", use("none"), svc, Status::kOptedOut,
       "", false, ""},
      {"namespace none", "optout", std::nullopt, svc, Status::kOptedOut, "", true, ""},
      {"no label anywhere", "plain", labels({}), svc, Status::kNoLabel, "", false, ""},
      {"not found", "app", use("missing"), svc, Status::kNotFound, "app/missing", false,
       "waypoint \"app/missing\" is not ready"},
      {"not ready: status without addresses", "app", use("not-ready"), svc, Status::kNotReady,
       "app/not-ready", false, "waypoint \"app/not-ready\" is not ready"},
      {"not a waypoint class", "app", use("ingress"), svc, Status::kNotAWaypoint, "app/ingress",
       false, "Gateway \"app/ingress\" is not a waypoint (gatewayClassName is not istio-waypoint)"},
      {"use-waypoint-namespace on the object", "app", use_in("shared-all", "infra"), svc,
       Status::kBound, "infra/shared-all", false, ""},
      {"use-waypoint-namespace on the namespace", "app2", std::nullopt, svc, Status::kBound,
       "infra/shared-all", true, ""},
      {"use-waypoint-namespace is read from the same object only", "app2", use("shared-all"), svc,
       Status::kNotFound, "app2/shared-all", false, "waypoint \"app2/shared-all\" is not ready"},
      {"cross-namespace Same", "app", use_in("shared-same", "infra"), svc,
       Status::kAttachmentDenied, "infra/shared-same", false,
       "we are not permitted to attach to waypoint \"infra/shared-same\" (missing "
       "allowedRoutes?)"},
      {"cross-namespace Selector matches", "team-a", use_in("shared-selector", "infra"), svc,
       Status::kBound, "infra/shared-selector", false, ""},
      {"cross-namespace Selector does not match", "app", use_in("shared-selector", "infra"), svc,
       Status::kAttachmentDenied, "infra/shared-selector", false,
       "we are not permitted to attach to waypoint \"infra/shared-selector\" (missing "
       "allowedRoutes?)"},
      {"cross-namespace Selector on kubernetes.io/metadata.name", "app",
       use_in("shared-by-name", "infra"), svc, Status::kBound, "infra/shared-by-name", false, ""},
      {"cross-namespace without an HBONE listener is Same", "app",
       use_in("shared-no-hbone", "infra"), svc, Status::kAttachmentDenied,
       "infra/shared-no-hbone", false,
       "we are not permitted to attach to waypoint \"infra/shared-no-hbone\" (missing "
       "allowedRoutes?)"},
      // The inbound-binding annotation is "<protocol>[/<port>]" and picks the listener by port,
      // or the istio.io/PROXY listener; otherwise the HBONE listener decides
      // ([I] waypoints.go makeInboundBinding / findBoundListener / makeAllowedRoutes).
      {"inbound binding by port", "app", use_in("sandwich", "infra"), wl, Status::kBound,
       "infra/sandwich", false, ""},
      {"inbound binding by protocol", "app", use_in("sandwich-by-protocol", "infra"), svc,
       Status::kBound, "infra/sandwich-by-protocol", false, ""},
      {"invalid inbound binding falls back to HBONE", "app", use_in("bad-binding", "infra"), svc,
       Status::kBound, "infra/bad-binding", false, ""},
      {"waypoint-for default is service", "app", use("svc-wp"), wl,
       Status::kUnsupportedTrafficType, "app/svc-wp", false,
       "attempting to bind to traffic type \"workload\" which the waypoint \"app/svc-wp\" does "
       "not support"},
      {"waypoint-for workload: service traffic", "app", use("wl-wp"), svc,
       Status::kUnsupportedTrafficType, "app/wl-wp", false,
       "attempting to bind to traffic type \"service\" which the waypoint \"app/wl-wp\" does not "
       "support"},
      {"waypoint-for workload: workload traffic", "app", use("wl-wp"), wl, Status::kBound,
       "app/wl-wp", false, ""},
      {"waypoint-for all: service", "app", use("all-wp"), svc, Status::kBound, "app/all-wp", false,
       ""},
      {"waypoint-for all: workload", "app", use("all-wp"), wl, Status::kBound, "app/all-wp", false,
       ""},
      {"waypoint-for none: service", "app", use("none-wp"), svc, Status::kUnsupportedTrafficType,
       "app/none-wp", false,
       "attempting to bind to traffic type \"service\" which the waypoint \"app/none-wp\" does "
       "not support"},
      {"waypoint-for none: workload", "app", use("none-wp"), wl, Status::kUnsupportedTrafficType,
       "app/none-wp", false,
       "attempting to bind to traffic type \"workload\" which the waypoint \"app/none-wp\" does "
       "not support"},
      {"GatewayClass label fallback: service", "app", use("class-wp"), svc,
       Status::kUnsupportedTrafficType, "app/class-wp", false,
       "attempting to bind to traffic type \"service\" which the waypoint \"app/class-wp\" does "
       "not support"},
      {"GatewayClass label fallback: workload", "app", use("class-wp"), wl, Status::kBound,
       "app/class-wp", false, ""},
      {"Gateway label overrides the GatewayClass label", "app", use("class-wp-override"), svc,
       Status::kBound, "app/class-wp-override", false, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    WaypointBinding b =
        resolveWaypoint(*state, c.ns, c.object ? &*c.object : nullptr, c.traffic);
    EXPECT_EQ(static_cast<int>(b.status), static_cast<int>(c.status));
    EXPECT_EQ(b.bound(), c.status == Status::kBound);
    EXPECT_EQ(b.ns.empty() ? "" : b.ns + "/" + b.name, c.wp);
    EXPECT_EQ(b.from_namespace_label, c.from_ns_label);
    EXPECT_EQ(b.problem(), c.problem);
    EXPECT_FALSE(b.readiness_unknown);
  }
}

TEST(Ambient, ResolveWaypointReadinessUnknown) {
  auto state = stateFromYaml(kWaypointCluster);
  const Labels svc = labels({{"istio.io/use-waypoint", "manifest-only"}});
  WaypointBinding b = resolveWaypoint(*state, "app", &svc, TrafficType::kService);
  EXPECT_TRUE(b.bound());  // a manifest never applied: trust it, but say so
  EXPECT_TRUE(b.readiness_unknown);
  ASSERT_NE(b.gateway, nullptr);
  EXPECT_EQ(b.gateway->name, "manifest-only");
}

TEST(Ambient, WaypointHelpers) {
  auto state = stateFromYaml(kWaypointCluster);
  const Gateway* class_wp = state->find<Gateway>("app", "class-wp");
  const Gateway* ingress = state->find<Gateway>("app", "ingress");
  const Gateway* ns_wp = state->find<Gateway>("app", "ns-wp");
  ASSERT_NE(class_wp, nullptr);
  ASSERT_NE(ingress, nullptr);
  ASSERT_NE(ns_wp, nullptr);
  EXPECT_TRUE(isWaypoint(*state, *ns_wp));
  EXPECT_TRUE(isWaypoint(*state, *class_wp));  // mesh-controller GatewayClass
  EXPECT_FALSE(isWaypoint(*state, *ingress));
  EXPECT_EQ(waypointFor(*state, *ns_wp), "service");
  EXPECT_EQ(waypointFor(*state, *class_wp), "workload");
  EXPECT_TRUE(servesTraffic("all", TrafficType::kWorkload));
  EXPECT_FALSE(servesTraffic("none", TrafficType::kService));
  EXPECT_FALSE(servesTraffic("Service", TrafficType::kService));  // case-sensitive
  EXPECT_EQ(waypointPrincipal(*ns_wp, "cluster.local"), "cluster.local/ns/app/sa/ns-wp");
  Gateway renamed = *ns_wp;
  renamed.service_account = "custom-sa";
  EXPECT_EQ(waypointPrincipal(renamed, "td"), "td/ns/app/sa/custom-sa");
  std::vector<std::string> names;
  for (const Gateway* gw : waypointsIn(*state, "app")) {
    names.push_back(gw->name);
  }
  // Waypoint classes only, not-ready ones excluded, name order.
  EXPECT_EQ(names, (std::vector<std::string>{"all-wp", "class-wp", "class-wp-override",
                                             "manifest-only", "none-wp", "ns-wp", "svc-wp",
                                             "wl-wp"}));
}

// ---------------------------------------------------------------------------------------------
// PeerAuthentication (spec §4)

TEST(Ambient, EffectiveMtls) {
  struct Case {
    std::string name;
    std::string yaml;  // PeerAuthentications (namespaces istio-system and shop)
    Labels workload;
    bool strict;
    std::string mesh, ns_policy, workload_policy;  // names of the chosen policies
  };
  auto pa = [](const std::string& ns, const std::string& name, const std::string& created,
               const std::string& spec) {
    return "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " +
           name + ", namespace: " + ns + ", creationTimestamp: \"" + created + "\"}\nspec: " +
           spec + "\n";
  };
  const Labels app = labels({{"app", "web"}, {"version", "v1"}});
  const std::vector<Case> cases = {
      {"nothing: permissive", "", app, false, "", "", ""},
      {"mesh STRICT", pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}"),
       app, true, "default", "", ""},
      {"oldest mesh policy wins, not the first by name",
       pa("istio-system", "a-strict", "2024-02-01T00:00:00Z", "{mtls: {mode: STRICT}}") +
           pa("istio-system", "z-permissive", "2024-01-01T00:00:00Z",
              "{mtls: {mode: PERMISSIVE}}"),
       app, false, "z-permissive", "", ""},
      {"namespace DISABLE overrides mesh STRICT",
       pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}") +
           pa("shop", "ns", "2024-01-02T00:00:00Z", "{mtls: {mode: DISABLE}}"),
       app, false, "default", "ns", ""},
      {"namespace PERMISSIVE overrides mesh STRICT",
       pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}") +
           pa("shop", "ns", "2024-01-02T00:00:00Z", "{mtls: {mode: PERMISSIVE}}"),
       app, false, "default", "ns", ""},
      {"namespace UNSET inherits mesh STRICT",
       pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}") +
           pa("shop", "ns", "2024-01-02T00:00:00Z", "{mtls: {mode: UNSET}}"),
       app, true, "default", "ns", ""},
      {"namespace STRICT over mesh PERMISSIVE",
       pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: PERMISSIVE}}") +
           pa("shop", "ns", "2024-01-02T00:00:00Z", "{mtls: {mode: STRICT}}"),
       app, true, "default", "ns", ""},
      {"oldest namespace policy wins",
       pa("shop", "a-new", "2024-03-01T00:00:00Z", "{mtls: {mode: PERMISSIVE}}") +
           pa("shop", "b-old", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}"),
       app, true, "", "b-old", ""},
      {"workload DISABLE acts as PERMISSIVE",
       pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}") +
           pa("shop", "web", "2024-01-02T00:00:00Z",
              "{selector: {matchLabels: {app: web}}, mtls: {mode: DISABLE}}"),
       app, false, "default", "", "web"},
      {"workload policy that does not match",
       pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}") +
           pa("shop", "db", "2024-01-02T00:00:00Z",
              "{selector: {matchLabels: {app: db}}, mtls: {mode: DISABLE}}"),
       app, true, "default", "", ""},
      {"workload STRICT over namespace PERMISSIVE",
       pa("shop", "ns", "2024-01-01T00:00:00Z", "{mtls: {mode: PERMISSIVE}}") +
           pa("shop", "web", "2024-01-02T00:00:00Z",
              "{selector: {matchLabels: {app: web}}, mtls: {mode: STRICT}}"),
       app, true, "", "ns", "web"},
      {"workload UNSET inherits",
       pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}") +
           pa("shop", "web", "2024-01-02T00:00:00Z",
              "{selector: {matchLabels: {app: web}}}"),
       app, true, "default", "", "web"},
      {"root-namespace selector policy is ignored",
       pa("istio-system", "root-web", "2024-01-01T00:00:00Z",
          "{selector: {matchLabels: {app: web}}, mtls: {mode: STRICT}}"),
       app, false, "", "", ""},
      {"empty matchLabels is namespace-wide",
       pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}") +
           pa("shop", "empty", "2024-01-02T00:00:00Z",
              "{selector: {matchLabels: {}}, mtls: {mode: PERMISSIVE}}"),
       app, false, "default", "empty", ""},
      {"namespace-wide query ignores workload policies",
       pa("istio-system", "default", "2024-01-01T00:00:00Z", "{mtls: {mode: STRICT}}") +
           pa("shop", "web", "2024-01-02T00:00:00Z",
              "{selector: {matchLabels: {app: web}}, mtls: {mode: DISABLE}}"),
       Labels(), true, "default", "", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(c.yaml);
    EffectiveMtls e = effectiveMtls(*state, "shop", c.workload, rules::MeshSettings{});
    EXPECT_EQ(e.strict, c.strict);
    EXPECT_EQ(e.mesh ? e.mesh->name : "", c.mesh);
    EXPECT_EQ(e.ns_policy ? e.ns_policy->name : "", c.ns_policy);
    EXPECT_EQ(e.workload ? e.workload->name : "", c.workload_policy);
  }
}

TEST(Ambient, EffectiveMtlsInTheRootNamespaceIsTheMeshPolicy) {
  auto state = stateFromYaml(R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: mesh-root}
spec: {mtls: {mode: STRICT}}
)");
  rules::MeshSettings mesh;
  mesh.root_namespace = "mesh-root";
  EffectiveMtls e = effectiveMtls(*state, "mesh-root", Labels(), mesh);
  EXPECT_TRUE(e.strict);
  EXPECT_EQ(e.mesh, e.ns_policy);
  // Under the default root namespace the same policy is just a namespace policy.
  EXPECT_EQ(effectiveMtls(*state, "other", Labels(), rules::MeshSettings{}).mesh, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Scope helpers

TEST(Ambient, HostNamespace) {
  struct Case {
    std::string host;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"reviews", "shop"},
      {"reviews.bookinfo", "bookinfo"},
      {"reviews.bookinfo.svc", "bookinfo"},
      {"reviews.bookinfo.svc.cluster.local", "bookinfo"},
      {"reviews.bookinfo.svc.corp.example", "bookinfo"},
      {"*.bookinfo.svc.cluster.local", "bookinfo"},
      {"*", ""},
      {"", ""},
      {"*reviews", ""},
      {"*.bookinfo", ""},
      {"*.example.com", ""},
      {"www.google.com", ""},
      {"api.example.org", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.host);
    EXPECT_EQ(hostNamespace(c.host, "shop"), c.want);
  }
}

TEST(Ambient, IsMeshVirtualService) {
  struct Case {
    std::vector<std::string> gateways;
    bool mesh;
  };
  const std::vector<Case> cases = {
      {{}, true},
      {{"mesh"}, true},
      {{"istio-system/gw"}, false},
      {{"gw"}, false},
      {{"mesh", "gw"}, true},
      {{"istio-system/gw", "mesh"}, true},
  };
  for (const auto& c : cases) {
    std::string name;
    for (const auto& g : c.gateways) {
      name += g + " ";
    }
    SCOPED_TRACE(name);
    VirtualService vs;
    vs.gateways = c.gateways;
    EXPECT_EQ(isMeshVirtualService(vs), c.mesh);
  }
}

TEST(Ambient, ServicesSelectedByAndNamespacesCovered) {
  auto state = stateFromYaml(R"(
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mall, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web, tier: front}}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {selector: {app: db}}
---
apiVersion: v1
kind: Service
metadata: {name: headless, namespace: shop}
)");
  auto names = [](const std::vector<const Service*>& svcs) {
    std::vector<std::string> out;
    for (const Service* s : svcs) {
      out.push_back(s->name);
    }
    return out;
  };
  EXPECT_EQ(names(servicesSelectedBy(*state, "shop", labels({{"app", "web"}}))),
            std::vector<std::string>{"web"});
  // Pod labels are a superset of the Service selector: keys the Service does not use are fine.
  EXPECT_EQ(names(servicesSelectedBy(*state, "shop", labels({{"app", "web"}, {"version", "v1"}}))),
            std::vector<std::string>{"web"});
  EXPECT_TRUE(servicesSelectedBy(*state, "shop", labels({{"app", "cart"}})).empty());
  EXPECT_TRUE(servicesSelectedBy(*state, "shop", labels({{"team", "x"}})).empty());
  const rules::MeshSettings mesh;
  EXPECT_EQ(ambientNamespacesCovered(*state, "istio-system", mesh),
            (std::vector<std::string>{"mall", "shop"}));
  EXPECT_EQ(ambientNamespacesCovered(*state, "shop", mesh), std::vector<std::string>{"shop"});
  EXPECT_TRUE(ambientNamespacesCovered(*state, "legacy", mesh).empty());
}

TEST(Ambient, SuggestTargetRefs) {
  auto state = stateFromYaml(R"(
apiVersion: v1
kind: Namespace
metadata: {name: bound, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: nswp, labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}}
---
apiVersion: v1
kind: Namespace
metadata:
  name: remote
  labels: {istio.io/use-waypoint: shared, istio.io/use-waypoint-namespace: infra}
---
apiVersion: v1
kind: Namespace
metadata: {name: bare, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: haswp, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bound, labels: {istio.io/use-waypoint: wp}}
spec: {selector: {app: reviews}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: wp, namespace: bound}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.1}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bare}
spec: {selector: {app: reviews}}
---
apiVersion: v1
kind: Service
metadata: {name: ghost, namespace: bare, labels: {istio.io/use-waypoint: gone}}
spec: {selector: {app: ghost}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: haswp}
spec: {selector: {app: reviews}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews-v2, namespace: haswp}
spec: {selector: {app: reviews, version: v2}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: my-wp, namespace: haswp}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.2}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: nswp}
spec: {selector: {app: reviews}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: nswp}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.3}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared, namespace: infra}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE, allowedRoutes: {namespaces: {from: All}}}
status: {addresses: [{value: 10.0.0.4}]}
)");
  struct Case {
    std::string name;
    std::string ns;
    WorkloadSelector selector;
    std::string target_refs;
    bool ready;
    std::string waypoint;
    std::vector<std::string> how;  // fragments
  };
  auto sel = [](std::vector<std::pair<std::string, std::string>> kv) {
    return WorkloadSelector{true, Labels(std::move(kv))};
  };
  const std::string svc_ref = "targetRefs: [{group: \"\", kind: Service, name: reviews}]";
  auto gw_ref = [](const std::string& n) {
    return "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: " + n + "}]";
  };
  const std::vector<Case> cases = {
      {"mesh-wide policy", "istio-system", WorkloadSelector{},
       "targetRefs: [{group: gateway.networking.k8s.io, kind: GatewayClass, name: "
       "istio-waypoint}]",
       true, "", {"every waypoint"}},
      {"one Service bound to a waypoint", "bound", sel({{"app", "reviews"}}), svc_ref, true,
       "bound/wp", {"Service reviews is bound to waypoint bound/wp"}},
      {"one Service, no waypoint yet", "bare", sel({{"app", "reviews"}}), svc_ref, false,
       "bare/waypoint",
       {"istioctl waypoint apply -n bare",
        "kubectl label service reviews -n bare istio.io/use-waypoint=waypoint"}},
      {"one Service bound to a missing waypoint", "bare", sel({{"app", "ghost"}}),
       "targetRefs: [{group: \"\", kind: Service, name: ghost}]", false, "bare/waypoint",
       {"today: waypoint \"bare/gone\" is not ready"}},
      {"one Service, a waypoint exists", "haswp", sel({{"version", "v2"}}),
       "targetRefs: [{group: \"\", kind: Service, name: reviews-v2}]", false, "haswp/my-wp",
       {"kubectl label service reviews-v2 -n haswp istio.io/use-waypoint=my-wp"}},
      {"two Services: the namespace waypoint that exists", "haswp", sel({{"app", "reviews"}}),
       gw_ref("my-wp"), false, "haswp/my-wp",
       {"kubectl label namespace haswp istio.io/use-waypoint=my-wp"}},
      {"namespace-wide, namespace bound", "nswp", WorkloadSelector{}, gw_ref("waypoint"), true,
       "nswp/waypoint", {"namespace nswp uses waypoint nswp/waypoint"}},
      {"namespace-wide, bound across namespaces", "remote", WorkloadSelector{}, gw_ref("shared"),
       true, "infra/shared", {"create the policy in infra"}},
      {"namespace-wide, nothing yet", "bare", WorkloadSelector{}, gw_ref("waypoint"), false,
       "bare/waypoint", {"istioctl waypoint apply -n bare --enroll-namespace"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TargetRefSuggestion s = suggestTargetRefs(*state, c.ns, c.selector, rules::MeshSettings{});
    EXPECT_EQ(s.target_refs, c.target_refs);
    EXPECT_EQ(s.waypoint_ready, c.ready);
    EXPECT_EQ(s.waypoint, c.waypoint);
    for (const auto& fragment : c.how) {
      EXPECT_NE(s.how.find(fragment), std::string::npos) << s.how;
    }
  }
}

}  // namespace
}  // namespace ambient_guard::ambient
