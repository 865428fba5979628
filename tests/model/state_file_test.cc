// Loading cluster backups: formats, Lists, stdin-equivalent text, errors, and the whole corpus.
#include "model/state_file.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

TEST(StateFile, LoadsKubectlYamlList) {
  std::vector<AnyObject> objs;
  auto stats = loadText(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {name: web, namespace: shop}
- apiVersion: security.istio.io/v1
  kind: PeerAuthentication
  metadata: {name: default, namespace: shop}
  spec: {mtls: {mode: STRICT}}
)",
                        "list.yaml", objs);
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_EQ(stats->objects, 2u);
  EXPECT_EQ(stats->skipped.at("ReplicaSet"), 1u);
  ASSERT_EQ(objs.size(), 2u);
  EXPECT_EQ(kindOf(objs[0]), Kind::kNamespace);
  EXPECT_EQ(std::get<PeerAuthentication>(objs[1]).mode, "STRICT");
}

TEST(StateFile, LoadsKubectlJsonList) {
  std::vector<AnyObject> objs;
  auto stats = loadText(R"({"apiVersion":"v1","kind":"List","items":[
    {"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"x",
     "labels":{"istio.io/use-waypoint":"wp"}},"spec":{"selector":{"app":"a"},"ports":[{"port":80}]}},
    {"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"wp","namespace":"x"},
     "spec":{"gatewayClassName":"istio-waypoint"},"status":{"addresses":[{"value":"10.0.0.1"}]}}]})",
                        "list.json", objs);
  ASSERT_TRUE(stats.ok()) << stats.error();
  ASSERT_EQ(objs.size(), 2u);
  EXPECT_EQ(std::get<Service>(objs[0]).ports.vec().at(0).port, 80);
  EXPECT_EQ(std::get<Gateway>(objs[1]).readiness, GatewayReadiness::kReady);
}

TEST(StateFile, MultiDocumentYamlKeepsLines) {
  std::vector<AnyObject> objs;
  auto stats = loadText("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
                        "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n---\n",
                        "multi.yaml", objs);
  ASSERT_TRUE(stats.ok()) << stats.error();
  ASSERT_EQ(objs.size(), 2u);
  EXPECT_EQ(metaOf(objs[1]).line, 6);
}

TEST(StateFile, ListItemsKeepTheirLinesAndAliasesResolve) {
  std::vector<AnyObject> objs;
  auto stats = loadText(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: a, labels: &common {team: x}}
- apiVersion: v1
  kind: Namespace
  metadata:
    name: b
    labels: *common
)",
                        "aliases.yaml", objs);
  ASSERT_TRUE(stats.ok()) << stats.error();
  ASSERT_EQ(objs.size(), 2u);
  EXPECT_EQ(metaOf(objs[0]).line, 4);
  EXPECT_EQ(metaOf(objs[1]).line, 7);
  EXPECT_EQ(*metaOf(objs[1]).labels.get("team"), "x");
}

TEST(StateFile, QuotedScalarsStayStringsAndPlainOnesResolve) {
  std::vector<AnyObject> objs;
  auto stats = loadText(R"(apiVersion: v1
kind: Service
metadata: {name: s, namespace: n, labels: {a: "true", b: true, c: "8080"}}
spec: {ports: [{port: 8080}, {port: "9090"}]}
)",
                        "s.yaml", objs);
  ASSERT_TRUE(stats.ok()) << stats.error();
  const auto& svc = std::get<Service>(objs.at(0));
  EXPECT_EQ(*svc.labels.get("a"), "true");
  EXPECT_EQ(*svc.labels.get("b"), "true");
  EXPECT_EQ(svc.ports.vec().at(0).port, 8080);
  EXPECT_EQ(svc.ports.vec().at(1).port, 9090);
}

TEST(StateFile, ErrorsNameFileAndLine) {
  struct Case {
    std::string name;
    std::string text;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"bad yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a\n", "bad.yaml:"},
      {"bad json", "{\"apiVersion\": \"v1\",\n \"kind\": }", "bad.yaml:2: invalid JSON"},
      {"scalar doc", "just text\n", "not a Kubernetes object"},
      {"rules not list",
       "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x, "
       "namespace: y}\nspec:\n  rules: {from: 1}\n",
       "bad.yaml:1: AuthorizationPolicy x: spec.rules must be a list"},
      {"missing name", "apiVersion: v1\nkind: Namespace\nmetadata: {}\n", "metadata.name is missing"},
      {"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "has no apiVersion/kind"},
      {"unknown alias", "a: *nothing\n", "bad.yaml:1: invalid YAML"},
      {"bad port key",
       "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x, "
       "namespace: y}\nspec: {portLevelMtls: {abc: {mode: DISABLE}}}\n",
       "spec.portLevelMtls.abc key must be a port number"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<AnyObject> objs;
    auto stats = loadText(c.text, "bad.yaml", objs);
    ASSERT_FALSE(stats.ok());
    EXPECT_NE(stats.error().find(c.expect), std::string::npos) << stats.error();
  }
}

TEST(StateFile, MissingFileIsAnError) {
  std::vector<AnyObject> objs;
  auto stats = loadFile("/nonexistent/backup.yaml", objs);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.error().find("/nonexistent/backup.yaml: cannot open"), std::string::npos);
}

// Every file of the shared corpus either loads or is rejected with an error naming it.
TEST(StateFile, WholeCorpusLoadsOrFailsCleanly) {
  const std::filesystem::path corpus = std::filesystem::path(AG_SOURCE_DIR) / "../shared/corpus";
  if (!std::filesystem::exists(corpus)) {
    GTEST_SKIP() << "no ../shared/corpus next to the checkout";
  }
  size_t loaded = 0, rejected = 0, objects = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".yaml") {
      continue;
    }
    SCOPED_TRACE(entry.path().string());
    std::vector<AnyObject> objs;
    auto stats = loadFile(entry.path().string(), objs);
    if (stats.ok()) {
      ++loaded;
      objects += stats->objects;
    } else {
      ++rejected;
      EXPECT_EQ(stats.error().rfind(entry.path().string(), 0), 0u) << stats.error();
    }
  }
  EXPECT_GT(loaded, 150u);
  EXPECT_GT(objects, 300u);
  RecordProperty("rejected", static_cast<int>(rejected));
}

}  // namespace
}  // namespace ambient_guard
