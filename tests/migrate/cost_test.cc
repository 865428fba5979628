// Cost estimate (migrate/cost.h) on a backup with known sidecar resources, proxy annotations and
// injector values (tests/testdata/cost/backup.yaml); spec §4 of
// ../shared/spec/platform-and-cost.md. Also `check --cost` through the real binary.
#include "migrate/cost.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/quantity.h"
#include "model/state_file.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using ::ambient_guard::testing::runCli;
using ::ambient_guard::testing::stateFromYaml;

constexpr int64_t kMi = 1024 * 1024;

std::string fixture() { return std::string(AG_TESTDATA_DIR) + "/cost/backup.yaml"; }

std::shared_ptr<const Snapshot> load() {
  std::vector<AnyObject> objects;
  auto loaded = loadFile(fixture(), objects);
  EXPECT_TRUE(loaded.ok()) << loaded.error();
  return Snapshot::build(std::move(objects));
}

Labels annotations(std::vector<std::pair<std::string, std::string>> kv) {
  return Labels(std::move(kv));
}

TEST(Cost, QuantitiesParseAndPrint) {
  EXPECT_EQ(parseCpuMillis("100m"), 100);
  EXPECT_EQ(parseCpuMillis("2"), 2000);
  EXPECT_EQ(parseCpuMillis("0.5"), 500);
  EXPECT_EQ(parseCpuMillis("1500u"), 2);  // rounded up, like the API server
  EXPECT_EQ(parseMemoryBytes("128Mi"), 128 * kMi);
  EXPECT_EQ(parseMemoryBytes("1G"), 1000000000);
  EXPECT_EQ(parseMemoryBytes("1e3"), 1000);
  EXPECT_EQ(parseMemoryBytes("1.5Gi"), 1536 * kMi);
  EXPECT_FALSE(parseCpuMillis("lots").has_value());
  EXPECT_FALSE(parseMemoryBytes("12Qi").has_value());
  EXPECT_EQ(formatCpu(250), "250m");
  EXPECT_EQ(formatCpu(2000), "2");
  EXPECT_EQ(formatCpu(1250), "1.25");
  EXPECT_EQ(formatMemory(128 * kMi), "128Mi");
  EXPECT_EQ(formatMemory(1536 * kMi), "1.5Gi");
}

TEST(Cost, AnnotationRulesHaveNoPerFieldFallback) {
  const Resources fallback{100, 128 * kMi, 2000, 1024 * kMi};
  struct Case {
    std::string name;
    Labels annotations;
    Resources want;
  };
  const std::vector<Case> cases = {
      {"no annotation: the default", annotations({}), fallback},
      {"only proxyCPU", annotations({{"sidecar.istio.io/proxyCPU", "300m"}}),
       Resources{300, std::nullopt, std::nullopt, std::nullopt}},
      {"only a memory limit", annotations({{"sidecar.istio.io/proxyMemoryLimit", "1Gi"}}),
       Resources{std::nullopt, std::nullopt, std::nullopt, 1024 * kMi}},
      {"all four",
       annotations({{"sidecar.istio.io/proxyCPU", "200m"},
                    {"sidecar.istio.io/proxyMemory", "256Mi"},
                    {"sidecar.istio.io/proxyCPULimit", "1"},
                    {"sidecar.istio.io/proxyMemoryLimit", "512Mi"}}),
       Resources{200, 256 * kMi, 1000, 512 * kMi}},
      {"unrelated annotation", annotations({{"sidecar.istio.io/inject", "true"}}), fallback},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Resources got = sidecarResources(c.annotations, fallback);
    EXPECT_EQ(got.cpu_request_m, c.want.cpu_request_m);
    EXPECT_EQ(got.memory_request, c.want.memory_request);
    EXPECT_EQ(got.cpu_limit_m, c.want.cpu_limit_m);
    EXPECT_EQ(got.memory_limit, c.want.memory_limit);
  }
}

