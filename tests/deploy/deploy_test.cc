// deploy/: renders every kustomize overlay with the real `kubectl kustomize` and asserts the
// safety invariants of issue 7 on the rendered objects: what the webhooks intercept and never
// see, call settings, failurePolicy per phase, where the caBundle comes from, read-only RBAC,
// replicas/PDB/spread, probes, and the locked-down pod.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kube/kube_watch.h"
#include "kube/lease.h"
#include "migrate/policy_report.h"
#include "model/state_file.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard::testing {
namespace {

namespace fs = std::filesystem;

const std::string kDeployDir = std::string(AG_SOURCE_DIR) + "/deploy";

// Every overlay a user can apply, with the phase it must render.
struct Overlay {
  std::string dir;  // relative to deploy/
  std::string mode;
  bool cert_manager;
};
const std::vector<Overlay> kOverlays = {
    {"base", "warn", false},
    {"overlays/pilot", "warn", false},
    {"overlays/enforce", "enforce", false},
    {"overlays/cert-manager/pilot", "warn", true},
    {"overlays/cert-manager/enforce", "enforce", true},
};

// The webhooks that carry deny rules; only these may fail closed, and only when enforcing.
const std::set<std::string> kDenyWebhooks = {
    "validate.ambient-guard.io", "namespaces.validate.ambient-guard.io",
    "gateways.validate.ambient-guard.io", "services.validate.ambient-guard.io"};

std::string str(const YAML::Node& n) {
  return n && n.IsScalar() ? n.as<std::string>() : std::string();
}

std::vector<std::string> strs(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence()) {
    for (const auto& item : n) {
      out.push_back(str(item));
    }
  }
  return out;
}

std::set<std::string> strSet(const YAML::Node& n) {
  auto v = strs(n);
  return {v.begin(), v.end()};
}

bool onPath(const std::string& prog) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    std::string dir =
        dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && access((dir + "/" + prog).c_str(), X_OK) == 0) {
      return true;
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return false;
}

struct Rendered {
  bool ok = false;
  std::vector<YAML::Node> objects;

  std::vector<YAML::Node> ofKind(const std::string& kind) const {
    std::vector<YAML::Node> out;
    for (const auto& o : objects) {
      if (str(o["kind"]) == kind) {
        out.push_back(o);
      }
    }
    return out;
  }
  // Returns the single object of `kind` (fails the test when there is not exactly one).
  YAML::Node one(const std::string& kind) const {
    auto all = ofKind(kind);
    EXPECT_EQ(all.size(), 1u) << "objects of kind " << kind;
    return all.empty() ? YAML::Node() : all.front();
  }
};

// Renders deploy/<dir> once per test process; fails the test with kubectl's own message.
const Rendered& render(const std::string& dir) {
  static std::map<std::string, Rendered> cache;
  if (auto it = cache.find(dir); it != cache.end()) {
    return it->second;
  }
  Rendered& r = cache[dir];
  if (!onPath("kubectl")) {
    ADD_FAILURE() << "kubectl is not on PATH: the deploy tests render the overlays with "
                     "`kubectl kustomize` (CI machines have it; install kubectl)";
    return r;
  }
  ProcessResult p = runProcess({"kubectl", "kustomize", kDeployDir + "/" + dir});
  if (p.exit_code != 0) {
    ADD_FAILURE() << "kubectl kustomize deploy/" << dir << " failed (" << p.exit_code
                  << "): " << p.err;
    return r;
  }
  try {
    for (const auto& doc : YAML::LoadAll(p.out)) {
      if (doc.IsMap()) {
        r.objects.push_back(doc);
      }
    }
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << "deploy/" << dir << " rendered invalid YAML: " << e.what();
    return r;
  }
  r.ok = !r.objects.empty();
  return r;
}

struct Webhook {
  YAML::Node node;
  bool mutating;
  std::string name() const { return str(node["name"]); }
};

std::vector<Webhook> webhooks(const Rendered& r) {
  std::vector<Webhook> out;
  for (const auto& [kind, mutating] : {std::pair{"ValidatingWebhookConfiguration", false},
                                       std::pair{"MutatingWebhookConfiguration", true}}) {
    for (const auto& cfg : r.ofKind(kind)) {
      for (const auto& w : cfg["webhooks"]) {
        out.push_back({w, mutating});
      }
    }
  }
  return out;
}

YAML::Node config(const Rendered& r) {
  try {
    return YAML::Load(str(r.one("ConfigMap")["data"]["config.yaml"]));
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << "config.yaml does not parse: " << e.what();
    return {};
  }
}

YAML::Node container(const Rendered& r) {
  return r.one("Deployment")["spec"]["template"]["spec"]["containers"][0];
}

// The Secret mounted where the server reads its certificate.
std::string tlsSecretName(const Rendered& r) {
  std::string volume;
  for (const auto& m : container(r)["volumeMounts"]) {
    if (str(m["mountPath"]) == "/etc/ambient-guard/tls") {
      volume = str(m["name"]);
    }
  }
  for (const auto& v : r.one("Deployment")["spec"]["template"]["spec"]["volumes"]) {
    if (!volume.empty() && str(v["name"]) == volume) {
      return str(v["secret"]["secretName"]);
    }
  }
  return "";
}

