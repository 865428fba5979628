// waypoint-in-use: writes to waypoint Gateways and use-waypoint labels that would silently stop
// the enforcement of targetRef'd policies (rules/waypoint_in_use.h).
#include "rules/waypoint_in_use.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::anyMessageHas;
using ::ambient_guard::testing::checkNamespace;
using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::reviewDelete;
using ::ambient_guard::testing::reviewWrite;

constexpr const char* kId = "waypoint-in-use";

const std::string kNs = R"(
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}
)";

const std::string kWaypoint = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status: {addresses: [{value: 10.0.0.9}]}
)";

const std::string kWaypoint2 = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint2, namespace: bookinfo}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status: {addresses: [{value: 10.0.0.10}]}
)";

const std::string kReviewsBound = R"(
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
)";

const std::string kReviewsPlain = R"(
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
)";

const std::string kServicePolicy = R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-get, namespace: bookinfo}
spec:
  targetRefs: [{group: "", kind: Service, name: reviews}]
  rules: [{to: [{operation: {methods: [GET]}}]}]
)";

const std::string kGatewayPolicy = R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: bookinfo}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
)";

struct Case {
  std::string name;
  std::string cluster;
  std::string write;               // object written (CREATE or UPDATE), or
  std::optional<ObjectKey> erase;  // object deleted
  size_t findings = 0;
  std::string object = "";                 // expected finding object
  std::string field = "";                  // expected finding field
  std::vector<std::string> contains = {};  // expected message fragments
};

TEST(WaypointInUse, Writes) {
  const ObjectKey gw{Kind::kGateway, "bookinfo", "waypoint"};
  const std::string bound = docs({kNs, kWaypoint, kReviewsBound, kServicePolicy});
  const std::vector<Case> cases = {
      {"deleting the waypoint a Service-targeted policy depends on", bound, "", gw, 1,
       "Gateway bookinfo/waypoint", "",
       {"Deleting Gateway bookinfo/waypoint", "AuthorizationPolicy bookinfo/reviews-get",
        "targetRefs[0] Service reviews", "Service bookinfo/reviews has no waypoint",
        "\"bookinfo/waypoint\" is not ready"}},
      {"changing the class to a non-waypoint class", bound,
       R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec: {gatewayClassName: istio, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]})",
       std::nullopt, 1, "Gateway bookinfo/waypoint", "spec.gatewayClassName",
       {"from istio-waypoint to istio", "AuthorizationPolicy bookinfo/reviews-get"}},
      {"waypoint-for workload no longer serves the Service", bound,
       R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo, labels: {istio.io/waypoint-for: workload}}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]})",
       std::nullopt, 1, "Gateway bookinfo/waypoint", "metadata.labels[istio.io/waypoint-for]",
       {"from service to workload", "attempting to bind to traffic type \"service\""}},
      {"waypoint-for all still serves the Service", bound,
       R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo, labels: {istio.io/waypoint-for: all}}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]})",
       std::nullopt, 0},
      {"removing use-waypoint from the Service", bound, kReviewsPlain, std::nullopt, 1,
       "Service bookinfo/reviews", "metadata.labels[istio.io/use-waypoint]",
       {"Removing istio.io/use-waypoint=waypoint from Service bookinfo/reviews",
        "AuthorizationPolicy bookinfo/reviews-get"}},
      {"setting use-waypoint none on the Service", bound,
       R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo, labels: {istio.io/use-waypoint: none}}
spec: {selector: {app: reviews}})",
       std::nullopt, 1, "Service bookinfo/reviews", "metadata.labels[istio.io/use-waypoint]",
       {"from waypoint to none"}},
      {"repointing the Service to a missing waypoint", bound,
       R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo, labels: {istio.io/use-waypoint: wp-typo}}
