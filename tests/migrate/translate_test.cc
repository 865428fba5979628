// `ambient-guard translate` end to end: golden files on corpus inputs (tests/testdata/translate,
// see SOURCE.md), output accepted by the real `kubectl apply --dry-run=client`, output that
// parses back, and the round trip through `check`.
//
// Regenerate the goldens with AG_UPDATE_GOLDEN=1 and review the diff.
#include "migrate/translate.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "model/state_file.h"
#include "tests/testlib/kubectl_dry_run.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using testing::runCli;
using testing::runProcess;

std::string data(const std::string& name) { return std::string(AG_TESTDATA_DIR) + "/translate/" + name; }

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string name;
  std::vector<std::string> args;  // after "translate"; file names are under testdata/translate
};

// gtest prints a parameter in test listings (and so in ctest's names); the name says it all.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<std::string> withPaths(const std::vector<std::string>& args) {
  std::vector<std::string> out{"translate"};
  for (size_t i = 0; i < args.size(); ++i) {
    const bool file = i > 0 && (args[i - 1] == "-f" || args[i - 1] == "--state");
    out.push_back(file ? data(args[i]) : args[i]);
  }
  return out;
}

// Every golden case: the inputs that cover the L7 attribute kinds (authz-valid.yaml has every
// one), the policy kinds, and the spec §5.1 VirtualService rows (corpus files plus
// vs-features.yaml for the rows the corpus has no example of).
const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"authorization-policies",
       {"-f", "authz-valid.yaml", "-f", "security-v1-AuthorizationPolicy.yaml", "-f",
        "authorizationpolicies.yaml", "--lockdown"}},
      {"request-authentication-wasm",
       {"-f", "security-v1-RequestAuthentication.yaml", "-f", "reqauth-valid.yaml", "-f",
        "wasm-valid.yaml", "-f", "extensions-v1alpha1-WasmPlugin.yaml", "--state",
        "authorizationpolicies.yaml", "--default-namespace", "httpbin"}},
      {"traffic-extension",
       {"-f", "extensions-v1alpha1-TrafficExtension.yaml", "--state", "bookinfo.yaml",
        "--default-namespace", "default"}},
      {"peer-authentication",
       {"-f", "peerauth-valid.yaml", "-f", "security-v1-PeerAuthentication.yaml", "-f",
        "disabled.yaml"}},
      {"bookinfo",
       {"--state", "bookinfo.yaml", "--state", "bookinfo-destination-rule-all.yaml", "-f",
        "bookinfo-virtual-service-reviews-jason-v2-v3.yaml", "-f",
        "bookinfo-virtual-service-ratings-test-abort.yaml", "-f",
        "bookinfo-virtual-service-ratings-test-delay.yaml", "-f",
        "bookinfo-virtual-service-reviews-90-10.yaml", "-f",
        "bookinfo-virtual-service-details-v2.yaml", "-f", "bookinfo-fault-injection-details-v1.yaml",
        "-f", "bookinfo-gateway.yaml"}},
      {"analyzer-virtualservices",
       {"-f", "virtualservice_dupmatches.yaml", "-f", "virtualservice_overlappingmatches.yaml"}},
      {"vs-features", {"--state", "shop-cluster.yaml", "-f", "vs-features.yaml"}},
      {"vs-features-experimental",
       {"--state", "shop-cluster.yaml", "-f", "vs-features.yaml", "--gateway-api-channel",
        "experimental", "--waypoint", "shop-waypoint"}},
  };
  return kCases;
}

size_t documents(const std::string& yaml) {
  auto docs = parseDocuments(yaml, "<out>");
  return docs.ok() ? docs->size() : 0;
}

class TranslateGolden : public ::testing::TestWithParam<Case> {};

