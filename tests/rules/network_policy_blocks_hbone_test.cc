// network-policy-blocks-hbone (rules/network_policy_blocks_hbone.h): NetworkPolicy writes and
// namespace enrollment, BLOCKED → deny, PARTIAL → warn naming the waypoint, egress → warn.
#include "rules/network_policy_blocks_hbone.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::anyMessageHas;
using ::ambient_guard::testing::brief;
using ::ambient_guard::testing::checkNamespace;
using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::reviewDelete;
using ::ambient_guard::testing::reviewWrite;

constexpr const char* kId = "network-policy-blocks-hbone";

const std::string kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: shop}
spec:
  template:
    metadata: {labels: {app: frontend}}
    spec: {containers: [{name: fe}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status: {addresses: [{value: 10.96.0.20}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: legacy}
spec:
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api}]}
)";

const std::string kAppPortOnly = R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: 8080}]
)";

TEST(NetworkPolicyBlocksHbone, AppPortOnlyPolicyIsDeniedOnAdmission) {
  const auto findings = reviewWrite(kCluster, kAppPortOnly, kId);
  ASSERT_EQ(brief(findings),
            (std::vector<std::string>{"deny NetworkPolicy shop/web-ingress spec.ingress"}));
  const Finding& f = findings[0];
  EXPECT_EQ(f.ns, "shop");
  EXPECT_FALSE(f.pre_existing);
  EXPECT_NE(f.message.find("isolates Deployment web"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("BLOCKED"), std::string::npos);
  EXPECT_NE(f.message.find("`- port: 15008`"), std::string::npos);
  EXPECT_NE(f.message.find("maybe a NetworkPolicy is blocking HBONE port 15008"), std::string::npos);
  // Rule 9: the port-widening advice names the app port to keep with an AuthorizationPolicy.
  EXPECT_NE(f.message.find("ports: [\"8080\"]"), std::string::npos) << f.message;
  EXPECT_EQ(f.summary.rfind("[network-policy-blocks-hbone] NetworkPolicy shop/web-ingress", 0), 0u);
}

TEST(NetworkPolicyBlocksHbone, WaypointPodsAreReceiversToo) {
  // A deny-all policy isolates every pod, including the waypoint's (its Deployment is not in the
  // backup: the Gateway stands in for it).
  const auto findings = reviewWrite(kCluster, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
)",
                                    kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].action, Action::kDeny);
  EXPECT_NE(findings[0].message.find("Deployment frontend, Deployment web and the pods of waypoint "
                                     "waypoint"),
            std::string::npos)
      << findings[0].message;
  EXPECT_NE(findings[0].message.find("this policy admits nothing"), std::string::npos);
}

TEST(NetworkPolicyBlocksHbone, PartialWarnsWhenTheWaypointIsNotAPeer) {
  const auto findings = reviewWrite(kCluster, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: 8080}, {port: 15008, protocol: TCP}]
)",
                                    kId);
  ASSERT_EQ(brief(findings),
            (std::vector<std::string>{"warn NetworkPolicy shop/web-ingress spec.ingress[0].from"}));
  EXPECT_NE(findings[0].message.find("PARTIAL"), std::string::npos);
  EXPECT_NE(findings[0].message.find("only from pods app=frontend"), std::string::npos);
  EXPECT_NE(findings[0].message.find(
                "Not covered: waypoint shop/waypoint (pods gateway.networking.k8s.io/gateway-name="
                "waypoint)"),
            std::string::npos)
      << findings[0].message;
}

TEST(NetworkPolicyBlocksHbone, PartialNamesWhatIsCovered) {
  const auto findings = reviewWrite(kCluster, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: frontend}}
    - podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: waypoint}}
    ports: [{port: 8080}, {port: 15008}]
)",
                                    kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].action, Action::kWarn);
  EXPECT_TRUE(anyMessageHas(findings, "Covered: waypoint shop/waypoint."));
  EXPECT_FALSE(anyMessageHas(findings, "Not covered"));
}

TEST(NetworkPolicyBlocksHbone, OpenPolicyAndOtherNamespacesPass) {
  struct Case {
    std::string name;
    std::string policy;
  };
  const std::vector<Case> cases = {
      {"15008 from anywhere", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: 8080}]
  - ports: [{port: 15008, protocol: TCP}]
)"},
      {"selects no receiver", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: nothing, namespace: shop}
spec: {podSelector: {matchLabels: {app: none}}, policyTypes: [Ingress]}
)"},
      {"sidecar namespace without HBONE sidecars", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: legacy}