spec: {selector: {app: reviews}})",
       std::nullopt, 1, "Service bookinfo/reviews", "metadata.labels[istio.io/use-waypoint]",
       {"\"bookinfo/wp-typo\" is not ready"}},
      {"repointing to another ready waypoint keeps Service-targeted policies",
       docs({kNs, kWaypoint, kWaypoint2, kReviewsBound, kServicePolicy}),
       R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint2}}
spec: {selector: {app: reviews}})",
       std::nullopt, 0},
      {"repointing drops the old waypoint's Gateway-targeted policies",
       docs({kNs, kWaypoint, kWaypoint2, kReviewsBound, kServicePolicy, kGatewayPolicy}),
       R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint2}}
spec: {selector: {app: reviews}})",
       std::nullopt, 1, "Service bookinfo/reviews", "metadata.labels[istio.io/use-waypoint]",
       {"AuthorizationPolicy bookinfo/deny-admin", "Gateway bookinfo/waypoint",
        "uses waypoint bookinfo/waypoint2 instead"}},
      {"an unrelated label change on the Service", bound,
       R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo,
           labels: {istio.io/use-waypoint: waypoint, team: books}}
spec: {selector: {app: reviews}})",
       std::nullopt, 0},
      {"deleting the Service itself", bound, "",
       ObjectKey{Kind::kService, "bookinfo", "reviews"}, 0},
      {"creating a waypoint", docs({kNs, kReviewsBound, kServicePolicy}), kWaypoint,
       std::nullopt, 0},
      {"deleting a waypoint nothing targets (selector policies only)",
       docs({kNs, kWaypoint, kReviewsBound, R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: l4, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: reviews}}
  rules: [{from: [{source: {namespaces: [bookinfo]}}]}]
)"}),
       "", gw, 0},
      {"deleting an ingress Gateway that a policy targets",
       docs({kNs, R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress, namespace: bookinfo}
spec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP}]}
status: {addresses: [{value: 203.0.113.1}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ingress-jwt, namespace: bookinfo}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: ingress}]
  rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]
)"}),
       "", ObjectKey{Kind::kGateway, "bookinfo", "ingress"}, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = c.erase ? reviewDelete(c.cluster, *c.erase, kId)
                            : reviewWrite(c.cluster, c.write, kId);
    ASSERT_EQ(findings.size(), c.findings);
    for (const auto& f : findings) {
      EXPECT_EQ(f.action, Action::kDeny);
      EXPECT_FALSE(f.pre_existing);
      EXPECT_EQ(f.object.str(), c.object);
      EXPECT_EQ(f.field, c.field);
      for (const auto& text : c.contains) {
        EXPECT_TRUE(anyMessageHas(findings, text)) << text << "\n" << f.message;
      }
    }
  }
}

TEST(WaypointInUse, NamespaceLabel) {
  const std::string ns_labelled = R"(
apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}
)";
  const std::string ns_unlabelled = kNs;
  struct NsCase {
    std::string name;
    std::string cluster;
    size_t findings;
    std::vector<std::string> contains;
  };
  const std::vector<NsCase> cases = {
      {"removing the namespace label unbinds Services without their own label",
       docs({ns_labelled, kWaypoint, kReviewsPlain, kServicePolicy}), 1,
       {"Removing istio.io/use-waypoint=waypoint from Namespace bookinfo",
        "AuthorizationPolicy bookinfo/reviews-get", "Service bookinfo/reviews has no waypoint"}},
      {"Services with their own label keep their waypoint",
       docs({ns_labelled, kWaypoint, kReviewsBound, kServicePolicy}), 0, {}},
      {"Gateway-targeted policies lose the namespace's Services",
       docs({ns_labelled, kWaypoint, kReviewsPlain, kGatewayPolicy}), 1,
       {"AuthorizationPolicy bookinfo/deny-admin", "targetRefs[0] Gateway bookinfo/waypoint"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(c.cluster, ns_unlabelled, kId);
    ASSERT_EQ(findings.size(), c.findings);
    for (const auto& text : c.contains) {
      EXPECT_TRUE(anyMessageHas(findings, text)) << text << "\n" << findings[0].message;
    }
    if (!findings.empty()) {
      EXPECT_EQ(findings[0].object.str(), "Namespace bookinfo");
      EXPECT_EQ(findings[0].field, "metadata.labels[istio.io/use-waypoint]");
    }
  }
  // Deleting the namespace deletes its policies with it.
  EXPECT_TRUE(reviewDelete(docs({ns_labelled, kWaypoint, kReviewsPlain, kServicePolicy}),
                           ObjectKey{Kind::kNamespace, "", "bookinfo"}, kId)
                  .empty());
}

TEST(WaypointInUse, ListsEveryDependentKind) {
  const std::string cluster = docs({R"(
apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}
)",
                                    kWaypoint, kReviewsPlain, R"(
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: bookinfo}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  jwtRules: [{issuer: "https://issuer.example.com"}]
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: auth, namespace: bookinfo}
spec:
  targetRefs: [{group: "", kind: Service, name: reviews}]
  url: oci://registry.example.com/auth:1
