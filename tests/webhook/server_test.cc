// The webhook end to end over real TLS on 127.0.0.1: certificates made by the test, a client that
// verifies the CA and the Service DNS name, AdmissionReviews from examples/admission/.
#include "webhook/server.h"

#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "model/base64.h"
#include "model/state_file.h"
#include "rules/rule.h"
#include "tests/testlib/running_server.h"
#include "tests/testlib/testlib.h"
#include "tests/testlib/tls_client.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::HttpResponse;
using testing::RunningServer;
using testing::kServiceDns;
using testing::TlsClient;

std::string example(const std::string& name) {
  auto text = readFileText(std::string(AG_SOURCE_DIR) + "/examples/admission/" + name);
  EXPECT_TRUE(text.ok()) << text.error();
  return text.ok() ? *text : std::string();
}

struct Pki {
  Pem ca;
  Pem leaf;
};

Pki makePki() {
  auto ca = generateCa("ambient-guard test CA", 1);
  EXPECT_TRUE(ca.ok()) << ca.error();
  auto leaf = issueServingCert(*ca, {kServiceDns, "localhost"}, {"127.0.0.1"}, 1);
  EXPECT_TRUE(leaf.ok()) << leaf.error();
  return {*ca, *leaf};
}

std::shared_ptr<const Snapshot> demoState() {
  std::vector<AnyObject> objects;
  auto loaded = loadFile(std::string(AG_SOURCE_DIR) + "/examples/demo-backup.yaml", objects);
  EXPECT_TRUE(loaded.ok()) << loaded.error();
  return Snapshot::build(std::move(objects));
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : pki_(makePki()), certs_(*CertKey::fromPem(pki_.leaf)) {}

  // POSTs with cpp-httplib's own client, verifying the CA and the Service DNS name while
  // connecting to 127.0.0.1.
  httplib::Result post(int port, const std::string& path, const std::string& body,
                       const std::string& content_type = "application/json") {
    client_ = std::make_unique<httplib::SSLClient>(kServiceDns, port);
    client_->set_hostname_addr_map({{kServiceDns, "127.0.0.1"}});
    const std::string ca = testing::writeFile(testing::tempDir(), "ca.crt", pki_.ca.cert);
    client_->set_ca_cert_path(ca.c_str());
    client_->enable_server_certificate_verification(true);
    return client_->Post(path.c_str(), body, content_type.c_str());
  }

  json admit(int port, const std::string& path, const std::string& body) {
    auto res = post(port, path, body);
    EXPECT_TRUE(res) << "request failed: " << httplib::to_string(res.error());
    if (!res) {
      return json();
    }
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type").rfind("application/json", 0), 0u);
    json review = json::parse(res->body);
    EXPECT_EQ(review["apiVersion"], "admission.k8s.io/v1");
    EXPECT_EQ(review["kind"], "AdmissionReview");
    EXPECT_EQ(review["response"]["uid"], json::parse(body)["request"]["uid"]);
    return review["response"];
  }

  Pki pki_;
  CertReloader certs_;
  std::unique_ptr<httplib::SSLClient> client_;
};

