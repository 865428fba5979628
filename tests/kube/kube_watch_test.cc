// List + watch against a fake API server (real TLS, real wire format): pagination, readiness,
// events split across chunks, bookmarks, 410 in both forms, disconnects, missing CRDs, token
// rotation, client certificates, metrics. Decisions that follow the cluster:
// tests/webhook/live_decisions_test.cc.
#include "kube/kube_watch.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tests/testlib/fake_apiserver.h"
#include "tests/testlib/testlib.h"
#include "tests/testlib/watch_harness.h"

namespace ambient_guard {
namespace {

using testing::eventually;
using testing::FakeApiServer;
using testing::fastOptions;
using testing::Harness;
using testing::namespaceJson;
using testing::Request;
constexpr const char* kCluster = testing::kWatchCluster;

TEST(KubeWatch, ListsEveryKindPageByPageThenWatchesFromTheListVersion) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.start();
  ASSERT_TRUE(h.ready());
  auto s = h.state();
  EXPECT_EQ(s->count(Kind::kNamespace), 5u);
  EXPECT_EQ(s->count(Kind::kService), 3u);
  EXPECT_EQ(s->count(Kind::kGatewayClass), 1u);
  EXPECT_EQ(s->count(Kind::kPeerAuthentication), 1u);

  // Core list items come without apiVersion/kind; they still decode, with their spec.
  const Service* web = s->find<Service>("shop", "web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->selector.str(), "app=web");
  EXPECT_EQ(web->ports.vec().at(0).port, 80);
  // Only the labels rules read are kept on non-Namespace objects; Namespaces keep all.
  EXPECT_EQ(web->labels.str(), "istio.io/use-waypoint=waypoint");
  EXPECT_EQ(s->findNamespace("shop")->labels.str(),
            "kubernetes.io/metadata.name=shop,team=payments");

  // Five namespaces at two per page: three list requests, the later ones with continue tokens.
  auto lists = h.requestsFor("namespaces", false);
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].params.count("continue"), 0u);
  EXPECT_EQ(lists[0].params.at("limit"), "2");
  EXPECT_FALSE(lists[1].params.at("continue").empty());
  EXPECT_FALSE(lists[2].params.at("continue").empty());

  // Every kind watches from its list's resourceVersion, with bookmarks, within 5-10 minutes.
  ASSERT_TRUE(eventually([&] { return h.allWatching(); }));
  const std::string list_rv = h.watch->status(Kind::kNamespace).resource_version;
  auto watches = h.requestsFor("namespaces", true);
  EXPECT_EQ(watches[0].params.at("resourceVersion"), list_rv);
  EXPECT_EQ(watches[0].params.at("allowWatchBookmarks"), "true");
  const int timeout = std::stoi(watches[0].params.at("timeoutSeconds"));
  EXPECT_GE(timeout, 300);
  EXPECT_LE(timeout, 600);
  EXPECT_EQ(watches[0].token, "token-1");

  // The gauges follow the published snapshot (the publisher refreshes them right after).
  EXPECT_TRUE(eventually([&] {
    return h.metric("ambient_guard_state_objects", "Namespace") == 5 &&
           h.metric("ambient_guard_state_objects", "Service") == 3;
  })) << h.metric("ambient_guard_state_objects", "Namespace") << " namespaces, "
      << h.metric("ambient_guard_state_objects", "Service") << " services";
  EXPECT_EQ(h.metric("ambient_guard_watch_restarts_total", "Namespace"), 0);
}