---
# [API] extensions/v1alpha1/traffic_extension.proto's waypoint example (Istio 1.30+).
apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata: {name: reviews-header-logger, namespace: bookinfo}
spec:
  targetRefs: [{kind: Service, name: reviews}]
  match: [{mode: SERVER}]
  phase: STATS
  lua: {inlineCode: "function envoy_on_request(request_handle) end"}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-wide, namespace: istio-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: GatewayClass, name: istio-waypoint}]
  action: DENY
  rules: [{to: [{operation: {methods: [TRACE]}}]}]
)"});
  auto findings = reviewDelete(cluster, ObjectKey{Kind::kGateway, "bookinfo", "waypoint"}, kId);
  ASSERT_EQ(findings.size(), 1u);
  const std::string& m = findings[0].message;
  EXPECT_NE(m.find("4 policies"), std::string::npos) << m;
  EXPECT_NE(m.find("TrafficExtension bookinfo/reviews-header-logger"), std::string::npos) << m;
  EXPECT_NE(m.find("RequestAuthentication bookinfo/jwt"), std::string::npos) << m;
  EXPECT_NE(m.find("WasmPlugin bookinfo/auth"), std::string::npos) << m;
  EXPECT_NE(m.find("AuthorizationPolicy istio-system/mesh-wide (targetRefs[0] GatewayClass "
                   "istio-waypoint"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("for Service bookinfo/reviews"), std::string::npos) << m;
  // waypoint-for defaults to service: the namespace's pods (workload traffic) never used it.
  EXPECT_EQ(m.find("pods of namespace"), std::string::npos) << m;
  EXPECT_NE(findings[0].summary.find("[waypoint-in-use] Gateway bookinfo/waypoint"),
            std::string::npos);
}

TEST(WaypointInUse, WorkloadTraffic) {
  // A waypoint for all traffic also carries pod-addressed traffic of its namespace; narrowing it
  // to service traffic drops Gateway-targeted policies for those pods.
  const std::string cluster = docs({R"(
apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo, labels: {istio.io/waypoint-for: all}}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.9}]}
)",
                                    kGatewayPolicy});
  auto findings = reviewWrite(cluster, R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo, labels: {istio.io/waypoint-for: service}}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.9}]})",
                              kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(anyMessageHas(findings, "from all to service"));
  EXPECT_TRUE(anyMessageHas(findings, "AuthorizationPolicy bookinfo/deny-admin"));
  EXPECT_TRUE(anyMessageHas(findings, "for pods of namespace bookinfo"));
}

