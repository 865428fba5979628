// Optional mutual TLS for the webhook (`serve --client-ca FILE [--client-name NAME]...`): the
// server asks every client for a certificate and OpenSSL verifies one that is presented against
// the CA file (a certificate that does not verify fails the handshake). /validate and /mutate
// then answer only clients whose verified certificate has an allowed subject CN or DNS SAN (any
// name when none are given); the probes and /metrics stay open to clients without a certificate
// (the kubelet and Prometheus). Gatekeeper offers the same (--client-ca-name, --client-cn-name).
// The kube-apiserver presents its client certificate from the kubeconfig of its
// AdmissionConfiguration (README "Mutual TLS"). Immutable after load; thread-safe.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/result.h"

namespace ambient_guard {

class ClientPolicy {
 public:
  // Returns the policy for the CA bundle in `ca_file` (PEM) and the allowed names (empty: any
  // certificate the CA signed), or an error naming the file.
  static Result<std::unique_ptr<ClientPolicy>> load(const std::string& ca_file,
                                                    std::vector<std::string> names);

  // Makes `ctx` ask for a client certificate and verify it. Returns false on an OpenSSL error.
  bool configure(SSL_CTX* ctx) const;
  // Returns true when `ssl` has a verified peer certificate with an allowed name; logs a refusal
  // (at most every 10 s).
  bool accept(const SSL* ssl) const;

  // Returns the names of a certificate: its subject CN first, then its DNS SANs.
  static std::vector<std::string> certificateNames(X509* cert);

 private:
  ClientPolicy() = default;
  std::string ca_file_;
  std::vector<std::string> names_;
  mutable std::atomic<int64_t> next_report_{0};  // steady seconds; rate-limits the log line
};

}  // namespace ambient_guard