TEST(Cost, SidecarsTodayVersusAmbient) {
  auto state = load();
  const CostEstimate c = estimateCost(*state, {"shop", "tmpl"}, {"shop"}, rules::MeshSettings{});
  ASSERT_EQ(c.namespaces.size(), 2u);

  // shop: the running sidecar pods (web-1, web-2 with a native sidecar, api-1 annotated);
  // the Succeeded job and the pod without a sidecar do not count.
  const NamespaceCost& shop = c.namespaces[0];
  EXPECT_EQ(shop.basis, "pods");
  EXPECT_EQ(shop.sidecars, 3u);
  EXPECT_EQ(shop.annotated, 1u);
  EXPECT_EQ(shop.sidecar.cpu_request_m, 400);
  EXPECT_EQ(shop.sidecar.memory_request, 512 * kMi);
  EXPECT_EQ(shop.sidecar.cpu_limit_m, 4000);
  EXPECT_EQ(shop.sidecar.memory_limit, 2048 * kMi);
  EXPECT_EQ(shop.sidecar.cpu_unlimited, 1u);
  EXPECT_EQ(shop.waypoints_planned, 1u);

  // tmpl: templates x replicas. web (3) gets the injector default 50m/64Mi, 1/512Mi; api (2)
  // has only proxyCPU 300m; db opts out with sidecar.istio.io/inject=false.
  const NamespaceCost& tmpl = c.namespaces[1];
  EXPECT_EQ(tmpl.basis, "templates");
  EXPECT_EQ(tmpl.sidecars, 5u);
  EXPECT_EQ(tmpl.annotated, 2u);
  EXPECT_EQ(tmpl.sidecar.cpu_request_m, 3 * 50 + 2 * 300);
  EXPECT_EQ(tmpl.sidecar.memory_request, 3 * 64 * kMi);
  EXPECT_EQ(tmpl.sidecar.cpu_limit_m, 3 * 1000);
  EXPECT_EQ(tmpl.sidecar.memory_limit, 3 * 512 * kMi);
  EXPECT_EQ(tmpl.sidecar.cpu_unlimited, 2u);
  EXPECT_EQ(tmpl.waypoints_planned, 0u);

  EXPECT_EQ(c.proxy_default.source,
            "ConfigMap istio-system/istio-sidecar-injector (global.proxy.resources.*)");
  EXPECT_EQ(c.sidecars_total.cpu_request_m, 1150);
  EXPECT_EQ(c.sidecars_total.memory_request, 704 * kMi);

  // After: ztunnel chart default x 3 nodes; istio-cni already runs (not incremental); one
  // waypoint with the injector's global.waypoint.resources.
  EXPECT_EQ(c.nodes, 3u);
  EXPECT_EQ(c.nodes_source, "Node objects");
  EXPECT_EQ(c.ztunnel.resources.cpu_request_m, 200);
  EXPECT_EQ(c.ztunnel_total.cpu_request_m, 600);
  EXPECT_EQ(c.ztunnel_total.memory_request, 1536 * kMi);
  EXPECT_TRUE(c.cni_installed);
  EXPECT_EQ(c.cni_total.cpu_request_m, 0);
  EXPECT_EQ(c.waypoints_total.cpu_request_m, 200);
  EXPECT_EQ(c.waypoints_total.memory_limit, 1024 * kMi);
  EXPECT_EQ(c.ambient_total.cpu_request_m, 800);
  EXPECT_EQ(c.ambient_total.memory_request, 1792 * kMi);
  EXPECT_EQ(c.ambient_total.cpu_limit_m, 1000);

  const nlohmann::json j = costJson(c);
  EXPECT_EQ(j["saving"]["cpuRequestMillis"], 350);
  EXPECT_EQ(j["saving"]["memoryRequestBytes"], (704 - 1792) * kMi);
  EXPECT_NE(j["context"].get<std::string>().find("~0.20 vCPU / 60 MB"), std::string::npos);
}

TEST(Cost, ChartDefaultsWhenTheBackupHasNoValues) {
  auto state = stateFromYaml(R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 2, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system}
spec: {template: {spec: {containers: [{name: kube-proxy}]}}}
status: {desiredNumberScheduled: 5}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: waypoint-defaults
  namespace: istio-system
  labels: {gateway.istio.io/defaults-for-class: istio-waypoint}
data:
  deployment: |
    spec:
      template:
        spec:
          containers:
          - name: istio-proxy
            resources: {requests: {cpu: 300m, memory: 300Mi}}
)");
  const CostEstimate c = estimateCost(*state, {"shop"}, {"shop"}, rules::MeshSettings{});
  EXPECT_EQ(c.proxy_default.resources.cpu_request_m, 100);
  EXPECT_EQ(c.proxy_default.resources.memory_limit, 1024 * kMi);
  EXPECT_EQ(c.sidecars_total.cpu_request_m, 200);
  EXPECT_EQ(c.sidecars_total.cpu_limit_m, 4000);
  EXPECT_EQ(c.nodes, 5u);
  EXPECT_EQ(c.nodes_source, "DaemonSet kube-system/kube-proxy desiredNumberScheduled");
  EXPECT_FALSE(c.cni_installed);
  EXPECT_EQ(c.cni_total.cpu_request_m, 500);
  EXPECT_EQ(c.cni_total.memory_request, 500 * kMi);
  EXPECT_EQ(c.waypoint.source, "ConfigMap istio-system/waypoint-defaults (defaults-for-class)");
  EXPECT_EQ(c.waypoints_total.cpu_request_m, 300);
}

TEST(Cost, CheckCostThroughTheBinary) {
  auto table = runCli({"check", "-f", fixture(), "--cost"});
  EXPECT_NE(table.exit_code, 2) << table.err;
  EXPECT_NE(table.out.find("Cost estimate (sidecars today vs ztunnel"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("Today:  8 sidecars: requests 1.15 CPU / 704Mi"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("istio-cni 3 nodes x (requests 100m/100Mi, limits none): already "
                           "installed, not incremental"),
            std::string::npos)
      << table.out;
  auto json = runCli({"check", "-f", fixture(), "--cost", "-o", "json"});
  auto j = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << json.out << json.err;
  EXPECT_EQ(j["cost"]["today"]["cpuRequestMillis"], 1150);
  EXPECT_EQ(j["cost"]["nodes"], 3);
  // Without --cost the report is unchanged.
  auto plain = runCli({"check", "-f", fixture(), "-o", "json"});
  EXPECT_FALSE(nlohmann::json::parse(plain.out).contains("cost"));
}

}  // namespace
}  // namespace ambient_guard