TEST_P(TranslateGolden, MatchesGoldenFiles) {
  const Case& c = GetParam();
  auto r = runCli(withPaths(c.args));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string golden_out = data("golden/" + c.name + ".yaml");
  const std::string golden_err = data("golden/" + c.name + ".txt");
  if (std::getenv("AG_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_out, std::ios::binary) << r.out;
    std::ofstream(golden_err, std::ios::binary) << r.err;
  }
  EXPECT_EQ(r.out, readAll(golden_out)) << "stdout differs from " << golden_out;
  EXPECT_EQ(r.err, readAll(golden_err)) << "stderr summary differs from " << golden_err;
  // Objects, or routes written commented out (a Service backend without a port, which the API
  // server refuses: analyzer-virtualservices has no --state to take the ports from).
  EXPECT_TRUE(documents(r.out) > 0 || r.out.find("# COMMENTED OUT: ") != std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Corpus, TranslateGolden, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// The real kubectl, with client-side validation against the CRD schemas (see kubectl_dry_run.h).
class KubectlApply : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (runProcess({"kubectl", "version", "--client"}).exit_code != 0) {
      return;  // checked in each test, so the skip is visible
    }
    server_ = new testing::KubectlDryRun(
        {data("crds/istio-crds.yaml"), data("crds/gateway.networking.k8s.io_httproutes.yaml")});
    // Standard-channel HTTPRoute: the experimental fields pruned (HR: `retry` is
    // <gateway:experimental>).
    standard_ = new testing::KubectlDryRun(
        {data("crds/istio-crds.yaml"), data("crds/gateway.networking.k8s.io_httproutes.yaml")},
        {"spec.rules.retry", "spec.rules.sessionPersistence"});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete standard_;
    server_ = nullptr;
    standard_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) {
      GTEST_SKIP() << "kubectl is not installed";
    }
    ASSERT_EQ(server_->error(), "");
    ASSERT_GE(server_->kinds(), 6u);
  }
  static size_t created(const std::string& out) {
    size_t n = 0;
    for (size_t pos = out.find("created (dry run)"); pos != std::string::npos;
         pos = out.find("created (dry run)", pos + 1)) {
      ++n;
    }
    return n;
  }
  static testing::KubectlDryRun* server_;
  static testing::KubectlDryRun* standard_;
};
testing::KubectlDryRun* KubectlApply::server_ = nullptr;
testing::KubectlDryRun* KubectlApply::standard_ = nullptr;

TEST_F(KubectlApply, AcceptsEveryGoldenOutput) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const std::string yaml = readAll(data("golden/" + c.name + ".yaml"));
    if (documents(yaml) == 0) {
      continue;  // only commented-out routes: kubectl has nothing to apply
    }
    auto r = server_->apply(yaml);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(created(r.out), documents(yaml)) << r.out << r.err;
  }
}

TEST_F(KubectlApply, AcceptsTheJsonList) {
  auto r = runCli(withPaths(cases()[0].args));
  auto j = runCli([] {
    auto a = withPaths(cases()[0].args);
    a.push_back("-o");
    a.push_back("json");
    return a;
  }());
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto k = server_->apply(j.out);
  EXPECT_EQ(k.exit_code, 0) << k.out << k.err;
  EXPECT_EQ(created(k.out), documents(r.out)) << k.out;
}

TEST_F(KubectlApply, RejectsWhatTheSchemaRejects) {
  // Negative control: validation is really on.
  auto r = server_->apply(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: web}]
  rules:
  - backendRefs: [{name: web, port: 8080}]
    fault: {abort: {httpStatus: 500}}
)");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown field \"fault\""), std::string::npos) << r.err;
}

TEST_F(KubectlApply, RetryOnlyWithExperimentalChannel) {
  // Standard output (retries as comments) fits standard-channel CRDs; the experimental output
  // uses `retry`, which standard-channel CRDs do not know.
  const std::string standard = readAll(data("golden/vs-features.yaml"));
  const std::string experimental = readAll(data("golden/vs-features-experimental.yaml"));
  ASSERT_NE(experimental.find("retry:"), std::string::npos);
  auto s = standard_->apply(standard);
  EXPECT_EQ(s.exit_code, 0) << s.out << s.err;
  auto e = standard_->apply(experimental);
  EXPECT_NE(e.exit_code, 0);
  EXPECT_NE(e.err.find("unknown field \"retry\""), std::string::npos) << e.err;
}

// The YAML parses back to exactly the objects the translator built.
TEST(Translate, OutputParsesBackToTheSameObjects) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const std::string yaml = readAll(data("golden/" + c.name + ".yaml"));
    auto docs = parseDocuments(yaml, c.name);
    ASSERT_TRUE(docs.ok()) << docs.error();
    auto j = runCli([&] {
      auto a = withPaths(c.args);
      a.push_back("-o");
      a.push_back("json");
      return a;
    }());
    ASSERT_EQ(j.exit_code, 0) << j.err;
    const nlohmann::json list = nlohmann::json::parse(j.out);
    ASSERT_EQ(list["items"].size(), docs->size());
    for (size_t i = 0; i < docs->size(); ++i) {
      EXPECT_EQ((*docs)[i].doc, list["items"][i]) << i;
    }
  }
}

