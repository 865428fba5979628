// `ambient-guard verify` (migrate/verify.h) on recorded istioctl output written from the
// structures of ../shared/spec/platform-and-cost.md §3 (tests/testdata/verify/SOURCE.md):
// parsers, each cutover check, the golden-signal PromQL, and the real binary's exit status.
#include "migrate/verify.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/state_file.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using ::ambient_guard::testing::runCli;

std::string fixture(const std::string& name) {
  return std::string(AG_TESTDATA_DIR) + "/verify/" + name;
}

std::string read(const std::string& name) {
  auto text = readFileText(fixture(name));
  EXPECT_TRUE(text.ok()) << text.error();
  return text.ok() ? *text : std::string();
}

std::shared_ptr<const Snapshot> backup(const std::string& name) {
  std::vector<AnyObject> objects;
  auto loaded = loadFile(fixture(name), objects);
  EXPECT_TRUE(loaded.ok()) << loaded.error();
  return Snapshot::build(std::move(objects));
}

// Returns "OK|FAIL check object" per item.
std::vector<std::string> brief(const VerifyReport& r) {
  std::vector<std::string> out;
  for (const auto& i : r.items) {
    out.push_back(std::string(i.ok ? "OK " : "FAIL ") + i.check + " " + i.object);
  }
  return out;
}

const VerifyItem* item(const VerifyReport& r, const std::string& object) {
  for (const auto& i : r.items) {
    if (i.object == object) {
      return &i;
    }
  }
  return nullptr;
}

TEST(Verify, ParsesIstioctlOutput) {
  auto workloads = parseZtunnelWorkloads(read("workloads-bad.json"));
  ASSERT_TRUE(workloads.ok()) << workloads.error();
  ASSERT_EQ(workloads->size(), 5u);
  EXPECT_EQ((*workloads)[2].uid, "Kubernetes//Pod/shop/db-0");
  EXPECT_EQ((*workloads)[2].protocol, "TCP");
  EXPECT_EQ((*workloads)[2].node, "node-a");
  auto services = parseZtunnelServices(read("services.json"));
  ASSERT_TRUE(services.ok()) << services.error();
  ASSERT_EQ(services->size(), 5u);
  EXPECT_EQ(services->back().waypoint, "/10.96.0.20");
  auto rows = parseWaypointStatus(read("waypoint-status.txt"));
  ASSERT_TRUE(rows.ok()) << rows.error();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].name, "waypoint");
  EXPECT_EQ((*rows)[0].status, "True");
  EXPECT_EQ((*rows)[0].message,
            "Resource programmed, assigned to service(s) waypoint.shop.svc.cluster.local:15008.");
}

TEST(Verify, ParserErrors) {
  EXPECT_FALSE(parseZtunnelWorkloads("not json").ok());
  EXPECT_FALSE(parseZtunnelWorkloads(R"({"uid": "x"})").ok());
  EXPECT_FALSE(parseZtunnelWorkloads(R"([1])").ok());
  EXPECT_FALSE(parseZtunnelServices("{}").ok());
  EXPECT_FALSE(parseWaypointStatus("nothing here\n").ok());
  auto with_ns = parseWaypointStatus(
      "NAMESPACE   NAME       STATUS   TYPE         REASON          MESSAGE\n"
      "shop        waypoint   False    Programmed   AddressNotUsable  no address\n");
  ASSERT_TRUE(with_ns.ok());
  EXPECT_EQ((*with_ns)[0].ns, "shop");
  EXPECT_EQ((*with_ns)[0].status, "False");
  EXPECT_EQ((*with_ns)[0].reason, "AddressNotUsable");
}

TEST(Verify, ResolvesWaypointDestinationsLikeIstioctl) {
  auto services = parseZtunnelServices(read("services.json"));
  ASSERT_TRUE(services.ok());
  struct Case {
    std::string destination;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"/10.96.0.20", "shop/waypoint"},                       // network/ip: a VIP
      {"shop/waypoint.shop.svc.cluster.local", "shop/waypoint"},  // namespace/hostname
      {"/10.96.9.9", ""},                                     // istioctl prints None
      {"other/waypoint.shop.svc.cluster.local", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.destination);
    EXPECT_EQ(resolveWaypointDestination(c.destination, *services), c.want);
  }
}

TEST(Verify, FindsSidecarsPlaintextAndMissingWaypoints) {
  auto state = backup("backup.yaml");
  VerifyInput in;
  in.ns = "shop";
  in.workloads = *parseZtunnelWorkloads(read("workloads-bad.json"));
  in.services = *parseZtunnelServices(read("services.json"));
  in.waypoints = *parseWaypointStatus(read("waypoint-status.txt"));
  in.backup = state.get();
  const VerifyReport r = runVerify(in, rules::MeshSettings{});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(brief(r), (std::vector<std::string>{
                          "FAIL pods Pod shop/db-0",
                          "OK pods Pod shop/web-1",
                          "FAIL pods Pod shop/web-2",
                          "FAIL waypoints Service shop/cart",
                          "OK waypoints Service shop/reviews",
                          "OK waypoints Service shop/web",
                          "OK waypoints Gateway shop/waypoint",
                      }));
  const VerifyItem* web2 = item(r, "Pod shop/web-2");
  ASSERT_NE(web2, nullptr);
  // The §3.3 caveat: HBONE in zc workloads, yet the sidecar wins.
  EXPECT_NE(web2->message.find("still has a sidecar"), std::string::npos) << web2->message;
  EXPECT_NE(web2->message.find("HBONE here comes from the sidecar"), std::string::npos);
  const VerifyItem* db = item(r, "Pod shop/db-0");
  EXPECT_NE(db->message.find("No ambient.istio.io/redirection annotation"), std::string::npos);
  EXPECT_NE(db->message.find("protocol TCP, not HBONE"), std::string::npos);
  EXPECT_NE(item(r, "Service shop/cart")->message.find("expected waypoint shop/waypoint, but "
                                                       "ztunnel has none"),
            std::string::npos);
  EXPECT_EQ(r.plaintext, (std::vector<std::string>{"db-0 (node node-a)"}));
  EXPECT_TRUE(r.has_waypoint);
}

