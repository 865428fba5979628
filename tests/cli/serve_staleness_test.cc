// `ambient-guard serve --max-state-staleness`: the real binary watching a fake API server that
// goes quiet turns /readyz to 503, naming the stale kinds, and back to 200 once bookmarks arrive.
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/testlib/fake_apiserver.h"
#include "tests/testlib/serve_process.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using testing::FakeApiServer;
using testing::ServeProcess;

// Polls `pred`: the server and the watch run in another process, so there is nothing to block
// on; a process gets a longer limit than an in-process watch.
bool eventually(const std::function<bool()>& pred) {
  return testing::eventually(pred, std::chrono::seconds(60));
}

TEST(ServeStaleness, ReadyzIs503WhileAKindIsStaleAndRecoversOnItsOwn) {
  FakeApiServer api;
  const std::string kubeconfig =
      testing::writeFile(testing::tempDir(), "kubeconfig", api.kubeconfig());
  ServeProcess serve({"--listen", "127.0.0.1:0", "--kubeconfig", kubeconfig,
                      "--max-state-staleness", "2s"});
  ASSERT_GT(serve.port(), 0) << serve.log();
  httplib::SSLClient client("127.0.0.1", serve.port());
  client.set_ca_cert_store(testing::caStore(serve.ca()));
  client.enable_server_certificate_verification(true);

  std::string body;
  ASSERT_TRUE(eventually([&] {
    auto r = client.Get("/readyz");
    body = r ? r->body : "";
    // Kinds turn stale one by one (each from its own last event): wait for the one named below.
    return r && r->status == 503 && body.find("stale") != std::string::npos &&
           body.find("Namespace (") != std::string::npos;
  })) << body << serve.log();
  EXPECT_NE(body.find("Namespace (no list, event or bookmark for"), std::string::npos) << body;
  // The gauge is refreshed every second by the watch, /readyz looks at the clock itself.
  EXPECT_TRUE(eventually([&] {
    auto metrics = client.Get("/metrics");
    return metrics && metrics->body.find("ambient_guard_state_stale{kind=\"Namespace\"} 1") !=
                          std::string::npos;
  }));
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);  // stale is not dead: the kubelet must not restart it

  ASSERT_TRUE(eventually([&] {
    api.bookmark();
    auto r = client.Get("/readyz");
    return r && r->status == 200;
  })) << serve.log();
  EXPECT_EQ(serve.terminate(), 0);
}

}  // namespace
}  // namespace ambient_guard