// Every label in `selector` (matchLabels) is carried by `labels`.
bool selects(const YAML::Node& selector, const YAML::Node& labels) {
  if (!selector || !selector.IsMap() || selector.size() == 0) {
    return false;
  }
  for (const auto& kv : selector) {
    if (str(labels[kv.first.as<std::string>()]) != str(kv.second)) {
      return false;
    }
  }
  return true;
}

// Bytes from a Kubernetes quantity with a binary suffix (64Mi, 1Gi); -1 when not understood.
long long bytes(const std::string& q) {
  static const std::map<std::string, long long> kUnits = {
      {"", 1}, {"Ki", 1LL << 10}, {"Mi", 1LL << 20}, {"Gi", 1LL << 30}};
  size_t digits = q.find_first_not_of("0123456789");
  auto unit = kUnits.find(q.substr(digits == std::string::npos ? q.size() : digits));
  if (digits == 0 || unit == kUnits.end()) {
    return -1;
  }
  return std::stoll(q.substr(0, digits)) * unit->second;
}

TEST(Deploy, EveryOverlayRendersWithKubectlKustomize) {
  ASSERT_TRUE(onPath("kubectl")) << "kubectl is not on PATH: the deploy tests need "
                                    "`kubectl kustomize` (CI machines have it)";
  std::set<std::string> tested;
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    EXPECT_TRUE(render(o.dir).ok);
    tested.insert(o.dir);
  }
  // A new overlay cannot skip these invariants: every kustomization under overlays/ is listed.
  for (const auto& e : fs::recursive_directory_iterator(kDeployDir + "/overlays")) {
    if (e.path().filename() == "kustomization.yaml") {
      std::string dir = fs::relative(e.path().parent_path(), kDeployDir).string();
      EXPECT_TRUE(tested.count(dir)) << "deploy/" << dir << " is not covered by deploy_test";
    }
  }
}

TEST(Deploy, WebhooksInterceptOnlyTheDesignKindsAndOperations) {
  // DESIGN.md §3: group/resource -> operations, scope. Never Pods, never CONNECT.
  const std::map<std::string, std::pair<std::set<std::string>, std::string>> kValidating = {
      {"/namespaces", {{"CREATE", "UPDATE"}, "Cluster"}},
      {"/services", {{"UPDATE", "DELETE"}, "Namespaced"}},
      {"security.istio.io/authorizationpolicies", {{"CREATE", "UPDATE"}, "Namespaced"}},
      {"security.istio.io/peerauthentications", {{"CREATE", "UPDATE"}, "Namespaced"}},
      {"security.istio.io/requestauthentications", {{"CREATE", "UPDATE"}, "Namespaced"}},
      {"networking.istio.io/virtualservices", {{"CREATE", "UPDATE"}, "Namespaced"}},
      {"networking.istio.io/envoyfilters", {{"CREATE", "UPDATE"}, "Namespaced"}},
      {"networking.istio.io/sidecars", {{"CREATE", "UPDATE"}, "Namespaced"}},
      {"extensions.istio.io/wasmplugins", {{"CREATE", "UPDATE"}, "Namespaced"}},
      {"extensions.istio.io/trafficextensions", {{"CREATE", "UPDATE"}, "Namespaced"}},
      {"networking.istio.io/serviceentries", {{"UPDATE", "DELETE"}, "Namespaced"}},
      {"gateway.networking.k8s.io/gateways", {{"UPDATE", "DELETE"}, "Namespaced"}},
      {"networking.k8s.io/networkpolicies", {{"CREATE", "UPDATE", "DELETE"}, "Namespaced"}},
  };
  const std::map<std::string, std::pair<std::set<std::string>, std::string>> kMutating = {
      {"/namespaces", {{"CREATE", "UPDATE"}, "Cluster"}}};
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    std::map<std::string, std::pair<std::set<std::string>, std::string>> got[2];
    for (const auto& w : webhooks(r)) {
      SCOPED_TRACE(w.name());
      ASSERT_TRUE(w.node["rules"] && w.node["rules"].size() > 0);
      for (const auto& rule : w.node["rules"]) {
        std::set<std::string> ops = strSet(rule["operations"]);
        EXPECT_FALSE(ops.count("*") || ops.count("CONNECT"));
        for (const auto& g : strs(rule["apiGroups"])) {
          EXPECT_NE(g, "*");
          for (const auto& res : strs(rule["resources"])) {
            EXPECT_EQ(res.find_first_of("*/"), std::string::npos) << res;
            EXPECT_NE(res, "pods");
            auto& entry = got[w.mutating][g + "/" + res];
            EXPECT_TRUE(entry.first.empty()) << g << "/" << res << " appears twice";
            entry = {ops, str(rule["scope"])};
          }
        }
      }
    }
    EXPECT_EQ(got[0], kValidating);
    EXPECT_EQ(got[1], kMutating);
  }
}

