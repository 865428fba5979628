// `ambient-guard plan` as a process on a backup with one namespace per readiness state
// (tests/testdata/translate/plan-cluster.yaml): order, gates, the runbook's commands, rollback,
// and blocked namespaces saying why.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::runCli;

const std::string kBackup = std::string(AG_TESTDATA_DIR) + "/translate/plan-cluster.yaml";

json planJson() {
  auto r = runCli({"plan", "-f", kBackup, "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

const json& byName(const json& plan, const std::string& name) {
  for (const json& ns : plan["namespaces"]) {
    if (ns["name"] == name) {
      return ns;
    }
  }
  ADD_FAILURE() << "no namespace " << name;
  static const json none;
  return none;
}

const json& step(const json& ns, const std::string& id) {
  for (const json& s : ns["steps"]) {
    if (s["id"] == id) {
      return s;
    }
  }
  ADD_FAILURE() << "no step " << id << " in " << ns["name"];
  static const json none;
  return none;
}

bool contains(const json& list, const std::string& text) {
  return std::any_of(list.begin(), list.end(), [&](const json& s) {
    return s.get<std::string>().find(text) != std::string::npos;
  });
}

TEST(Plan, NamespacesAreOrderedByReadinessAfterTranslation) {
  const json plan = planJson();
  EXPECT_EQ(plan["apiVersion"], "ambient-guard.io/v1alpha1");
  std::vector<std::string> order;
  for (const json& ns : plan["namespaces"]) {
    order.push_back(ns["name"]);
  }
  // ready (sidecar first, then already ambient), blocked-but-fixable, needs-waypoint, blocked.
  EXPECT_EQ(order, (std::vector<std::string>{"catalog", "mesh", "legacy", "shop", "vault"}));
  EXPECT_EQ(plan["summary"]["namespaces"], 5);
  EXPECT_EQ(plan["summary"]["blocked"], 1);
  EXPECT_EQ(byName(plan, "legacy")["gate"]["now"], "blocked");
  EXPECT_EQ(byName(plan, "legacy")["gate"]["afterTranslation"], "ready");
  EXPECT_EQ(byName(plan, "shop")["gate"]["afterTranslation"], "needs-waypoint");
}

TEST(Plan, NeedsWaypointNamespaceGetsTheWholeRunbookWithGatesAndRollback) {
  const json plan = planJson();
  const json& shop = byName(plan, "shop");
  EXPECT_TRUE(shop["waypoint"]["needed"].get<bool>());
  ASSERT_EQ(shop["translate"].size(), 2u);  // the L7 policy and the VirtualService

  std::vector<std::string> ids;
  for (const json& s : shop["steps"]) {
    ids.push_back(s["id"]);
    EXPECT_FALSE(s["rollback"].empty()) << s["id"];
  }
  // Istio's migration guide: waypoint → bind → policies → enroll → remove injection → restart →
  // delete the old sidecar policies at once.
  EXPECT_EQ(ids, (std::vector<std::string>{"preflight", "waypoint", "use-waypoint", "translate",
                                           "enroll", "remove-injection", "restart",
                                           "delete-originals", "cleanup"}));
  EXPECT_TRUE(contains(step(shop, "waypoint")["commands"], "istioctl waypoint apply -n shop"));
  EXPECT_TRUE(contains(step(shop, "use-waypoint")["commands"],
                       "kubectl label namespace shop istio.io/use-waypoint=waypoint"));
  EXPECT_TRUE(contains(step(shop, "translate")["commands"], "ambient-guard translate"));
  EXPECT_TRUE(contains(step(shop, "translate")["rollback"], "kubectl apply -f shop-rollback.yaml"));
  EXPECT_TRUE(contains(step(shop, "enroll")["commands"],
                       "kubectl label namespace shop istio.io/dataplane-mode=ambient"));
  // The namespace injected with a revision label: removal and its exact rollback.
  EXPECT_TRUE(contains(step(shop, "remove-injection")["commands"], "istio.io/rev-"));
  EXPECT_TRUE(contains(step(shop, "remove-injection")["rollback"], "istio.io/rev=1-24"));
  EXPECT_TRUE(contains(step(shop, "restart")["commands"], "kubectl rollout restart"));
  // The originals stay until right after the restart; the twins go in next to them.
  for (const json& c : step(shop, "translate")["commands"]) {
    EXPECT_EQ(c.get<std::string>().find("kubectl delete"), std::string::npos) << c;
  }
  EXPECT_TRUE(contains(step(shop, "translate")["rollback"], "-waypoint -n shop"));
  const json& del = step(shop, "delete-originals");
  EXPECT_FALSE(del["done"].get<bool>());
  EXPECT_TRUE(contains(del["commands"], "kubectl delete authorizationpolicy"));
  EXPECT_TRUE(contains(del["commands"], "kubectl delete virtualservice"));
  EXPECT_NE(del["note"].get<std::string>().find("immediately after the restart"),
            std::string::npos);
  EXPECT_NE(step(shop, "translate")["note"].get<std::string>().find("plan a maintenance window"),
            std::string::npos);
  // Gates name a check to pass; watches are ambient-guard metrics with their real label values.
  EXPECT_FALSE(step(shop, "enroll")["gate"]["checks"].empty());
  EXPECT_TRUE(contains(step(shop, "enroll")["watch"], "ambient-guard audit --namespace shop"));
  EXPECT_TRUE(contains(step(shop, "enroll")["watch"], "decision=\"denied\""));
}

// Gateway API ingress counts the same: an HTTPRoute on an ingress Gateway with a backendRef to a
// Service of the namespace (samples/bookinfo/gateway-api/bookinfo-gateway.yaml shape).
TEST(Plan, BindStepOptsHttpRouteIngressIntoTheWaypoint) {
  const std::string dir = testing::tempDir();
  const std::string extra = testing::writeFile(dir, "extra.yaml", R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public-gateway, namespace: istio-system}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: public-gateway, namespace: istio-system}]
  rules: [{backendRefs: [{name: reviews, port: 9080}]}]
)");
  auto r = runCli({"plan", "-f", kBackup, "-f", extra, "-o", "json", "-n", "shop"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json plan = json::parse(r.out);
  const json& bind = step(byName(plan, "shop"), "use-waypoint");
  EXPECT_TRUE(contains(bind["commands"],
                       "kubectl label namespace shop istio.io/ingress-use-waypoint=true"));
  EXPECT_NE(bind["note"].get<std::string>().find("an ingress gateway routes to reviews"),
            std::string::npos)
      << bind["note"];
}

// Ingress gateways bypass the waypoint unless istio.io/ingress-use-waypoint is set (istio.io
// docs/ambient/usage/waypoint): the bind step sets it when an ingress VirtualService routes to a
// Service of the namespace. And enrollment follows istio-cni's enablement selector.
TEST(Plan, BindStepOptsIngressIntoTheWaypointAndEnrollFollowsTheSelector) {
  const std::string dir = testing::tempDir();
  const std::string extra = testing::writeFile(dir, "extra.yaml", R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop-ingress, namespace: shop}
spec:
  hosts: ["shop.example.com"]
  gateways: [istio-system/public-gateway]
  http: [{route: [{destination: {host: reviews, port: {number: 9080}}}]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-cni-config, namespace: istio-system}
data:
  AMBIENT_ENABLEMENT_SELECTOR: |
    - namespaceSelector: {matchLabels: {platform.example.com/mesh: ambient}}
      podSelector: {matchExpressions: [{key: istio.io/dataplane-mode, operator: NotIn, values: [none]}]}
)");
  auto r = runCli({"plan", "-f", kBackup, "-f", extra, "-o", "json", "-n", "shop"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json plan = json::parse(r.out);
  const json& shop = byName(plan, "shop");
  const json& bind = step(shop, "use-waypoint");
  EXPECT_TRUE(contains(bind["commands"],
                       "kubectl label namespace shop istio.io/ingress-use-waypoint=true"));
  EXPECT_TRUE(contains(bind["rollback"], "istio.io/ingress-use-waypoint-"));
  EXPECT_NE(bind["note"].get<std::string>().find("an ingress gateway routes to reviews"),
            std::string::npos)
      << bind["note"];
  const json& enroll = step(shop, "enroll");
  EXPECT_TRUE(contains(enroll["commands"],
                       "kubectl label namespace shop platform.example.com/mesh=ambient"));
  EXPECT_TRUE(contains(enroll["rollback"], "platform.example.com/mesh-"));
  EXPECT_NE(enroll["note"].get<std::string>().find("ConfigMap istio-system/istio-cni-config"),
            std::string::npos);
  // Without them: neither.
  const json plain = planJson();
  EXPECT_FALSE(contains(step(byName(plain, "shop"), "use-waypoint")["commands"],
                        "ingress-use-waypoint"));
  // A selector istio-cni would refuse is a usage error.
  auto bad = runCli({"plan", "-f", kBackup, "--ambient-enablement-selector",
                     "[{podSelector: {matchExpressions: [{key: a, operator: In}]}}]"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("values set can't be empty"), std::string::npos) << bad.err;
}

// STRICT stays after the migration: it is what makes ztunnel refuse plaintext from outside the
// mesh ([API] peer_authentication.proto: "STRICT mode is useful to ensure that connections that
// bypass the mesh are not possible").
TEST(Plan, CleanupKeepsStrictPeerAuthentication) {
  const json plan = planJson();
  const json& cleanup = step(byName(plan, "mesh"), "cleanup");
  const std::string text = cleanup.dump();
  EXPECT_NE(text.find("keep PeerAuthentication default (STRICT)"), std::string::npos) << text;
  EXPECT_NE(text.find("still refuses plaintext from outside the mesh"), std::string::npos) << text;
  EXPECT_EQ(text.find("can be removed"), std::string::npos) << text;
}

TEST(Plan, BlockedNamespaceSaysWhy) {
  const json plan = planJson();
  const json& vault = byName(plan, "vault");
  EXPECT_EQ(vault["gate"]["afterTranslation"], "blocked");
  ASSERT_EQ(vault["blockedBy"].size(), 1u);
  EXPECT_EQ(vault["blockedBy"][0]["rule"], "network-policy-blocks-hbone");
  EXPECT_EQ(vault["blockedBy"][0]["object"]["name"], "only-8200");

  auto md = runCli({"plan", "-f", kBackup});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("# Ambient cutover plan"), std::string::npos);
  EXPECT_NE(md.out.find("| 5 | vault | sidecar | blocked | blocked |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("[network-policy-blocks-hbone] NetworkPolicy vault/only-8200"),
            std::string::npos);
}

TEST(Plan, BadInputIsAClearError) {
  const std::string dir = testing::tempDir();
  const std::string bad = testing::writeFile(dir, "bad.yaml", "apiVersion: v1\nkind: [\n");
  auto r = runCli({"plan", "-f", bad});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("bad.yaml"), std::string::npos) << r.err;
  auto missing = runCli({"plan", "-f", dir + "/nope.yaml"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

}  // namespace
}  // namespace ambient_guard