// Round trip: the findings that translation exists to fix are gone once the translated objects
// replace the originals, and they were there before (the test is not vacuous).
TEST(Translate, RoundTripThroughCheckClearsL7AndVirtualServiceFindings) {
  const std::string dir = testing::tempDir();
  std::vector<std::string> inputs = {
      "authz-valid.yaml", "security-v1-AuthorizationPolicy.yaml", "authorizationpolicies.yaml",
      "security-v1-RequestAuthentication.yaml", "extensions-v1alpha1-WasmPlugin.yaml",
      "disabled.yaml", "bookinfo.yaml", "bookinfo-destination-rule-all.yaml",
      "bookinfo-virtual-service-reviews-jason-v2-v3.yaml",
      "bookinfo-virtual-service-ratings-test-abort.yaml",
      "bookinfo-virtual-service-details-v2.yaml", "bookinfo-gateway.yaml",
      "virtualservice_dupmatches.yaml", "analyzer-services.yaml", "shop-cluster.yaml",
      "vs-features.yaml"};
  std::vector<std::string> args = {"translate", "--rollback-file", dir + "/rollback.yaml"};
  std::vector<std::string> check_before = {"check", "-o", "json"};
  for (const std::string& f : inputs) {
    args.insert(args.end(), {"-f", data(f)});
    check_before.insert(check_before.end(), {"-f", data(f)});
  }
  auto t = runCli(args);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const std::string translated = testing::writeFile(dir, "translated.yaml", t.out);

  // The backup without the originals the translation replaces or supersedes (the rollback file
  // lists exactly those), plus the translated objects.
  auto rollback = parseDocuments(readAll(dir + "/rollback.yaml"), "rollback");
  ASSERT_TRUE(rollback.ok()) << rollback.error();
  ASSERT_FALSE(rollback->empty());
  std::set<std::string> superseded;
  auto key = [](const nlohmann::json& d) {
    const auto& m = d.at("metadata");
    return d.value("kind", "") + "/" + m.value("namespace", "default") + "/" +
           m.value("name", "");
  };
  for (const RawDocument& d : *rollback) {
    superseded.insert(key(d.doc));
  }
  nlohmann::json kept = nlohmann::json::array();
  size_t removed = 0;
  for (const std::string& f : inputs) {
    auto docs = parseDocuments(readAll(data(f)), f);
    ASSERT_TRUE(docs.ok()) << docs.error();
    for (const RawDocument& d : *docs) {
      nlohmann::json doc = d.doc;
      if (doc.contains("metadata") && !doc["metadata"].contains("namespace") &&
          doc.value("kind", "") != "Namespace") {
        doc["metadata"]["namespace"] = "default";
      }
      if (superseded.count(key(doc)) > 0) {
        ++removed;
        continue;
      }
      kept.push_back(doc);
    }
  }
  EXPECT_EQ(removed, superseded.size());
  const std::string backup = testing::writeFile(
      dir, "backup.json", nlohmann::json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", kept}}.dump());

  auto count = [](const std::string& check_json, const std::string& rule) {
    size_t n = 0;
    const nlohmann::json report = nlohmann::json::parse(check_json);
    for (const auto& ns : report.at("namespaces")) {
      for (const auto& f : ns["findings"]) {
        n += f["rule"] == rule ? 1 : 0;
      }
    }
    return n;
  };
  auto before = runCli(check_before);
  ASSERT_NE(before.out, "") << before.err;
  EXPECT_GT(count(before.out, "l7-policy-without-waypoint"), 0u);
  EXPECT_GT(count(before.out, "virtualservice-needs-httproute"), 0u);
  EXPECT_GT(count(before.out, "peer-authentication-disable"), 0u);

  auto after = runCli({"check", "-o", "json", "-f", backup, "-f", translated});
  ASSERT_NE(after.out, "") << after.err;
  EXPECT_EQ(count(after.out, "l7-policy-without-waypoint"), 0u) << after.out;
  EXPECT_EQ(count(after.out, "virtualservice-needs-httproute"), 0u) << after.out;
  EXPECT_EQ(count(after.out, "peer-authentication-disable"), 0u) << after.out;
}

TEST(Translate, RollbackFileRestoresTheOriginals) {
  const std::string dir = testing::tempDir();
  auto t = runCli({"translate", "-f", data("security-v1-AuthorizationPolicy.yaml"), "-f",
                   data("bookinfo-virtual-service-reviews-90-10.yaml"), "--state",
                   data("bookinfo.yaml"), "--rollback-file",
                   dir + "/rollback.yaml"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const std::string rollback = readAll(dir + "/rollback.yaml");
  auto docs = parseDocuments(rollback, "rollback");
  ASSERT_TRUE(docs.ok()) << docs.error();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].doc["spec"]["selector"]["matchLabels"]["app"], "httpbin");
  EXPECT_EQ((*docs)[1].doc["kind"], "VirtualService");
  // The HTTPRoute it created is named for deletion.
  EXPECT_NE(rollback.find("HTTPRoute default/reviews"), std::string::npos) << rollback;
}

// A twin that moves an L7 policy to a Service's waypoint says when an ingress gateway routes to
// that Service without istio.io/ingress-use-waypoint (the ingress requests would skip it).
TEST(Translate, TwinSaysWhenIngressBypassesTheWaypoint) {
  const std::string dir = testing::tempDir();
  const std::string cluster = R"(
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: bookinfo, labels: {app: productpage}}
spec: {selector: {app: productpage}, ports: [{port: 9080, name: http}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: bookinfo}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http: [{route: [{destination: {host: productpage, port: {number: 9080}}}]}]
)";
  const std::string policy = testing::writeFile(dir, "ap.yaml", R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: productpage-get, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: productpage}}
  rules: [{to: [{operation: {methods: [GET]}}]}]
)");
  const std::string fix =
      "kubectl label service productpage -n bookinfo istio.io/ingress-use-waypoint=true";
  auto r = runCli({"translate", "-f", policy, "--state",
                   testing::writeFile(dir, "cluster.yaml", cluster)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("An ingress gateway routes to Service productpage"), std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find(fix), std::string::npos) << r.err;
  // Opted in: nothing to say.
  std::string opted = cluster;
  opted.replace(opted.find("labels: {app: productpage}"), 26,
                "labels: {app: productpage, istio.io/ingress-use-waypoint: \"true\"}");
  auto quiet = runCli({"translate", "-f", policy, "--state",
                       testing::writeFile(dir, "opted.yaml", opted)});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out.find("ingress"), std::string::npos) << quiet.out;
  EXPECT_EQ(quiet.err.find(fix), std::string::npos) << quiet.err;
}

