// Optional mutual TLS (`serve --client-ca --client-name`), over real TLS: /validate answers only
// a client certificate signed by the client CA with an allowed name; the probes stay open.
#include "webhook/client_auth.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/state_file.h"
#include "tests/testlib/fake_apiserver.h"
#include "tests/testlib/running_server.h"
#include "tests/testlib/serve_process.h"
#include "tests/testlib/testlib.h"
#include "tests/testlib/tls_client.h"

namespace ambient_guard {
namespace {

using testing::RunningServer;
using testing::TlsClient;
using testing::TlsClientOptions;

std::string review() {
  auto text =
      readFileText(std::string(AG_SOURCE_DIR) + "/examples/admission/allow-authorizationpolicy.json");
  EXPECT_TRUE(text.ok());
  return text.ok() ? *text : std::string();
}

class ClientAuthTest : public ::testing::Test {
 protected:
  ClientAuthTest() : client_pki_(testing::makeTestPki()), other_pki_(testing::makeTestPki()) {
    auto ca = generateCa("client auth test CA", 1);
    ca_ = ca->cert;
    auto leaf = issueServingCert(*ca, {testing::kServiceDns}, {"127.0.0.1"}, 1);
    certs_ = std::make_unique<CertReloader>(*CertKey::fromPem(*leaf));
    client_ca_ = testing::writeFile(testing::tempDir(), "client-ca.crt", client_pki_.ca_pem);
  }

  // Returns the status of a /validate from a client with the given certificate (0: no answer).
  int validate(int port, const testing::TestPki* pki) {
    TlsClientOptions o;
    if (pki != nullptr) {
      o.client_cert_pem = pki->client_cert_pem;
      o.client_key_pem = pki->client_key_pem;
    }
    TlsClient c(port, ca_, o);
    if (!c.connected()) {
      return 0;
    }
    auto r = c.request("POST", "/validate", review());
    return r ? r->status : 0;
  }

  testing::TestPki client_pki_;  // its client certificate: CN=ambient-guard-test
  testing::TestPki other_pki_;   // a CA the server does not trust
  std::string ca_;
  std::string client_ca_;
  std::unique_ptr<CertReloader> certs_;
};

TEST_F(ClientAuthTest, OnlyAllowedClientCertificatesAreAnswered) {
  ServerOptions o;
  o.client_ca_file = client_ca_;
  o.client_names = {"kube-apiserver", "ambient-guard-test"};
  RunningServer s(*certs_, Snapshot::empty(), Config{}, o);
  EXPECT_EQ(validate(s.port(), &client_pki_), 200);
  EXPECT_EQ(validate(s.port(), nullptr), 403);
  EXPECT_EQ(validate(s.port(), &other_pki_), 0);  // does not verify: no handshake
  // The kubelet's probes carry no certificate.
  TlsClient probe(s.port(), ca_);
  auto health = probe.request("GET", "/healthz");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
}

TEST_F(ClientAuthTest, ANameOutsideTheAllowListIsRefused) {
  ServerOptions o;
  o.client_ca_file = client_ca_;
  o.client_names = {"kube-apiserver"};
  RunningServer s(*certs_, Snapshot::empty(), Config{}, o);
  EXPECT_EQ(validate(s.port(), &client_pki_), 403);
}

TEST_F(ClientAuthTest, OffByDefault) {
  RunningServer s(*certs_, Snapshot::empty());
  EXPECT_EQ(validate(s.port(), nullptr), 200);
  EXPECT_EQ(validate(s.port(), &other_pki_), 200);  // not asked for, not checked
}

TEST_F(ClientAuthTest, ServeFlags) {
  testing::ServeProcess serve({"--listen", "127.0.0.1:0", "--client-ca", client_ca_,
                               "--client-name", "ambient-guard-test"});
  ASSERT_GT(serve.port(), 0) << serve.log();
  ca_ = serve.ca();
  EXPECT_EQ(validate(serve.port(), &client_pki_), 200);
  EXPECT_EQ(validate(serve.port(), nullptr), 403);
  EXPECT_EQ(serve.terminate(), 0);
  auto bad = testing::runCli({"serve", "--listen", "127.0.0.1:0", "--client-ca",
                              testing::tempDir() + "/missing.crt"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--client-ca"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ambient_guard