TEST(WaypointInUse, CrossNamespaceWaypoint) {
  const std::string cluster = docs({kNs, R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared, namespace: bookinfo}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE, allowedRoutes: {namespaces: {from: All}}}
status: {addresses: [{value: 10.0.0.11}]}
---
apiVersion: v1
kind: Service
metadata:
  name: cart
  namespace: shop
  labels: {istio.io/use-waypoint: shared, istio.io/use-waypoint-namespace: bookinfo}
spec: {selector: {app: cart}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-post, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: cart}]
  rules: [{to: [{operation: {methods: [POST]}}]}]
)"});
  auto findings = reviewDelete(cluster, ObjectKey{Kind::kGateway, "bookinfo", "shared"}, kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(anyMessageHas(findings, "AuthorizationPolicy shop/cart-post"));
  EXPECT_TRUE(anyMessageHas(findings, "Service shop/cart"));
  // A same-named Gateway in another namespace is a different waypoint.
  EXPECT_TRUE(reviewDelete(docs({cluster, R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared, namespace: shop}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.12}]}
)"}),
                           ObjectKey{Kind::kGateway, "shop", "shared"}, kId)
                  .empty());
}

// Weighted waypoint canaries (Istio 1.31), shaped like istio.io docs/ambient/usage/waypoint
// "Shift traffic between waypoints": Service reviews on reviews-svc-waypoint, canary
// reviews-svc-waypoint-v2 with istio.io/use-waypoint-canary-weight.
TEST(WaypointInUse, CanaryWaypoint) {
  const std::string ns = R"(
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}
)";
  auto waypoint = [](const std::string& name, const std::string& ip) {
    return "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: " + name +
           ", namespace: default, labels: {istio.io/waypoint-for: service}}\nspec:\n"
           "  gatewayClassName: istio-waypoint\n"
           "  listeners: [{name: mesh, port: 15008, protocol: HBONE}]\n"
           "status: {addresses: [{value: " + ip + "}]}\n";
  };
  const std::string primary = waypoint("reviews-svc-waypoint", "10.0.0.20");
  const std::string canary = waypoint("reviews-svc-waypoint-v2", "10.0.0.21");
  auto reviews = [](const std::string& canary_label, const std::string& weight) {
    std::string y = "apiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\n"
                    "  namespace: default\n  labels: {istio.io/use-waypoint: reviews-svc-waypoint";
    if (!canary_label.empty()) {
      y += ", istio.io/use-waypoint-canary: " + canary_label;
    }
    y += "}\n";
    if (!weight.empty()) {
      y += "  annotations: {istio.io/use-waypoint-canary-weight: \"" + weight + "\"}\n";
    }
    return y + "spec: {selector: {app: reviews}, ports: [{port: 9080}]}\n";
  };
  const std::string service_policy = R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-get, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: reviews}]
  rules: [{to: [{operation: {methods: [GET]}}]}]
)";
  // A policy on the primary Gateway only: the doc's "applies only to that waypoint".
  const std::string gateway_policy = R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: reviews-svc-waypoint}]
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
)";
  const std::string replicated = R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: reviews-svc-waypoint}
  - {group: gateway.networking.k8s.io, kind: Gateway, name: reviews-svc-waypoint-v2}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
)";
  const ObjectKey canary_gw{Kind::kGateway, "default", "reviews-svc-waypoint-v2"};
  const ObjectKey primary_gw{Kind::kGateway, "default", "reviews-svc-waypoint"};
  struct CanaryCase {
    std::string name;
    std::string cluster;
    std::string write;
    std::optional<ObjectKey> erase;
    size_t findings;
    std::string field;
    std::vector<std::string> contains;
  };
  const std::vector<CanaryCase> cases = {
      {"labelling the canary at weight 5 takes 5% off a Gateway-targeted policy",
       docs({ns, primary, canary, reviews("", ""), gateway_policy}),
       reviews("reviews-svc-waypoint-v2", "5"), std::nullopt, 1,
       "metadata.labels[istio.io/use-waypoint-canary]",
       {"Setting istio.io/use-waypoint-canary=reviews-svc-waypoint-v2 on Service default/reviews",
        "AuthorizationPolicy default/deny-admin",
        "sends 5% of new connections through canary waypoint default/reviews-svc-waypoint-v2",
        "replicate these policies on the canary"}},
      {"raising the weight from 0 shifts traffic to the canary",
       docs({ns, primary, canary, reviews("reviews-svc-waypoint-v2", "0"), gateway_policy}),
       reviews("reviews-svc-waypoint-v2", "20"), std::nullopt, 1,
       "metadata.annotations[istio.io/use-waypoint-canary-weight]",
       {"istio.io/use-waypoint-canary-weight on Service default/reviews from 0 to 20"}},
      {"Service-targeted policies apply at both waypoints",
       docs({ns, primary, canary, reviews("", ""), service_policy}),
       reviews("reviews-svc-waypoint-v2", "50"), std::nullopt, 0, "", {}},
      {"a Gateway policy replicated on the canary", docs({ns, primary, canary, reviews("", ""),
                                                          replicated}),
       reviews("reviews-svc-waypoint-v2", "50"), std::nullopt, 0, "", {}},
      {"weight 0 (the default) sends nothing to the canary",
       docs({ns, primary, canary, reviews("", ""), gateway_policy}),
       reviews("reviews-svc-waypoint-v2", ""), std::nullopt, 0, "", {}},
      {"an invalid weight is ignored (CanaryInvalidWeight)",
       docs({ns, primary, canary, reviews("", ""), gateway_policy}),
       reviews("reviews-svc-waypoint-v2", "150"), std::nullopt, 0, "", {}},
      {"a canary that is not ready is ignored",
       docs({ns, primary, reviews("", ""), gateway_policy}),
       reviews("reviews-svc-waypoint-v2", "50"), std::nullopt, 0, "", {}},
      {"deleting the canary returns all traffic to the primary",
       docs({ns, primary, canary, reviews("reviews-svc-waypoint-v2", "50"), service_policy}), "",
       canary_gw, 0, "", {}},
      {"deleting the canary that alone carries a replicated policy's second ref",
       docs({ns, primary, canary, reviews("reviews-svc-waypoint-v2", "50"), replicated}), "",
       canary_gw, 0, "", {}},
      {"deleting the primary drops the canary too",
       docs({ns, primary, canary, reviews("reviews-svc-waypoint-v2", "50"), service_policy}), "",
       primary_gw, 1, "", {"AuthorizationPolicy default/reviews-get", "has no waypoint"}},
      {"weight 100: deleting the canary is a no-op for Service policies; its Gateway policy "
       "was the only one applied",
       docs({ns, primary, canary, reviews("reviews-svc-waypoint-v2", "100"), R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: canary-only, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: reviews-svc-waypoint-v2}]
  action: DENY
  rules: [{to: [{operation: {paths: ["/debug/*"]}}]}]
)"}),
       "", canary_gw, 1, "", {"AuthorizationPolicy default/canary-only",
                             "uses waypoint default/reviews-svc-waypoint"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = c.erase ? reviewDelete(c.cluster, *c.erase, kId)
                            : reviewWrite(c.cluster, c.write, kId);
    ASSERT_EQ(findings.size(), c.findings);
    for (const auto& text : c.contains) {
      EXPECT_TRUE(anyMessageHas(findings, text)) << text << "\n" << findings[0].message;
    }
    if (!findings.empty()) {
      EXPECT_EQ(findings[0].field, c.field);
    }
  }
}