TEST(KubeWatch, NotReadyAndNothingPublishedUntilEveryInitialListCompletes) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.server.holdLists("security.istio.io/peerauthentications", true);
  h.start();
  // Every other kind has listed and started watching; the held one has not answered.
  ASSERT_TRUE(eventually([&] {
    for (const auto& r : watchedResources()) {
      if (r.kind != Kind::kPeerAuthentication && h.requestsFor(r.plural, true).empty()) {
        return false;
      }
    }
    return !h.requestsFor("peerauthentications", false).empty();
  }));
  EXPECT_FALSE(h.store.ready());
  EXPECT_FALSE(h.watch->ready());
  EXPECT_EQ(h.state()->count(Kind::kNamespace), 0u);  // no partial state is ever published
  h.server.holdLists("security.istio.io/peerauthentications", false);
  ASSERT_TRUE(h.ready());
  EXPECT_EQ(h.state()->count(Kind::kNamespace), 5u);
  EXPECT_EQ(h.state()->count(Kind::kPeerAuthentication), 1u);
}

TEST(KubeWatch, AppliesAddedModifiedAndDeletedEventsSplitAcrossChunks) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.start();
  ASSERT_TRUE(h.ready());

  h.server.apply(namespaceJson("late", {{"istio.io/dataplane-mode", "ambient"}}));
  ASSERT_TRUE(eventually([&] { return h.state()->findNamespace("late") != nullptr; }));
  h.server.apply(namespaceJson("late", {{"istio.io/dataplane-mode", "none"}}));
  ASSERT_TRUE(eventually([&] {
    const Namespace* n = h.state()->findNamespace("late");
    return n != nullptr && *n->labels.get("istio.io/dataplane-mode") == "none";
  }));
  ASSERT_TRUE(h.server.remove("v1", "Namespace", "", "late"));
  ASSERT_TRUE(eventually([&] { return h.state()->findNamespace("late") == nullptr; }));

  // A burst: events arrive several per chunk and cut across chunks; every one is applied.
  for (int i = 0; i < 200; ++i) {
    h.server.apply({{"apiVersion", "v1"},
                    {"kind", "Service"},
                    {"metadata", {{"name", "svc-" + std::to_string(i)}, {"namespace", "a2"}}},
                    {"spec", {{"selector", {{"app", "x"}}}, {"ports", {{{"port", 80}}}}}}});
  }
  ASSERT_TRUE(h.server.remove("v1", "Service", "a2", "svc-7"));
  // 202 objects without svc-7 only once the deletion, the last event, is applied (after 199 of
  // the 200 additions the count is 202 too, with svc-7 still there).
  ASSERT_TRUE(eventually([&] {
    auto s = h.state();
    return s->count(Kind::kService) == 3u + 199u && s->find<Service>("a2", "svc-7") == nullptr;
  }));
  EXPECT_NE(h.state()->find<Service>("a2", "svc-199"), nullptr);
  EXPECT_EQ(h.requestsFor("services", false).size(), 2u);  // no relist
  EXPECT_EQ(h.metric("ambient_guard_watch_restarts_total", "Service"), 0);
  EXPECT_GE(h.metric("ambient_guard_watch_last_event_timestamp_seconds", "Service"), 1.7e9);
}

TEST(KubeWatch, ListedAndWatchedObjectsShareTheirRepeatedValues) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.server.applyYaml(R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: a1, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
)");
  h.start();
  ASSERT_TRUE(h.ready());
  h.server.applyYaml(R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: a2, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
)");
  ASSERT_TRUE(eventually([&] { return h.state()->find<Service>("a2", "web") != nullptr; }));
  auto s = h.state();
  const Service* listed = s->find<Service>("shop", "web");
  const Service* listed_too = s->find<Service>("a1", "web");
  const Service* watched = s->find<Service>("a2", "web");
  ASSERT_NE(listed, nullptr);
  ASSERT_NE(listed_too, nullptr);
  // One copy of each repeated value (StateInterner), whichever way the object arrived.
  EXPECT_TRUE(listed->selector.handle().same(listed_too->selector.handle()));
  EXPECT_TRUE(listed->selector.handle().same(watched->selector.handle()));
  EXPECT_TRUE(listed->ports.handle().same(watched->ports.handle()));
  EXPECT_TRUE(listed->labels.handle().same(watched->labels.handle()));
  // The values read as decoded: the labels rules read are kept, the chart labels are not.
  EXPECT_EQ(watched->selector.str(), "app=web");
  ASSERT_EQ(watched->ports.size(), 1u);
  EXPECT_EQ(watched->ports[0].name, "http");
  EXPECT_EQ(watched->ports[0].port, 80);
  EXPECT_EQ(listed->labels.str(), "istio.io/use-waypoint=waypoint");
  EXPECT_GE(h.store.interner().sizes().port_lists, 1u);
}

