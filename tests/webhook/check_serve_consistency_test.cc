// `check` and `serve` report the same findings for the same cluster and object: the pre-flight
// (the object added to the backup, its namespace evaluated) and the webhook (the object CREATEd
// against a server loaded with the backup) run the same rules through the same Reviewer.
//
// Both run as real processes of the ambient-guard binary: `serve` on 127.0.0.1 with the
// certificate it generates itself (its CA is read from its standard output), over TLS.

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "model/state_file.h"
#include "tests/testlib/serve_process.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::runCli;
using testing::ServeProcess;
using testing::tempDir;
using testing::writeFile;

json yamlToJson(const std::string& yaml) {
  auto docs = parseDocuments(yaml, "<test>");
  EXPECT_TRUE(docs.ok()) << (docs.ok() ? "" : docs.error());
  return docs.ok() && docs->size() == 1 ? (*docs)[0].doc : json();
}

// Returns an AdmissionReview of `operation` on `object` (a Kubernetes object as JSON).
json admissionReview(const std::string& operation, const json& object, const json& old_object,
                     const std::string& uid) {
  const std::string api = object["apiVersion"];
  const size_t slash = api.find('/');
  const std::string group = slash == std::string::npos ? "" : api.substr(0, slash);
  const std::string version = slash == std::string::npos ? api : api.substr(slash + 1);
  const json kind = {{"group", group}, {"version", version}, {"kind", object["kind"]}};
  json meta = object["metadata"];
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", uid},
            {"kind", kind},
            {"requestKind", kind},
            {"resource", {{"group", group}, {"version", version}, {"resource", "objects"}}},
            {"name", meta["name"]},
            {"namespace", meta.value("namespace", "")},
            {"operation", operation},
            {"userInfo", {{"username", "alice"}, {"groups", {"system:authenticated"}}}},
            {"object", object},
            {"oldObject", old_object},
            {"dryRun", false}}}};
}

// "rule action object field" — what both sides must agree on.
using FindingSet = std::multiset<std::string>;

FindingSet fromServe(const json& review_response) {
  FindingSet out;
  const json& resp = review_response["response"];
  if (!resp.contains("auditAnnotations") || !resp["auditAnnotations"].contains("findings")) {
    return out;
  }
  for (const json& f : json::parse(resp["auditAnnotations"]["findings"].get<std::string>())) {
    out.insert(f["rule"].get<std::string>() + " " + f["action"].get<std::string>() + " " +
               f["object"].get<std::string>() + " " + f["field"].get<std::string>());
  }
  return out;
}

FindingSet fromCheck(const json& report, const std::string& ns, const std::string& object) {
  FindingSet out;
  for (const json& n : report["namespaces"]) {
    if (n["name"] != ns) {
      continue;
    }
    for (const json& f : n["findings"]) {
      const json& o = f["object"];
      std::string key = o["kind"].get<std::string>() + " " +
                        (o["namespace"].get<std::string>().empty()
                             ? ""
                             : o["namespace"].get<std::string>() + "/") +
                        o["name"].get<std::string>();
      if (key == object) {  // the backup's own findings about other objects are not the write's
        out.insert(f["rule"].get<std::string>() + " " + f["action"].get<std::string>() + " " +
                   key + " " + f["field"].get<std::string>());
      }
    }
  }
  return out;
}

const std::string kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec: {selector: {app: ratings}, ports: [{port: 9080}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system, creationTimestamp: "2023-01-01T00:00:00Z"}
spec: {mtls: {mode: STRICT}}
)";

struct Case {
  std::string name;
  std::string ns;      // namespace `check` reports the object under
  std::string object;  // "Kind ns/name" as findings name it
  std::string yaml;
  size_t min_findings;  // guards against two empty sets agreeing vacuously
};

TEST(CheckServeConsistency, SameFindingsForTheSameClusterAndObject) {
  const std::vector<Case> cases = {
      {"L7 ALLOW on a selector", "bookinfo", "AuthorizationPolicy bookinfo/ratings-get", R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-get, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: ratings}}
  rules: [{to: [{operation: {methods: [GET]}}]}]
)",
       1},
      {"identity shift behind a waypoint", "bookinfo", "AuthorizationPolicy bookinfo/from-pp", R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: from-pp, namespace: bookinfo}
spec:
  rules: [{from: [{source: {principals: [cluster.local/ns/bookinfo/sa/productpage]}}]}]
)",
       1},
      {"dry-run with an empty selector", "bookinfo", "AuthorizationPolicy bookinfo/trial", R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: trial, namespace: bookinfo, annotations: {istio.io/dry-run: "true"}}
spec:
  selector: {}
  rules: [{from: [{source: {namespaces: [bookinfo]}}]}]
)",
       2},
      {"unresolved targetRef", "bookinfo", "AuthorizationPolicy bookinfo/ratings-l7", R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-l7, namespace: bookinfo}
