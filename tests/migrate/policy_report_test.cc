// migrate/policy_report: the PolicyReports built from a snapshot (pure; the writer is tested in
// tests/kube/report_publisher_test.cc, the whole loop in tests/migrate/policy_report_publish_test.cc).
#include "migrate/policy_report.h"

#include <gtest/gtest.h>

#include "rules/rule.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::stateFromYaml;

constexpr const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: istio-system, uid: u-0}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, uid: u-1, labels: {istio-injection: enabled}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: no-mtls, namespace: legacy}
spec: {mtls: {mode: DISABLE}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, uid: u-2, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: gone, uid: u-3, deletionTimestamp: "2026-01-01T00:00:00Z"}
---
apiVersion: v1
kind: Service
metadata: {name: orphan, namespace: no-namespace-object}
spec: {selector: {app: x}, ports: [{port: 80}]}
)";

const Reviewer& reviewer() {
  static const Reviewer r(rules::makeDefaultRules(), rules::MeshSettings{});
  return r;
}

const json* reportOf(const DesiredReports& d, const std::string& ns) {
  for (const json& r : d.namespaced) {
    if (r["metadata"]["namespace"] == ns) {
      return &r;
    }
  }
  return nullptr;
}

TEST(PolicyReport, OneReportPerLiveNamespaceWithGateAndFindings) {
  auto state = stateFromYaml(kCluster);
  DesiredReports d = buildPolicyReports(*state, reviewer());
  // istio-system is a system namespace (check leaves it out); "gone" is terminating; the
  // Service's namespace has no Namespace object to own a report.
  ASSERT_EQ(d.namespaced.size(), 2u);
  const json* legacy = reportOf(d, "legacy");
  ASSERT_NE(legacy, nullptr);
  EXPECT_EQ((*legacy)["apiVersion"], "wgpolicyk8s.io/v1alpha2");
  EXPECT_EQ((*legacy)["kind"], "PolicyReport");
  EXPECT_EQ((*legacy)["metadata"]["name"], "ambient-guard");
  EXPECT_EQ((*legacy)["metadata"]["labels"]["app.kubernetes.io/managed-by"], "ambient-guard");
  EXPECT_EQ((*legacy)["metadata"]["ownerReferences"],
            json::parse(R"([{"apiVersion":"v1","kind":"Namespace","name":"legacy","uid":"u-1"}])"));
  EXPECT_EQ((*legacy)["scope"]["kind"], "Namespace");
  const json& results = (*legacy)["results"];
  ASSERT_GE(results.size(), 2u);
  // The gate first: blocked (evaluated as if enrolled: legacy still uses sidecars).
  EXPECT_EQ(results[0]["rule"], "namespace-gate");
  EXPECT_EQ(results[0]["result"], "fail");
  EXPECT_EQ(results[0]["properties"]["gate"], "blocked");
  EXPECT_EQ(results[0]["properties"]["evaluatedAs"], "enrolled");
  bool found = false;
  for (const json& r : results) {
    EXPECT_EQ(r["policy"], "ambient-guard");
    EXPECT_EQ(r["source"], "ambient-guard");
    EXPECT_EQ(r["properties"]["gate"], "blocked");
    if (r["rule"] == "peer-authentication-disable") {
      found = true;
      EXPECT_EQ(r["result"], "fail");
      EXPECT_EQ(r["severity"], "high");
      EXPECT_EQ(r["resources"][0],
                json::parse(R"({"apiVersion":"security.istio.io/v1","kind":"PeerAuthentication",
                                "namespace":"legacy","name":"no-mtls"})"));
      EXPECT_NE(r["message"].get<std::string>().find("[peer-authentication-disable]"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(found) << results.dump(2);
  EXPECT_GE((*legacy)["summary"]["fail"].get<int>(), 2);

  const json* shop = reportOf(d, "shop");
  ASSERT_NE(shop, nullptr);
  ASSERT_EQ((*shop)["results"].size(), 1u) << (*shop)["results"].dump(2);
  EXPECT_EQ((*shop)["results"][0]["result"], "pass");
  EXPECT_EQ((*shop)["results"][0]["properties"]["gate"], "ready");
  EXPECT_EQ((*shop)["results"][0]["properties"]["evaluatedAs"], "current");
  EXPECT_EQ((*shop)["summary"], json::parse(R"({"pass":1,"fail":0,"warn":0,"error":0,"skip":0})"));
}

TEST(PolicyReport, ClusterReportCountsNamespacesPerGate) {
  auto state = stateFromYaml(kCluster);
  DesiredReports d = buildPolicyReports(*state, reviewer());
  EXPECT_EQ(d.cluster["kind"], "ClusterPolicyReport");
  EXPECT_FALSE(d.cluster["metadata"].contains("namespace"));
  EXPECT_EQ(d.cluster["summary"], json::parse(R"({"pass":1,"warn":0,"fail":1,"error":0,"skip":0})"));
  ASSERT_EQ(d.cluster["results"].size(), 3u);
  EXPECT_EQ(d.cluster["results"][0]["properties"]["gate"], "ready");
  EXPECT_EQ(d.cluster["results"][0]["message"], "1 namespace(s) ready: shop");
  EXPECT_EQ(d.cluster["results"][2]["properties"]["gate"], "blocked");
  EXPECT_EQ(d.cluster["results"][2]["properties"]["namespaces"], "1");
}

TEST(PolicyReport, FixingTheBlockerChangesTheReportAndEqualStatesGiveEqualBytes) {
  const std::string fixed = std::string(kCluster).replace(
      std::string(kCluster).find("mode: DISABLE"), 13, "mode: STRICT ");
  auto before = buildPolicyReports(*stateFromYaml(kCluster), reviewer());
  auto again = buildPolicyReports(*stateFromYaml(kCluster), reviewer());
  auto after = buildPolicyReports(*stateFromYaml(fixed), reviewer());
  EXPECT_EQ(reportOf(before, "legacy")->dump(), reportOf(again, "legacy")->dump());
  EXPECT_EQ(before.cluster.dump(), again.cluster.dump());
  EXPECT_NE(reportOf(before, "legacy")->dump(), reportOf(after, "legacy")->dump());
  EXPECT_NE((*reportOf(after, "legacy"))["results"][0]["properties"]["gate"], "blocked");
  // The unaffected namespace's report is byte-identical: the writer skips it.
  EXPECT_EQ(reportOf(before, "shop")->dump(), reportOf(after, "shop")->dump());
}

TEST(PolicyReport, OpenReportsUsesItsOwnKinds) {
  auto d = buildPolicyReports(*stateFromYaml(kCluster), reviewer(), ReportApi::kOpenReports);
  ASSERT_FALSE(d.namespaced.empty());
  EXPECT_EQ(d.namespaced[0]["apiVersion"], "openreports.io/v1alpha1");
  EXPECT_EQ(d.namespaced[0]["kind"], "Report");
  EXPECT_EQ(d.cluster["kind"], "ClusterReport");
}

}  // namespace
}  // namespace ambient_guard
