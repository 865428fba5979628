// The watch against a hostile or broken API server (real TLS, the fake API server of testlib):
// malformed ERROR events and objects must not end the process, stale kinds are reported and
// recover, and the CA and token files are re-read when they change.
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "kube/kube_config.h"
#include "kube/kube_watch.h"
#include "kube/state_store.h"
#include "tests/testlib/fake_apiserver.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::eventually;
using testing::FakeApiServer;

KubeWatchOptions fastOptions() {
  KubeWatchOptions o;
  o.coalesce = std::chrono::milliseconds(1);
  o.backoff_initial = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(50);
  o.missing_retry = std::chrono::milliseconds(50);
  return o;
}

json ns(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

struct Harness {
  ~Harness() {
    if (watch) {
      watch->stop();
    }
  }
  void start(KubeConfig cfg, KubeWatchOptions options = fastOptions()) {
    watch = std::make_unique<KubeWatch>(std::move(cfg), store, registry, options);
    auto started = watch->start();
    ASSERT_TRUE(started.ok()) << started.error();
  }
  void start(KubeWatchOptions options = fastOptions()) {
    auto cfg = parseKubeConfig(server.kubeconfig(), "", "fake");
    ASSERT_TRUE(cfg.ok()) << cfg.error();
    start(std::move(*cfg), options);
  }
  std::string metrics() {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, registry.Collect());
    return out.str();
  }

  FakeApiServer server;
  StateStore store;
  prometheus::Registry registry;
  std::unique_ptr<KubeWatch> watch;
};

TEST(KubeWatchHardening, ErrorEventWithANonNumericCodeRestartsTheWatch) {
  Harness h;
  h.server.apply(ns("a"));
  h.start();
  ASSERT_TRUE(eventually([&] { return h.store.ready(); }));
  ASSERT_TRUE(eventually([&] { return h.server.openWatches("namespaces") == 1; }));
  // Each of these used to throw out of the watch thread (std::terminate).
  for (const char* code : {R"("abc")", "1e999", "-5", "99999999999999999999", "[410]", "null"}) {
    SCOPED_TRACE(code);
    const uint64_t before = h.watch->status(Kind::kNamespace).restarts;
    // Sent again until it lands: after each restart the next watch opens a little later.
    ASSERT_TRUE(eventually([&] {
      h.server.sendRaw("namespaces",
                       std::string(R"({"type":"ERROR","object":{"kind":"Status","code":)") +
                           code + "}}\n");
      return h.watch->status(Kind::kNamespace).restarts > before;
    }));
  }
  // Garbage: the watch restarts too.
  const uint64_t before = h.watch->status(Kind::kNamespace).restarts;
  ASSERT_TRUE(eventually([&] {
    h.server.sendRaw("namespaces", "\x01\x02 not json\n");
    return h.watch->status(Kind::kNamespace).restarts > before;
  }));
  h.server.apply(ns("after"));
  ASSERT_TRUE(eventually([&] { return h.store.current()->findNamespace("after") != nullptr; }));
}

TEST(KubeWatchHardening, AnObjectWithAnOutOfRangeNumberIsSkippedNotFatal) {
  Harness h;
  h.start();
  ASSERT_TRUE(eventually([&] { return h.store.ready(); }));
  // A port as a digit string past int64 (std::stol threw std::out_of_range here).
  h.server.apply(json::parse(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
    "metadata":{"name":"huge","namespace":"a"},
    "spec":{"podSelector":{},"ingress":[{"ports":[{"port":"99999999999999999999"}]}]}})"));
  h.server.apply(ns("still-watching"));
  ASSERT_TRUE(
      eventually([&] { return h.store.current()->findNamespace("still-watching") != nullptr; }));
}

// A Namespace with a field nested `depth` arrays deep (Go's encoding/json, and so the API
// server, accepts up to 10000).
json deepNamespace(const std::string& name, int depth) {
  json deep = json::array();
  for (int i = 1; i < depth; ++i) {
    deep = json::array({std::move(deep)});
  }
  json n = ns(name);
  n["spec"] = {{"x", std::move(deep)}};
  return n;
}