// A Namespace or Service as kubectl leaves it (noisy: managedFields and the last-applied
// annotation, a copy of the object) or without those two.
nlohmann::json appliedObject(const std::string& kind, const std::string& name, bool noisy) {
  nlohmann::json o = {
      {"apiVersion", "v1"},
      {"kind", kind},
      {"metadata",
       {{"name", name},
        {"labels", {{"istio.io/use-waypoint", "wp"}, {"app", "web"}}},
        {"annotations", {{"istio.io/use-waypoint-canary-weight", "20"}}}}}};
  if (kind == "Service") {
    o["metadata"]["namespace"] = "shop";
    o["spec"] = {{"selector", {{"app", "web"}}}, {"ports", {{{"port", 8080}}}}};
  }
  if (noisy) {
    nlohmann::json fields = nlohmann::json::object();
    for (int i = 0; i < 500; ++i) {
      fields["f:label-" + std::to_string(i)] = nlohmann::json::object();
    }
    o["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = o.dump();
    o["metadata"]["managedFields"] = {
        {{"manager", "kubectl"}, {"operation", "Update"}, {"fieldsV1", fields}}};
  }
  return o;
}

TEST(KubeWatch, ManagedFieldsAndLastAppliedChangeNothingAndAreNotKept) {
  Harness h;
  for (bool noisy : {true, false}) {
    const std::string name = noisy ? "listed-noisy" : "listed-clean";
    h.server.apply(appliedObject("Namespace", name, noisy));
    h.server.apply(appliedObject("Service", name, noisy));
  }
  h.start();
  ASSERT_TRUE(h.ready());
  for (bool noisy : {true, false}) {
    const std::string name = noisy ? "watched-noisy" : "watched-clean";
    h.server.apply(appliedObject("Namespace", name, noisy));
    h.server.apply(appliedObject("Service", name, noisy));
  }
  ASSERT_TRUE(eventually([&] {
    return h.state()->find<Service>("shop", "watched-clean") != nullptr &&
           h.state()->find<Service>("shop", "watched-noisy") != nullptr;
  }));
  auto s = h.state();
  for (const char* how : {"listed", "watched"}) {
    SCOPED_TRACE(how);
    const Namespace* ns = s->findNamespace(std::string(how) + "-noisy");
    const Namespace* clean_ns = s->findNamespace(std::string(how) + "-clean");
    ASSERT_NE(ns, nullptr);
    ASSERT_NE(clean_ns, nullptr);
    EXPECT_EQ(ns->labels.str(), clean_ns->labels.str());
    EXPECT_EQ(ns->labels.str(), "app=web,istio.io/use-waypoint=wp");
    EXPECT_EQ(ns->waypoint_canary_weight.str(), "20");
    EXPECT_EQ(ns->waypoint_canary_weight.str(), clean_ns->waypoint_canary_weight.str());
    const Service* svc = s->find<Service>("shop", std::string(how) + "-noisy");
    const Service* clean_svc = s->find<Service>("shop", std::string(how) + "-clean");
    ASSERT_NE(svc, nullptr);
    ASSERT_NE(clean_svc, nullptr);
    EXPECT_EQ(svc->labels.str(), "istio.io/use-waypoint=wp");
    EXPECT_EQ(svc->labels.str(), clean_svc->labels.str());
    EXPECT_EQ(svc->selector.str(), clean_svc->selector.str());
    EXPECT_EQ(svc->ports.vec(), clean_svc->ports.vec());
    EXPECT_EQ(svc->waypoint_canary_weight.str(), "20");
  }
}

TEST(KubeWatch, DisconnectResumesFromTheLastResourceVersionWithoutRelisting) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.start();
  ASSERT_TRUE(h.ready());
  const std::string rv = h.server.apply(namespaceJson("b1"));
  ASSERT_TRUE(eventually([&] { return h.watch->status(Kind::kNamespace).resource_version == rv; }));
  const size_t lists = h.requestsFor("namespaces", false).size();

  h.server.dropWatches("namespaces");  // cut mid-stream, no terminating chunk
  ASSERT_TRUE(eventually([&] {
    auto w = h.requestsFor("namespaces", true);
    return w.size() >= 2 && w.back().params.at("resourceVersion") == rv;
  }));
  h.server.apply(namespaceJson("b2"));
  ASSERT_TRUE(eventually([&] { return h.state()->findNamespace("b2") != nullptr; }));
  EXPECT_EQ(h.requestsFor("namespaces", false).size(), lists);
  EXPECT_GE(h.metric("ambient_guard_watch_restarts_total", "Namespace"), 1);
  EXPECT_GE(h.watch->status(Kind::kNamespace).restarts, 1u);
}

