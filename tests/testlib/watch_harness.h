// A fake API server (tests/testlib/fake_apiserver.h), the StateStore the webhook reads and a
// KubeWatch between them, for tests of the watch (tests/kube/) and of decisions that follow the
// live cluster (tests/webhook/).
#pragma once

#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kube/kube_config.h"
#include "kube/kube_watch.h"
#include "kube/state_store.h"
#include "tests/testlib/fake_apiserver.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard::testing {

using Request = FakeApiServer::Request;

inline KubeWatchOptions fastOptions() {
  KubeWatchOptions o;
  o.page_size = 2;  // every kind with more than two objects needs several pages
  o.coalesce = std::chrono::milliseconds(1);
  o.backoff_initial = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(50);
  o.missing_retry = std::chrono::milliseconds(50);
  return o;
}

// A small cluster: namespaces, Services, a waypoint, policies (objects of several kinds, some
// needing more than one list page with fastOptions()).
inline constexpr const char* kWatchCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: istio-system, labels: {kubernetes.io/metadata.name: istio-system}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, team: payments}}
---
apiVersion: v1
kind: Namespace
metadata: {name: a1}
---
apiVersion: v1
kind: Namespace
metadata: {name: a2}
---
apiVersion: v1
kind: Namespace
metadata: {name: a3}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {app: web, helm.sh/chart: web-1.2.3, app.kubernetes.io/managed-by: Helm,
           istio.io/use-waypoint: waypoint}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {selector: {app: db}, ports: [{name: tcp, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: a1}
spec: {selector: {app: api}, ports: [{port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio-waypoint}
spec: {controllerName: istio.io/mesh-controller}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
)";

// A fake API server, the store the webhook reads, and the watch between them.
struct Harness {
  explicit Harness(FakeApiServer::Options options = {}) : server(std::move(options)) {}
  ~Harness() {
    if (watch) {
      watch->stop();
    }
  }

  void start(KubeWatchOptions options = fastOptions(), bool client_cert = false) {
    auto cfg = parseKubeConfig(server.kubeconfig(client_cert), "", "fake");
    ASSERT_TRUE(cfg.ok()) << cfg.error();
    startWith(std::move(*cfg), options);
  }
  void startWith(KubeConfig cfg, KubeWatchOptions options = fastOptions()) {
    watch = std::make_unique<KubeWatch>(std::move(cfg), store, registry, options);
    auto started = watch->start();
    ASSERT_TRUE(started.ok()) << started.error();
  }
  bool ready() {
    return eventually([&] { return store.ready(); });
  }
  std::shared_ptr<const Snapshot> state() const { return store.current(); }

  // Returns the requests for a resource path ending in `plural`.
  std::vector<Request> requestsFor(std::string_view plural, bool watches) const {
    std::vector<Request> out;
    for (Request& r : server.requests()) {
      if (r.path.ends_with("/" + std::string(plural)) && r.watch == watches) {
        out.push_back(std::move(r));
      }
    }
    return out;
  }

  // Returns true once every kind has sent a watch request.
  bool allWatching() const {
    for (const auto& r : watchedResources()) {
      if (requestsFor(r.plural, true).empty()) {
        return false;
      }
    }
    return true;
  }

  double metric(const std::string& family, const std::string& kind) const {
    for (const auto& f : registry.Collect()) {
      if (f.name != family) {
        continue;
      }
      for (const auto& m : f.metric) {
        for (const auto& l : m.label) {
          if (l.name == "kind" && l.value == kind) {
            return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
          }
        }
      }
    }
    return -1;
  }

  FakeApiServer server;
  StateStore store;
  prometheus::Registry registry;
  std::unique_ptr<KubeWatch> watch;
};

inline nlohmann::json namespaceJson(const std::string& name,
                                    nlohmann::json labels = nlohmann::json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata", {{"name", name}, {"labels", std::move(labels)}}}};
}

}  // namespace ambient_guard::testing
