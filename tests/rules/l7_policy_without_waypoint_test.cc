// l7-policy-without-waypoint through the Reviewer: AuthorizationPolicy writes (the three
// ALLOW/DENY effects, CUSTOM/AUDIT, targetRefs, dry-run), demotion when a waypoint serves,
// mesh-wide policies, namespace enrollment, pre-existing marking and deletes.
#include "rules/l7_policy_without_waypoint.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "rules/reviewer.h"
#include "tests/rules/rule_test_util.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using rules::Action;
using testing::createOf;
using testing::deleteOf;
using testing::Expect;
using testing::expectFindings;
using testing::ofRule;
using testing::stateFromYaml;
using testing::updateOf;

constexpr std::string_view kRule = "l7-policy-without-waypoint";

// shop: ambient, no waypoint. mall: ambient, namespace bound to a ready waypoint.
// legacy: sidecars.
constexpr const char* kCluster = R"(
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
metadata: {name: mall, labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{port: 9080, name: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: mall}
spec: {selector: {app: reviews}, ports: [{port: 9080, name: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: legacy}
spec: {selector: {app: reviews}, ports: [{port: 9080, name: http}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: mall}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status: {addresses: [{value: 10.0.0.9}]}
)";

// Returns an AuthorizationPolicy document; `spec` is indented two spaces.
std::string ap(const std::string& ns, const std::string& name, const std::string& spec,
               const std::string& annotations = "") {
  return "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: " +
         name + ", namespace: " + ns +
         (annotations.empty() ? "" : ", annotations: " + annotations) + "}\nspec:\n" + spec;
}

std::string ns(const std::string& name, const std::string& labels) {
  return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + ", labels: " + labels +
         "}\n";
}

const std::string kSelector = "  selector: {matchLabels: {app: reviews}}\n";
// ALLOW whose only rule uses HTTP attributes: ztunnel keeps no rule (deny-all).
const std::string kAllowHttpOnly =
    kSelector +
    "  action: ALLOW\n  rules:\n  - to: [{operation: {methods: [\"GET\"], paths: "
    "[\"/reviews/*\"]}}]\n";
// ALLOW with one HTTP rule and one port rule: the HTTP rule is dropped.
const std::string kAllowPartial = kSelector +
                                  "  rules:\n  - to: [{operation: {methods: [\"GET\"]}}]\n"
                                  "  - to: [{operation: {ports: [\"15021\"]}}]\n";
// DENY whose port survives: enforced without the method (broader).
const std::string kDenyWithPort =
    kSelector +
    "  action: DENY\n  rules:\n"
    "  - to: [{operation: {methods: [\"DELETE\"], ports: [\"9080\"]}}]\n";
// Spec §3.7 Example B: nothing enforceable remains, a no-op.
const std::string kExampleB = R"(  action: DENY
  rules:
  - from: [{source: {notNamespaces: ["shop"]}}]
    to:   [{operation: {methods: ["POST","PUT","DELETE"], paths: ["/admin/*"]}}]
    when: [{key: "request.headers[x-internal]", notValues: ["true"]}]
)";
const std::string kCustom = kSelector +
                            "  action: CUSTOM\n  provider: {name: ext-authz}\n  rules:\n"
                            "  - to: [{operation: {paths: [\"/admin/*\"]}}]\n";

TEST(L7PolicyWithoutWaypoint, PolicyWrites) {
  struct Case {
    std::string name;
    std::string cluster;  // added to kCluster
    std::string write;
    std::vector<Expect> want;
  };
  const std::string svc_ref = "targetRefs: [{group: \"\", kind: Service, name: reviews}]";
  const std::string gw_ref =
      "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]";
  const std::vector<Case> cases = {
      {"ALLOW with only HTTP rules denies everything",
       "",
       ap("shop", "reviews-get", kAllowHttpOnly),
       {{.object = "AuthorizationPolicy shop/reviews-get",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .fragments = {"(selector app=reviews, action ALLOW) is enforced by ztunnel in ambient "
                       "namespace shop",
                       "(found: methods, paths)", "keeps no rule and matches nothing",
                       "every connection to the selected workloads is denied",
                       "istiod reports: \"ztunnel does not support HTTP attributes (found: "
                       "methods, paths). In ambient mode you must use a waypoint proxy to enforce "
                       "HTTP rules. Within an ALLOW policy, rules matching HTTP attributes are "
                       "omitted. This will be more restrictive than requested.\"",
                       "Fix: replace `selector` with `" + svc_ref + "`",
                       "istioctl waypoint apply -n shop"},
         .ns = "shop",
         .needs_waypoint = true,
         .summary = {"ALLOW loses all rules at ztunnel: deny-all"}}}},
      {"ALLOW partial drops the HTTP rule",
       "",
       ap("shop", "p", kAllowPartial),
       {{.object = "AuthorizationPolicy shop/p",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .fragments = {"drops the rules that use them and keeps the others",
                       "Within an ALLOW policy"},
         .absent = {"matches nothing"},
         .summary = {"ALLOW loses its HTTP rules"}}}},
      {"DENY with a port left is enforced without HTTP",
       "",
       ap("shop", "p", kDenyWithPort),
       {{.object = "AuthorizationPolicy shop/p",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .fragments = {"enforces this DENY without its HTTP conditions",
                       "denies more than requested",
                       "DENY policy with HTTP attributes is enforced without the HTTP rules."},
         .summary = {"DENY enforced without HTTP conditions"}}}},
      {"DENY Example B is a no-op",
       "",
       ap("shop", "deny-admin-writes", kExampleB),
       {{.object = "AuthorizationPolicy shop/deny-admin-writes",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .fragments = {"(namespace-wide, action DENY)",
                       "(found: methods, paths, request.headers[x-internal])",
                       "this DENY policy is a no-op", "(fail-open)",
                       "istiod reports: \"ztunnel does not support HTTP attributes (found: methods, paths, "
                       "request.headers[x-internal]). In ambient mode you must use a waypoint "
                       "proxy to enforce HTTP rules. DENY policy with HTTP attributes is enforced "
                       "without the HTTP rules.",
                       "Fix: replace `selector` with `" + gw_ref + "`",
                       "istioctl waypoint apply -n shop --enroll-namespace"},
         .needs_waypoint = true,
         .summary = {"DENY is a no-op at ztunnel (fail-open)"}}}},
      {"trustDomains are dropped silently (no Istio version: 1.31 assumed)",
       "",
       ap("shop", "p", kSelector + "  rules:\n  - from: [{source: {trustDomains: [\"td\"]}}]\n"),
       {{.object = "AuthorizationPolicy shop/p",
         .field = "spec.rules[0].from[0].source.trustDomains",
         .action = Action::kDeny,
         .fragments = {"Istio version unknown", "assuming Istio 1.31.1",
                       "writes no status condition about it", "never matches",
                       "callers they should admit are denied",
                       "principals: [\"<trust-domain>/*\"]"},
         .absent = {"ztunnel does not support HTTP attributes"}}}},
      {"CUSTOM is not enforced (fail-open)",
       "",
       ap("shop", "ext", kCustom),
       {{.object = "AuthorizationPolicy shop/ext",
         .field = "spec.action",
         .action = Action::kDeny,
         .fragments = {"uses action CUSTOM",
                       "the external authorizer \"ext-authz\" is never called",
                       "istiod reports: \"ztunnel does not support the CUSTOM action\""},
         .summary = {"CUSTOM not enforced by ztunnel (fail-open)"}}}},
      {"AUDIT is not sent to ztunnel",
       "",
       ap("shop", "audit", kSelector + "  action: AUDIT\n  rules:\n  - {}\n"),
       {{.object = "AuthorizationPolicy shop/audit",
         .field = "spec.action",
         .action = Action::kDeny,
         .fragments = {"uses action AUDIT", "nothing is audited",
                       "ztunnel does not support the AUDIT action"},
         .summary = {"AUDIT not enforced by ztunnel"}}}},
      {"targetRefs: a waypoint enforces it",
       "",
       ap("shop", "p",
          "  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n  rules:\n"
          "  - to: [{operation: {methods: [\"GET\"]}}]\n"),
       {}},
      {"targetRefs CUSTOM",
       "",
       ap("shop", "p",
          "  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n  action: CUSTOM\n"
          "  provider: {name: ext-authz}\n  rules:\n  - {}\n"),
       {}},
      {"targetRefs dry-run with trustDomains: still the waypoint's",
       "",
       ap("shop", "p",
          "  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n  action: DENY\n"
          "  rules:\n  - from: [{source: {trustDomains: [partner.example]}}]\n"
          "    to: [{operation: {methods: [\"GET\"]}}]\n",
          "{istio.io/dry-run: \"true\"}"),
       {}},
      {"dry-run: not sent at all, a warning on the annotation",
       "",
       ap("shop", "p", kAllowHttpOnly, "{istio.io/dry-run: \"true\"}"),
       {{.object = "AuthorizationPolicy shop/p",
         .field = "metadata.annotations[istio.io/dry-run]",
         .action = Action::kWarn,
         .fragments = {"does not send the policy to ztunnel at all"}}}},
      {"sidecar namespace", "", ap("legacy", "p", kAllowHttpOnly), {}},
      {"namespace the cluster does not have", "", ap("ghost", "p", kAllowHttpOnly), {}},
      {"L4 only",
       "",
       ap("shop", "p", kSelector + "  rules:\n  - to: [{operation: {ports: [\"9080\"]}}]\n"),
       {}},
      {"waypoint serves: ALLOW partial is a warning",
       "",
       ap("mall", "p", kAllowPartial),
       {{.object = "AuthorizationPolicy mall/p",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kWarn,
         .fragments = {"Service reviews is bound to waypoint mall/waypoint"},
         .needs_waypoint = false}}},
      {"waypoint serves: DENY without HTTP is a warning",
       "",
       ap("mall", "p", kDenyWithPort),
       {{.object = "AuthorizationPolicy mall/p",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kWarn,
         .needs_waypoint = false}}},
      {"waypoint serves: DENY no-op is a warning",
       "",
       ap("mall", "p", kExampleB),
       {{.object = "AuthorizationPolicy mall/p",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kWarn,
         .fragments = {"namespace mall uses waypoint mall/waypoint"},
         .needs_waypoint = false}}},
      {"waypoint serves: CUSTOM is a warning",
       "",
       ap("mall", "ext", kCustom),
       {{.object = "AuthorizationPolicy mall/ext",
         .field = "spec.action",
         .action = Action::kWarn}}},
      {"waypoint serves: ALLOW deny-all stays deny",
       "",
       ap("mall", "p", kAllowHttpOnly),
       {{.object = "AuthorizationPolicy mall/p",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .needs_waypoint = false}}},
      {"root-namespace selector policy covers matching ambient namespaces",
       "",
       ap("istio-system", "p", kAllowHttpOnly),
       {{.object = "AuthorizationPolicy istio-system/p",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .fragments = {"(root-namespace selector app=reviews, action ALLOW)",
                       "ambient namespaces mall, shop"}}}},
      // Mesh-wide: only demoted when every covered namespace is served by a waypoint.
      {"mesh-wide DENY no-op with an unserved namespace",
       "",
       ap("istio-system", "p", kExampleB),
       {{.object = "AuthorizationPolicy istio-system/p",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .fragments = {"(mesh-wide: root namespace istio-system, action DENY)",
                       "ambient namespaces mall, shop", "kind: GatewayClass, name: istio-waypoint",
                       "no waypoint serves namespace shop yet"},
         .needs_waypoint = true}}},
      {"mesh-wide DENY no-op, every namespace served",
       ns("shop", "{istio.io/dataplane-mode: none}"),
       ap("istio-system", "p", kExampleB),
       {{.object = "AuthorizationPolicy istio-system/p",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kWarn,
         .fragments = {"ambient namespace mall"},
         .needs_waypoint = false}}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(std::string(kCluster) + "---\n" + c.cluster);
    expectFindings(ofRule(reviewer.review(*state, createOf(c.write)), kRule), c.want, kRule);
  }
}

// source.trustDomains (API since Istio 1.31): istiod 1.31.x drops it from the ztunnel policy
// without a status; istiod after 1.31.1 reports it as an HTTP attribute. The message says which
// release it assumed (docs/istio-1.31-notes.md §1.3).
TEST(L7PolicyWithoutWaypoint, TrustDomainsFollowTheIstioVersion) {
  const std::string istiod =
      "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod, namespace: "
      "istio-system}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: "
      "discovery, image: \"docker.io/istio/pilot:1.31.0\"}\n";
  // The 1.31 release-notes field next to the principals it narrows.
  const std::string allow_mixed =
      kSelector + "  action: ALLOW\n  rules:\n  - from: [{source: {principals: "
                  "[\"*/ns/front/sa/web\"], trustDomains: [\"partner.example\"]}}]\n";
  const std::string deny_only =
      kSelector + "  action: DENY\n  rules:\n  - from: [{source: {notTrustDomains: "
                  "[\"cluster.local\"]}}]\n";
  struct Case {
    std::string name;
    std::string flag;
    std::string extra;
    std::string spec;
    Expect want;
  };
  const std::vector<Case> cases = {
      {"1.31 from istiod's image: ALLOW widened, no status",
       "",
       istiod,
       allow_mixed,
       {.object = "AuthorizationPolicy shop/p",
        .field = "spec.rules[0].from[0].source.trustDomains",
        .action = Action::kDeny,
        .fragments = {"Istio 1.31.0 (image of Deployment istio-system/istiod",
                      "ZtunnelAccepted stays True",
                      "admit callers of every trust domain, less restrictive than written"},
        .absent = {"(found: trustDomains)"}}},
      {"1.31 DENY with only notTrustDomains never fires",
       "1.31.1",
       "",
       deny_only,
       {.object = "AuthorizationPolicy shop/p",
        .field = "spec.rules[0].from[0].source.notTrustDomains",
        .action = Action::kDeny,
        .fragments = {"Istio 1.31.1 (--istio-version 1.31.1)",
                      "the DENY never fires and the traffic it should block is allowed"}}},
      {"after 1.31: reported as an HTTP attribute, the rule dropped",
       "1.32",
       istiod,
       allow_mixed,
       {.object = "AuthorizationPolicy shop/p",
        .field = "spec.rules[0].from[0].source.trustDomains",
        .action = Action::kDeny,
        .fragments = {"(found: trustDomains)", "matches nothing",
                      "istiod reports: \"ztunnel does not support HTTP attributes"},
        .absent = {"writes no status condition"}}},
      {"1.30: not an API field yet",
       "1.30.2",
       "",
       deny_only,
       {.object = "AuthorizationPolicy shop/p",
        .field = "spec.rules[0].from[0].source.notTrustDomains",
        .action = Action::kDeny,
        .fragments = {"is not part of the AuthorizationPolicy API before 1.31"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    rules::MeshSettings mesh;
    mesh.istio_version = c.flag;
    const Reviewer reviewer(rules::makeDefaultRules(), mesh);
    auto state = stateFromYaml(std::string(kCluster) + c.extra);
    expectFindings(ofRule(reviewer.review(*state, createOf(ap("shop", "p", c.spec))), kRule),
                   {c.want}, kRule);
  }
}

// Istio's migration guide keeps the sidecar policies until the pods restart and deletes them
// right after. With a targetRefs twin from `ambient-guard translate` that attaches to a waypoint,
// enrolling is allowed: the original becomes a warning "delete right after the restart".
TEST(L7PolicyWithoutWaypoint, TwinLetsTheNamespaceEnroll) {
  auto twin = [](const std::string& ns) {
    return ap(ns, "reviews-get-waypoint",
              "  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n  action: ALLOW\n"
              "  rules:\n  - to: [{operation: {methods: [\"GET\"], paths: [\"/reviews/*\"]}}]\n",
              "{ambient-guard.io/translated-from: reviews-get}");
  };
  struct Case {
    std::string name;
    std::string ns;
    std::string extra;
    Action action;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"twin on a Service behind a ready waypoint", "mall", twin("mall"), Action::kWarn,
       {"targetRefs twin AuthorizationPolicy mall/reviews-get-waypoint",
        "delete reviews-get right after the pods restart", "plan a maintenance window"}},
      {"twin whose Service has no waypoint yet", "shop", twin("shop"), Action::kDeny,
       {"matches nothing"}},
      {"no twin: the deny-all ALLOW stays denied even behind a waypoint", "mall", "",
       Action::kDeny, {"matches nothing"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(std::string(kCluster) + c.extra +
                               ap(c.ns, "reviews-get", kAllowHttpOnly));
    auto got = ofRule(testing::defaultReviewer().reviewNamespace(*state, c.ns), kRule);
    ASSERT_EQ(got.size(), 1u) << testing::describe(got);
    EXPECT_EQ(got[0].object.str(), "AuthorizationPolicy " + c.ns + "/reviews-get");
    EXPECT_EQ(got[0].action, c.action);
    for (const auto& fragment : c.fragments) {
      EXPECT_NE(got[0].message.find(fragment), std::string::npos) << got[0].message;
    }
  }
}

TEST(L7PolicyWithoutWaypoint, NamespaceChangesAndLifecycle) {
  struct Case {
    std::string name;
    std::string cluster;  // added to kCluster
    std::function<Change()> change;
    std::vector<Expect> want;
  };
  const std::string legacy_get = ap("legacy", "reviews-get", kAllowHttpOnly);
  const std::string shop_get = ap("shop", "reviews-get", kAllowHttpOnly);
  const std::string shop_l4 = ap(
      "shop", "reviews-get", kSelector + "  rules:\n  - to: [{operation: {ports: [\"9080\"]}}]\n");
  const std::string legacy_ns = ns("legacy", "{istio-injection: enabled}");
  const std::string shop_ns = ns("shop", "{istio.io/dataplane-mode: ambient}");
  const std::vector<Case> cases = {
      {"enrolling a namespace that has an HTTP policy",
       legacy_get,
       [&] { return updateOf(legacy_ns, ns("legacy", "{istio.io/dataplane-mode: ambient}")); },
       {{.object = "AuthorizationPolicy legacy/reviews-get",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .fragments = {"ambient namespace legacy"},
         .ns = "legacy",
         .pre_existing = false}}},
      {"enrolling under a mesh-wide no-op DENY",
       ap("istio-system", "deny-admin", kExampleB),
       [&] { return updateOf(legacy_ns, ns("legacy", "{istio.io/dataplane-mode: ambient}")); },
       {{.object = "AuthorizationPolicy istio-system/deny-admin",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .ns = "legacy"}}},
      {"enrolling with istio-injection kept: the sidecar wins",
       legacy_get,
       [&] {
         return updateOf(
             legacy_ns,
             ns("legacy", "{istio-injection: enabled, istio.io/dataplane-mode: ambient}"));
       },
       {}},
      {"unrelated label edit on an ambient namespace: pre-existing",
       shop_get,
       [&] { return updateOf(shop_ns, ns("shop", "{istio.io/dataplane-mode: ambient, team: x}")); },
       {{.object = "AuthorizationPolicy shop/reviews-get",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .ns = "shop",
         .pre_existing = true}}},
      {"re-applying an existing HTTP policy: pre-existing",
       shop_get,
       [&] { return updateOf(shop_get, shop_get); },
       {{.object = "AuthorizationPolicy shop/reviews-get",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .pre_existing = true}}},
      {"an L4 policy gaining HTTP rules: new",
       shop_l4,
       [&] { return updateOf(shop_l4, shop_get); },
       {{.object = "AuthorizationPolicy shop/reviews-get",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .pre_existing = false}}},
      {"a new HTTP policy: new",
       "",
       [&] { return createOf(shop_get); },
       {{.object = "AuthorizationPolicy shop/reviews-get",
         .field = "spec.rules[0].to[0].operation.methods",
         .action = Action::kDeny,
         .pre_existing = false}}},
      {"deleting the HTTP policy", shop_get, [&] { return deleteOf(shop_get); }, {}},
      {"leaving ambient",
       shop_get,
       [&] { return updateOf(shop_ns, ns("shop", "{istio-injection: enabled}")); },
       {}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(std::string(kCluster) + c.cluster);
    expectFindings(ofRule(reviewer.review(*state, c.change()), kRule), c.want, kRule);
  }
}

TEST(L7PolicyWithoutWaypoint, PreflightReviewNamespace) {
  struct Case {
    std::string name;
    std::string cluster;
    std::string ns;
    std::vector<Expect> want;
  };
  const std::string field = "spec.rules[0].to[0].operation.methods";
  const std::vector<Case> cases = {
      {"sidecar namespace evaluated as enrolled",
       ap("legacy", "p", kAllowHttpOnly),
       "legacy",
       {{.object = "AuthorizationPolicy legacy/p", .field = field, .ns = "legacy"}}},
      {"mesh-wide no-op DENY, namespace without waypoint",
       ap("istio-system", "p", kExampleB),
       "shop",
       {{.object = "AuthorizationPolicy istio-system/p",
         .field = field,
         .action = Action::kDeny,
         .fragments = {"ambient namespace shop"},
         .ns = "shop",
         .needs_waypoint = true}}},
      {"mesh-wide no-op DENY, namespace served by a waypoint",
       ap("istio-system", "p", kExampleB),
       "mall",
       {{.object = "AuthorizationPolicy istio-system/p",
         .field = field,
         .action = Action::kWarn,
         .ns = "mall",
         .needs_waypoint = false}}},
      {"root-namespace selector policy",
       ap("istio-system", "p", kAllowHttpOnly),
       "shop",
       {{.object = "AuthorizationPolicy istio-system/p", .field = field, .ns = "shop"}}},
      {"another namespace's policy", ap("mall", "p", kAllowHttpOnly), "shop", {}},
      {"targetRefs policies of the namespace and the root namespace",
       ap("shop", "p",
          "  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n  action: CUSTOM\n"
          "  provider: {name: ext-authz}\n  rules:\n  - {}\n",
          "{istio.io/dry-run: \"true\"}") +
           ap("istio-system", "mesh",
              "  targetRefs: [{group: gateway.networking.k8s.io, kind: GatewayClass, name: "
              "istio-waypoint}]\n  action: DENY\n  rules:\n"
              "  - to: [{operation: {methods: [\"GET\"]}}]\n"),
       "shop",
       {}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(std::string(kCluster) + c.cluster);
    expectFindings(ofRule(reviewer.reviewNamespace(*state, c.ns), kRule), c.want, kRule);
  }
}

}  // namespace
}  // namespace ambient_guard