spec:
  targetRefs: [{group: "", kind: Service, name: ratings}]
  rules: [{to: [{operation: {methods: [GET]}}]}]
)",
       1},
      {"RequestAuthentication on a selector", "bookinfo", "RequestAuthentication bookinfo/jwt", R"(
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: reviews}}
  jwtRules: [{issuer: "https://issuer.example.com"}]
)",
       1},
      {"EnvoyFilter", "bookinfo", "EnvoyFilter bookinfo/lua", R"(
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: lua, namespace: bookinfo}
spec: {workloadSelector: {labels: {app: ratings}}}
)",
       1},
      {"WasmPlugin on a selector", "bookinfo", "WasmPlugin bookinfo/auth", R"(
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: auth, namespace: bookinfo}
spec: {selector: {matchLabels: {app: ratings}}, url: "oci://example.com/auth:1"}
)",
       1},
      {"PeerAuthentication DISABLE", "bookinfo",
       "PeerAuthentication bookinfo/off", R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: off, namespace: bookinfo}
spec: {mtls: {mode: DISABLE}}
)",
       1},
      {"redundant STRICT (dryrun)", "bookinfo", "PeerAuthentication bookinfo/strict", R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: bookinfo}
spec: {mtls: {mode: STRICT}}
)",
       1},
      {"mesh VirtualService", "bookinfo", "VirtualService bookinfo/ratings", R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: bookinfo}
spec:
  hosts: [ratings]
  http: [{route: [{destination: {host: ratings, subset: v1}}]}]
)",
       1},
  };

  const std::string dir = tempDir();
  const std::string cluster_file = writeFile(dir, "cluster.yaml", kCluster);
  ServeProcess serve({"--listen", "127.0.0.1:0", "--state", cluster_file});
  ASSERT_GT(serve.port(), 0) << serve.log();
  ASSERT_NE(serve.ca().find("BEGIN CERTIFICATE"), std::string::npos);

  httplib::SSLClient client("127.0.0.1", serve.port());
  client.set_ca_cert_store(testing::caStore(serve.ca()));
  client.enable_server_certificate_verification(true);

  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // check: the backup with the object in it.
    const std::string with_object =
        writeFile(dir, "case" + std::to_string(n) + ".yaml", kCluster + "---\n" + c.yaml);
    auto check = runCli({"check", "-f", with_object, "-n", c.ns, "-o", "json"});
    ASSERT_TRUE(check.exit_code == 0 || check.exit_code == 1) << check.err;
    const FindingSet from_check = fromCheck(json::parse(check.out), c.ns, c.object);

    // serve: the object CREATEd against the backup.
    const json review =
        admissionReview("CREATE", yamlToJson(c.yaml), nullptr, "uid-" + std::to_string(n++));
    auto res = client.Post("/validate", review.dump(), "application/json");
    ASSERT_TRUE(res) << httplib::to_string(res.error()) << "\n" << serve.log();
    ASSERT_EQ(res->status, 200) << res->body;
    const json answer = json::parse(res->body);
    const FindingSet from_serve = fromServe(answer);

    EXPECT_EQ(from_check, from_serve);
    EXPECT_GE(from_serve.size(), c.min_findings);
    // A deny on one side is a refusal on the other.
    const bool check_denies = check.exit_code == 1;
    EXPECT_EQ(answer["response"]["allowed"].get<bool>(), !check_denies) << res->body;
  }
}

TEST(CheckServeConsistency, WhatIfEnrollmentIsTheEnrollmentWrite) {
  // For a namespace that is not ambient yet, `check` answers "what if it were enrolled now"; the
  // webhook reaches the same findings when the enrollment itself is written.
  const std::string cluster = kCluster + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-get, namespace: legacy}
spec:
  selector: {matchLabels: {app: ratings}}
  rules: [{to: [{operation: {methods: [GET]}}]}]
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: lua, namespace: legacy}
spec: {workloadSelector: {labels: {app: ratings}}}
)";
  const std::string dir = tempDir();
  const std::string file = writeFile(dir, "cluster.yaml", cluster);
  auto check = runCli({"check", "-f", file, "-n", "legacy", "-o", "json"});
  ASSERT_EQ(check.exit_code, 1) << check.err;
  const json report = json::parse(check.out);
  ASSERT_EQ(report["namespaces"][0]["evaluatedAs"], "enrolled");
  FindingSet from_check;
  for (const json& f : report["namespaces"][0]["findings"]) {
    const json& o = f["object"];
    from_check.insert(f["rule"].get<std::string>() + " " + f["action"].get<std::string>() + " " +
                      o["kind"].get<std::string>() + " " + o["namespace"].get<std::string>() +
                      "/" + o["name"].get<std::string>() + " " + f["field"].get<std::string>());
  }
  EXPECT_EQ(from_check.size(), 2u);

  ServeProcess serve({"--listen", "127.0.0.1:0", "--state", file});
  ASSERT_GT(serve.port(), 0) << serve.log();
  httplib::SSLClient client("127.0.0.1", serve.port());
  client.set_ca_cert_store(testing::caStore(serve.ca()));
  client.enable_server_certificate_verification(true);
  // The enrollment `check` assumes: dataplane-mode=ambient, injection label removed.
  const json before = yamlToJson(R"(
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
)");
  const json after = yamlToJson(R"(
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio.io/dataplane-mode: ambient}}
)");
  auto res = client.Post("/validate", admissionReview("UPDATE", after, before, "enroll").dump(),
                         "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error()) << "\n" << serve.log();
  ASSERT_EQ(res->status, 200) << res->body;
  const json answer = json::parse(res->body);
  EXPECT_EQ(fromServe(answer), from_check);
  EXPECT_FALSE(answer["response"]["allowed"].get<bool>()) << res->body;
}

}  // namespace
}  // namespace ambient_guard
