// Kubeconfig parsing, in-cluster config and service-account token rotation.
#include "kube/kube_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using testing::tempDir;
using testing::writeFile;

constexpr const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K
- name: dev-cluster
  cluster:
    server: https://dev.example.com/k8s/clusters/c-1/
    certificate-authority: certs/ca.pem
    insecure-skip-tls-verify: true
contexts:
- name: prod
  context: {cluster: prod-cluster, user: admin}
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: shop}
users:
- name: admin
  user:
    token: s3cret
- name: dev-user
  user:
    tokenFile: token
    client-certificate: certs/client.pem
    client-key: certs/client-key.pem
)";

TEST(KubeConfig, ReadsCurrentContextWithInlineCaAndToken) {
  auto cfg = parseKubeConfig(kTwoContexts, "/nowhere", "kc");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->host, "10.0.0.1");
  EXPECT_EQ(cfg->port, 6443);
  EXPECT_EQ(cfg->base_path, "");
  EXPECT_EQ(cfg->ca_pem, "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
  EXPECT_FALSE(cfg->insecure_skip_tls_verify);
  EXPECT_EQ(cfg->token.token(), "s3cret");
  EXPECT_EQ(cfg->url(), "https://10.0.0.1:6443");
}

TEST(KubeConfig, ExplicitContextResolvesFilesRelativeToTheKubeconfig) {
  std::string dir = tempDir();
  std::filesystem::create_directories(dir + "/certs");
  writeFile(dir, "certs/ca.pem", "CA-PEM");
  writeFile(dir, "certs/client.pem", "CLIENT-PEM");
  writeFile(dir, "certs/client-key.pem", "KEY-PEM");
  writeFile(dir, "token", "file-token\n");
  std::string path = writeFile(dir, "config", kTwoContexts);
  auto cfg = loadKubeConfig(path, "dev");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->host, "dev.example.com");
  EXPECT_EQ(cfg->port, 443);
  EXPECT_EQ(cfg->base_path, "/k8s/clusters/c-1");
  EXPECT_EQ(cfg->ca_pem, "CA-PEM");
  EXPECT_TRUE(cfg->insecure_skip_tls_verify);
  EXPECT_EQ(cfg->client_cert_pem, "CLIENT-PEM");
  EXPECT_EQ(cfg->client_key_pem, "KEY-PEM");
  EXPECT_EQ(cfg->token.path(), dir + "/token");
  EXPECT_EQ(cfg->token.token(), "file-token");  // trailing newline trimmed
  EXPECT_EQ(cfg->source, path);
}

TEST(KubeConfig, ErrorsNameTheProblem) {
  struct Case {
    std::string name;
    std::string text;
    std::string context;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"NoContext", "apiVersion: v1\nkind: Config\n", "", "no current-context"},
      {"UnknownContext", kTwoContexts, "staging", "context \"staging\" not found"},
      {"ExecPlugin",
       "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {exec: {command: aws}}}]\n",
       "", "exec/auth-provider plugin"},
      {"PlainHttp",
       "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: 'http://h:8080'}}]\nusers: []\n",
       "", "must be an https:// URL"},
      {"MissingCaFile",
       "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://h', certificate-authority: /no/ca}}]\n",
       "", "cannot read certificate-authority /no/ca"},
      {"KeyWithoutCert",
       "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {client-key-data: S0VZ}}]\n",
       "", "client-certificate and client-key must be given together"},
      {"NotYaml", "[unclosed", "", "kc:"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = parseKubeConfig(c.text, "/", "kc", c.context);
    ASSERT_FALSE(cfg.ok());
    EXPECT_NE(cfg.error().find(c.error), std::string::npos) << cfg.error();
  }
}

