// The webhook's decisions follow the live cluster: the rules review writes against
// StateStore::current() while a KubeWatch keeps it in step with a fake API server, exactly as
// request threads do in `serve --kubeconfig`.
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

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

// istio-cni-config with a custom enablement selector, then changed, then broken.
nlohmann::json cniConfig(const std::string& selector) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", "istio-cni-config"}, {"namespace", "istio-system"}}},
          {"data", {{"AMBIENT_ENABLEMENT_SELECTOR", selector}}}};
}

TEST_F(DecisionsFollowTheCluster, EnablementSelectorFollowsTheLiveIstioCniConfig) {
  std::vector<std::pair<bool, std::string>> logged;
  std::mutex log_mu;
  reviewer_.followControlPlaneIn("istio-system", true, true,
                                 [&](bool error, const std::string& msg) {
                                   std::lock_guard<std::mutex> lock(log_mu);
                                   logged.emplace_back(error, msg);
                                 });
  h_.server.applyYaml(kCluster);
  h_.server.apply(
      namespaceJson("shop", {{"kubernetes.io/metadata.name", "shop"}, {"mesh", "ambient"}}));
  h_.start();
  ASSERT_TRUE(h_.ready());
  // No ConfigMap: Istio's default selector; `mesh: ambient` enrolls nothing.
  EXPECT_TRUE(denials(kPeerAuthDisable, "peer-authentication-disable").empty());

  h_.server.apply(cniConfig("- namespaceSelector: {matchLabels: {mesh: ambient}}\n"));
  ASSERT_TRUE(eventually(
      [&] { return h_.state()->find<ConfigMap>("istio-system", "istio-cni-config") != nullptr; }));
  auto denied = denials(kPeerAuthDisable, "peer-authentication-disable");
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(reviewer_.meshFor(*h_.state())->enablement.source,
            "ConfigMap istio-system/istio-cni-config");

  // Edited to another label: shop is no longer ambient.
  h_.server.apply(cniConfig("- namespaceSelector: {matchLabels: {mesh: zt}}\n"));
  ASSERT_TRUE(eventually([&] {
    const ConfigMap* cm = h_.state()->find<ConfigMap>("istio-system", "istio-cni-config");
    return cm != nullptr &&
           cm->data.get("AMBIENT_ENABLEMENT_SELECTOR")->find("zt") != std::string::npos;
  }));
  EXPECT_TRUE(denials(kPeerAuthDisable, "peer-authentication-disable").empty());

  // Broken: logged as an error, the last valid selector stays in use, nothing crashes.
  h_.server.apply(cniConfig("- namespaceSelector: {matchLabels: [not, a, map\n"));
  ASSERT_TRUE(eventually([&] {
    const ConfigMap* cm = h_.state()->find<ConfigMap>("istio-system", "istio-cni-config");
    return cm != nullptr &&
           cm->data.get("AMBIENT_ENABLEMENT_SELECTOR")->find("not") != std::string::npos;
  }));
  EXPECT_TRUE(denials(kPeerAuthDisable, "peer-authentication-disable").empty());
  const auto mesh = reviewer_.meshFor(*h_.state());
  EXPECT_NE(mesh->enablement.source.find("does not parse"), std::string::npos)
      << mesh->enablement.source;
  EXPECT_EQ(mesh->enablement.str(), reviewer_.meshFor(*h_.state())->enablement.str());
  {
    std::lock_guard<std::mutex> lock(log_mu);
    ASSERT_FALSE(logged.empty());
    EXPECT_TRUE(logged.back().first);
    EXPECT_NE(logged.back().second.find("falling back to its last valid value"), std::string::npos)
        << logged.back().second;
    // One line per change, not per review.
    EXPECT_EQ(logged.size(), 3u);
  }

  // Deleted: back to the default.
  ASSERT_TRUE(h_.server.remove("v1", "ConfigMap", "istio-system", "istio-cni-config"));
  h_.server.apply(namespaceJson(
      "shop", {{"kubernetes.io/metadata.name", "shop"}, {"istio.io/dataplane-mode", "ambient"}}));
  ASSERT_TRUE(eventually([&] {
    return h_.state()->find<ConfigMap>("istio-system", "istio-cni-config") == nullptr &&
           h_.state()->findNamespace("shop")->labels.has("istio.io/dataplane-mode");
  }));
  EXPECT_EQ(denials(kPeerAuthDisable, "peer-authentication-disable").size(), 1u);
  EXPECT_TRUE(reviewer_.meshFor(*h_.state())->enablement.is_default);
}

TEST_F(DecisionsFollowTheCluster, AMalformedSelectorFallsBackToTheDefaultWhenNothingParsedBefore) {
  std::vector<std::string> errors;
  std::mutex log_mu;
  reviewer_.followControlPlaneIn("istio-system", true, true,
                                 [&](bool error, const std::string& msg) {
                                   std::lock_guard<std::mutex> lock(log_mu);
                                   if (error) {
                                     errors.push_back(msg);
                                   }
                                 });
  h_.server.applyYaml(kCluster);
  h_.server.apply(cniConfig("{{{"));
  h_.server.apply(namespaceJson(
      "shop", {{"kubernetes.io/metadata.name", "shop"}, {"istio.io/dataplane-mode", "ambient"}}));
  h_.start();
  ASSERT_TRUE(h_.ready());
  EXPECT_EQ(denials(kPeerAuthDisable, "peer-authentication-disable").size(), 1u);
  std::lock_guard<std::mutex> lock(log_mu);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("falling back to the istio-cni default"), std::string::npos)
      << errors[0];
}

