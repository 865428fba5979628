// request-authentication-needs-waypoint: selector and namespace-wide RequestAuthentications in
// ambient namespaces are ignored (rules/request_authentication_needs_waypoint.h).
#include "rules/request_authentication_needs_waypoint.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::checkNamespace;
using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::reviewWrite;

constexpr const char* kId = "request-authentication-needs-waypoint";

const std::string kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mixed, labels: {istio-injection: enabled, istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: bookinfo}
spec: {selector: {app: productpage}}
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: legacy}
spec: {selector: {app: productpage}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.9}]}
)";

std::string ra(const std::string& ns, const std::string& spec) {
  return "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, "
         "namespace: " +
         ns + "}\nspec:\n" + (spec.empty() ? "" : spec + "\n") +
         "  jwtRules: [{issuer: \"https://issuer.example.com\", jwksUri: "
         "\"https://issuer.example.com/jwks\"}]\n";
}

TEST(RequestAuthenticationNeedsWaypoint, Writes) {
  struct Case {
    std::string name;
    std::string object;
    size_t findings;
    std::string field;
    std::string contains;
  };
  const std::vector<Case> cases = {
      {"selector in an ambient namespace",
       ra("bookinfo", "  selector: {matchLabels: {app: productpage}}"), 1, "spec.selector",
       "targetRefs: [{group: \"\", kind: Service, name: productpage}]"},
      {"namespace-wide in an ambient namespace", ra("bookinfo", ""), 1, "spec",
       "Gateway, name: waypoint"},
      {"mesh-wide in the root namespace", ra("istio-system", ""), 1, "spec",
       "GatewayClass, name: istio-waypoint"},
      {"root-namespace selector matching an ambient Service",
       ra("istio-system", "  selector: {matchLabels: {app: productpage}}"), 1, "spec.selector",
       "ambient namespace bookinfo"},
      // Look-alikes that are fine.
      {"targetRefs to a waypoint Service",
       ra("bookinfo", "  targetRefs: [{group: \"\", kind: Service, name: productpage}]"), 0, "",
       ""},
      {"ingress gateway pods (classic label)",
       ra("bookinfo", "  selector: {matchLabels: {istio: ingressgateway}}"), 0, "", ""},
      {"Gateway API gateway pods",
       ra("bookinfo",
          "  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: public}}"),
       0, "", ""},
      {"sidecar namespace", ra("legacy", "  selector: {matchLabels: {app: productpage}}"), 0, "",
       ""},
      {"ambient label but the sidecar wins", ra("mixed", ""), 0, "", ""},
      {"root-namespace selector matching only sidecar Services",
       ra("istio-system", "  selector: {matchLabels: {app: other}}"), 0, "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(kCluster, c.object, kId);
    ASSERT_EQ(findings.size(), c.findings);
    if (c.findings == 1) {
      const Finding& f = findings[0];
      EXPECT_EQ(f.action, Action::kDeny);
      EXPECT_EQ(f.field, c.field);
      EXPECT_NE(f.message.find("fail-open"), std::string::npos) << f.message;
      EXPECT_NE(f.message.find("https://issuer.example.com"), std::string::npos) << f.message;
      EXPECT_NE(f.message.find(c.contains), std::string::npos) << f.message;
      EXPECT_EQ(f.summary.rfind("[request-authentication-needs-waypoint] ", 0), 0u);
    }
  }
}

TEST(RequestAuthenticationNeedsWaypoint, NeedsWaypointWhenNoneServes) {
  // bookinfo has a waypoint but productpage is not bound: the fix needs the binding first.
  auto f = reviewWrite(kCluster, ra("bookinfo", "  selector: {matchLabels: {app: productpage}}"),
                       kId);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].needs_waypoint);
  auto bound = reviewWrite(docs({kCluster, R"(
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: productpage}}
)"}),
                           ra("bookinfo", "  selector: {matchLabels: {app: productpage}}"), kId);
  ASSERT_EQ(bound.size(), 1u);
  EXPECT_FALSE(bound[0].needs_waypoint);
  EXPECT_EQ(bound[0].action, Action::kDeny);  // still ignored: a waypoint alone does not help
}

TEST(RequestAuthenticationNeedsWaypoint, EnrollmentAndCheck) {
  const std::string cluster =
      docs({kCluster, ra("legacy", "  selector: {matchLabels: {app: productpage}}")});
  // Enrolling legacy into ambient makes the existing policy ineffective.
  const std::string enroll = R"(apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio.io/dataplane-mode: ambient}})";
  auto findings = reviewWrite(cluster, enroll, kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_FALSE(findings[0].pre_existing);
  EXPECT_EQ(findings[0].object.str(), "RequestAuthentication legacy/jwt");
  // check evaluates legacy as if enrolled.
  EXPECT_EQ(checkNamespace(cluster, "legacy", kId).size(), 1u);
}

}  // namespace
}  // namespace ambient_guard::rules

namespace ambient_guard::rules {
namespace {

// With the targetRefs twin `ambient-guard translate` writes (bound to a ready waypoint), the
// selector RequestAuthentication no longer blocks enrollment: delete it right after the restart.
TEST(RequestAuthenticationNeedsWaypoint, TwinLetsTheNamespaceEnroll) {
  const std::string twin = R"(
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt-waypoint
  namespace: bookinfo
  annotations: {ambient-guard.io/translated-from: jwt}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  jwtRules: [{issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks"}]
)";
  const std::string original = ra("bookinfo", "  selector: {matchLabels: {app: productpage}}");
  auto with_twin = checkNamespace(docs({kCluster, original, twin}), "bookinfo", kId);
  ASSERT_EQ(with_twin.size(), 1u);
  EXPECT_EQ(with_twin[0].action, Action::kWarn);
  EXPECT_NE(with_twin[0].message.find("delete jwt right after the pods restart"),
            std::string::npos)
      << with_twin[0].message;
  auto without = checkNamespace(docs({kCluster, original}), "bookinfo", kId);
  ASSERT_EQ(without.size(), 1u);
  EXPECT_EQ(without[0].action, Action::kDeny);
}

}  // namespace
}  // namespace ambient_guard::rules
