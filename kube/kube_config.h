// How to reach the Kubernetes API server: in-cluster service-account config or a kubeconfig file.
//
// `KubeConfig` is a plain value (endpoint, CA, credentials). `TokenSource` hands out the bearer
// token and re-reads a token file when it changes, at least every minute and whenever the server
// answers 401, the way client-go's cached file token source does (spec/admission-contract.md
// §6.1-6.2). A CA read from a file (in-cluster ca.crt, kubeconfig certificate-authority) is
// re-read by each ApiClient when the file changes.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "model/result.h"

namespace ambient_guard {

// Bearer token, either fixed or read from a file that the kubelet rotates. Thread-safe.
class TokenSource {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kRefreshPeriod{60};

  TokenSource() = default;
  // A fixed token (kubeconfig `token`); `file` empty.
  static TokenSource fixed(std::string token);
  // A token re-read from `path` when older than `period` (kubeconfig `tokenFile`, in-cluster).
  static TokenSource fromFile(std::string path, std::chrono::seconds period = kRefreshPeriod);

  TokenSource(const TokenSource& other);
  TokenSource& operator=(const TokenSource& other);

  // Returns the current token ("" when none), re-reading the file when it changed (size, mtime
  // or inode: the kubelet swaps it atomically) or the cached copy is older than the period. A
  // file that cannot be read keeps the last good token.
  std::string token(Clock::time_point now = Clock::now());
  // Forces the next token() to re-read the file (after a 401).
  void invalidate();
  const std::string& path() const { return path_; }
  bool empty() const { return path_.empty() && token_.empty(); }

 private:
  mutable std::mutex mu_;
  std::string path_;
  std::chrono::seconds period_ = kRefreshPeriod;
  std::string token_;
  Clock::time_point read_at_{};
  bool loaded_ = false;
  std::string stamp_;  // stat signature of the file when last read
};

// Returns a signature of the file at `path` (size, mtime, inode, device) that changes when the
// file is rewritten or replaced, or "" when it cannot be stat'ed.
std::string fileStamp(const std::string& path);

// Where and how to connect. Certificates and keys are PEM text, already read from their files.
struct KubeConfig {
  std::string host;  // DNS name or IP, without IPv6 brackets
  int port = 443;
  std::string
      base_path;       // path prefix of the server URL ("" or "/k8s/clusters/c-1"), no '/' at end
  std::string ca_pem;  // CA bundle; empty = the system's default trust store
  std::string ca_file;  // where ca_pem came from ("" for inline data); re-read when it changes
  bool insecure_skip_tls_verify = false;
  std::string client_cert_pem;
  std::string client_key_pem;
  TokenSource token;
  std::string source;  // "in-cluster" or the kubeconfig path, for messages

  // Returns "https://host:port" (IPv6 in brackets) followed by base_path.
  std::string url() const;
};

// Returns the in-cluster config: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the
// service-account token file (re-read) and CA under `sa_dir`. Errors when the variables are unset
// or the CA cannot be read.
Result<KubeConfig> inClusterConfig(
    const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");
// Returns true when both KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are set.
bool inClusterEnvironment();

// Returns the config of `context` (default: current-context) from a kubeconfig file. Supports
// server, certificate-authority(-data), insecure-skip-tls-verify, token, tokenFile,
// client-certificate(-data), client-key(-data); relative paths are relative to the file.
// exec / auth-provider plugins are reported as errors.
Result<KubeConfig> loadKubeConfig(const std::string& path, const std::string& context = "");
// Same, from kubeconfig text; relative paths resolve against `dir`.
Result<KubeConfig> parseKubeConfig(const std::string& text, const std::string& dir,
                                   const std::string& source, const std::string& context = "");

// Splits "https://host[:port][/prefix]" into cfg.host/port/base_path. Errors on other schemes.
Result<bool> parseServerUrl(const std::string& server, KubeConfig& cfg);

}  // namespace ambient_guard
