// PolicyReports end to end in process: a fake API server, the watch feeding the store, and
// ReportPublishers (leader election, server-side apply) with the real report builder
// (migrate/policy_report_publish.h). The e2e tests against a real kube-apiserver: tests/e2e/test_policy_reports.sh.
#include "migrate/policy_report_publish.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <set>

#include "kube/report_publisher.h"
#include "rules/rule.h"
#include "tests/testlib/fake_apiserver.h"
#include "tests/testlib/watch_harness.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::eventually;
using testing::Harness;

constexpr const char* kReports = "wgpolicyk8s.io/policyreports";

constexpr const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: ambient-guard, uid: uid-ag}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, uid: uid-shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, uid: uid-legacy}
---
apiVersion: v1
kind: Namespace
metadata: {name: web, uid: uid-web}
)";

constexpr const char* kDisable = R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: no-mtls, namespace: legacy}
spec: {mtls: {mode: DISABLE}}
)";

class PolicyReports : public ::testing::Test {
 protected:
  const Reviewer reviewer_{rules::makeDefaultRules(), rules::MeshSettings{}};
  Harness h_;
  std::vector<std::unique_ptr<prometheus::Registry>> registries_;
  std::vector<std::unique_ptr<ReportPublisher>> publishers_;

  void startCluster(const char* yaml = kCluster) {
    h_.server.applyYaml(yaml);
    h_.start();
    ASSERT_TRUE(h_.ready());
  }

  ReportPublisher& startPublisher(const std::string& identity) {
    PolicyReportWiring w;
    w.identity = identity;
    w.debounce = std::chrono::milliseconds(20);
    w.resync = std::chrono::seconds(3600);
    ReportPublisherOptions o = policyReportOptions(w);
    o.election_period = std::chrono::milliseconds(20);
    o.tick = std::chrono::milliseconds(5);
    // Takeover only by release in these tests: the leader never expires on its own.
    o.lease.lease_duration = std::chrono::seconds(3600);
    auto cfg = parseKubeConfig(h_.server.kubeconfig(), "", "fake");
    EXPECT_TRUE(cfg.ok());
    registries_.push_back(std::make_unique<prometheus::Registry>());
    publishers_.push_back(std::make_unique<ReportPublisher>(
        std::move(*cfg), h_.store, *registries_.back(), policyReportBuilder(reviewer_), o));
    auto started = publishers_.back()->start();
    EXPECT_TRUE(started.ok()) << started.error();
    return *publishers_.back();
  }

  void TearDown() override {
    for (auto& p : publishers_) {
      p->stop();
    }
  }

  std::set<std::string> reportNames(const char* resource = kReports) const {
    auto names = h_.server.objectNames(resource);
    return {names.begin(), names.end()};
  }

  std::string gateOf(const std::string& ns) const {
    json r = h_.server.object(kReports, ns, "ambient-guard");
    return r.is_null() ? "" : r["results"][0]["properties"]["gate"].get<std::string>();
  }

  bool hasRule(const std::string& ns, const std::string& rule) const {
    json r = h_.server.object(kReports, ns, "ambient-guard");
    for (const json& res : r.value("results", json::array())) {
      if (res["rule"] == rule) {
        return true;
      }
    }
    return false;
  }

  size_t patches() const {
    auto w = h_.server.writes();
    return static_cast<size_t>(
        std::count_if(w.begin(), w.end(), [](const auto& x) { return x.method == "PATCH"; }));
  }
};

double counter(prometheus::Registry& registry, const std::string& name,
               const std::string& result) {
  for (const auto& f : registry.Collect()) {
    if (f.name != name) {
      continue;
    }
    for (const auto& m : f.metric) {
      if (result.empty()) {
        return static_cast<double>(m.histogram.sample_count);
      }
      for (const auto& l : m.label) {
        if (l.name == "result" && l.value == result) {
          return m.counter.value;
        }
      }
    }
  }
  return -1;
}