TEST(KubeWatch, BookmarkMovesTheResumePoint) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.start();
  ASSERT_TRUE(h.ready());
  ASSERT_TRUE(eventually([&] { return h.server.openWatches("namespaces") == 1; }));
  h.server.apply({{"apiVersion", "security.istio.io/v1"},
                  {"kind", "PeerAuthentication"},
                  {"metadata", {{"name", "p"}, {"namespace", "a1"}}}});
  const std::string rv = h.server.resourceVersion();
  h.server.bookmark();
  ASSERT_TRUE(eventually([&] { return h.watch->status(Kind::kNamespace).resource_version == rv; }));
  h.server.dropWatches("namespaces");
  ASSERT_TRUE(eventually([&] {
    auto w = h.requestsFor("namespaces", true);
    return w.size() >= 2 && w.back().params.at("resourceVersion") == rv;
  }));
  EXPECT_EQ(h.state()->count(Kind::kNamespace), 5u);  // a bookmark changes no object
}

TEST(KubeWatch, ErrorEvent410RelistsAndDropsObjectsDeletedInTheGap) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.start();
  ASSERT_TRUE(h.ready());
  const size_t lists = h.requestsFor("namespaces", false).size();
  // The deletion of a3 falls into history the server no longer has: only a relist shows it.
  ASSERT_TRUE(h.server.remove("v1", "Namespace", "", "a3", /*notify=*/false));
  h.server.compact();
  h.server.expireWatches("namespaces");  // {"type":"ERROR","object":{…"code":410}}
  ASSERT_TRUE(eventually([&] { return h.state()->findNamespace("a3") == nullptr; }));
  EXPECT_GT(h.requestsFor("namespaces", false).size(), lists);
  EXPECT_EQ(h.state()->count(Kind::kNamespace), 4u);
  EXPECT_GE(h.metric("ambient_guard_watch_restarts_total", "Namespace"), 1);
  EXPECT_NE(h.watch->status(Kind::kNamespace).last_error.find("410"), std::string::npos);
  // The watch continues after the relist.
  h.server.apply(namespaceJson("c1"));
  ASSERT_TRUE(eventually([&] { return h.state()->findNamespace("c1") != nullptr; }));
}

TEST(KubeWatch, Http410OnWatchRelists) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.server.setGoneStyle(FakeApiServer::GoneStyle::kHttpStatus);
  h.start();
  ASSERT_TRUE(h.ready());
  ASSERT_TRUE(h.server.remove("v1", "Service", "a1", "api", /*notify=*/false));
  h.server.compact();
  h.server.dropWatches("services");  // the resumed watch is answered with HTTP 410
  ASSERT_TRUE(eventually([&] { return h.state()->find<Service>("a1", "api") == nullptr; }));
  bool saw_410 = false;
  for (const Request& r : h.requestsFor("services", true)) {
    saw_410 = saw_410 || r.status == 410;
  }
  EXPECT_TRUE(saw_410);
  EXPECT_GE(h.metric("ambient_guard_watch_restarts_total", "Service"), 1);
}