TEST(Deploy, WebhooksNeverSeeSystemNamespacesOrTheirOwn) {
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    const std::string own = str(r.one("Deployment")["metadata"]["namespace"]);
    ASSERT_FALSE(own.empty());
    EXPECT_EQ(str(config(r)["webhookNamespace"]), own);
    for (const auto& w : webhooks(r)) {
      SCOPED_TRACE(w.name());
      const YAML::Node sel = w.node["namespaceSelector"];
      ASSERT_TRUE(sel && sel["matchExpressions"]);
      // Selecting only on the name, which the API server keeps in sync, means a Namespace
      // write is judged on the name alone: removing an Istio label cannot make it unselected.
      EXPECT_FALSE(sel["matchLabels"]);
      ASSERT_EQ(sel["matchExpressions"].size(), 1u);
      const YAML::Node expr = sel["matchExpressions"][0];
      EXPECT_EQ(str(expr["key"]), "kubernetes.io/metadata.name");
      EXPECT_EQ(str(expr["operator"]), "NotIn");
      std::set<std::string> excluded = strSet(expr["values"]);
      for (const std::string ns : {"kube-system", "kube-public", "kube-node-lease"}) {
        EXPECT_TRUE(excluded.count(ns)) << ns;
      }
      EXPECT_TRUE(excluded.count(own)) << own;
      EXPECT_FALSE(excluded.count("istio-system")) << "mesh-wide policies live in the root ns";
    }
  }
}

TEST(Deploy, NamespaceLabelRemovalStillReachesTheWebhook) {
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    int namespace_webhooks = 0;
    for (const auto& w : webhooks(r)) {
      bool on_namespaces = false;
      for (const auto& rule : w.node["rules"]) {
        on_namespaces |= strSet(rule["resources"]).count("namespaces") > 0;
      }
      if (!on_namespaces) {
        continue;
      }
      SCOPED_TRACE(w.name());
      ++namespace_webhooks;
      // An objectSelector on a Namespace webhook would make it opt-in.
      EXPECT_TRUE(!w.node["objectSelector"] || w.node["objectSelector"].size() == 0);
      // The filter compares old and new labels instead of selecting on them.
      std::string conditions;
      for (const auto& c : w.node["matchConditions"]) {
        conditions += str(c["expression"]) + "\n";
      }
      EXPECT_NE(conditions.find("oldObject"), std::string::npos);
      std::vector<std::string> keys = {"istio.io/dataplane-mode"};
      if (!w.mutating) {
        keys.insert(keys.end(), {"istio-injection", "istio.io/rev", "istio.io/use-waypoint",
                                 "istio.io/use-waypoint-namespace", "istio.io/use-waypoint-canary",
                                 "istio.io/use-waypoint-canary-namespace",
                                 "istio.io/use-waypoint-canary-weight"});
      }
      for (const auto& k : keys) {
        EXPECT_NE(conditions.find("'" + k + "'"), std::string::npos) << k;
      }
    }
    EXPECT_EQ(namespace_webhooks, 2);
  }
}

TEST(Deploy, WebhookCallSettingsAreSafe) {
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    const YAML::Node svc = r.one("Service");
    std::set<std::string> names;
    for (const auto& w : webhooks(r)) {
      const std::string name = w.name();
      SCOPED_TRACE(name);
      EXPECT_TRUE(names.insert(name).second) << "duplicate webhook name";
      EXPECT_GE(std::count(name.begin(), name.end(), '.'), 2);
      EXPECT_TRUE(name.ends_with(".ambient-guard.io"));
      EXPECT_EQ(str(w.node["sideEffects"]), "NoneOnDryRun");
      int timeout = w.node["timeoutSeconds"] ? w.node["timeoutSeconds"].as<int>() : 10;
      EXPECT_GE(timeout, 1);
      EXPECT_LE(timeout, 5);
      EXPECT_EQ(strs(w.node["admissionReviewVersions"]), std::vector<std::string>{"v1"});
      EXPECT_EQ(str(w.node["matchPolicy"]), "Equivalent");
      const YAML::Node ref = w.node["clientConfig"]["service"];
      EXPECT_FALSE(w.node["clientConfig"]["url"]);
      EXPECT_EQ(str(ref["name"]), str(svc["metadata"]["name"]));
      EXPECT_EQ(str(ref["namespace"]), str(svc["metadata"]["namespace"]));
      EXPECT_EQ(str(ref["port"]), "443");
      EXPECT_EQ(str(ref["path"]), w.mutating ? "/mutate" : "/validate");
      if (w.mutating) {
        EXPECT_EQ(str(w.node["reinvocationPolicy"]), "IfNeeded");
      }
      // Every webhook filters irrelevant writes; names unique, within the API limit of 64.
      const YAML::Node conds = w.node["matchConditions"];
      ASSERT_TRUE(conds && conds.IsSequence() && conds.size() > 0);
      EXPECT_LE(conds.size(), 64u);
      std::set<std::string> cond_names;
      for (const auto& c : conds) {
        EXPECT_TRUE(cond_names.insert(str(c["name"])).second);
        EXPECT_FALSE(str(c["expression"]).empty());
      }
    }
    EXPECT_EQ(names.size(), 6u);
    // The Service forwards 443 to the container's serving port.
    ASSERT_EQ(svc["spec"]["ports"].size(), 1u);
    EXPECT_EQ(str(svc["spec"]["ports"][0]["port"]), "443");
    const std::string target = str(svc["spec"]["ports"][0]["targetPort"]);
    bool found = false;
    for (const auto& p : container(r)["ports"]) {
      if (str(p["name"]) == target || str(p["containerPort"]) == target) {
        EXPECT_EQ(str(p["containerPort"]), "8443");
        found = true;
      }
    }
    EXPECT_TRUE(found) << "Service targetPort " << target;
    EXPECT_TRUE(selects(svc["spec"]["selector"],
                        r.one("Deployment")["spec"]["template"]["metadata"]["labels"]));
  }
}

