// l7-policy-without-waypoint additions (rules/l7_policy_without_waypoint_extra.h): trustDomains,
// dry-run without ztunnel support, selectors without labels, and the identity shift behind a
// waypoint.
#include "rules/l7_policy_without_waypoint_extra.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::objectFromYaml;
using ::ambient_guard::testing::ofRule;
using ::ambient_guard::testing::reviewWrite;
using ::ambient_guard::testing::stateFromYaml;

constexpr const char* kId = "l7-policy-without-waypoint";

const std::string kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: reviews}}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec: {selector: {app: ratings}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: legacy, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: reviews}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: legacy}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.19}]}
)";

// Returns an AuthorizationPolicy named p in ns; `spec` is its indented body.
std::string ap(const std::string& ns, const std::string& spec, const std::string& annotations = "") {
  return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\n"
         "  namespace: " +
         ns + "\n" + (annotations.empty() ? "" : "  annotations: " + annotations + "\n") +
         "spec:\n" + spec + "\n";
}

struct Case {
  std::string name;
  std::string object;
  std::vector<std::string> expected;  // "action field" per finding of the rule, in order
  std::string contains;               // in the first finding's message
};

std::vector<std::string> actionsAndFields(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) {
    out.push_back(std::string(actionName(f.action)) + " " + f.field);
  }
  return out;
}

void run(const std::vector<Case>& cases, const std::string& cluster = kCluster) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(cluster, c.object, kId);
    EXPECT_EQ(actionsAndFields(findings), c.expected);
    if (!findings.empty() && !c.contains.empty()) {
      EXPECT_NE(findings[0].message.find(c.contains), std::string::npos) << findings[0].message;
    }
  }
}

TEST(L7PolicyWithoutWaypointExtra, TrustDomainsDroppedSilentlyByIstio131) {
  // istiod 1.31.x does not copy trustDomains/notTrustDomains into the ztunnel policy and writes
  // no status about it (docs/istio-1.31-notes.md §1.3); with no version in the state 1.31 is
  // assumed. (Reported as HTTP attributes after 1.31: l7_policy_without_waypoint_test.cc.)
  run({
      {"ALLOW from trustDomains only",
       ap("bookinfo",
          "  selector: {matchLabels: {app: ratings}}\n"
          "  rules: [{from: [{source: {trustDomains: [partner.example]}}]}]"),
       {"deny spec.rules[0].from[0].source.trustDomains"}, "callers they should admit are denied"},
      {"DENY on notTrustDomains is a no-op at ztunnel",
       ap("bookinfo",
          "  action: DENY\n"
          "  rules: [{from: [{source: {notTrustDomains: [cluster.local]}}]}]"),
       {"deny spec.rules[0].from[0].source.notTrustDomains"},
       "the DENY never fires and the traffic it should block is allowed (fail-open)"},
      {"principals and trustDomains together: the rule keeps the principals, not the domain",
       ap("bookinfo",
          "  selector: {matchLabels: {app: ratings}}\n"
          "  rules: [{from: [{source: {principals: [a/b], trustDomains: [x]}}]}]"),
       {"deny spec.rules[0].from[0].source.trustDomains"},
       "admit callers of every trust domain, less restrictive than written"},
      {"trustDomains on a waypoint (targetRefs) are fine",
       ap("bookinfo",
          "  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n"
          "  rules: [{from: [{source: {trustDomains: [partner.example]}}]}]"),
       {}, ""},
      {"trustDomains in a sidecar namespace are fine",
       ap("legacy", "  rules: [{from: [{source: {trustDomains: [partner.example]}}]}]"), {}, ""},
  });
}