TEST(KubeWatch, ExpiredContinueTokenStartsTheListAgain) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.server.holdLists("namespaces", true, /*continuations_only=*/true);
  h.start();
  ASSERT_TRUE(eventually([&] {
    for (const Request& r : h.requestsFor("namespaces", false)) {
      if (r.params.count("continue") > 0) {
        return true;
      }
    }
    return false;
  }));
  h.server.compact();  // the held second page now answers 410
  h.server.holdLists("namespaces", false);
  ASSERT_TRUE(h.ready());
  EXPECT_EQ(h.state()->count(Kind::kNamespace), 5u);
  auto lists = h.requestsFor("namespaces", false);
  EXPECT_EQ(lists[1].status, 410);
  EXPECT_EQ(lists[2].params.count("continue"), 0u);  // a fresh list, not a retried page
}

TEST(KubeWatch, MissingCrdIsReportedAndDoesNotHoldReadinessBack) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.server.setServed("gateway.networking.k8s.io/gateways", false);
  h.server.setServed("extensions.istio.io/wasmplugins", false);
  h.start();
  ASSERT_TRUE(h.ready());
  EXPECT_TRUE(h.watch->status(Kind::kGateway).missing);
  EXPECT_TRUE(h.watch->status(Kind::kWasmPlugin).missing);
  EXPECT_FALSE(h.watch->status(Kind::kService).missing);

  // The CRD gets installed later: the slow retry picks it up.
  h.server.setServed("gateway.networking.k8s.io/gateways", true);
  h.server.applyYaml(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
)");
  ASSERT_TRUE(eventually([&] { return h.state()->find<Gateway>("shop", "waypoint") != nullptr; }));
  EXPECT_FALSE(h.watch->status(Kind::kGateway).missing);
  EXPECT_EQ(h.metric("ambient_guard_watch_restarts_total", "WasmPlugin"), 0);
}

// The Istio control plane: istiod's and istio-cni's workloads and istio-cni-config, in the
// Istio namespace, next to objects of the same kinds elsewhere that the watch must not read.
constexpr const char* kControlPlane = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  template:
    metadata: {labels: {app: istiod}}
    spec:
      containers: [{name: discovery, image: docker.io/istio/pilot:1.27.3}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: istio-cni-node, namespace: istio-system}
spec:
  template:
    spec:
      containers: [{name: install-cni, image: docker.io/istio/install-cni:1.27.3}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-cni-config, namespace: istio-system}
data:
  AMBIENT_ENABLEMENT_SELECTOR: |
    - namespaceSelector: {matchLabels: {mesh: ambient}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-cni-config, namespace: shop}
data: {AMBIENT_ENABLEMENT_SELECTOR: "[]"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: discovery, image: docker.io/istio/pilot:1.20.0}]
)";