constexpr const char* kTrustDomainPolicy = R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: partners, namespace: shop}
spec:
  action: ALLOW
  rules:
  - from: [{source: {trustDomains: ["partner.example"]}}]
)";

// Returns every finding's message of `rule` for creating `yaml`.
std::string messagesOf(const Reviewer& reviewer, const ClusterView& state, const std::string& yaml,
                       std::string_view rule) {
  Change change;
  change.op = Operation::kCreate;
  change.object = testing::objectFromYaml(yaml);
  std::string out;
  for (const auto& f : reviewer.review(state, change)) {
    if (f.rule == rule) {
      out += f.message + "\n";
    }
  }
  return out;
}

TEST_F(DecisionsFollowTheCluster, IstiodImageTagIsTheVersionTheRulesAssume) {
  h_.server.applyYaml(kCluster);
  h_.server.apply(namespaceJson(
      "shop", {{"kubernetes.io/metadata.name", "shop"}, {"istio.io/dataplane-mode", "ambient"}}));
  h_.start();
  ASSERT_TRUE(h_.ready());
  const std::string rule = "l7-policy-without-waypoint";
  EXPECT_NE(
      messagesOf(reviewer_, *h_.state(), kTrustDomainPolicy, rule).find("Istio version unknown"),
      std::string::npos)
      << messagesOf(reviewer_, *h_.state(), kTrustDomainPolicy, rule);

  auto istiod = [&](const std::string& tag) {
    return nlohmann::json{
        {"apiVersion", "apps/v1"},
        {"kind", "Deployment"},
        {"metadata", {{"name", "istiod"}, {"namespace", "istio-system"}}},
        {"spec",
         {{"template",
           {{"spec",
             {{"containers",
               {{{"name", "discovery"}, {"image", "docker.io/istio/pilot:" + tag}}}}}}}}}}};
  };
  h_.server.apply(istiod("1.27.3"));
  ASSERT_TRUE(eventually([&] { return h_.state()->count(Kind::kDeployment) == 1; }));
  std::string msg = messagesOf(reviewer_, *h_.state(), kTrustDomainPolicy, rule);
  EXPECT_NE(msg.find("Istio 1.27.3 (image of Deployment istio-system/istiod"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("not part of the AuthorizationPolicy API before 1.31"), std::string::npos)
      << msg;

  // An upgrade: the messages follow without a restart.
  h_.server.apply(istiod("1.31.1"));
  ASSERT_TRUE(eventually([&] {
    return h_.state()->find<Deployment>("istio-system", "istiod")->spec.containers.at(0).image ==
           "docker.io/istio/pilot:1.31.1";
  }));
  msg = messagesOf(reviewer_, *h_.state(), kTrustDomainPolicy, rule);
  EXPECT_NE(msg.find("Istio 1.31.1 (image of Deployment"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("before 1.31"), std::string::npos) << msg;

  // The live webhook's Reviewer resolves it once per change of the workloads, the same way.
  std::vector<std::string> logged;
  std::mutex log_mu;
  Reviewer live(rules::makeDefaultRules(), rules::MeshSettings());
  live.followControlPlaneIn("istio-system", true, true, [&](bool, const std::string& m) {
    std::lock_guard<std::mutex> lock(log_mu);
    logged.push_back(m);
  });
  EXPECT_EQ(messagesOf(live, *h_.state(), kTrustDomainPolicy, rule), msg);
  EXPECT_EQ(messagesOf(live, *h_.state(), kTrustDomainPolicy, rule), msg);
  ASSERT_TRUE(live.meshFor(*h_.state())->resolved_istio_version.has_value());
  EXPECT_EQ(live.meshFor(*h_.state())->resolved_istio_version->version, "1.31.1");
  h_.server.apply(istiod("1.30.0"));
  ASSERT_TRUE(eventually([&] {
    return h_.state()->find<Deployment>("istio-system", "istiod")->spec.containers.at(0).image ==
           "docker.io/istio/pilot:1.30.0";
  }));
  msg = messagesOf(live, *h_.state(), kTrustDomainPolicy, rule);
  EXPECT_NE(msg.find("Istio 1.30.0 (image of Deployment istio-system/istiod"), std::string::npos)
      << msg;
  {
    std::lock_guard<std::mutex> lock(log_mu);
    ASSERT_EQ(logged.size(), 2u);  // once per version, not per review
    EXPECT_NE(logged[0].find("istio version: Istio 1.31.1"), std::string::npos) << logged[0];
    EXPECT_NE(logged[1].find("istio version: Istio 1.30.0"), std::string::npos) << logged[1];
  }
  // istiod gone: unknown again.
  ASSERT_TRUE(h_.server.remove("apps/v1", "Deployment", "istio-system", "istiod"));
  ASSERT_TRUE(eventually([&] { return h_.state()->count(Kind::kDeployment) == 0; }));
  msg = messagesOf(live, *h_.state(), kTrustDomainPolicy, rule);
  EXPECT_NE(msg.find("Istio version unknown"), std::string::npos) << msg;

  // --istio-version wins over the live state.
  rules::MeshSettings flagged;
  flagged.istio_version = "1.29.0";
  Reviewer with_flag(rules::makeDefaultRules(), flagged);
  msg = messagesOf(with_flag, *h_.state(), kTrustDomainPolicy, rule);
  EXPECT_NE(msg.find("Istio 1.29.0 (--istio-version 1.29.0)"), std::string::npos) << msg;
}

}  // namespace
}  // namespace ambient_guard