// The same through Gateway API ingress: an HTTPRoute on an ingress Gateway with the Service as
// a backendRef (samples/bookinfo/gateway-api/bookinfo-gateway.yaml).
TEST(Translate, TwinSaysWhenHttpRouteIngressBypassesTheWaypoint) {
  const std::string dir = testing::tempDir();
  const std::string cluster = testing::writeFile(dir, "cluster.yaml", R"(
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: bookinfo, labels: {app: productpage}}
spec: {selector: {app: productpage}, ports: [{port: 9080, name: http}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: bookinfo}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bookinfo, namespace: bookinfo}
spec:
  parentRefs: [{name: bookinfo-gateway}]
  rules:
  - matches: [{path: {type: Exact, value: /productpage}}]
    backendRefs: [{name: productpage, port: 9080}]
)");
  const std::string policy = testing::writeFile(dir, "ap.yaml", R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: productpage-get, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: productpage}}
  rules: [{to: [{operation: {methods: [GET]}}]}]
)");
  auto r = runCli({"translate", "-f", policy, "--state", cluster});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("An ingress gateway routes to Service productpage"), std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("kubectl label service productpage -n bookinfo "
                       "istio.io/ingress-use-waypoint=true"),
            std::string::npos)
      << r.err;
}

TEST(Translate, BadInputIsAUsageError) {
  const std::string dir = testing::tempDir();
  const std::string bad = testing::writeFile(dir, "bad.yaml", "apiVersion: v1\nkind: [\n");
  auto r = runCli({"translate", "-f", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace ambient_guard