TEST(Verify, PassesAfterTheRestart) {
  auto state = backup("backup-good.yaml");
  VerifyInput in;
  in.ns = "shop";
  in.workloads = *parseZtunnelWorkloads(read("workloads-good.json"));
  in.services = *parseZtunnelServices(read("services-good.json"));
  in.waypoints = *parseWaypointStatus(read("waypoint-status.txt"));
  in.backup = state.get();
  const VerifyReport r = runVerify(in, rules::MeshSettings{});
  EXPECT_TRUE(r.ok()) << verifyJson(r).dump(2);
  EXPECT_TRUE(r.plaintext.empty());
}

TEST(Verify, WithoutABackupOnlyZtunnelsViewIsChecked) {
  VerifyInput in;
  in.ns = "shop";
  in.workloads = *parseZtunnelWorkloads(read("workloads-bad.json"));
  const VerifyReport r = runVerify(in, rules::MeshSettings{});
  EXPECT_EQ(brief(r), (std::vector<std::string>{
                          "OK workloads Pod shop/web-1",
                          "OK workloads Pod shop/web-2",
                          "FAIL workloads Pod shop/db-0",
                          "OK workloads Pod shop/waypoint-6f7c9d-x2x4k",
                      }));
  bool caveat = false;
  for (const auto& n : r.notes) {
    caveat = caveat || n.find("HBONE does not prove capture") != std::string::npos;
  }
  EXPECT_TRUE(caveat);
  in.ns = "empty";
  EXPECT_FALSE(runVerify(in, rules::MeshSettings{}).ok());
}

TEST(Verify, GoldenSignalsForTheNamespace) {
  const auto l4 = goldenSignals("shop", /*waypoint=*/false);
  ASSERT_FALSE(l4.empty());
  EXPECT_EQ(l4[0].promql,
            "sum(rate(istio_tcp_connections_opened_total{reporter=\"destination\","
            "destination_workload_namespace=\"shop\"}[5m]))");
  bool leak = false, waypoint = false;
  for (const auto& s : l4) {
    leak = leak || s.promql.find("connection_security_policy!=\"mutual_tls\"") != std::string::npos;
    waypoint = waypoint || s.promql.find("reporter=\"waypoint\"") != std::string::npos;
  }
  EXPECT_TRUE(leak);
  EXPECT_FALSE(waypoint);  // no waypoint: no istio_requests_total after cutover
  bool errors = false;
  for (const auto& s : goldenSignals("shop", /*waypoint=*/true)) {
    errors = errors || s.promql.find("istio_requests_total{reporter=\"waypoint\","
                                     "destination_service_namespace=\"shop\",response_code=~\"5..\"}") !=
                           std::string::npos;
  }
  EXPECT_TRUE(errors);
}

TEST(Verify, BinaryExitStatusAndOutput) {
  const std::vector<std::string> common = {
      "verify", "--namespace", "shop", "--ztunnel-services", fixture("services.json"),
      "--waypoint-status", fixture("waypoint-status.txt")};
  auto args = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  auto bad = runCli(args({"--ztunnel-workloads", fixture("workloads-bad.json"), "-f",
                          fixture("backup.yaml")}));
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_NE(bad.out.find("NOT verified"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("FAIL  pods  Pod shop/web-2"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("  - db-0 (node node-a)"), std::string::npos);
  EXPECT_NE(bad.out.find("Golden signals to watch (PromQL):"), std::string::npos);
  EXPECT_NE(bad.out.find("reporter=\"waypoint\",destination_service_namespace=\"shop\""),
            std::string::npos);

  auto good = runCli({"verify", "--namespace", "shop", "--ztunnel-workloads",
                      fixture("workloads-good.json"), "--ztunnel-services",
                      fixture("services-good.json"), "--waypoint-status",
                      fixture("waypoint-status.txt"), "-f", fixture("backup-good.yaml"), "-o",
                      "json"});
  EXPECT_EQ(good.exit_code, 0) << good.err << good.out;
  auto json = nlohmann::json::parse(good.out, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << good.out;
  EXPECT_EQ(json["verified"], true);
  EXPECT_EQ(json["namespace"], "shop");
  EXPECT_FALSE(json["goldenSignals"].empty());

  auto missing = runCli({"verify", "--namespace", "shop", "--ztunnel-workloads", "/nonexistent"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("/nonexistent"), std::string::npos);
  auto usage = runCli({"verify", "--namespace", "shop"});
  EXPECT_EQ(usage.exit_code, 2);
  auto stdin_run = runCli({"verify", "-n", "shop", "--ztunnel-workloads", "-"},
                          read("workloads-good.json"));
  EXPECT_EQ(stdin_run.exit_code, 0) << stdin_run.err << stdin_run.out;
}

}  // namespace
}  // namespace ambient_guard