TEST_F(PolicyReports, EveryNamespaceGetsAReportWrittenWithServerSideApply) {
  startCluster();
  ReportPublisher& p = startPublisher("replica-a");
  const std::set<std::string> want = {"ambient-guard/ambient-guard", "legacy/ambient-guard",
                                      "shop/ambient-guard", "web/ambient-guard"};
  ASSERT_TRUE(eventually([&] { return reportNames() == want; })) << reportNames().size();
  ASSERT_TRUE(eventually([&] {
    return !h_.server.object("wgpolicyk8s.io/clusterpolicyreports", "", "ambient-guard").is_null();
  }));
  json shop = h_.server.object(kReports, "shop", "ambient-guard");
  EXPECT_EQ(shop["metadata"]["ownerReferences"][0]["uid"], "uid-shop");
  EXPECT_EQ(shop["results"][0]["result"], "pass");
  for (const auto& w : h_.server.writes()) {
    if (w.path.find("/leases") != std::string::npos) {
      continue;
    }
    SCOPED_TRACE(w.path);
    EXPECT_EQ(w.method, "PATCH");
    EXPECT_EQ(w.content_type, "application/apply-patch+yaml");
    EXPECT_EQ(w.params.at("fieldManager"), "ambient-guard");
    EXPECT_EQ(w.params.at("force"), "true");
    EXPECT_EQ(w.token, "token-1");
  }
  // The openreports.io API is not installed here: nothing is written there.
  EXPECT_TRUE(reportNames("openreports.io/reports").empty());
  EXPECT_TRUE(eventually([&] { return p.stats().scans >= 1; }));
  EXPECT_GE(counter(*registries_[0], "ambient_guard_policy_report_writes_total", "applied"), 5);
  EXPECT_GE(counter(*registries_[0], "ambient_guard_policy_report_scan_seconds", ""), 1);
}

TEST_F(PolicyReports, ReportFollowsABlockerIntroducedAndFixedAndDropsStaleResults) {
  startCluster();
  startPublisher("replica-a");
  ASSERT_TRUE(eventually([&] { return gateOf("legacy") == "ready"; }));
  h_.server.applyYaml(kDisable);
  ASSERT_TRUE(eventually([&] { return gateOf("legacy") == "blocked"; }));
  EXPECT_TRUE(hasRule("legacy", "peer-authentication-disable"));
  ASSERT_TRUE(h_.server.remove("security.istio.io/v1", "PeerAuthentication", "legacy", "no-mtls"));
  ASSERT_TRUE(eventually([&] { return gateOf("legacy") == "ready"; }));
  // The whole report is applied: the fixed finding's result is gone, not left behind.
  EXPECT_FALSE(hasRule("legacy", "peer-authentication-disable"));
  // The cluster summary is applied after the namespaces' reports of the same scan.
  EXPECT_TRUE(eventually([&] {
    json cluster = h_.server.object("wgpolicyk8s.io/clusterpolicyreports", "", "ambient-guard");
    return cluster["summary"]["fail"] == 0 && cluster["summary"]["pass"] == 4;
  }));
}

TEST_F(PolicyReports, UnchangedReportsAreNotWrittenAgain) {
  startCluster();
  ReportPublisher& p = startPublisher("replica-a");
  ASSERT_TRUE(eventually([&] { return reportNames().size() == 4 && p.stats().scans >= 1; }));
  const size_t before = patches();
  const uint64_t scans = p.stats().scans;
  p.requestScan();
  ASSERT_TRUE(eventually([&] { return p.stats().scans > scans; }));
  EXPECT_EQ(patches(), before);
  EXPECT_GE(p.stats().unchanged, 5u);
  // A change in one namespace rewrites that report and the cluster summary only.
  h_.server.applyYaml(kDisable);
  ASSERT_TRUE(eventually([&] { return gateOf("legacy") == "blocked"; }));
  ASSERT_TRUE(eventually([&] { return patches() == before + 2; }));
}

