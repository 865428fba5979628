// LeaderElector against the fake API server: create, renew, standby, expiry judged on the
// candidate's own clock (times are passed in: nothing waits), release and takeover, stepping down.
#include "kube/lease.h"

#include <gtest/gtest.h>

#include "tests/testlib/fake_apiserver.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::FakeApiServer;
using std::chrono::seconds;

struct Candidate {
  Candidate(FakeApiServer& server, const std::string& identity) {
    auto cfg = parseKubeConfig(server.kubeconfig(), "", "fake");
    EXPECT_TRUE(cfg.ok());
    config = std::move(*cfg);
    auto creds = ApiClient::credentials(config);
    EXPECT_TRUE(creds.ok());
    LeaseOptions o;
    o.identity = identity;
    o.lease_duration = seconds(15);
    elector = std::make_unique<LeaderElector>(config, *creds, o);
  }
  KubeConfig config;
  std::unique_ptr<LeaderElector> elector;
};

json lease(const FakeApiServer& server) {
  return server.object("coordination.k8s.io/leases", "ambient-guard",
                       "ambient-guard-policy-reports");
}

TEST(LeaderElector, FirstCandidateCreatesTheLeaseOthersStandByUntilItExpires) {
  FakeApiServer server;
  Candidate a(server, "a");
  Candidate b(server, "b");
  const auto t0 = LeaderElector::Clock::now();
  EXPECT_TRUE(a.elector->tryAcquireOrRenew(t0));
  EXPECT_EQ(lease(server)["spec"]["holderIdentity"], "a");
  EXPECT_EQ(lease(server)["spec"]["leaseDurationSeconds"], 15);
  EXPECT_FALSE(b.elector->tryAcquireOrRenew(t0));
  // a renews: b sees the Lease change and restarts its count.
  EXPECT_TRUE(a.elector->tryAcquireOrRenew(t0 + seconds(10)));
  EXPECT_FALSE(b.elector->tryAcquireOrRenew(t0 + seconds(10)));
  EXPECT_FALSE(b.elector->tryAcquireOrRenew(t0 + seconds(24)));
  // a stops renewing: 15 s of b's clock after b last saw it change, b takes over.
  EXPECT_TRUE(b.elector->tryAcquireOrRenew(t0 + seconds(25)));
  EXPECT_TRUE(b.elector->isLeader());
  EXPECT_EQ(lease(server)["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease(server)["spec"]["leaseTransitions"], 1);
  // a comes back: it sees b's Lease and steps down.
  EXPECT_FALSE(a.elector->tryAcquireOrRenew(t0 + seconds(26)));
  EXPECT_FALSE(a.elector->isLeader());
}

TEST(LeaderElector, ReleaseLetsAStandbyTakeOverAtItsNextRound) {
  FakeApiServer server;
  Candidate a(server, "a");
  Candidate b(server, "b");
  const auto t0 = LeaderElector::Clock::now();
  ASSERT_TRUE(a.elector->tryAcquireOrRenew(t0));
  ASSERT_FALSE(b.elector->tryAcquireOrRenew(t0));
  a.elector->release();
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(lease(server)["spec"]["holderIdentity"], "");
  EXPECT_TRUE(b.elector->tryAcquireOrRenew(t0 + seconds(1)));
}

TEST(LeaderElector, ALeaderWhoseLeaseWasTakenStepsDownWithoutWriting) {
  FakeApiServer server;
  Candidate a(server, "a");
  const auto t0 = LeaderElector::Clock::now();
  ASSERT_TRUE(a.elector->tryAcquireOrRenew(t0));
  // Someone else holds the Lease now (a partition healed, a's renewals were lost).
  json l = lease(server);
  l["apiVersion"] = "coordination.k8s.io/v1";
  l["spec"]["holderIdentity"] = "intruder";
  server.apply(l);
  std::vector<FakeApiServer::Write> before = server.writes();
  EXPECT_FALSE(a.elector->tryAcquireOrRenew(t0 + seconds(1)));
  EXPECT_EQ(lease(server)["spec"]["holderIdentity"], "intruder");
  EXPECT_EQ(server.writes().size(), before.size());  // a only read: the holder is alive
}

}  // namespace
}  // namespace ambient_guard
