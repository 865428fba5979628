// certs/gen-certs.sh, run as a real process into temporary directories and checked with openssl
// and kubectl: the serving certificate verifies against the CA and names <svc>.<ns>.svc, the
// Secret and the caBundle wrappers carry exactly those files, CA rotation never leaves the served
// certificate untrusted, and no private key lands in the repository.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testlib/testlib.h"

namespace ambient_guard::testing {
namespace {

namespace fs = std::filesystem;

const std::string kScript = std::string(AG_SOURCE_DIR) + "/certs/gen-certs.sh";
const std::string kFqdn = "ambient-guard.ambient-guard.svc";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string base64(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// True when `text` holds a PEM private key: a "-----BEGIN ... PRIVATE KEY-----" line followed by
// a line of base64 (so a source file that merely names the marker does not count).
bool holdsPrivateKey(const std::string& text) {
  const std::string marker = std::string("PRIVATE") + " KEY-----";
  for (size_t pos = text.find(marker); pos != std::string::npos; pos = text.find(marker, pos + 1)) {
    size_t line = text.rfind('\n', pos);
    line = line == std::string::npos ? 0 : line + 1;
    if (text.compare(line, 11, "-----BEGIN ") != 0) {
      continue;
    }
    size_t body = pos + marker.size();
    if (body < text.size() && text[body] == '\r') {
      ++body;
    }
    if (body >= text.size() || text[body] != '\n') {
      continue;
    }
    size_t end = text.find_first_not_of(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", body + 1);
    if ((end == std::string::npos ? text.size() : end) - (body + 1) >= 40) {
      return true;
    }
  }
  return false;
}

ProcessResult genCerts(std::vector<std::string> args) {
  args.insert(args.begin(), kScript);
  return runProcess(args);
}

ProcessResult openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  return runProcess(argv);
}

// Runs the script into a fresh directory and returns that directory; fails the test on error.
std::string generate(std::vector<std::string> extra = {}) {
  std::string out = tempDir() + "/pki";
  extra.insert(extra.begin(), {"--out", out});
  ProcessResult r = genCerts(extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

// Every caBundle value in the rendered YAML documents.
std::vector<std::string> caBundles(const std::string& yaml) {
  std::vector<std::string> out;
  for (const auto& doc : YAML::LoadAll(yaml)) {
    if (doc.IsMap() && doc["webhooks"]) {
      for (const auto& w : doc["webhooks"]) {
        out.push_back(w["clientConfig"]["caBundle"]
                          ? w["clientConfig"]["caBundle"].as<std::string>()
                          : "<missing>");
      }
    }
  }
  return out;
}

TEST(Certs, ServingCertificateVerifiesAgainstTheCaAndNamesTheService) {
  std::string out = tempDir() + "/pki";
  ProcessResult r = genCerts({"--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  ProcessResult verify = openssl({"verify", "-CAfile", out + "/ca.crt", out + "/tls.crt"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find(": OK"), std::string::npos);
  ProcessResult server =
      openssl({"verify", "-purpose", "sslserver", "-CAfile", out + "/ca.crt", out + "/tls.crt"});
  EXPECT_EQ(server.exit_code, 0) << server.out << server.err;

  // The name the API server dials and verifies, and none it does not own.
  ProcessResult host = openssl({"x509", "-noout", "-in", out + "/tls.crt", "-checkhost", kFqdn});
  EXPECT_NE(host.out.find("does match certificate"), std::string::npos) << host.out;
  ProcessResult other = openssl(
      {"x509", "-noout", "-in", out + "/tls.crt", "-checkhost", "ambient-guard.default.svc"});
  EXPECT_NE(other.out.find("does NOT match certificate"), std::string::npos) << other.out;
  ProcessResult sans = openssl({"x509", "-noout", "-in", out + "/tls.crt", "-ext",
                                "subjectAltName,basicConstraints,extendedKeyUsage"});
  for (const std::string name :
       {"DNS:ambient-guard.ambient-guard.svc,", "DNS:ambient-guard.ambient-guard.svc.cluster.local",
        "CA:FALSE", "TLS Web Server Authentication"}) {
    EXPECT_NE(sans.out.find(name), std::string::npos) << name << " in " << sans.out;
  }

  // The key belongs to the certificate.
  ProcessResult cert_pub = openssl({"x509", "-noout", "-pubkey", "-in", out + "/tls.crt"});
  ProcessResult key_pub = openssl({"pkey", "-pubout", "-in", out + "/tls.key"});
  EXPECT_EQ(cert_pub.out, key_pub.out);
  EXPECT_FALSE(cert_pub.out.empty());

  // Keys are private to the user.
  for (const std::string file : {"ca.key", "tls.key", "tls/secret.yaml"}) {
    struct stat st {};
    ASSERT_EQ(stat((out + "/" + file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 077, 0u) << file;
  }

  // stdout is the caBundle: the CA bundle, base64.
  EXPECT_EQ(trim(r.out), base64(readFile(out + "/ca-bundle.crt")));
  EXPECT_EQ(readFile(out + "/ca-bundle.crt"), readFile(out + "/ca.crt"));

  // The Secret the Deployment mounts carries exactly these files.
  YAML::Node secret = YAML::LoadFile(out + "/tls/secret.yaml");
  EXPECT_EQ(secret["kind"].as<std::string>(), "Secret");
  EXPECT_EQ(secret["type"].as<std::string>(), "kubernetes.io/tls");
  EXPECT_EQ(secret["metadata"]["name"].as<std::string>(), "ambient-guard-tls");
  EXPECT_EQ(secret["metadata"]["namespace"].as<std::string>(), "ambient-guard");
  EXPECT_EQ(secret["data"]["tls.crt"].as<std::string>(), base64(readFile(out + "/tls.crt")));
  EXPECT_EQ(secret["data"]["tls.key"].as<std::string>(), base64(readFile(out + "/tls.key")));
  EXPECT_EQ(secret["data"]["ca.crt"].as<std::string>(), trim(r.out));
}

TEST(Certs, CustomServiceAndNamespaceGoIntoTheNames) {
  std::string out = generate({"--namespace", "sec", "--service", "guard", "--days", "30"});
  ProcessResult host =
      openssl({"x509", "-noout", "-in", out + "/tls.crt", "-checkhost", "guard.sec.svc"});
  EXPECT_NE(host.out.find("does match certificate"), std::string::npos) << host.out;
  EXPECT_EQ(YAML::LoadFile(out + "/tls/secret.yaml")["metadata"]["namespace"].as<std::string>(),
            "sec");
  // The bundled overlays are for ambient-guard/ambient-guard: no wrappers for other names.
  EXPECT_FALSE(fs::exists(out + "/pilot"));
  ProcessResult end =
      openssl({"x509", "-noout", "-in", out + "/tls.crt", "-checkend", std::to_string(31 * 86400)});
  EXPECT_NE(end.exit_code, 0) << "a 30-day certificate must expire within 31 days";
}

TEST(Certs, WrappersInstallEachPhaseWithTheCaBundle) {
  std::string out = tempDir() + "/pki";
  ProcessResult r = genCerts({"--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string phase : {"pilot", "enforce"}) {
    SCOPED_TRACE(phase);
    ProcessResult k = runProcess({"kubectl", "kustomize", out + "/" + phase});
    ASSERT_NE(k.exit_code, 127) << "kubectl is not on PATH (CI machines have it)";
    ASSERT_EQ(k.exit_code, 0) << k.err;
    std::vector<std::string> bundles = caBundles(k.out);
    EXPECT_EQ(bundles.size(), 6u);
    for (const auto& b : bundles) {
      EXPECT_EQ(b, trim(r.out));
    }
    EXPECT_NE(k.out.find("name: ambient-guard-tls"), std::string::npos);
    EXPECT_EQ(count(k.out, "failurePolicy: Fail"), phase == "enforce" ? 4u : 0u);
  }
}

TEST(Certs, ImageIsSetInTheWrappersAndRemembered) {
  std::string out = tempDir() + "/pki";
  const std::string tagged = "registry.example.com:5000/platform/ambient-guard:1.2.3";
  ASSERT_EQ(genCerts({"--out", out, "--image", tagged}).exit_code, 0);
  ProcessResult k = runProcess({"kubectl", "kustomize", out + "/enforce"});
  ASSERT_EQ(k.exit_code, 0) << "kubectl kustomize (kubectl must be on PATH): " << k.err;
  EXPECT_NE(k.out.find("image: " + tagged + "\n"), std::string::npos);
  // A renewal without --image keeps it.
  ASSERT_EQ(genCerts({"--out", out}).exit_code, 0);
  k = runProcess({"kubectl", "kustomize", out + "/pilot"});
  EXPECT_NE(k.out.find("image: " + tagged + "\n"), std::string::npos);
  const std::string pinned = "registry.example.com/ambient-guard@sha256:" + std::string(64, 'a');
  ASSERT_EQ(genCerts({"--out", out, "--image", pinned}).exit_code, 0);
  k = runProcess({"kubectl", "kustomize", out + "/pilot"});
  EXPECT_NE(k.out.find("image: " + pinned + "\n"), std::string::npos);
  EXPECT_NE(genCerts({"--out", out, "--image", "bad image"}).exit_code, 0);
}

TEST(Certs, PatchSetsTheCaBundleInRenderedManifests) {
  ProcessResult k =
      runProcess({"kubectl", "kustomize", std::string(AG_SOURCE_DIR) + "/deploy/overlays/enforce"});
  ASSERT_EQ(k.exit_code, 0) << "kubectl kustomize (kubectl must be on PATH): " << k.err;
  std::string dir = tempDir();
  std::string manifest = writeFile(dir, "enforce.yaml", k.out);
  ProcessResult r = genCerts({"--out", dir + "/pki", "--patch", manifest});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> bundles = caBundles(readFile(manifest));
  EXPECT_EQ(bundles.size(), 6u);
  for (const auto& b : bundles) {
    EXPECT_EQ(b, trim(r.out));
  }

  // cert-manager manifests have no caBundle to patch: refused before anything is generated.
  ProcessResult cm = runProcess(
      {"kubectl", "kustomize", std::string(AG_SOURCE_DIR) + "/deploy/overlays/cert-manager/pilot"});
  ASSERT_EQ(cm.exit_code, 0) << cm.err;
  std::string cm_manifest = writeFile(dir, "cm.yaml", cm.out);
  ProcessResult refused = genCerts({"--out", dir + "/pki2", "--patch", cm_manifest});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_FALSE(fs::exists(dir + "/pki2"));
}

TEST(Certs, CaRotationKeepsTheServedCertificateTrusted) {
  std::string out = generate();
  const std::string leaf = readFile(out + "/tls.crt");
  const std::string old_ca = readFile(out + "/ca.crt");

  // 1. New CA; the served certificate (old CA) stays and the bundle trusts both.
  ProcessResult rotate = genCerts({"--out", out, "--rotate-ca"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  EXPECT_NE(readFile(out + "/ca.crt"), old_ca);
  EXPECT_EQ(readFile(out + "/tls.crt"), leaf);
  EXPECT_EQ(readFile(out + "/ca-bundle.crt"), readFile(out + "/ca.crt") + old_ca);
  EXPECT_EQ(openssl({"verify", "-CAfile", out + "/ca-bundle.crt", out + "/tls.crt"}).exit_code, 0);
  // Dropping the old CA now would leave the served certificate untrusted: refused.
  EXPECT_NE(genCerts({"--out", out, "--drop-previous-ca"}).exit_code, 0);
  EXPECT_EQ(count(readFile(out + "/ca-bundle.crt"), "BEGIN CERTIFICATE"), 2u);

  // 2. Re-issue from the new CA.
  ProcessResult reissue = genCerts({"--out", out});
  ASSERT_EQ(reissue.exit_code, 0) << reissue.err;
  EXPECT_NE(readFile(out + "/tls.crt"), leaf);
  EXPECT_EQ(openssl({"verify", "-CAfile", out + "/ca.crt", out + "/tls.crt"}).exit_code, 0);
  EXPECT_EQ(count(readFile(out + "/ca-bundle.crt"), "BEGIN CERTIFICATE"), 2u);

  // 3. Drop the previous CA.
  ProcessResult drop = genCerts({"--out", out, "--drop-previous-ca"});
  ASSERT_EQ(drop.exit_code, 0) << drop.err;
  EXPECT_EQ(readFile(out + "/ca-bundle.crt"), readFile(out + "/ca.crt"));
  EXPECT_EQ(trim(drop.out), base64(readFile(out + "/ca.crt")));
  EXPECT_FALSE(fs::exists(out + "/ca-previous.crt"));
}

TEST(Certs, NoPrivateKeyIsWrittenIntoTheRepository) {
  // Refused inside this repository and inside any git work tree; nothing is created.
  const std::string in_repo = std::string(AG_SOURCE_DIR) + "/certs/test-output";
  ProcessResult repo = genCerts({"--out", in_repo});
  EXPECT_NE(repo.exit_code, 0);
  EXPECT_NE(repo.err.find("refusing"), std::string::npos) << repo.err;
  EXPECT_FALSE(fs::exists(in_repo));
  std::string other = tempDir();
  fs::create_directories(other + "/.git");
  ProcessResult git = genCerts({"--out", other + "/ops/pki"});
  EXPECT_NE(git.exit_code, 0);
  EXPECT_FALSE(fs::exists(other + "/ops"));

  // A successful run writes only into --out, and the repository holds no key material.
  const std::string out = generate();
  ASSERT_TRUE(holdsPrivateKey(readFile(out + "/tls.key")));
  ASSERT_TRUE(holdsPrivateKey(readFile(out + "/ca.key")));
  ASSERT_FALSE(holdsPrivateKey(readFile(out + "/tls.crt")));
  ProcessResult files = runProcess({"git", "-C", AG_SOURCE_DIR, "ls-files"});
  ASSERT_EQ(files.exit_code, 0) << "git ls-files (git must be on PATH): " << files.err;
  std::istringstream list(files.out);
  size_t scanned = 0;
  for (std::string file; std::getline(list, file);) {
    fs::path path = fs::path(AG_SOURCE_DIR) / file;
    if (!fs::is_regular_file(path)) {
      continue;
    }
    ++scanned;
    EXPECT_FALSE(holdsPrivateKey(readFile(path.string()))) << file;
    EXPECT_NE(path.extension(), ".key") << file;
  }
  EXPECT_GT(scanned, 10u);
  for (const auto& dir : {"/certs", "/deploy"}) {
    for (const auto& e : fs::recursive_directory_iterator(std::string(AG_SOURCE_DIR) + dir)) {
      if (e.is_regular_file()) {
        EXPECT_FALSE(holdsPrivateKey(readFile(e.path().string()))) << e.path();
      }
    }
  }
}

TEST(Certs, RejectsBadArguments) {
  std::string dir = tempDir();
  EXPECT_EQ(genCerts({}).exit_code, 2);
  EXPECT_EQ(genCerts({"--out", dir + "/a", "--bogus"}).exit_code, 2);
  EXPECT_NE(genCerts({"--out", dir + "/b", "--rotate-ca", "--drop-previous-ca"}).exit_code, 0);
  EXPECT_NE(genCerts({"--out", dir + "/c", "--days", "0"}).exit_code, 0);
  EXPECT_NE(genCerts({"--out", dir + "/d", "--namespace", "Not_A_Label"}).exit_code, 0);
  EXPECT_NE(genCerts({"--out", dir + "/e", "--rotate-ca"}).exit_code, 0) << "nothing to rotate";
  // A CA that would expire before the serving certificate is refused.
  EXPECT_NE(genCerts({"--out", dir + "/f", "--ca-days", "10", "--days", "30"}).exit_code, 0);
  for (const std::string sub : {"a", "b", "c", "d"}) {
    EXPECT_FALSE(fs::exists(dir + "/" + sub)) << sub;
  }
}

}  // namespace
}  // namespace ambient_guard::testing