TEST(KubeWatchHardening, AnObjectNestedTooDeepIsSkippedNotFatal) {
  Harness h;
  h.server.apply(deepNamespace("listed-deep", 400));
  h.server.apply(ns("listed"));
  h.start();
  ASSERT_TRUE(eventually([&] { return h.store.ready(); }));
  auto s = h.store.current();
  EXPECT_NE(s->findNamespace("listed"), nullptr);
  EXPECT_EQ(s->findNamespace("listed-deep"), nullptr);
  h.server.apply(deepNamespace("watched-deep", 400));
  h.server.apply(ns("watched"));
  ASSERT_TRUE(eventually([&] { return h.store.current()->findNamespace("watched") != nullptr; }));
  EXPECT_EQ(h.store.current()->findNamespace("watched-deep"), nullptr);
  EXPECT_EQ(h.watch->status(Kind::kNamespace).restarts, 0u);
  EXPECT_EQ(h.watch->status(Kind::kNamespace).lists, 1u);
}

TEST(KubeWatchHardening, StaleKindsAreNamedUntilABookmarkArrives) {
  Harness h;
  h.server.setServed("networking.istio.io/envoyfilters", false);  // never stale: not installed
  KubeWatchOptions o = fastOptions();
  o.max_staleness = std::chrono::milliseconds(500);
  h.start(o);
  ASSERT_TRUE(eventually([&] { return h.store.ready(); }));
  // The fake server sends nothing more: every kind goes stale.
  ASSERT_TRUE(eventually([&] { return h.store.staleness().find("Namespace (") != std::string::npos; }))
      << h.store.staleness();
  EXPECT_EQ(h.store.staleness().find("EnvoyFilter"), std::string::npos);
  ASSERT_TRUE(eventually([&] {
    return h.metrics().find("ambient_guard_state_stale{kind=\"Namespace\"} 1") != std::string::npos;
  }));
  // A bookmark on every watch counts as fresh.
  ASSERT_TRUE(eventually([&] {
    h.server.bookmark();
    return h.store.staleness().empty();
  })) << h.store.staleness();
  ASSERT_TRUE(eventually([&] {
    h.server.bookmark();
    return h.metrics().find("ambient_guard_state_stale{kind=\"Namespace\"} 0") != std::string::npos;
  }));
}

TEST(KubeWatchHardening, TheCaFileIsReReadWhenItChanges) {
  Harness h;
  h.server.apply(ns("a"));
  const std::string dir = testing::tempDir();
  // First a CA that did not sign the server's certificate: every connection fails.
  const std::string ca = testing::writeFile(dir, "ca.crt", testing::makeTestPki().ca_pem);
  const std::string kubeconfig = "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
                                 "clusters:\n- name: fake\n  cluster:\n    server: " +
                                 h.server.url() + "\n    certificate-authority: " + ca +
                                 "\ncontexts:\n- name: fake\n  context: {cluster: fake, user: fake}\n"
                                 "users:\n- name: fake\n  user: {token: token-1}\n";
  auto cfg = parseKubeConfig(kubeconfig, dir, "test");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  h.start(std::move(*cfg));
  ASSERT_TRUE(eventually([&] { return h.watch->status(Kind::kNamespace).restarts >= 2; }));
  EXPECT_FALSE(h.store.ready());
  // The rotated CA lands (written aside and renamed, as the kubelet does).
  testing::writeFile(dir, "ca.crt.new", h.server.pki().ca_pem);
  std::filesystem::rename(dir + "/ca.crt.new", ca);
  ASSERT_TRUE(eventually([&] { return h.store.ready(); }));
  EXPECT_NE(h.store.current()->findNamespace("a"), nullptr);
}

TEST(KubeWatchHardening, TheTokenFileIsReReadAsSoonAsItChanges) {
  const std::string dir = testing::tempDir();
  const std::string path = testing::writeFile(dir, "token", "first\n");
  TokenSource t = TokenSource::fromFile(path, std::chrono::hours(1));
  EXPECT_EQ(t.token(), "first");
  testing::writeFile(dir, "token.new", "second-and-longer\n");
  std::filesystem::rename(dir + "/token.new", path);
  EXPECT_EQ(t.token(), "second-and-longer");  // well before the hour
}

}  // namespace
}  // namespace ambient_guard