spec: {podSelector: {}, policyTypes: [Ingress]}
)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(reviewWrite(kCluster, c.policy, kId).empty());
  }
}

TEST(NetworkPolicyBlocksHbone, DeletingTheLastIsolatingPolicyPasses) {
  const std::string cluster = docs({kCluster, kAppPortOnly});
  EXPECT_TRUE(
      reviewDelete(cluster, ObjectKey{Kind::kNetworkPolicy, "shop", "web-ingress"}, kId).empty());
}

TEST(NetworkPolicyBlocksHbone, DeletingThePolicyThatAdmittedHboneIsDenied) {
  // Policies add up: without allow-hbone, web-ingress isolates web on 8080 only.
  const std::string cluster = docs({kCluster, kAppPortOnly, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-hbone, namespace: shop}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 15008, protocol: TCP}]}]
)"});
  const auto findings =
      reviewDelete(cluster, ObjectKey{Kind::kNetworkPolicy, "shop", "allow-hbone"}, kId);
  ASSERT_EQ(brief(findings),
            (std::vector<std::string>{"deny NetworkPolicy shop/web-ingress spec.ingress"}));
  EXPECT_FALSE(findings[0].pre_existing);
}

TEST(NetworkPolicyBlocksHbone, UnrelatedEditOfABlockingPolicyIsPreExisting) {
  const std::string cluster = docs({kCluster, kAppPortOnly});
  std::string edited = kAppPortOnly;
  edited.replace(edited.find("namespace: shop}"), 16, "namespace: shop, labels: {team: web}}");
  const auto findings = reviewWrite(cluster, edited, kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(findings[0].pre_existing);
}

TEST(NetworkPolicyBlocksHbone, EnrollmentEvaluatesTheNamespacePolicies) {
  // legacy is a sidecar namespace today; check evaluates it as if enrolled.
  const std::string cluster = docs({kCluster, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-ingress, namespace: legacy}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{ports: [{port: 9000}]}]
)"});
  EXPECT_EQ(brief(checkNamespace(cluster, "legacy", kId)),
            (std::vector<std::string>{"deny NetworkPolicy legacy/api-ingress spec.ingress"}));
  // The admission path: labelling the namespace ambient.
  const auto findings = reviewWrite(cluster, R"(
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio.io/dataplane-mode: ambient}}
)",
                                    kId);
  EXPECT_EQ(brief(findings),
            (std::vector<std::string>{"deny NetworkPolicy legacy/api-ingress spec.ingress"}));
}

TEST(NetworkPolicyBlocksHbone, EgressWithoutHboneWarns) {
  const auto findings = reviewWrite(kCluster, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: fe-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
  - ports: [{port: 53, protocol: UDP}]
)",
                                    kId);
  ASSERT_EQ(brief(findings),
            (std::vector<std::string>{"warn NetworkPolicy shop/fe-egress spec.egress"}));
  EXPECT_TRUE(anyMessageHas(findings, "restricts egress of Deployment frontend"));
}

TEST(NetworkPolicyBlocksHbone, HboneSidecarsOutsideAmbientWarn) {
  const std::string cluster = docs({kCluster, R"(
apiVersion: v1
kind: Pod
metadata:
  name: api-1
  namespace: legacy
  labels: {app: api, networking.istio.io/tunnel: http}
  annotations: {sidecar.istio.io/status: '{}'}
spec: {containers: [{name: api}, {name: istio-proxy}]}
)"});
  const auto findings = reviewWrite(cluster, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-ingress, namespace: legacy}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{ports: [{port: 9000}]}]
)",
                                    kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].action, Action::kWarn);
  EXPECT_TRUE(anyMessageHas(findings, "isolates Deployment api"));
}

TEST(NetworkPolicyBlocksHbone, ServicesStandInWithoutWorkloads) {
  // The webhook's watch has no Deployments or Pods: Services stand in for their pods.
  const std::string cluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}}
)";
  const auto findings = reviewWrite(cluster, kAppPortOnly, kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].action, Action::kDeny);
  EXPECT_TRUE(anyMessageHas(findings, "isolates the pods of Service web"));
}

TEST(NetworkPolicyBlocksHbone, NamedPortsAreCalledOut) {
  const auto findings = reviewWrite(kCluster, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: http}]}]
)",
                                    kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(anyMessageHas(findings, "Named ports never match 15008"));
}

}  // namespace
}  // namespace ambient_guard::rules