TEST_F(ServerTest, AllowDenyWarn) {
  RunningServer s(certs_, demoState());
  json allow = admit(s.port(), "/validate", example("allow-authorizationpolicy.json"));
  EXPECT_EQ(allow["allowed"], true);
  EXPECT_FALSE(allow.contains("warnings"));

  json deny = admit(s.port(), "/validate", example("deny-peerauthentication-disable.json"));
  EXPECT_EQ(deny["allowed"], false);
  EXPECT_EQ(deny["status"]["code"], 403);
  EXPECT_EQ(deny["status"]["reason"], "Forbidden");
  EXPECT_EQ(deny["status"]["message"].get<std::string>().rfind("[peer-authentication-disable] ", 0),
            0u);
  EXPECT_FALSE(deny.contains("patch"));

  json warn = admit(s.port(), "/validate", example("warn-virtualservice.json"));
  EXPECT_EQ(warn["allowed"], true);
  ASSERT_TRUE(warn.contains("warnings"));
  for (const auto& w : warn["warnings"]) {
    const std::string text = w.get<std::string>();
    EXPECT_LE(text.size(), 120u);
    EXPECT_TRUE(std::none_of(text.begin(), text.end(),
                             [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
        << text;
  }
  EXPECT_EQ(warn["warnings"][0].get<std::string>().rfind("[virtualservice-needs-httproute]", 0),
            0u);
  for (const auto& [key, value] : warn["auditAnnotations"].items()) {
    EXPECT_TRUE(validAuditAnnotationKey(key)) << key;
  }

  const std::string metrics = s.metrics().render();
  EXPECT_NE(metrics.find("ambient_guard_admission_requests_total{decision=\"denied\","
                         "kind=\"PeerAuthentication\",operation=\"CREATE\",webhook=\"validate\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ambient_guard_findings_total{action=\"deny\",enforced=\"true\","
                         "rule=\"peer-authentication-disable\"} 1"),
            std::string::npos)
      << metrics;
}

TEST_F(ServerTest, ModeAndNamespaceOverride) {
  RunningServer s(certs_, demoState(), testing::configFromYaml(R"(
mode: enforce
namespaceOverrides:
- {namespaces: ["sh*"], mode: warn}
- {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: legacy}}, mode: dryrun}
)"));
  // shop is in warn: the deny becomes a warning.
  json shop = admit(s.port(), "/validate", example("deny-peerauthentication-disable.json"));
  EXPECT_EQ(shop["allowed"], true);
  ASSERT_TRUE(shop.contains("warnings"));
  EXPECT_EQ(shop["auditAnnotations"]["mode"], "warn");

  // legacy (by label) is in dryrun: nothing in the response but the audit annotations.
  json body = json::parse(example("deny-peerauthentication-disable.json"));
  body["request"]["namespace"] = "legacy";
  body["request"]["object"]["metadata"]["namespace"] = "legacy";
  body["request"]["object"]["metadata"]["name"] = "plaintext-2";
  json legacy = admit(s.port(), "/validate", body.dump());
  EXPECT_EQ(legacy["allowed"], true);
  EXPECT_FALSE(legacy.contains("warnings"));
  EXPECT_EQ(legacy["auditAnnotations"]["mode"], "dryrun");
  EXPECT_NE(legacy["auditAnnotations"]["findings"].get<std::string>().find("\"action\":\"dryrun\""),
            std::string::npos);

  // Global warn mode.
  RunningServer w(certs_, demoState(), testing::configFromYaml("mode: warn"));
  json warned = admit(w.port(), "/validate", example("deny-peerauthentication-disable.json"));
  EXPECT_EQ(warned["allowed"], true);
  EXPECT_TRUE(warned.contains("warnings"));
}

TEST_F(ServerTest, ExemptionsAreRecorded) {
  RunningServer s(certs_, demoState(),
                  testing::configFromYaml("exemptions: {users: [\"alice@*\"]}"));
  json resp = admit(s.port(), "/validate", example("deny-peerauthentication-disable.json"));
  EXPECT_EQ(resp["allowed"], true);
  EXPECT_EQ(resp["auditAnnotations"]["exempted"], "user alice@example.com");
  EXPECT_NE(resp["auditAnnotations"]["findings"].get<std::string>().find(
                "peer-authentication-disable"),
            std::string::npos);
}

TEST_F(ServerTest, DryRunIsAnsweredNormally) {
  RunningServer s(certs_, demoState());
  json body = json::parse(example("deny-peerauthentication-disable.json"));
  body["request"]["dryRun"] = true;
  json resp = admit(s.port(), "/validate", body.dump());
  EXPECT_EQ(resp["allowed"], false);
  EXPECT_EQ(resp["auditAnnotations"]["dry-run"], "true");
}

TEST_F(ServerTest, BadRequests) {
  RunningServer s(certs_, demoState(), Config{}, [] {
    ServerOptions o;
    o.max_request_bytes = 1 << 20;
    return o;
  }());
  auto malformed = post(s.port(), "/validate", "{\"apiVersion\":");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  auto wrong_version = post(s.port(), "/validate",
                            R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview",
                                "request":{"uid":"x","operation":"CREATE"}})");
  ASSERT_TRUE(wrong_version);
  EXPECT_EQ(wrong_version->status, 400);
  auto wrong_type = post(s.port(), "/validate", example("allow-authorizationpolicy.json"),
                         "text/plain");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 415);
  auto with_charset = post(s.port(), "/validate", example("allow-authorizationpolicy.json"),
                           "application/json; charset=utf-8");
  ASSERT_TRUE(with_charset);
  EXPECT_EQ(with_charset->status, 200);

  TlsClient c(s.port(), pki_.ca.cert);
  ASSERT_TRUE(c.connected()) << c.error();
  auto big = c.request("POST", "/validate", std::string((1 << 20) + 1, ' '));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto get = c.request("GET", "/validate", "", "");
  if (get) {  // the 413 may have closed the connection; a fresh one answers either way
    EXPECT_EQ(get->status, 405);
  }
  TlsClient c2(s.port(), pki_.ca.cert);
  auto get2 = c2.request("GET", "/validate", "", "");
  ASSERT_TRUE(get2);
  EXPECT_EQ(get2->status, 405);
  auto missing = c2.request("GET", "/nope", "", "");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  const std::string metrics = s.metrics().render();
  EXPECT_NE(metrics.find("decision=\"invalid\""), std::string::npos);
}

