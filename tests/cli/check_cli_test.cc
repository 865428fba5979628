// `ambient-guard check` run as a process on backups assembled from the corpus
// (tests/testdata/check/, see SOURCE.md there): gates per namespace, the JSON and table forms,
// exit codes, standard input, the namespace filter, directories, and every corpus file.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::ProcessResult;
using testing::runCli;

const std::string kBackup = std::string(AG_TESTDATA_DIR) + "/check/backup";
const std::string kCluster = kBackup + "/00-cluster.yaml";

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses stdout as JSON; fails the test (and returns null) when it is not.
json parseOut(const ProcessResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON:\n" << r.out << "\nstderr:\n" << r.err;
  return j.is_discarded() ? json() : j;
}

// Returns the namespaces of a check report by name.
std::map<std::string, json> byName(const json& report) {
  std::map<std::string, json> out;
  if (report.contains("namespaces")) {
    for (const json& ns : report["namespaces"]) {
      out[ns.value("name", "")] = ns;
    }
  }
  return out;
}

std::set<std::string> ruleIds(const json& ns) {
  std::set<std::string> out;
  for (const json& f : ns["findings"]) {
    out.insert(f.value("rule", ""));
  }
  return out;
}

// Returns the findings of `rule` in a namespace report.
std::vector<json> findingsOf(const json& ns, const std::string& rule) {
  std::vector<json> out;
  for (const json& f : ns["findings"]) {
    if (f.value("rule", "") == rule) {
      out.push_back(f);
    }
  }
  return out;
}

