// The webhook's decisions follow the live cluster: the rules review writes against
// StateStore::current() while a KubeWatch keeps it in step with a fake API server, exactly as
// request threads do in `serve --kubeconfig`.
#include <gtest/gtest.h>

#include "rules/reviewer.h"
#include "rules/rule.h"
#include "tests/testlib/testlib.h"
#include "tests/testlib/watch_harness.h"

namespace ambient_guard {
namespace {

using testing::eventually;
using testing::Harness;
using testing::namespaceJson;
constexpr const char* kCluster = testing::kWatchCluster;

class DecisionsFollowTheCluster : public ::testing::Test {
 protected:
  DecisionsFollowTheCluster() : reviewer_(rules::makeDefaultRules(), rules::MeshSettings()) {}

  // Returns the findings of `rule` for creating `yaml` against the current snapshot that deny
  // the write (not pre-existing, action deny).
  std::vector<rules::Finding> denials(const std::string& yaml, std::string_view rule) {
    Change change;
    change.op = Operation::kCreate;
    change.object = testing::objectFromYaml(yaml);
    std::vector<rules::Finding> out;
    for (auto& f : reviewer_.review(*h_.state(), change)) {
      if (f.rule == rule && f.action == rules::Action::kDeny && !f.pre_existing) {
        out.push_back(std::move(f));
      }
    }
    return out;
  }
  std::vector<rules::Finding> warnings(const std::string& yaml, std::string_view rule) {
    Change change;
    change.op = Operation::kCreate;
    change.object = testing::objectFromYaml(yaml);
    std::vector<rules::Finding> out;
    for (auto& f : reviewer_.review(*h_.state(), change)) {
      if (f.rule == rule && f.action == rules::Action::kWarn) {
        out.push_back(std::move(f));
      }
    }
    return out;
  }

  Harness h_;
  Reviewer reviewer_;
};

constexpr const char* kPeerAuthDisable = R"(apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: legacy-plaintext, namespace: shop}
spec: {mtls: {mode: DISABLE}}
)";

TEST_F(DecisionsFollowTheCluster, LabellingANamespaceAmbientDeniesPeerAuthenticationDisable) {
  h_.server.applyYaml(kCluster);
  h_.start();
  ASSERT_TRUE(h_.ready());
  EXPECT_TRUE(denials(kPeerAuthDisable, "peer-authentication-disable").empty());

  h_.server.apply(namespaceJson(
      "shop", {{"kubernetes.io/metadata.name", "shop"}, {"istio.io/dataplane-mode", "ambient"}}));
  ASSERT_TRUE(eventually([&] {
    const Namespace* n = h_.state()->findNamespace("shop");
    return n != nullptr && n->labels.has("istio.io/dataplane-mode");
  }));
  auto denied = denials(kPeerAuthDisable, "peer-authentication-disable");
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].object.name, "legacy-plaintext");
}

constexpr const char* kL7Deny = R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-deletes, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  action: DENY
  rules:
  - to: [{operation: {methods: ["DELETE"]}}]
)";

TEST_F(DecisionsFollowTheCluster, DeletingTheWaypointDeniesL7Policies) {
  h_.server.applyYaml(kCluster);
  h_.server.apply(namespaceJson("shop", {{"kubernetes.io/metadata.name", "shop"},
                                         {"istio.io/dataplane-mode", "ambient"},
                                         {"istio.io/use-waypoint", "waypoint"}}));
  h_.server.applyYaml(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status:
  addresses: [{type: IPAddress, value: 10.96.0.20}]
)");
  h_.start();
  ASSERT_TRUE(h_.ready());
  // A waypoint serves the workloads: the selector policy is only a warning.
  EXPECT_TRUE(denials(kL7Deny, "l7-policy-without-waypoint").empty());
  EXPECT_EQ(warnings(kL7Deny, "l7-policy-without-waypoint").size(), 1u);

  ASSERT_TRUE(h_.server.remove("gateway.networking.k8s.io/v1", "Gateway", "shop", "waypoint"));
  ASSERT_TRUE(eventually([&] { return h_.state()->find<Gateway>("shop", "waypoint") == nullptr; }));
  auto denied = denials(kL7Deny, "l7-policy-without-waypoint");
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].object.name, "no-deletes");
}

TEST_F(DecisionsFollowTheCluster, NetworkPolicyInTheClusterBlocksEnrollment) {
  h_.server.applyYaml(kCluster);
  h_.start();
  ASSERT_TRUE(h_.ready());
  const std::string enroll = R"(apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {kubernetes.io/metadata.name: shop, istio.io/dataplane-mode: ambient}
)";
  EXPECT_TRUE(denials(enroll, "network-policy-blocks-hbone").empty());

  // A policy admitting only port 80 to the web pods: after enrollment HBONE (15008) is dropped.
  h_.server.applyYaml(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-80, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress: [{ports: [{port: 80, protocol: TCP}]}]
)");
  ASSERT_TRUE(
      eventually([&] { return h_.state()->find<NetworkPolicy>("shop", "web-80") != nullptr; }));
  auto denied = denials(enroll, "network-policy-blocks-hbone");
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].object.name, "web-80");
}

}  // namespace
}  // namespace ambient_guard