TEST_F(ServerTest, MutationPatchAppliesWithAnIndependentRfc6902Implementation) {
  RunningServer s(certs_, demoState());
  const std::string body = example("namespace-enroll.json");
  json resp = admit(s.port(), "/mutate", body);
  EXPECT_EQ(resp["allowed"], true);
  ASSERT_EQ(resp["patchType"], "JSONPatch");
  json patch = json::parse(base64Decode(resp["patch"].get<std::string>()).value_or(""));
  json review = json::parse(body);
  json patched = review["request"]["object"].patch(patch);
  const json& meta = patched["metadata"];
  EXPECT_EQ(meta["labels"],
            json({{"kubernetes.io/metadata.name", "bookinfo"}, {"istio.io/dataplane-mode", "ambient"}}));
  EXPECT_EQ(meta["annotations"]["ambient-guard.io/previous-injection"],
            R"({"istio-injection":"enabled"})");
  EXPECT_TRUE(meta["annotations"].contains("ambient-guard.io/enrolled-at"));
  // Everything else is untouched.
  json rest = patched;
  rest["metadata"].erase("labels");
  rest["metadata"].erase("annotations");
  json before = review["request"]["object"];
  before["metadata"].erase("labels");
  EXPECT_EQ(rest, before);

  // Reinvocation (reinvocationPolicy: IfNeeded) sees the patched object: no further patch.
  review["request"]["object"] = patched;
  review["request"]["uid"] = "reinvoked";
  json again = admit(s.port(), "/mutate", review.dump());
  EXPECT_EQ(again["allowed"], true);
  EXPECT_FALSE(again.contains("patch"));
  EXPECT_FALSE(again.contains("patchType"));

  // Rollback: drop the dataplane-mode label from the enrolled namespace.
  json rollback = review;
  rollback["request"]["uid"] = "rollback";
  rollback["request"]["oldObject"] = patched;
  rollback["request"]["object"] = patched;
  rollback["request"]["object"]["metadata"]["labels"].erase("istio.io/dataplane-mode");
  json back = admit(s.port(), "/mutate", rollback.dump());
  json restored =
      rollback["request"]["object"].patch(
          json::parse(base64Decode(back["patch"].get<std::string>()).value_or("")));
  EXPECT_EQ(restored["metadata"]["labels"]["istio-injection"], "enabled");
  EXPECT_FALSE(restored["metadata"].contains("annotations") &&
               restored["metadata"]["annotations"].contains("ambient-guard.io/previous-injection"));

  // Nothing to do for other kinds.
  json other = admit(s.port(), "/mutate", example("deny-peerauthentication-disable.json"));
  EXPECT_EQ(other["allowed"], true);
  EXPECT_FALSE(other.contains("patchType"));
}

TEST_F(ServerTest, MutationOffInConfigAndExemptNamespaces) {
  RunningServer off(certs_, demoState(),
                    testing::configFromYaml("mutation: {enabled: false}"));
  json resp = admit(off.port(), "/mutate", example("namespace-enroll.json"));
  EXPECT_FALSE(resp.contains("patch"));

  RunningServer exempt(certs_, demoState(),
                       testing::configFromYaml("exemptions: {namespaces: [bookinfo]}"));
  resp = admit(exempt.port(), "/mutate", example("namespace-enroll.json"));
  EXPECT_FALSE(resp.contains("patch"));
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  RunningServer s(certs_, demoState());
  TlsClient c(s.port(), pki_.ca.cert);
  ASSERT_TRUE(c.connected()) << c.error();
  const std::string body = example("allow-authorizationpolicy.json");
  for (int i = 0; i < 50; ++i) {  // cpp-httplib's default would close after 5
    auto r = c.request("POST", "/validate", body);
    ASSERT_TRUE(r) << "connection closed after " << i << " requests";
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->headers["connection"], "") << "server asked to close";
    if (i == 0) {
      EXPECT_NE(r->headers["keep-alive"].find("timeout=120"), std::string::npos)
          << r->headers["keep-alive"];
    }
  }
}