TEST(L7PolicyWithoutWaypointExtra, DryRun) {
  const std::string rules = "  rules: [{from: [{source: {namespaces: [bookinfo]}}]}]";
  run({
      {"dry-run selector policy",
       ap("bookinfo", "  selector: {matchLabels: {app: ratings}}\n" + rules,
          "{istio.io/dry-run: \"true\"}"),
       {"warn metadata.annotations[istio.io/dry-run]"},
       "found policy \"bookinfo/p\" using dry-run annotation, but support for ambient dry-run "
       "authorizationPolicies isn't enabled"},
      {"dry-run namespace-wide, ParseBool spelling", ap("bookinfo", rules, "{istio.io/dry-run: \"T\"}"),
       {"warn metadata.annotations[istio.io/dry-run]"}, "AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY"},
      {"dry-run false is enforced",
       ap("bookinfo", "  selector: {matchLabels: {app: ratings}}\n" + rules,
          "{istio.io/dry-run: \"false\"}"),
       {}, ""},
      {"unparsable dry-run value is enforced",
       ap("bookinfo", "  selector: {matchLabels: {app: ratings}}\n" + rules,
          "{istio.io/dry-run: \"yes\"}"),
       {}, ""},
      {"dry-run on a waypoint (targetRefs)",
       ap("bookinfo", "  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n" + rules,
          "{istio.io/dry-run: \"true\"}"),
       {}, ""},
      {"dry-run in a sidecar namespace", ap("legacy", rules, "{istio.io/dry-run: \"true\"}"), {},
       ""},
  });
  // With istiod's ambient dry-run support on, the policy is sent and nothing is reported.
  auto state = stateFromYaml(kCluster);
  MeshSettings mesh;
  mesh.ambient_dry_run = true;
  Reviewer reviewer(makeDefaultRules(), mesh);
  Change change;
  change.object = objectFromYaml(
      ap("bookinfo", "  selector: {matchLabels: {app: ratings}}\n" + rules,
         "{istio.io/dry-run: \"true\"}"));
  EXPECT_TRUE(ofRule(reviewer.review(*state, change), kId).empty());
}

TEST(L7PolicyWithoutWaypointExtra, EmptySelector) {
  const std::string rules = "  rules: [{from: [{source: {ipBlocks: [10.0.0.0/8]}}]}]";
  run({
      {"selector: {}", ap("bookinfo", "  selector: {}\n" + rules), {"warn spec.selector"},
       "workload selector specified without labels"},
      {"matchLabels: {}", ap("bookinfo", "  selector: {matchLabels: {}}\n" + rules),
       {"warn spec.selector"}, "may attach to no workload"},
      {"no selector is namespace-wide", ap("bookinfo", rules), {}, ""},
      {"empty selector in a sidecar namespace", ap("legacy", "  selector: {}\n" + rules), {}, ""},
      {"empty selector alongside HTTP attributes: both reported",
       ap("bookinfo", "  selector: {}\n  rules: [{to: [{operation: {paths: [/x]}}]}]"),
       {"warn spec.selector", "deny spec.rules[0].to[0].operation.paths"}, ""},
  });
}

TEST(L7PolicyWithoutWaypointExtra, IdentityShiftBehindWaypoint) {
  const std::string wp = "cluster.local/ns/bookinfo/sa/waypoint";
  run({
      {"ALLOW on principals for a Service behind a waypoint",
       ap("bookinfo",
          "  selector: {matchLabels: {app: reviews}}\n"
          "  rules: [{from: [{source: {principals: [cluster.local/ns/bookinfo/sa/productpage]}}]}]"),
       {"warn spec.rules[0].from[0].source.principals"},
       "ztunnel sees the waypoint's identity " + wp},
      {"DENY on namespaces", ap("bookinfo",
                                "  selector: {matchLabels: {app: reviews}}\n  action: DENY\n"
                                "  rules: [{from: [{source: {notNamespaces: [bookinfo]}}]}]"),
       {"warn spec.rules[0].from[0].source.notNamespaces"}, "a DENY stops blocking them"},
      {"serviceAccounts", ap("bookinfo",
                             "  selector: {matchLabels: {app: reviews}}\n"
                             "  rules: [{from: [{source: {serviceAccounts: [productpage]}}]}]"),
       {"warn spec.rules[0].from[0].source.serviceAccounts"}, "Service bookinfo/reviews"},
      {"when source.namespace",
       ap("bookinfo",
          "  selector: {matchLabels: {app: reviews}}\n"
          "  rules: [{when: [{key: source.namespace, values: [frontend]}]}]"),
       {"warn spec.rules[0].when[0].key"}, "source.namespace"},
      {"namespace-wide policy, some Service behind a waypoint",
       ap("bookinfo", "  rules: [{from: [{source: {namespaces: [frontend]}}]}]"),
       {"warn spec.rules[0].from[0].source.namespaces"}, "Service bookinfo/reviews"},
      // Look-alikes that are fine.
      {"Service not behind a waypoint",
       ap("bookinfo",
          "  selector: {matchLabels: {app: ratings}}\n"
          "  rules: [{from: [{source: {principals: [cluster.local/ns/bookinfo/sa/productpage]}}]}]"),
       {}, ""},
      {"documented anti-bypass DENY naming the waypoint",
       ap("bookinfo", "  selector: {matchLabels: {app: reviews}}\n  action: DENY\n"
                      "  rules: [{from: [{source: {notPrincipals: [" + wp + "]}}]}]"),
       {}, ""},
      {"ALLOW of the waypoint's service account",
       ap("bookinfo", "  selector: {matchLabels: {app: reviews}}\n"
                      "  rules: [{from: [{source: {serviceAccounts: [waypoint]}}]}]"),
       {}, ""},
      {"principal prefix matching the waypoint",
       ap("bookinfo", "  selector: {matchLabels: {app: reviews}}\n"
                      "  rules: [{from: [{source: {principals: [cluster.local/ns/bookinfo/*]}}]}]"),
       {}, ""},
      {"any authenticated caller", ap("bookinfo", "  selector: {matchLabels: {app: reviews}}\n"
                                                 "  rules: [{from: [{source: {principals: [\"*\"]}}]}]"),
       {}, ""},
      {"L4 attributes without identities", ap("bookinfo", "  selector: {matchLabels: {app: reviews}}\n"
                                                          "  rules: [{to: [{operation: {ports: [\"9080\"]}}]}]"),
       {}, ""},
      {"waypoint-enforced policy (targetRefs) sees the caller",
       ap("bookinfo", "  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n"
                      "  rules: [{from: [{source: {principals: [cluster.local/ns/x/sa/y]}}]}]"),
       {}, ""},
      {"sidecar namespace", ap("legacy", "  selector: {matchLabels: {app: reviews}}\n"
                                         "  rules: [{from: [{source: {principals: [a/b]}}]}]"),
       {}, ""},
      {"HTTP attributes too: only the L7 finding",
       ap("bookinfo", "  selector: {matchLabels: {app: reviews}}\n"
                      "  rules: [{from: [{source: {principals: [a/b]}}], "
                      "to: [{operation: {methods: [GET]}}]}]"),
       {"deny spec.rules[0].to[0].operation.methods"}, ""},
  });
}