TEST(CheckCli, GatesPerNamespace) {
  ProcessResult r = runCli({"check", "-f", kBackup, "-o", "json"});
  ASSERT_EQ(r.exit_code, 1) << r.err;  // legacy has a deny finding
  json report = parseOut(r);
  EXPECT_EQ(report.value("kind", ""), "CheckReport");
  auto namespaces = byName(report);
  struct Case {
    std::string ns;
    std::string mode;
    std::string evaluated_as;
    std::string gate;
    std::set<std::string> rules;  // must be present
  };
  const std::vector<Case> cases = {
      {"clean", "ambient", "current", "ready", {}},
      {"default", "ambient", "current", "needs-waypoint",
       {"l7-policy-without-waypoint", "virtualservice-needs-httproute"}},
      {"edge", "ambient", "current", "ready", {"virtualservice-needs-httproute"}},
      {"legacy", "sidecar", "enrolled", "blocked", {"peer-authentication-disable"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.ns);
    ASSERT_TRUE(namespaces.count(c.ns)) << report.dump(2);
    const json& ns = namespaces[c.ns];
    EXPECT_EQ(ns.value("mode", ""), c.mode);
    EXPECT_EQ(ns.value("evaluatedAs", ""), c.evaluated_as);
    EXPECT_EQ(ns.value("gate", ""), c.gate) << ns.dump(2);
    std::set<std::string> got = ruleIds(ns);
    for (const auto& rule : c.rules) {
      EXPECT_TRUE(got.count(rule)) << rule << " missing in " << ns.dump(2);
    }
  }
  EXPECT_TRUE(ruleIds(namespaces["clean"]).empty()) << namespaces["clean"].dump(2);
  // The root namespace is a system namespace: left out unless asked for.
  EXPECT_EQ(namespaces.count("istio-system"), 0u);
  EXPECT_EQ(report["summary"].value("wouldDeny", false), true);
  EXPECT_EQ(report["summary"].value("namespaces", 0), 4);
  EXPECT_EQ(report["summary"].value("blocked", 0), 1);
  EXPECT_EQ(report["input"]["skipped"].value("Gateway", 0), 1);  // the Istio ingress Gateway

  // The corpus AuthorizationPolicy "full" (selector app=httpbin, HTTP attributes) and the four
  // bookinfo mesh VirtualServices, all in "default" although their manifests name no namespace.
  const json& def = namespaces["default"];
  std::vector<json> l7 = findingsOf(def, "l7-policy-without-waypoint");
  ASSERT_EQ(l7.size(), 1u) << def.dump(2);
  EXPECT_EQ(l7[0]["object"], (json{{"kind", "AuthorizationPolicy"}, {"namespace", "default"},
                                    {"name", "full"}}));
  EXPECT_EQ(l7[0].value("action", ""), "deny");
  EXPECT_EQ(l7[0].value("field", ""), "spec.rules[0].to[0].operation.hosts");
  EXPECT_EQ(l7[0].value("needsWaypoint", false), true);
  // The `when` key source.trustDomain is an HTTP attribute to ztunnel; the source field
  // trustDomains is not in istiod 1.31's list (assumed: the backup has no istiod), so istiod's
  // status names only the former (docs/istio-1.31-notes.md §1.3).
  EXPECT_NE(l7[0].value("message", "").find("source.trustDomain)"), std::string::npos);
  EXPECT_EQ(l7[0].value("message", "").find("trustDomains"), std::string::npos);
  std::set<std::string> vs;
  for (const json& f : findingsOf(def, "virtualservice-needs-httproute")) {
    EXPECT_EQ(f.value("action", ""), "warn");
    vs.insert(f["object"].value("name", ""));
  }
  EXPECT_EQ(vs, (std::set<std::string>{"details", "productpage", "ratings", "reviews"}));

  const json& legacy = namespaces["legacy"];
  std::vector<json> pa = findingsOf(legacy, "peer-authentication-disable");
  ASSERT_EQ(pa.size(), 1u) << legacy.dump(2);
  EXPECT_EQ(pa[0]["object"].value("name", ""), "no-mtls");
  EXPECT_EQ(pa[0].value("action", ""), "deny");
  EXPECT_EQ(pa[0].value("field", ""), "spec.mtls.mode");

  std::vector<json> edge = findingsOf(namespaces["edge"], "virtualservice-needs-httproute");
  ASSERT_EQ(edge.size(), 1u);
  EXPECT_EQ(edge[0].value("needsWaypoint", true), false);
}

TEST(CheckCli, TableOutput) {
  ProcessResult r = runCli({"check", "-f", kBackup});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  std::istringstream lines(r.out);
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header, "NAMESPACE  MODE      GATE             DENY  WARN  DRYRUN");
  std::map<std::string, std::vector<std::string>> rows;
  std::string line;
  while (std::getline(lines, line) && !line.empty()) {
    std::istringstream cols(line);
    std::vector<std::string> fields;
    for (std::string f; cols >> f;) {
      fields.push_back(f);
    }
    ASSERT_EQ(fields.size(), 6u) << line;
    rows[fields[0]] = fields;
  }
  ASSERT_EQ(rows.size(), 4u) << r.out;
  EXPECT_EQ(rows["legacy"][1], "sidecar");
  EXPECT_EQ(rows["legacy"][2], "blocked");
  EXPECT_EQ(rows["clean"][2], "ready");
  EXPECT_EQ(rows["clean"][3], "0");
  EXPECT_EQ(rows["default"][2], "needs-waypoint");
  EXPECT_NE(r.out.find("legacy (sidecar, evaluated as if enrolled in ambient now): blocked"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("DENY   peer-authentication-disable  PeerAuthentication legacy/no-mtls"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("ambient-guard: loaded"), std::string::npos) << r.err;
}

TEST(CheckCli, ExitCodes) {
  const std::string dir = testing::tempDir();
  const std::string bad_yaml = testing::writeFile(
      dir, "bad.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a\n  labels: [\n");
  const std::string bad_json =
      testing::writeFile(dir, "bad.json", "{\"apiVersion\": \"v1\",\n \"kind\": }\n");
  const std::string bad_object = testing::writeFile(
      dir, "bad-object.yaml",
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\napiVersion: "
      "security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x, namespace: y}\n"
      "spec:\n  rules: {from: 1}\n");
  const std::string warn_only = testing::writeFile(
      dir, "warn.yaml",
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: "
      "enabled, istio.io/dataplane-mode: ambient}}\n");
  struct Case {
    std::string name;
    std::vector<std::string> args;
    int exit_code;
    std::vector<std::string> err;  // stderr fragments
  };
  const std::vector<Case> cases = {
      {"would deny", {"check", "-f", kBackup}, 1, {}},
      {"one namespace, ready", {"check", "-f", kBackup, "-n", "clean"}, 0, {}},
      {"warnings only", {"check", "-f", kBackup, "-n", "edge"}, 0, {}},
      {"warnings only, whole file", {"check", "-f", warn_only}, 0, {}},
      {"missing file", {"check", "-f", dir + "/missing.yaml"}, 2,
       {dir + "/missing.yaml: cannot open"}},
      {"one missing among good files", {"check", "-f", kCluster, "-f", dir + "/nope.json"}, 2,
       {dir + "/nope.json"}},
      {"malformed YAML names file and line", {"check", "-f", bad_yaml}, 2,
       {bad_yaml + ":", "invalid YAML"}},
      {"malformed JSON names file and line", {"check", "-f", bad_json}, 2,
       {bad_json + ":2: invalid JSON"}},
      {"bad object names file, line and field", {"check", "-f", bad_object}, 2,
       {bad_object + ":5: AuthorizationPolicy x: spec.rules must be a list"}},
      {"no input", {"check"}, 2, {"--filename"}},
      {"unknown output format", {"check", "-f", kBackup, "-o", "xml"}, 2, {}},
      {"bad --istio-version", {"check", "-f", kBackup, "--istio-version", "latest"}, 2,
       {"not an Istio version (X.Y or X.Y.Z): latest"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ProcessResult r = runCli(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
    for (const auto& fragment : c.err) {
      EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    }
    if (c.exit_code == 2) {
      EXPECT_EQ(r.out.find("NAMESPACE"), std::string::npos) << "no report on errors";
    }
  }
  // The YAML error points at a line of the file, not at 0.
  ProcessResult r = runCli({"check", "-f", bad_yaml});
  EXPECT_EQ(r.err.find(bad_yaml + ":0:"), std::string::npos) << r.err;
}

// --istio-version decides which istiod behaviour version-dependent findings assume, and the
// message says so (docs/istio-1.31-notes.md §1.3: trustDomains).
TEST(CheckCli, IstioVersionFlag) {
  const std::string backup = testing::writeFile(
      testing::tempDir(), "td.yaml",
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: "
      "{istio.io/dataplane-mode: ambient}}\n---\napiVersion: security.istio.io/v1\nkind: "
      "AuthorizationPolicy\nmetadata: {name: partners, namespace: shop}\nspec:\n  action: "
      "ALLOW\n  rules:\n  - from: [{source: {trustDomains: [partner.example]}}]\n");
  struct Case {
    std::vector<std::string> flag;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {{}, "Istio version unknown"},
      {{"--istio-version", "1.31"}, "Istio 1.31.0 (--istio-version 1.31)"},
      {{"--istio-version", "1.32.0"}, "(found: trustDomains)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.fragment);
    std::vector<std::string> args = {"check", "-f", backup, "-o", "json"};
    args.insert(args.end(), c.flag.begin(), c.flag.end());
    ProcessResult r = runCli(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json report = parseOut(r);
    auto shop = byName(report)["shop"];
    auto l7 = findingsOf(shop, "l7-policy-without-waypoint");
    ASSERT_EQ(l7.size(), 1u) << r.out;
    EXPECT_NE(l7[0].value("message", "").find(c.fragment), std::string::npos)
        << l7[0].value("message", "");
  }
}

// Enrollment as istio-cni sees it: the enablement selector from istio-cni-config in the backup,
// or --ambient-enablement-selector, decides the MODE and which namespaces are judged as ambient.
TEST(CheckCli, EnablementSelector) {
  const std::string dir = testing::tempDir();
  const std::string ns = testing::writeFile(
      dir, "ns.yaml",
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: "
      "{platform.example.com/mesh: ambient}}\n");
  const std::string cm = testing::writeFile(
      dir, "cm.yaml",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-cni-config, namespace: "
      "istio-system}\ndata:\n  AMBIENT_ENABLEMENT_SELECTOR: |\n    - namespaceSelector: "
      "{matchLabels: {platform.example.com/mesh: ambient}}\n");
  auto mode = [](const ProcessResult& r) {
    return byName(parseOut(r))["shop"].value("mode", "");
  };
  ProcessResult plain = runCli({"check", "-f", ns, "-o", "json"});
  EXPECT_EQ(mode(plain), "none") << plain.err;
  ProcessResult from_cm = runCli({"check", "-f", ns, "-f", cm, "-o", "json"});
  EXPECT_EQ(mode(from_cm), "ambient") << from_cm.err;
  ProcessResult from_flag =
      runCli({"check", "-f", ns, "-o", "json", "--ambient-enablement-selector",
              "[{namespaceSelector: {matchLabels: {platform.example.com/mesh: ambient}}}]"});
  EXPECT_EQ(mode(from_flag), "ambient") << from_flag.err;
  ProcessResult bad = runCli({"check", "-f", ns, "--ambient-enablement-selector", "{"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("failed to parse ambient enablement selector "
                         "(--ambient-enablement-selector)"),
            std::string::npos)
      << bad.err;
}

TEST(CheckCli, ReadsStandardInput) {
  ProcessResult r = runCli({"check", "-f", "-", "-o", "json"}, readAll(kCluster));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  auto namespaces = byName(parseOut(r));
  EXPECT_EQ(namespaces["legacy"].value("gate", ""), "blocked");
  EXPECT_EQ(namespaces["clean"].value("gate", ""), "ready");

  ProcessResult bad = runCli({"check", "-f", "-"}, "apiVersion: v1\nkind: [\n");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("<stdin>:"), std::string::npos) << bad.err;
}

TEST(CheckCli, NamespaceFilter) {
  ProcessResult r =
      runCli({"check", "-f", kBackup, "-o", "json", "-n", "legacy", "-n", "default"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  json report = parseOut(r);
  std::vector<std::string> names;
  for (const json& ns : report["namespaces"]) {
    names.push_back(ns.value("name", ""));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"legacy", "default"}));

  // A system namespace is reported when asked for by name.
  ProcessResult sys = runCli({"check", "-f", kBackup, "-o", "json", "-n", "istio-system"});
  EXPECT_EQ(sys.exit_code, 0) << sys.err;
  EXPECT_EQ(byName(parseOut(sys)).count("istio-system"), 1u);
}

TEST(CheckCli, DirectoryEqualsItsFiles) {
  std::vector<std::string> args = {"check", "-o", "json"};
  for (const auto& entry : std::filesystem::directory_iterator(kBackup)) {
    args.push_back("-f");
    args.push_back(entry.path().string());
  }
  ProcessResult files = runCli(args);
  ProcessResult dir = runCli({"check", "-o", "json", "-f", kBackup});
  ASSERT_EQ(dir.exit_code, 1) << dir.err;
  EXPECT_EQ(files.exit_code, dir.exit_code);
  EXPECT_EQ(parseOut(files)["namespaces"], parseOut(dir)["namespaces"]);
}

// Manifests without metadata.namespace are evaluated in "default", as `kubectl apply -f` places
// them; before, they sat in the cluster-scoped bucket and no namespace ever saw them.
TEST(CheckCli, ManifestWithoutNamespaceIsInDefault) {
  const std::string text = R"(apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: no-mtls}
spec: {mtls: {mode: DISABLE}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio-waypoint}
spec: {controllerName: istio.io/mesh-controller}
)";
  ProcessResult r = runCli({"check", "-f", "-", "-o", "json"}, text);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto namespaces = byName(parseOut(r));
  ASSERT_EQ(namespaces.count("default"), 1u);
  std::vector<json> pa = findingsOf(namespaces["default"], "peer-authentication-disable");
  ASSERT_EQ(pa.size(), 1u) << namespaces["default"].dump(2);
  EXPECT_EQ(pa[0]["object"].value("namespace", ""), "default");
  EXPECT_EQ(namespaces.size(), 1u);  // the GatewayClass stays cluster-scoped
}

// Every file of the shared corpus is either evaluated (exit 0 or 1) or rejected with exit 2 and
// an error naming it; never a crash.
TEST(CheckCli, WholeCorpusLoadsOrFailsCleanly) {
  const std::filesystem::path corpus = std::filesystem::path(AG_SOURCE_DIR) / "../shared/corpus";
  if (!std::filesystem::exists(corpus)) {
    GTEST_SKIP() << "no ../shared/corpus next to the checkout";
  }
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  size_t evaluated = 0;
  size_t rejected = 0;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    ProcessResult r = runCli({"check", "-o", "json", "-f", file});
    ASSERT_LT(r.exit_code, 128) << "killed by signal " << r.exit_code - 128 << "\n" << r.err;
    if (r.exit_code == 2) {
      ++rejected;
      EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
      continue;
    }
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << "\n" << r.err;
    ++evaluated;
    json report = parseOut(r);
    EXPECT_EQ(report.value("kind", ""), "CheckReport");
  }
  EXPECT_GT(evaluated, 150u);
  RecordProperty("evaluated", static_cast<int>(evaluated));
  RecordProperty("rejected", static_cast<int>(rejected));
}

}  // namespace
}  // namespace ambient_guard