TEST(Deploy, FailurePolicyFollowsThePhase) {
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    const YAML::Node cfg = config(r);
    ASSERT_EQ(str(cfg["mode"]), o.mode);
    // The pilot observes only: it must not mutate either.
    EXPECT_EQ(cfg["mutation"]["enabled"].as<bool>(), o.mode == "enforce");
    for (const auto& w : webhooks(r)) {
      SCOPED_TRACE(w.name());
      // Stated explicitly on every webhook: the API default is Fail.
      ASSERT_TRUE(w.node["failurePolicy"]);
      const bool fail_closed = o.mode == "enforce" && kDenyWebhooks.count(w.name()) > 0;
      EXPECT_EQ(str(w.node["failurePolicy"]), fail_closed ? "Fail" : "Ignore");
    }
  }
}

TEST(Deploy, CaBundleComesFromACertificateSource) {
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    // No key material is ever rendered from the repository.
    EXPECT_TRUE(r.ofKind("Secret").empty());
    const std::string tls_secret = tlsSecretName(r);
    ASSERT_FALSE(tls_secret.empty());
    for (const auto& w : webhooks(r)) {
      SCOPED_TRACE(w.name());
      const YAML::Node bundle = w.node["clientConfig"]["caBundle"];
      if (o.cert_manager) {
        EXPECT_FALSE(bundle) << "cainjector fills it; an applied value would fight it";
      } else {
        // A placeholder that is not base64: the API server rejects the object, so a webhook
        // cannot be registered without a CA (certs/gen-certs.sh replaces it).
        ASSERT_TRUE(bundle);
        EXPECT_NE(str(bundle).find_first_of("<> "), std::string::npos) << str(bundle);
      }
    }
    if (!o.cert_manager) {
      EXPECT_TRUE(r.ofKind("Certificate").empty());
      continue;
    }
    std::string serving;
    for (const auto& cert : r.ofKind("Certificate")) {
      if (str(cert["spec"]["secretName"]) == tls_secret) {
        serving = str(cert["metadata"]["name"]);
        EXPECT_TRUE(strSet(cert["spec"]["dnsNames"]).count("ambient-guard.ambient-guard.svc"));
        EXPECT_TRUE(strSet(cert["spec"]["usages"]).count("server auth"));
        // Signed by a CA issuer, so renewing the leaf does not change the caBundle.
        const std::string issuer = str(cert["spec"]["issuerRef"]["name"]);
        bool ca_issuer = false;
        for (const auto& i : r.ofKind("Issuer")) {
          ca_issuer |= str(i["metadata"]["name"]) == issuer && i["spec"]["ca"];
        }
        EXPECT_TRUE(ca_issuer) << issuer;
      }
    }
    ASSERT_FALSE(serving.empty()) << "no Certificate writes the Secret " << tls_secret;
    for (const auto& kind : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
      EXPECT_EQ(str(r.one(kind)["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]),
                "ambient-guard/" + serving)
          << kind;
    }
  }
}

YAML::Node named(const std::vector<YAML::Node>& objects, const std::string& name) {
  for (const auto& o : objects) {
    if (str(o["metadata"]["name"]) == name) {
      return o;
    }
  }
  ADD_FAILURE() << "no object named " << name;
  return YAML::Node();
}

// Returns group → resources → verbs of a role's rules (resourceNames folded in as
// "resource/name").
std::map<std::string, std::map<std::string, std::set<std::string>>> grants(const YAML::Node& role) {
  std::map<std::string, std::map<std::string, std::set<std::string>>> got;
  for (const auto& rule : role["rules"]) {
    EXPECT_FALSE(rule["nonResourceURLs"]);
    std::vector<std::string> names = strs(rule["resourceNames"]);
    for (const auto& g : strs(rule["apiGroups"])) {
      for (const auto& res : strs(rule["resources"])) {
        for (const auto& verb : strs(rule["verbs"])) {
          if (names.empty()) {
            got[g][res].insert(verb);
          }
          for (const auto& n : names) {
            got[g][res + "/" + n].insert(verb);
          }
        }
      }
    }
  }
  return got;
}

void expectBoundToTheServiceAccount(const Rendered& r, const YAML::Node& binding,
                                    const YAML::Node& role) {
  EXPECT_EQ(str(binding["roleRef"]["kind"]), str(role["kind"]));
  EXPECT_EQ(str(binding["roleRef"]["name"]), str(role["metadata"]["name"]));
  ASSERT_EQ(binding["subjects"].size(), 1u);
  const YAML::Node sa = r.one("ServiceAccount");
  EXPECT_EQ(str(binding["subjects"][0]["kind"]), "ServiceAccount");
  EXPECT_EQ(str(binding["subjects"][0]["name"]), str(sa["metadata"]["name"]));
  EXPECT_EQ(str(binding["subjects"][0]["namespace"]), str(sa["metadata"]["namespace"]));
}

TEST(Deploy, RbacReadsWhatItWatchesAndWritesOnlyItsReportsAndLease) {
  // The watch role: exactly what the in-cluster watch lists and watches, nothing less (a 403
  // would keep a kind empty), nothing more (least privilege), read only.
  // Cluster-wide kinds in the ClusterRole; the control plane's, in the Istio namespace, in a
  // Role there, limited to the name a metadata.name field selector asks for.
  std::map<std::string, std::map<std::string, std::set<std::string>>> reads;
  std::map<std::string, std::map<std::string, std::set<std::string>>> control_plane;
  for (const WatchedResource& w : watchedResources()) {
    if (w.ns.empty()) {
      reads[std::string(w.group)][std::string(w.plural)] = {"get", "list", "watch"};
      continue;
    }
    EXPECT_EQ(w.ns, kDefaultIstioNamespace);
    std::string res(w.plural);
    constexpr std::string_view kByName = "metadata.name=";
    if (w.field_selector.starts_with(kByName)) {
      res += "/" + std::string(w.field_selector.substr(kByName.size()));
    }
    control_plane[std::string(w.group)][res] = {"get", "list", "watch"};
  }
  ASSERT_FALSE(control_plane.empty());
  // The PolicyReport role: what kube/report_publisher does with the report APIs (server-side
  // apply is create + patch; stale reports are deleted; its own are listed on taking over).
  std::map<std::string, std::map<std::string, std::set<std::string>>> reports;
  const std::set<std::string> kReportVerbs = {"get", "list", "create", "patch", "delete"};
  for (ReportApi api : {ReportApi::kWgPolicy, ReportApi::kOpenReports}) {
    const ReportApiNames& n = reportApiNames(api);
    const std::string group(n.api_version.substr(0, n.api_version.find('/')));
    reports[group][std::string(n.plural)] = kReportVerbs;
    reports[group][std::string(n.cluster_plural)] = kReportVerbs;
  }
  // Leader election: create the Lease, get and update it by name (kube/lease.cc).
  const std::string lease = LeaseOptions{}.name;
  const std::map<std::string, std::map<std::string, std::set<std::string>>> election = {
      {"coordination.k8s.io", {{"leases", {"create"}}, {"leases/" + lease, {"get", "update"}}}}};
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    ASSERT_EQ(r.ofKind("ClusterRole").size(), 2u);
    ASSERT_EQ(r.ofKind("ClusterRoleBinding").size(), 2u);
    ASSERT_EQ(r.ofKind("Role").size(), 2u);
    ASSERT_EQ(r.ofKind("RoleBinding").size(), 2u);
    const YAML::Node watch_role = named(r.ofKind("ClusterRole"), "ambient-guard");
    const YAML::Node report_role = named(r.ofKind("ClusterRole"), "ambient-guard-policy-reports");
    EXPECT_EQ(grants(watch_role), reads);
    EXPECT_EQ(grants(report_role), reports);
    const YAML::Node role = named(r.ofKind("Role"), "ambient-guard-leader-election");
    EXPECT_EQ(grants(role), election);
    EXPECT_EQ(str(role["metadata"]["namespace"]), str(config(r)["webhookNamespace"]));
    const YAML::Node cp_role = named(r.ofKind("Role"), "ambient-guard-istio-control-plane");
    EXPECT_EQ(grants(cp_role), control_plane);
    EXPECT_EQ(str(cp_role["metadata"]["namespace"]), kDefaultIstioNamespace);
    // The Deployment watches the namespace the Role is in.
    const std::vector<std::string> args =
        strs(r.one("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]);
    auto flag = std::find(args.begin(), args.end(), "--istio-namespace");
    ASSERT_NE(flag, args.end());
    ASSERT_NE(flag + 1, args.end());
    EXPECT_EQ(*(flag + 1), str(cp_role["metadata"]["namespace"]));
    const YAML::Node cp_binding =
        named(r.ofKind("RoleBinding"), "ambient-guard-istio-control-plane");
    expectBoundToTheServiceAccount(r, cp_binding, cp_role);
    EXPECT_EQ(str(cp_binding["metadata"]["namespace"]), kDefaultIstioNamespace);
    expectBoundToTheServiceAccount(r, named(r.ofKind("ClusterRoleBinding"), "ambient-guard"),
                                   watch_role);
    expectBoundToTheServiceAccount(
        r, named(r.ofKind("ClusterRoleBinding"), "ambient-guard-policy-reports"), report_role);
    const YAML::Node binding = named(r.ofKind("RoleBinding"), "ambient-guard-leader-election");
    expectBoundToTheServiceAccount(r, binding, role);
    EXPECT_EQ(str(binding["metadata"]["namespace"]), str(role["metadata"]["namespace"]));
    EXPECT_EQ(str(r.one("Deployment")["spec"]["template"]["spec"]["serviceAccountName"]),
              str(r.one("ServiceAccount")["metadata"]["name"]));
    // Every overlay publishes reports; `policyReports: {enabled: false}` turns them off.
    EXPECT_TRUE(config(r)["policyReports"]["enabled"].as<bool>());
  }
}

TEST(Deploy, DeploymentIsHighlyAvailable) {
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    const YAML::Node dep = r.one("Deployment");
    const YAML::Node pod = dep["spec"]["template"];
    EXPECT_EQ(dep["spec"]["replicas"].as<int>(), 3);
    EXPECT_EQ(str(dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"]), "0");
    // The PDB covers these pods and lets at most one go at a time.
    const YAML::Node pdb = r.one("PodDisruptionBudget");
    EXPECT_TRUE(selects(pdb["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"]));
    if (pdb["spec"]["maxUnavailable"]) {
      EXPECT_EQ(str(pdb["spec"]["maxUnavailable"]), "1");
    } else {
      EXPECT_GE(pdb["spec"]["minAvailable"].as<int>(), 2);
    }
    std::set<std::string> spread;
    for (const auto& c : pod["spec"]["topologySpreadConstraints"]) {
      EXPECT_TRUE(selects(c["labelSelector"]["matchLabels"], pod["metadata"]["labels"]));
      spread.insert(str(c["topologyKey"]));
    }
    EXPECT_TRUE(spread.count("kubernetes.io/hostname"));
    EXPECT_TRUE(spread.count("topology.kubernetes.io/zone"));
    const YAML::Node anti = pod["spec"]["affinity"]["podAntiAffinity"]
                               ["preferredDuringSchedulingIgnoredDuringExecution"];
    ASSERT_TRUE(anti && anti.size() > 0);
    EXPECT_EQ(str(anti[0]["podAffinityTerm"]["topologyKey"]), "kubernetes.io/hostname");
    const std::string priority = str(pod["spec"]["priorityClassName"]);
    ASSERT_FALSE(priority.empty());
    if (priority.rfind("system-", 0) != 0) {
      EXPECT_EQ(str(r.one("PriorityClass")["metadata"]["name"]), priority);
      EXPECT_GT(r.one("PriorityClass")["value"].as<long long>(), 0);
    }
  }
}

TEST(Deploy, ProbesUseTheHealthEndpointsOverHttps) {
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    const YAML::Node c = container(r);
    for (const auto& [probe, path] :
         {std::pair{"readinessProbe", "/readyz"}, std::pair{"livenessProbe", "/healthz"}}) {
      SCOPED_TRACE(probe);
      const YAML::Node get = c[probe]["httpGet"];
      ASSERT_TRUE(get);
      EXPECT_EQ(str(get["path"]), path);
      EXPECT_EQ(str(get["scheme"]), "HTTPS");
      const std::string port = str(get["port"]);
      bool serving_port = port == "8443";
      for (const auto& p : c["ports"]) {
        serving_port |= str(p["name"]) == port && str(p["containerPort"]) == "8443";
      }
      EXPECT_TRUE(serving_port) << port;
    }
  }
}

TEST(Deploy, PodIsLockedDownAndOutOfTheMesh) {
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    const YAML::Node pod = r.one("Deployment")["spec"]["template"];
    const YAML::Node spec = pod["spec"];
    EXPECT_FALSE(spec["hostNetwork"] && spec["hostNetwork"].as<bool>());
    EXPECT_FALSE(spec["hostPID"] && spec["hostPID"].as<bool>());
    EXPECT_FALSE(spec["hostIPC"] && spec["hostIPC"].as<bool>());
    EXPECT_TRUE(spec["securityContext"]["runAsNonRoot"].as<bool>());
    EXPECT_NE(str(spec["securityContext"]["runAsUser"]), "0");
    EXPECT_EQ(str(spec["securityContext"]["seccompProfile"]["type"]), "RuntimeDefault");
    ASSERT_EQ(spec["containers"].size(), 1u);
    EXPECT_FALSE(spec["initContainers"]);
    const YAML::Node sc = container(r)["securityContext"];
    EXPECT_FALSE(sc["allowPrivilegeEscalation"].as<bool>());
    EXPECT_TRUE(sc["readOnlyRootFilesystem"].as<bool>());
    EXPECT_FALSE(sc["privileged"] && sc["privileged"].as<bool>());
    EXPECT_EQ(strs(sc["capabilities"]["drop"]), std::vector<std::string>{"ALL"});
    EXPECT_FALSE(sc["capabilities"]["add"]);
    const YAML::Node res = container(r)["resources"];
    EXPECT_FALSE(str(res["requests"]["cpu"]).empty());
    const long long request = bytes(str(res["requests"]["memory"]));
    const long long limit = bytes(str(res["limits"]["memory"]));
    EXPECT_GT(request, 0);
    EXPECT_GE(limit, request);
    // The API server is not in the mesh: a sidecar or ztunnel in front of the webhook with
    // STRICT mTLS would reject every call.
    EXPECT_EQ(str(pod["metadata"]["labels"]["sidecar.istio.io/inject"]), "false");
    EXPECT_EQ(str(pod["metadata"]["labels"]["istio.io/dataplane-mode"]), "none");
    const YAML::Node ns = r.one("Namespace");
    EXPECT_EQ(str(ns["metadata"]["name"]), str(r.one("Deployment")["metadata"]["namespace"]));
    EXPECT_EQ(str(ns["metadata"]["labels"]["istio-injection"]), "disabled");
    EXPECT_EQ(str(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]), "restricted");
  }
}