TEST(WaypointInUse, NamespaceCanaryAppliesOnlyToInheritedPrimary) {
  const std::string cluster = docs({R"(
apiVersion: v1
kind: Namespace
metadata:
  name: default
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint-v2, namespace: default}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.10}]}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec: {selector: {app: ratings}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: reviews}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
)"});
  auto findings = reviewWrite(cluster, R"(apiVersion: v1
kind: Namespace
metadata:
  name: default
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint,
           istio.io/use-waypoint-canary: waypoint-v2}
  annotations: {istio.io/use-waypoint-canary-weight: "30"}
)",
                              kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(anyMessageHas(findings, "for Service default/ratings"));
  // reviews sets its own primary, so the namespace canary does not apply to it.
  EXPECT_FALSE(anyMessageHas(findings, "Service default/reviews")) << findings[0].message;
  EXPECT_EQ(findings[0].field, "metadata.labels[istio.io/use-waypoint-canary]");
}

// A Service that names its own canary (istio.io docs/ambient/usage/waypoint#waypoint-canary:
// reviews-svc-waypoint and reviews-svc-waypoint-v2) but sets no weight takes the Namespace's
// istio.io/use-waypoint-canary-weight, so changing the Namespace annotation shifts its traffic
// exactly like annotating the Service would: same decision, and the message names the Services.
TEST(WaypointInUse, NamespaceCanaryWeightShiftsInheritingServices) {
  auto ns = [](const std::string& weight) {
    std::string y = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n"
                    "  labels: {istio.io/dataplane-mode: ambient}\n";
    if (!weight.empty()) {
      y += "  annotations: {istio.io/use-waypoint-canary-weight: \"" + weight + "\"}\n";
    }
    return y;
  };
  auto waypoint = [](const std::string& name, const std::string& ip) {
    return "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: " + name +
           ", namespace: default, labels: {istio.io/waypoint-for: service}}\nspec:\n"
           "  gatewayClassName: istio-waypoint\n"
           "  listeners: [{name: mesh, port: 15008, protocol: HBONE}]\n"
           "status: {addresses: [{value: " + ip + "}]}\n";
  };
  auto service = [](const std::string& name, const std::string& weight) {
    std::string y = "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
                    "\n  namespace: default\n  labels: {istio.io/use-waypoint: "
                    "reviews-svc-waypoint, istio.io/use-waypoint-canary: "
                    "reviews-svc-waypoint-v2}\n";
    if (!weight.empty()) {
      y += "  annotations: {istio.io/use-waypoint-canary-weight: \"" + weight + "\"}\n";
    }
    return y + "spec: {selector: {app: " + name + "}, ports: [{port: 9080}]}\n";
  };
  // A policy on the primary Gateway only ("applies only to that waypoint").
  const std::string gateway_policy = R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: reviews-svc-waypoint}]
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
)";
  const std::string gateways = docs({waypoint("reviews-svc-waypoint", "10.0.0.20"),
                                     waypoint("reviews-svc-waypoint-v2", "10.0.0.21")});
  struct Case {
    std::string name;
    std::string cluster;
    std::string write;
    std::vector<std::string> contains;
    std::vector<std::string> absent;
  };
  const std::vector<Case> cases = {
      {"the Namespace weight moves 30% of an inheriting Service",
       docs({ns(""), gateways, service("reviews", ""), gateway_policy}), ns("30"),
       {"Changing istio.io/use-waypoint-canary-weight on Namespace default from (unset) to 30",
        "AuthorizationPolicy default/deny-admin", "for Service default/reviews",
        "Service default/reviews sends 30% of new connections through canary waypoint "
        "default/reviews-svc-waypoint-v2",
        "replicate these policies on the canary"},
       {}},
      {"the equivalent Service write",
       docs({ns(""), gateways, service("reviews", ""), gateway_policy}),
       service("reviews", "30"),
       {"Changing istio.io/use-waypoint-canary-weight on Service default/reviews from (unset) "
        "to 30",
        "Service default/reviews sends 30% of new connections through canary waypoint "
        "default/reviews-svc-waypoint-v2"},
       {}},
      {"a Service with its own weight is not named",
       docs({ns("0"), gateways, service("reviews", ""), service("ratings", "0"),
             gateway_policy}),
       ns("50"), {"for Service default/reviews"}, {"Service default/ratings"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(c.cluster, c.write, kId);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].action, Action::kDeny);
    EXPECT_EQ(findings[0].field, "metadata.annotations[istio.io/use-waypoint-canary-weight]");
    for (const auto& text : c.contains) {
      EXPECT_TRUE(anyMessageHas(findings, text)) << text << "\n" << findings[0].message;
    }
    for (const auto& text : c.absent) {
      EXPECT_FALSE(anyMessageHas(findings, text)) << text << "\n" << findings[0].message;
    }
  }
  // Allowed like the Service write: a weight of 0, a weight that does not change, and a
  // Gateway policy replicated on the canary.
  EXPECT_TRUE(reviewWrite(docs({ns(""), gateways, service("reviews", ""), gateway_policy}),
                          ns("0"), kId)
                  .empty());
  EXPECT_TRUE(reviewWrite(docs({ns("30"), gateways, service("reviews", "30"), gateway_policy}),
                          ns("30"), kId)
                  .empty());
  // The list of Services is capped: 12 inheriting Services name 10 and count the rest.
  std::string many = docs({ns(""), gateways, gateway_policy});
  for (int i = 0; i < 12; ++i) {
    many += docs({service("svc" + std::string(i < 10 ? "0" : "") + std::to_string(i), "")});
  }
  auto findings = reviewWrite(many, ns("30"), kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(anyMessageHas(findings, "Service default/svc09 and 2 more)"))
      << findings[0].message;
  EXPECT_TRUE(anyMessageHas(findings, "; and 2 more.")) << findings[0].message;
  EXPECT_FALSE(anyMessageHas(findings, "default/svc10")) << findings[0].message;
}