TEST_F(PolicyReports, ReportOfADeletedOrTerminatingNamespaceIsDeleted) {
  startCluster();
  startPublisher("replica-a");
  ASSERT_TRUE(eventually([&] { return reportNames().count("web/ambient-guard") == 1; }));
  ASSERT_TRUE(eventually([&] { return reportNames().count("legacy/ambient-guard") == 1; }));
  ASSERT_TRUE(h_.server.remove("v1", "Namespace", "", "web"));
  ASSERT_TRUE(eventually([&] { return reportNames().count("web/ambient-guard") == 0; }));
  // Terminating: the API server would refuse new content there; the report goes at once.
  h_.server.applyYaml(R"(
apiVersion: v1
kind: Namespace
metadata: {name: legacy, uid: uid-legacy, deletionTimestamp: "2026-12-07T05:00:00Z"}
)");
  ASSERT_TRUE(eventually([&] { return reportNames().count("legacy/ambient-guard") == 0; }));
  EXPECT_EQ(reportNames().count("shop/ambient-guard"), 1u);
}

TEST_F(PolicyReports, StaleReportsOfAPreviousLeaderAreDeletedOnTakingOver) {
  // A report of ours for a namespace that no longer exists, and somebody else's report.
  h_.server.apply(json::parse(R"({"apiVersion":"wgpolicyk8s.io/v1alpha2","kind":"PolicyReport",
      "metadata":{"name":"ambient-guard","namespace":"removed",
                  "labels":{"app.kubernetes.io/managed-by":"ambient-guard"}}})"));
  startCluster();
  startPublisher("replica-a");
  ASSERT_TRUE(eventually([&] { return reportNames().count("removed/ambient-guard") == 0; }));
  EXPECT_EQ(reportNames().size(), 4u);
}

TEST_F(PolicyReports, OnlyTheLeaderWritesAndAStandbyTakesOverOnRelease) {
  startCluster();
  ReportPublisher& a = startPublisher("replica-a");
  ASSERT_TRUE(eventually([&] { return a.stats().leader && a.stats().scans >= 1; }));
  ReportPublisher& b = startPublisher("replica-b");
  // b has run election rounds (it GETs the Lease) and lost every one.
  auto lease_gets = [&] {
    size_t n = 0;
    for (const auto& r : h_.server.requests()) {
      n += r.path.ends_with("/leases/ambient-guard-policy-reports") ? 1 : 0;
    }
    return n;
  };
  const size_t gets = lease_gets();
  ASSERT_TRUE(eventually([&] { return lease_gets() > gets + 10; }));
  h_.server.applyYaml(kDisable);
  ASSERT_TRUE(eventually([&] { return gateOf("legacy") == "blocked"; }));
  EXPECT_FALSE(b.stats().leader);
  EXPECT_EQ(b.stats().scans, 0u);
  EXPECT_EQ(b.stats().applied, 0u);
  EXPECT_EQ(counter(*registries_[1], "ambient_guard_policy_report_writes_total", "applied"), 0);
  json lease = h_.server.object("coordination.k8s.io/leases", "ambient-guard",
                                "ambient-guard-policy-reports");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "replica-a");

  a.stop();  // releases the Lease
  ASSERT_TRUE(eventually([&] { return b.stats().leader; }));
  ASSERT_TRUE(h_.server.remove("security.istio.io/v1", "PeerAuthentication", "legacy", "no-mtls"));
  ASSERT_TRUE(eventually([&] { return gateOf("legacy") == "ready"; }));
  EXPECT_GE(b.stats().applied, 1u);
  lease = h_.server.object("coordination.k8s.io/leases", "ambient-guard",
                           "ambient-guard-policy-reports");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "replica-b");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
}

TEST_F(PolicyReports, OpenReportsAreWrittenWhereTheirApiIsServed) {
  h_.server.setGroupVersionServed("openreports.io/v1alpha1", true);
  startCluster();
  startPublisher("replica-a");
  ASSERT_TRUE(eventually([&] { return reportNames("openreports.io/reports").size() == 4; }));
  EXPECT_EQ(h_.server.object("openreports.io/reports", "shop", "ambient-guard")["kind"], "Report");
  EXPECT_EQ(reportNames().size(), 4u);
}

}  // namespace
}  // namespace ambient_guard