TEST(Deploy, ServerGetsTheContractArgumentsAndWritableAuditDir) {
  const std::set<std::string> kConfigKeys = {
      "mode",       "rootNamespace", "rules", "namespaceOverrides",
      "exemptions", "mutation",      "audit", "policyReports", "webhookNamespace"};
  for (const auto& o : kOverlays) {
    SCOPED_TRACE(o.dir);
    const Rendered& r = render(o.dir);
    ASSERT_TRUE(r.ok);
    const YAML::Node c = container(r);
    std::vector<std::string> argv = strs(c["command"]);
    for (const auto& a : strs(c["args"])) {
      argv.push_back(a);
    }
    EXPECT_EQ(argv, (std::vector<std::string>{
                        "/usr/local/bin/ambient-guard", "serve", "--listen", "0.0.0.0:8443",
                        "--cert", "/etc/ambient-guard/tls/tls.crt", "--key",
                        "/etc/ambient-guard/tls/tls.key", "--config",
                        "/etc/ambient-guard/config.yaml", "--istio-namespace", "istio-system"}));
    std::map<std::string, YAML::Node> volumes;
    for (const auto& v : r.one("Deployment")["spec"]["template"]["spec"]["volumes"]) {
      volumes.emplace(str(v["name"]), static_cast<const YAML::Node&>(v));
    }
    std::map<std::string, YAML::Node> mounts;  // by mountPath
    for (const auto& m : c["volumeMounts"]) {
      mounts.emplace(str(m["mountPath"]), static_cast<const YAML::Node&>(m));
    }
    ASSERT_TRUE(mounts.count("/etc/ambient-guard/tls"));
    const YAML::Node tls = mounts.at("/etc/ambient-guard/tls");
    ASSERT_TRUE(volumes.count(str(tls["name"])));
    EXPECT_TRUE(volumes.at(str(tls["name"]))["secret"]);
    EXPECT_FALSE(tls["subPath"]) << "a subPath mount never sees a renewed certificate";
    ASSERT_TRUE(mounts.count("/etc/ambient-guard/config.yaml"));
    const YAML::Node cfg_mount = mounts.at("/etc/ambient-guard/config.yaml");
    EXPECT_EQ(str(cfg_mount["subPath"]), "config.yaml");
    ASSERT_TRUE(volumes.count(str(cfg_mount["name"])));
    EXPECT_EQ(str(volumes.at(str(cfg_mount["name"]))["configMap"]["name"]),
              str(r.one("ConfigMap")["metadata"]["name"]));
    // The config the server will parse: only known keys (unknown ones are startup errors).
    const YAML::Node cfg = config(r);
    ASSERT_TRUE(cfg.IsMap());
    for (const auto& kv : cfg) {
      EXPECT_TRUE(kConfigKeys.count(kv.first.as<std::string>())) << kv.first.as<std::string>();
    }
    // The audit log needs a writable volume on the read-only root filesystem.
    const std::string audit = str(cfg["audit"]["path"]);
    ASSERT_FALSE(audit.empty());
    const std::string audit_dir = fs::path(audit).parent_path().string();
    ASSERT_TRUE(mounts.count(audit_dir)) << audit;
    const YAML::Node audit_mount = mounts.at(audit_dir);
    EXPECT_FALSE(audit_mount["readOnly"] && audit_mount["readOnly"].as<bool>());
    ASSERT_TRUE(volumes.count(str(audit_mount["name"])));
    const YAML::Node audit_volume = volumes.at(str(audit_mount["name"]));
    ASSERT_TRUE(audit_volume["emptyDir"]);
    // Rotation keeps maxFiles + 1 files; exceeding sizeLimit would evict the pod.
    const long long max_bytes = (cfg["audit"]["maxFiles"].as<long long>() + 1) *
                                cfg["audit"]["maxSizeMB"].as<long long>() * 1000 * 1000;
    EXPECT_GT(bytes(str(audit_volume["emptyDir"]["sizeLimit"])), max_bytes);
  }
}