// Egress waypoints: a ServiceEntry bound with istio.io/use-waypoint and a policy that targets it
// (istio.io docs/ambient/usage/egress-gateway).
TEST(WaypointInUse, ServiceEntryEgressWaypoint) {
  const std::string cluster = docs({R"(
apiVersion: v1
kind: Namespace
metadata: {name: istio-egress, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: istio-egress}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.30}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin, namespace: istio-egress}
spec:
  targetRefs: [{kind: ServiceEntry, group: networking.istio.io, name: httpbin.org}]
  action: ALLOW
  rules: [{to: [{operation: {methods: [GET]}}]}]
)"});
  const std::string bound = R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: httpbin.org
  namespace: istio-egress
  labels: {istio.io/use-waypoint: waypoint}
spec:
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
)";
  const std::string unbound = R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin.org, namespace: istio-egress}
spec:
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
)";
  auto findings = reviewWrite(docs({cluster, bound}), unbound, kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].object.str(), "ServiceEntry istio-egress/httpbin.org");
  EXPECT_EQ(findings[0].field, "metadata.labels[istio.io/use-waypoint]");
  EXPECT_TRUE(anyMessageHas(findings, "Removing istio.io/use-waypoint=waypoint from ServiceEntry "
                                      "istio-egress/httpbin.org"));
  EXPECT_TRUE(anyMessageHas(findings, "targetRefs[0] ServiceEntry httpbin.org"));
  auto deleted =
      reviewDelete(docs({cluster, bound}), ObjectKey{Kind::kGateway, "istio-egress", "waypoint"},
                   kId);
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_TRUE(anyMessageHas(deleted, "ServiceEntry istio-egress/httpbin.org has no waypoint"));
  // Deleting the ServiceEntry itself takes its traffic away too: nothing left to protect.
  EXPECT_TRUE(reviewDelete(docs({cluster, bound}),
                           ObjectKey{Kind::kServiceEntry, "istio-egress", "httpbin.org"}, kId)
                  .empty());
}

TEST(WaypointInUse, NothingInCheck) {
  // `check` has no write: a dangling targetRef is targetref-unresolved's, not this rule's.
  const std::string cluster = docs({kNs, kReviewsBound, kServicePolicy});
  EXPECT_TRUE(checkNamespace(cluster, "bookinfo", kId).empty());
  EXPECT_FALSE(checkNamespace(cluster, "bookinfo", "targetref-unresolved").empty());
}

}  // namespace
}  // namespace ambient_guard::rules
