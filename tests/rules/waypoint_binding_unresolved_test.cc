// waypoint-binding-unresolved: Services bound to a waypoint that cannot serve them
// (rules/waypoint_binding_unresolved.h).
#include "rules/waypoint_binding_unresolved.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::brief;
using ::ambient_guard::testing::checkNamespace;
using ::ambient_guard::testing::reviewWrite;

constexpr const char* kId = "waypoint-binding-unresolved";

const std::string kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: workload-only, namespace: shop, labels: {istio.io/waypoint-for: workload}}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.10}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: starting, namespace: shop}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {conditions: [{type: Programmed, status: "False", reason: Pending}]}
)";

std::string service(const std::string& ns, const std::string& name, const std::string& wp) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns +
         (wp.empty() ? std::string() : ", labels: {istio.io/use-waypoint: " + wp + "}") +
         "}\nspec: {selector: {app: " + name + "}, ports: [{port: 80}]}\n";
}

TEST(WaypointBindingUnresolved, ServiceWrites) {
  struct Case {
    std::string name;
    std::string ns;
    std::string waypoint;
    std::string contains;  // "" when nothing is reported
  };
  const std::vector<Case> cases = {
      {"bound to a ready service waypoint", "shop", "waypoint", ""},
      {"no label", "shop", "", ""},
      {"opted out", "shop", "none", ""},
      {"not an ambient namespace", "legacy", "nope", ""},
      {"missing waypoint", "shop", "nope", "istiod reports: \"waypoint \"shop/nope\" is not ready\""},
      {"waypoint without addresses", "shop", "starting", "waypoint \"shop/starting\" is not ready"},
      {"workload-only waypoint",
       "shop", "workload-only",
       "istiod reports: \"attempting to bind to traffic type \"service\" which the waypoint "
       "\"shop/workload-only\" does not support\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(kCluster, service(c.ns, "reviews", c.waypoint), kId);
    if (c.contains.empty()) {
      EXPECT_TRUE(findings.empty()) << findings.front().message;
      continue;
    }
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].action, Action::kWarn);
    EXPECT_EQ(findings[0].field, "metadata.labels[istio.io/use-waypoint]");
    EXPECT_NE(findings[0].message.find(c.contains), std::string::npos) << findings[0].message;
  }
}

TEST(WaypointBindingUnresolved, CheckReportsEveryServiceOfTheNamespace) {
  const std::string cluster = kCluster + "---\n" + service("shop", "a", "workload-only") +
                              "---\n" + service("shop", "b", "waypoint") + "---\n" +
                              service("shop", "c", "nope");
  EXPECT_EQ(brief(checkNamespace(cluster, "shop", kId)),
            (std::vector<std::string>{
                "warn Service shop/a metadata.labels[istio.io/use-waypoint]",
                "warn Service shop/c metadata.labels[istio.io/use-waypoint]"}));
}

// Weighted waypoint canaries (Istio 1.31): an unusable canary leaves the primary alone, and
// istiod says why only in istio.io/WaypointBound (istio.io docs/ambient/usage/waypoint).
TEST(WaypointBindingUnresolved, IgnoredCanary) {
  auto canary = [](const std::string& name, const std::string& weight) {
    return "apiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\n  namespace: shop\n"
           "  labels: {istio.io/use-waypoint: waypoint, istio.io/use-waypoint-canary: " +
           name + "}\n  annotations: {istio.io/use-waypoint-canary-weight: \"" + weight +
           "\"}\nspec: {selector: {app: reviews}}\n";
  };
  const std::string v2 = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint-v2, namespace: shop}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.11}]}
)";
  struct Case {
    std::string name;
    std::string write;
    std::string field;
    std::string contains;  // "" when nothing is reported
  };
  const std::vector<Case> cases = {
      {"usable canary", canary("waypoint-v2", "5"), "", ""},
      {"weight 100 is valid", canary("waypoint-v2", "100"), "", ""},
      {"weight out of range", canary("waypoint-v2", "101"),
       "metadata.annotations[istio.io/use-waypoint-canary-weight]",
       "istiod reports: \"canary waypoint \"shop/waypoint-v2\" has an invalid weight; must be an "
       "integer in [0,100]\""},
      {"weight not an integer", canary("waypoint-v2", "5%"),
       "metadata.annotations[istio.io/use-waypoint-canary-weight]", "(it is \"5%\")"},
      {"canary is the primary", canary("waypoint", "10"),
       "metadata.labels[istio.io/use-waypoint-canary]",
       "\"canary waypoint \"shop/waypoint\" must differ from the primary waypoint\""},
      {"canary missing", canary("waypoint-v3", "10"),
       "metadata.labels[istio.io/use-waypoint-canary]",
       "sends all traffic through waypoint shop/waypoint"},
      {"canary serves workload traffic only", canary("workload-only", "10"),
       "metadata.labels[istio.io/use-waypoint-canary]",
       "which the waypoint \"shop/workload-only\" does not support"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(kCluster + "---\n" + v2, c.write, kId);
    if (c.contains.empty()) {
      EXPECT_TRUE(findings.empty()) << findings.front().message;
      continue;
    }
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].action, Action::kWarn);
    EXPECT_EQ(findings[0].field, c.field);
    EXPECT_NE(findings[0].message.find(c.contains), std::string::npos) << findings[0].message;
  }
}

}  // namespace
}  // namespace ambient_guard::rules