// README's kustomization for a custom enablement selector (section "A custom enablement selector
// and `/mutate`") renders with the real `kubectl kustomize` on top of deploy/overlays/enforce,
// and yields the enforce overlay with only the mutating webhook's matchCondition replaced by one
// in the validating Namespace webhook's style, covering both label keys.
TEST(Deploy, ReadmeCustomEnablementPatchRenders) {
  auto readme = readFileText(std::string(AG_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(readme.ok()) << readme.error();
  const std::string begin = "<!-- custom-enablement-patch:begin -->\n```yaml\n";
  const std::string end = "```\n<!-- custom-enablement-patch:end -->";
  const size_t b = readme->find(begin);
  const size_t e = readme->find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  const std::string kustomization = readme->substr(b + begin.size(), e - b - begin.size());
  const std::string dir = tempDir();
  writeFile(dir, "kustomization.yaml", kustomization);
  std::error_code ec;
  std::filesystem::create_directory_symlink(kDeployDir, dir + "/deploy", ec);
  ASSERT_FALSE(ec) << ec.message();
  ProcessResult p = runProcess({"kubectl", "kustomize", dir});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  std::vector<YAML::Node> objects;
  for (const auto& doc : YAML::LoadAll(p.out)) {
    if (doc.IsMap()) {
      objects.push_back(doc);
    }
  }
  const Rendered& enforce = render("overlays/enforce");
  ASSERT_TRUE(enforce.ok);
  ASSERT_EQ(objects.size(), enforce.objects.size());
  int mutating = 0;
  int validating = 0;
  auto squeeze = [](std::string s) {
    s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); }),
            s.end());
    return s;
  };
  for (size_t i = 0; i < objects.size(); ++i) {
    SCOPED_TRACE(str(objects[i]["kind"]) + " " + str(objects[i]["metadata"]["name"]));
    if (str(objects[i]["kind"]) == "ValidatingWebhookConfiguration") {
      // The Namespace webhook's label list gains the custom key; nothing else changes, so the
      // README's copy of the expression cannot drift from deploy/base's.
      ++validating;
      YAML::Node got = YAML::Clone(objects[i]);
      YAML::Node want = YAML::Clone(enforce.objects[i]);
      ASSERT_EQ(str(got["webhooks"][1]["name"]), "namespaces.validate.ambient-guard.io");
      const std::string expr = str(got["webhooks"][1]["matchConditions"][0]["expression"]);
      std::string base = squeeze(str(want["webhooks"][1]["matchConditions"][0]["expression"]));
      const std::string last = "'istio.io/use-waypoint-canary-namespace']";
      const size_t at = base.find(last);
      ASSERT_NE(at, std::string::npos);
      base.replace(at, last.size(),
                   "'istio.io/use-waypoint-canary-namespace','platform.example.com/mesh']");
      EXPECT_EQ(squeeze(expr), base);
      got["webhooks"][1]["matchConditions"][0].remove("expression");
      want["webhooks"][1]["matchConditions"][0].remove("expression");
      EXPECT_EQ(YAML::Dump(got), YAML::Dump(want));
      continue;
    }
    if (str(objects[i]["kind"]) != "MutatingWebhookConfiguration") {
      EXPECT_EQ(YAML::Dump(objects[i]), YAML::Dump(enforce.objects[i]));
      continue;
    }
    ++mutating;
    const YAML::Node w = objects[i]["webhooks"][0];
    EXPECT_EQ(str(w["name"]), "mutate.ambient-guard.io");
    ASSERT_EQ(w["matchConditions"].size(), 1u);
    EXPECT_EQ(str(w["matchConditions"][0]["name"]), "enablement-labels-set-or-changed");
    const std::string expr = str(w["matchConditions"][0]["expression"]);
    for (const char* k : {"'istio.io/dataplane-mode'", "'platform.example.com/mesh'", "oldObject",
                          "has(object.metadata.labels)"}) {
      EXPECT_NE(expr.find(k), std::string::npos) << k;
    }
    EXPECT_EQ(std::count(expr.begin(), expr.end(), '('), std::count(expr.begin(), expr.end(), ')'));
    // Everything else of the webhook is the overlay's.
    YAML::Node rest = YAML::Clone(w);
    YAML::Node want = YAML::Clone(enforce.one("MutatingWebhookConfiguration")["webhooks"][0]);
    rest.remove("matchConditions");
    want.remove("matchConditions");
    EXPECT_EQ(YAML::Dump(rest), YAML::Dump(want));
  }
  EXPECT_EQ(mutating, 1);
  EXPECT_EQ(validating, 1);
}

}  // namespace
}  // namespace ambient_guard::testing