TEST(L7PolicyWithoutWaypointExtra, IdentityShiftNamesTheServiceAccountOverride) {
  const std::string cluster = docs({kCluster, R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: bookinfo
  annotations: {gateway.istio.io/service-account: wp-sa}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.9}]}
)"});
  auto findings = reviewWrite(
      cluster,
      ap("bookinfo", "  selector: {matchLabels: {app: reviews}}\n"
                     "  rules: [{from: [{source: {principals: [cluster.local/ns/x/sa/y]}}]}]"),
      kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_NE(findings[0].message.find("cluster.local/ns/bookinfo/sa/wp-sa"), std::string::npos);
  EXPECT_NE(findings[0].summary.find("cluster.local/ns/bookinfo/sa/wp-sa"), std::string::npos);
}

TEST(L7PolicyWithoutWaypointExtra, IdentityShiftOnServiceWrite) {
  // Binding ratings to the waypoint shifts what an existing L4 policy on ratings sees.
  const std::string cluster = docs({kCluster, ap("bookinfo",
                                                 "  selector: {matchLabels: {app: ratings}}\n"
                                                 "  rules: [{from: [{source: {principals: [a/b]}}]}]")});
  const std::string bind = R"(apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: ratings}})";
  auto findings = reviewWrite(cluster, bind, kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].action, Action::kWarn);
  EXPECT_FALSE(findings[0].pre_existing);
  EXPECT_EQ(findings[0].object.str(), "AuthorizationPolicy bookinfo/p");
  EXPECT_NE(findings[0].message.find("Service bookinfo/ratings"), std::string::npos);
  // The same binding in a sidecar namespace, or for a Service no policy selects: nothing.
  const std::string other = R"(apiVersion: v1
kind: Service
metadata: {name: other, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: other}})";
  EXPECT_TRUE(reviewWrite(cluster, other, kId).empty());
}

TEST(L7PolicyWithoutWaypointExtra, IdentityShiftOnNamespaceWaypoint) {
  // Labelling the namespace with use-waypoint binds its unlabelled Services.
  const std::string cluster = docs({kCluster, ap("bookinfo",
                                                 "  selector: {matchLabels: {app: ratings}}\n"
                                                 "  rules: [{from: [{source: {principals: [a/b]}}]}]")});
  const std::string label = R"(apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint})";
  auto findings = reviewWrite(cluster, label, kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_FALSE(findings[0].pre_existing);
  EXPECT_NE(findings[0].message.find("Service bookinfo/ratings"), std::string::npos);
}

}  // namespace
}  // namespace ambient_guard::rules