TEST(KubeWatch, ControlPlaneKindsAreReadInTheIstioNamespaceOnly) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.server.applyYaml(kControlPlane);
  KubeWatchOptions o = fastOptions();
  o.istio_namespace = "istio-system";
  h.start(o);
  ASSERT_TRUE(h.ready());
  auto s = h.state();
  ASSERT_EQ(s->count(Kind::kDeployment), 1u);
  const Deployment* istiod = s->find<Deployment>("istio-system", "istiod");
  ASSERT_NE(istiod, nullptr);
  ASSERT_EQ(istiod->spec.containers.size(), 1u);
  EXPECT_EQ(istiod->spec.containers[0].image, "docker.io/istio/pilot:1.27.3");
  EXPECT_EQ(s->count(Kind::kDaemonSet), 1u);
  ASSERT_EQ(s->count(Kind::kConfigMap), 1u);
  const ConfigMap* cm = s->find<ConfigMap>("istio-system", "istio-cni-config");
  ASSERT_NE(cm, nullptr);
  ASSERT_NE(cm->data.get("AMBIENT_ENABLEMENT_SELECTOR"), nullptr);

  // Lists and watches ask for the namespace's collection; the ConfigMap by name.
  for (std::string_view plural : {"deployments", "daemonsets", "configmaps"}) {
    for (bool watches : {false, true}) {
      ASSERT_TRUE(eventually([&] { return !h.requestsFor(plural, watches).empty(); })) << plural;
      const Request r = h.requestsFor(plural, watches).front();
      EXPECT_NE(r.path.find("/namespaces/istio-system/"), std::string::npos) << r.path;
      if (plural == "configmaps") {
        EXPECT_EQ(r.params.at("fieldSelector"), "metadata.name=istio-cni-config");
      } else {
        EXPECT_EQ(r.params.count("fieldSelector"), 0u);
      }
    }
  }

  // Events follow, in that namespace only: an istiod upgrade, a new ConfigMap elsewhere.
  h.server.applyYaml(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  template:
    spec:
      containers: [{name: discovery, image: docker.io/istio/pilot:1.28.1}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-cni-config, namespace: a1}
data: {AMBIENT_ENABLEMENT_SELECTOR: "[]"}
)");
  ASSERT_TRUE(eventually([&] {
    const Deployment* d = h.state()->find<Deployment>("istio-system", "istiod");
    return d != nullptr && d->spec.containers.at(0).image == "docker.io/istio/pilot:1.28.1";
  }));
  EXPECT_EQ(h.state()->count(Kind::kConfigMap), 1u);
  EXPECT_EQ(h.state()->count(Kind::kDeployment), 1u);
  EXPECT_EQ(h.metric("ambient_guard_state_objects", "Deployment"), 1);
}

TEST(KubeWatch, ForbiddenControlPlaneKindsCountAsAbsentAndDoNotHoldReadinessBack) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.server.applyYaml(kControlPlane);
  h.server.setForbidden("apps/deployments", true);
  h.server.setForbidden("apps/daemonsets", true);
  h.server.setForbidden("configmaps", true);
  KubeWatchOptions o = fastOptions();
  o.max_staleness = std::chrono::milliseconds(200);
  h.start(o);
  ASSERT_TRUE(h.ready());
  EXPECT_TRUE(h.watch->status(Kind::kDeployment).forbidden);
  EXPECT_TRUE(h.watch->status(Kind::kConfigMap).forbidden);
  EXPECT_FALSE(h.watch->status(Kind::kDeployment).missing);
  EXPECT_NE(h.watch->status(Kind::kDeployment).last_error.find("403"), std::string::npos);
  EXPECT_EQ(h.state()->count(Kind::kDeployment), 0u);
  EXPECT_EQ(h.state()->count(Kind::kNamespace), 5u);
  // Never stale while forbidden: /readyz stays 200 (the other kinds keep watching). Six lists
  // at a 50 ms retry outlast max_staleness.
  ASSERT_TRUE(eventually([&] { return h.requestsFor("deployments", false).size() >= 6; }));
  EXPECT_TRUE(h.store.ready());
  EXPECT_EQ(h.store.staleness().find("Deployment"), std::string::npos) << h.store.staleness();
  EXPECT_EQ(h.store.staleness().find("ConfigMap"), std::string::npos) << h.store.staleness();
  // Retried at the slow pace, no restarts counted.
  EXPECT_EQ(h.metric("ambient_guard_watch_restarts_total", "Deployment"), 0);

  // The Role is granted later: the retry picks the kinds up.
  h.server.setForbidden("apps/deployments", false);
  h.server.setForbidden("configmaps", false);
  ASSERT_TRUE(eventually([&] {
    return h.state()->find<Deployment>("istio-system", "istiod") != nullptr &&
           h.state()->find<ConfigMap>("istio-system", "istio-cni-config") != nullptr;
  }));
  EXPECT_FALSE(h.watch->status(Kind::kDeployment).forbidden);
  EXPECT_TRUE(h.watch->status(Kind::kDaemonSet).forbidden);
}