TEST_F(ServerTest, OnlyTls12AndUpWithAeadCiphers) {
  RunningServer s(certs_, demoState());
  TlsClient modern(s.port(), pki_.ca.cert);
  ASSERT_TRUE(modern.connected()) << modern.error();
  EXPECT_EQ(modern.protocol(), "TLSv1.3");

  testing::TlsClientOptions tls12;
  tls12.max_version = TLS1_2_VERSION;
  TlsClient v12(s.port(), pki_.ca.cert, tls12);
  EXPECT_TRUE(v12.connected()) << v12.error();

  testing::TlsClientOptions tls11;
  tls11.max_version = TLS1_1_VERSION;
  TlsClient v11(s.port(), pki_.ca.cert, tls11);
  EXPECT_FALSE(v11.connected());

  testing::TlsClientOptions cbc;
  cbc.max_version = TLS1_2_VERSION;
  cbc.tls12_ciphers = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256:AES128-SHA";
  TlsClient weak(s.port(), pki_.ca.cert, cbc);
  EXPECT_FALSE(weak.connected());

  testing::TlsClientOptions wrong_name;
  wrong_name.sni = "other.ambient-guard.svc";
  TlsClient other(s.port(), pki_.ca.cert, wrong_name);
  EXPECT_FALSE(other.connected());  // the certificate does not name it
}

TEST_F(ServerTest, ProbesAndMetrics) {
  RunningServer s(certs_, demoState());
  TlsClient c(s.port(), pki_.ca.cert);
  ASSERT_TRUE(c.connected()) << c.error();
  auto health = c.request("GET", "/healthz", "", "");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = c.request("GET", "/readyz", "", "");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  s.store().setReady(false);
  ready = c.request("GET", "/readyz", "", "");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  s.store().setReady(true);

  ASSERT_TRUE(c.request("POST", "/validate", example("allow-authorizationpolicy.json")));
  auto metrics = c.request("GET", "/metrics", "", "");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u);
  for (const char* name :
       {"ambient_guard_admission_requests_total", "ambient_guard_admission_duration_seconds_bucket",
        "ambient_guard_cert_expiry_timestamp_seconds"}) {
    EXPECT_NE(metrics->body.find(name), std::string::npos) << name;
  }
  EXPECT_NE(metrics->body.find("le=\"0.0001\""), std::string::npos);
  EXPECT_NE(metrics->body.find("le=\"10\""), std::string::npos);
}

TEST_F(ServerTest, ShutdownDrainsInFlightAndClosesIdleConnections) {
  RunningServer s(certs_, demoState());
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first{true};
  s.pipeline().setDecisionHook([&](const AdmissionRequest&, const Decision&) {
    if (first.exchange(false)) {
      entered.set_value();
      released.wait();
    }
  });

  TlsClient idle(s.port(), pki_.ca.cert);
  ASSERT_TRUE(idle.connected()) << idle.error();
  ASSERT_TRUE(idle.request("GET", "/healthz", "", ""));  // now an idle keep-alive connection

  TlsClient busy(s.port(), pki_.ca.cert);
  ASSERT_TRUE(busy.connected()) << busy.error();
  auto in_flight = std::async(std::launch::async, [&] {
    return busy.request("POST", "/validate", example("deny-peerauthentication-disable.json"));
  });
  entered.get_future().wait();  // the request is inside the pipeline

  std::thread stopper([&] { s.stop(); });  // returns once every connection is closed
  EXPECT_TRUE(idle.closedByServer());      // the idle connection is closed promptly
  release.set_value();
  auto resp = in_flight.get();
  ASSERT_TRUE(resp) << "in-flight request was dropped";
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(json::parse(resp->body)["response"]["allowed"], false);
  stopper.join();
}

}  // namespace
}  // namespace ambient_guard
