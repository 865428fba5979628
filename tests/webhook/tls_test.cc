// Certificates: generation, loading, and rotation of the serving certificate while clients keep
// their connections.
#include "webhook/tls.h"

#include <openssl/x509v3.h>

#include <cstdio>
#include <thread>

#include <gtest/gtest.h>

#include "model/state_file.h"
#include "rules/rule.h"
#include "tests/testlib/testlib.h"
#include "tests/testlib/tls_client.h"
#include "webhook/server.h"

namespace ambient_guard {
namespace {

using testing::kServiceDns;
using testing::TlsClient;

// Writes the pair the way kubelet updates a Secret volume: new files, then an atomic rename.
void rotate(const std::string& dir, const Pem& pem) {
  testing::writeFile(dir, "tls.crt.new", pem.cert);
  testing::writeFile(dir, "tls.key.new", pem.key);
  ASSERT_EQ(std::rename((dir + "/tls.key.new").c_str(), (dir + "/tls.key").c_str()), 0);
  ASSERT_EQ(std::rename((dir + "/tls.crt.new").c_str(), (dir + "/tls.crt").c_str()), 0);
}

std::vector<std::string> dnsNames(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)));
    }
  }
  GENERAL_NAMES_free(names);
  X509_free(cert);
  return out;
}

TEST(Tls, GeneratedServingCertNamesTheService) {
  auto ca = generateCa("test CA", 1);
  ASSERT_TRUE(ca.ok()) << ca.error();
  auto leaf = issueServingCert(*ca, {kServiceDns, "localhost"}, {"127.0.0.1"}, 1);
  ASSERT_TRUE(leaf.ok()) << leaf.error();
  EXPECT_EQ(dnsNames(leaf->cert), (std::vector<std::string>{kServiceDns, "localhost"}));
  auto ck = CertKey::fromPem(*leaf);
  ASSERT_TRUE(ck.ok()) << ck.error();
  const int64_t now = std::time(nullptr);
  EXPECT_GT((*ck)->notAfter(), now + 23 * 3600);
  EXPECT_LT((*ck)->notAfter(), now + 25 * 3600);
}

TEST(Tls, MismatchedKeyIsRejected) {
  auto ca = generateCa("test CA", 1);
  auto a = issueServingCert(*ca, {"a"}, {}, 1);
  auto b = issueServingCert(*ca, {"b"}, {}, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ck = CertKey::fromPem(Pem{a->cert, b->key});
  ASSERT_FALSE(ck.ok());
  EXPECT_NE(ck.error().find("does not match"), std::string::npos);
  EXPECT_FALSE(CertKey::fromPem(Pem{"junk", a->key}).ok());
  EXPECT_FALSE(CertReloader::fromFiles("/nonexistent/tls.crt", "/nonexistent/tls.key").ok());
}

TEST(Tls, RotationReachesNewHandshakesWithoutDroppingConnections) {
  auto ca = generateCa("test CA", 1);
  ASSERT_TRUE(ca.ok());
  auto first = issueServingCert(*ca, {kServiceDns}, {"127.0.0.1"}, 1);
  auto second = issueServingCert(*ca, {kServiceDns}, {"127.0.0.1"}, 2);
  ASSERT_TRUE(first.ok() && second.ok());
  const std::string dir = testing::tempDir();
  rotate(dir, *first);
  auto certs = CertReloader::fromFiles(dir + "/tls.crt", dir + "/tls.key");
  ASSERT_TRUE(certs.ok()) << certs.error();
  Metrics metrics;
  (*certs)->onLoad([&](const CertKey& ck) { metrics.setCertExpiry(ck.notAfter()); });

  StateStore store;
  Reviewer reviewer(rules::makeDefaultRules(), rules::MeshSettings{});
  Enforcer enforcer(Config{}, ruleDefaults(reviewer.rules()));
  AdmissionPipeline pipeline(reviewer, enforcer, store, &metrics);
  ServerOptions opt;
  opt.host = "127.0.0.1";
  opt.port = 0;
  WebhookServer server(opt, **certs, pipeline, metrics, store);
  auto port = server.bind();
  ASSERT_TRUE(port.ok()) << port.error();
  std::thread serving([&] { server.serve(); });

  TlsClient kept(*port, ca->cert);
  ASSERT_TRUE(kept.connected()) << kept.error();
  const std::string old_serial = kept.peerSerial();
  ASSERT_TRUE(kept.request("GET", "/healthz", "", ""));
  const std::string before = metrics.render();

  rotate(dir, *second);

  // The kept connection goes on with its session; nothing was dropped.
  auto again = kept.request("GET", "/healthz", "", "");
  ASSERT_TRUE(again) << "connection dropped by the rotation";
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(kept.peerSerial(), old_serial);

  // The next handshake presents the new certificate.
  TlsClient fresh(*port, ca->cert);
  ASSERT_TRUE(fresh.connected()) << fresh.error();
  EXPECT_NE(fresh.peerSerial(), old_serial);
  EXPECT_EQ((*certs)->reloads(), 1u);
  EXPECT_NE(metrics.render(), before);  // cert expiry moved a day later

  // A half-written rotation (key of another certificate) keeps serving the last good one.
  auto third = issueServingCert(*ca, {kServiceDns}, {"127.0.0.1"}, 3);
  rotate(dir, Pem{third->cert, first->key});
  TlsClient after_bad(*port, ca->cert);
  ASSERT_TRUE(after_bad.connected()) << after_bad.error();
  EXPECT_EQ(after_bad.peerSerial(), fresh.peerSerial());
  EXPECT_EQ((*certs)->reloads(), 1u);

  server.shutdown();
  serving.join();
}

}  // namespace
}  // namespace ambient_guard