TEST(KubeWatch, ForbiddenPolicyKindIsAnErrorNotAbsent) {
  Harness h;
  h.server.applyYaml(kCluster);
  h.server.setForbidden("services", true);
  h.start();
  ASSERT_TRUE(eventually([&] { return h.requestsFor("services", false).size() >= 2; }));
  EXPECT_FALSE(h.store.ready());
  EXPECT_FALSE(h.watch->status(Kind::kService).forbidden);
  h.server.setForbidden("services", false);
  ASSERT_TRUE(h.ready());
}

TEST(KubeWatch, RotatedTokenIsReadFromDisk) {
  Harness h;
  h.server.applyYaml(kCluster);
  const std::string dir = testing::tempDir();
  const std::string token_path = testing::writeFile(dir, "token", "token-1\n");
  auto cfg = parseKubeConfig(h.server.kubeconfig(), "", "fake");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  cfg->token = TokenSource::fromFile(token_path);  // in-cluster style: re-read from disk
  h.startWith(std::move(*cfg));
  ASSERT_TRUE(h.ready());
  ASSERT_TRUE(eventually([&] { return h.allWatching(); }));

  // The kubelet rotates the projected token; the server stops accepting the old one.
  testing::writeFile(dir, "token", "token-2\n");
  h.server.setToken("token-2");
  h.server.dropWatches("namespaces");
  h.server.apply(namespaceJson("after-rotation"));
  ASSERT_TRUE(eventually([&] { return h.state()->findNamespace("after-rotation") != nullptr; }));
  // Read as soon as the file changed (or after a 401 with the old one, whichever came first).
  auto watches = h.requestsFor("namespaces", true);
  EXPECT_EQ(watches.back().token, "token-2");
}

TEST(KubeWatch, AuthenticatesWithAClientCertificate) {
  FakeApiServer::Options options;
  options.require_client_cert = true;
  options.token = "";
  Harness h(options);
  h.server.applyYaml(kCluster);
  h.start(fastOptions(), /*client_cert=*/true);
  ASSERT_TRUE(h.ready());
  EXPECT_EQ(h.state()->count(Kind::kNamespace), 5u);
}

TEST(KubeWatch, VerifiesTheServerCertificateAgainstTheClusterCa) {
  Harness h;
  h.server.applyYaml(kCluster);
  auto cfg = parseKubeConfig(h.server.kubeconfig(), "", "fake");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  cfg->ca_pem = testing::makeTestPki().ca_pem;  // some other cluster's CA
  h.startWith(std::move(*cfg));
  ASSERT_TRUE(eventually([&] { return h.watch->status(Kind::kNamespace).restarts >= 2; }));
  EXPECT_NE(h.watch->status(Kind::kNamespace).last_error.find("SSL"), std::string::npos)
      << h.watch->status(Kind::kNamespace).last_error;
  EXPECT_FALSE(h.store.ready());
  EXPECT_TRUE(h.server.requests().empty());  // no request got past the handshake
}

TEST(KubeWatch, RejectsAnUnusableConfigAndStopsPromptlyWhileRequestsHang) {
  StateStore store;
  prometheus::Registry registry;
  KubeConfig bad;
  bad.host = "127.0.0.1";
  bad.ca_pem = "not a certificate";
  bad.source = "bad";
  KubeWatch rejected(bad, store, registry);
  auto started = rejected.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().find("certificate authority"), std::string::npos);
  EXPECT_TRUE(store.ready());  // nothing started, nothing changed

  // Every list hangs on the server; stop() must still return (a hang fails the test by timeout).
  Harness h;
  h.server.applyYaml(kCluster);
  for (const auto& r : watchedResources()) {
    h.server.holdLists(r.group.empty() ? std::string(r.plural)
                                       : std::string(r.group) + "/" + std::string(r.plural),
                       true);
  }
  h.start();
  ASSERT_TRUE(eventually([&] { return h.server.requests().size() >= watchedResources().size(); }));
  h.watch->stop();
  EXPECT_FALSE(h.store.ready());
}

}  // namespace
}  // namespace ambient_guard
