// `ambient-guard serve --kubeconfig` end to end: the real binary watches a fake API server (real
// TLS, list + watch wire format) and its admission decisions follow what the cluster says.
// Also the process contract of issue 3: /readyz is 503 until the lists are in, SIGTERM exits 0.
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/testlib/fake_apiserver.h"
#include "tests/testlib/serve_process.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::FakeApiServer;
using testing::ServeProcess;

// Polls `pred`: the server and the watch run in another process, so there is nothing to block
// on; a process gets a longer limit than an in-process watch.
bool eventually(const std::function<bool()>& pred) {
  return testing::eventually(pred, std::chrono::seconds(60));
}

json review(const std::string& uid) {
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", uid},
            {"kind", {{"group", "security.istio.io"}, {"version", "v1"},
                      {"kind", "PeerAuthentication"}}},
            {"resource", {{"group", "security.istio.io"}, {"version", "v1"},
                          {"resource", "peerauthentications"}}},
            {"name", "legacy-plaintext"},
            {"namespace", "shop"},
            {"operation", "CREATE"},
            {"userInfo", {{"username", "alice"}}},
            {"object",
             {{"apiVersion", "security.istio.io/v1"},
              {"kind", "PeerAuthentication"},
              {"metadata", {{"name", "legacy-plaintext"}, {"namespace", "shop"}}},
              {"spec", {{"mtls", {{"mode", "DISABLE"}}}}}}},
            {"dryRun", false}}}};
}

json ns(const std::string& name, const json& labels) {
  json l = labels;
  l["kubernetes.io/metadata.name"] = name;
  return {{"apiVersion", "v1"}, {"kind", "Namespace"},
          {"metadata", {{"name", name}, {"labels", l}}}};
}

TEST(ServeWatch, DecisionsFollowTheLiveClusterAndSigtermExitsZero) {
  FakeApiServer api;
  api.apply(ns("istio-system", json::object()));
  api.apply(ns("shop", {{"istio-injection", "enabled"}}));
  // Hold the first list of PeerAuthentications: /readyz must say 503 meanwhile.
  api.holdLists("security.istio.io/peerauthentications", true);

  const std::string dir = testing::tempDir();
  const std::string kubeconfig = testing::writeFile(dir, "kubeconfig", api.kubeconfig());
  ServeProcess serve({"--listen", "127.0.0.1:0", "--kubeconfig", kubeconfig});
  ASSERT_GT(serve.port(), 0) << serve.log();

  httplib::SSLClient client("127.0.0.1", serve.port());
  client.set_ca_cert_store(testing::caStore(serve.ca()));
  client.enable_server_certificate_verification(true);

  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready) << httplib::to_string(ready.error());
  EXPECT_EQ(ready->status, 503) << ready->body;
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  api.holdLists("security.istio.io/peerauthentications", false);
  ASSERT_TRUE(eventually([&] {
    auto r = client.Get("/readyz");
    return r && r->status == 200;
  })) << serve.log();

  // shop uses sidecars: DISABLE is allowed.
  auto res = client.Post("/validate", review("before").dump(), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_TRUE(json::parse(res->body)["response"]["allowed"].get<bool>()) << res->body;

  // Enrolled in the cluster: the next review is denied by the running process.
  api.apply(ns("shop", {{"istio.io/dataplane-mode", "ambient"}}));
  json last;
  ASSERT_TRUE(eventually([&] {
    auto r = client.Post("/validate", review("after").dump(), "application/json");
    if (!r || r->status != 200) {
      return false;
    }
    last = json::parse(r->body);
    return !last["response"]["allowed"].get<bool>();
  })) << last.dump();
  EXPECT_EQ(last["response"]["status"]["code"], 403);
  EXPECT_NE(last["response"]["status"]["message"].get<std::string>().find(
                "[peer-authentication-disable]"),
            std::string::npos);

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("ambient_guard_state_objects{kind=\"Namespace\"} 2"),
            std::string::npos)
      << metrics->body.substr(0, 4000);

  EXPECT_EQ(serve.terminate(), 0) << serve.log();
  EXPECT_NE(serve.log().find("SIGTERM"), std::string::npos) << serve.log();
}

TEST(ServeWatch, UnusableKubeconfigFailsStartupWithAClearError) {
  const std::string dir = testing::tempDir();
  const std::string bad = testing::writeFile(dir, "kubeconfig", "apiVersion: v1\nkind: Config\n");
  auto r = testing::runCli({"serve", "--listen", "127.0.0.1:0", "--kubeconfig", bad});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("kubeconfig"), std::string::npos) << r.err;
  auto both = testing::runCli({"serve", "--listen", "127.0.0.1:0", "--kubeconfig", bad, "--state",
                               bad});
  EXPECT_EQ(both.exit_code, 2) << both.err;
}

}  // namespace
}  // namespace ambient_guard