TEST(KubeConfig, ParsesServerUrls) {
  struct Case {
    std::string url;
    std::string host;
    int port;
    std::string base;
  };
  for (const Case& c : std::vector<Case>{{"https://1.2.3.4", "1.2.3.4", 443, ""},
                                         {"https://api.example:8443/", "api.example", 8443, ""},
                                         {"https://[fd00::1]:6443", "fd00::1", 6443, ""},
                                         {"https://[::1]/prefix", "::1", 443, "/prefix"}}) {
    SCOPED_TRACE(c.url);
    KubeConfig cfg;
    auto ok = parseServerUrl(c.url, cfg);
    ASSERT_TRUE(ok.ok()) << ok.error();
    EXPECT_EQ(cfg.host, c.host);
    EXPECT_EQ(cfg.port, c.port);
    EXPECT_EQ(cfg.base_path, c.base);
  }
  KubeConfig cfg;
  EXPECT_FALSE(parseServerUrl("https://h:99999", cfg).ok());
  EXPECT_FALSE(parseServerUrl("https://[::1", cfg).ok());
  cfg.host = "fd00::1";
  cfg.port = 443;
  EXPECT_EQ(cfg.url(), "https://[fd00::1]:443");
}

TEST(TokenSource, RereadsTheFileWhenItChangesEveryPeriodAndAfterInvalidate) {
  std::string dir = tempDir();
  std::string path = writeFile(dir, "token", "first");
  TokenSource src = TokenSource::fromFile(path, std::chrono::seconds(60));
  const auto t0 = TokenSource::Clock::now();
  EXPECT_EQ(src.token(t0), "first");
  writeFile(dir, "token", "second");  // the kubelet rotated the token: read at once
  EXPECT_EQ(src.token(t0 + std::chrono::seconds(1)), "second");
  EXPECT_EQ(src.token(t0 + std::chrono::seconds(60)), "second");
  writeFile(dir, "token", "third");
  src.invalidate();  // what a 401 does
  EXPECT_EQ(src.token(t0 + std::chrono::seconds(61)), "third");
  std::filesystem::remove(path);  // a missing file keeps the last good token
  src.invalidate();
  EXPECT_EQ(src.token(t0 + std::chrono::seconds(62)), "third");

  TokenSource fixed = TokenSource::fixed("static");
  fixed.invalidate();
  EXPECT_EQ(fixed.token(), "static");
  EXPECT_TRUE(TokenSource().empty());
}

// Restores environment variables changed by a test.
class EnvGuard {
 public:
  explicit EnvGuard(std::vector<std::string> names) : names_(std::move(names)) {
    for (const auto& n : names_) {
      const char* v = std::getenv(n.c_str());
      saved_.push_back(v == nullptr ? std::nullopt : std::optional<std::string>(v));
    }
  }
  ~EnvGuard() {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (saved_[i]) {
        setenv(names_[i].c_str(), saved_[i]->c_str(), 1);
      } else {
        unsetenv(names_[i].c_str());
      }
    }
  }

 private:
  std::vector<std::string> names_;
  std::vector<std::optional<std::string>> saved_;
};

TEST(InClusterConfig, UsesServiceEnvironmentAndServiceAccountFiles) {
  EnvGuard env({"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"});
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  EXPECT_FALSE(inClusterEnvironment());
  EXPECT_FALSE(inClusterConfig(tempDir()).ok());

  std::string sa = tempDir();
  writeFile(sa, "ca.crt", "CLUSTER-CA");
  writeFile(sa, "token", "sa-token\n");
  writeFile(sa, "namespace", "ambient-guard");
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  ASSERT_TRUE(inClusterEnvironment());
  auto cfg = inClusterConfig(sa);
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->url(), "https://10.96.0.1:443");
  EXPECT_EQ(cfg->ca_pem, "CLUSTER-CA");
  EXPECT_EQ(cfg->token.path(), sa + "/token");
  EXPECT_EQ(cfg->token.token(), "sa-token");
  EXPECT_EQ(cfg->source, "in-cluster");

  setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);  // IPv6 service CIDR
  cfg = inClusterConfig(sa);
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->host, "fd00:10:96::1");
  EXPECT_EQ(cfg->url(), "https://[fd00:10:96::1]:443");

  std::filesystem::remove(sa + "/ca.crt");
  EXPECT_FALSE(inClusterConfig(sa).ok());
}

}  // namespace
}  // namespace ambient_guard
