// TLS for the webhook: in-memory certificate generation (the embedded default), certificate and
// key loading, reloading on rotation, and the server's SSL_CTX settings.
//
// CertReloader is shared by every handshake: an SSL_CTX certificate callback asks it for the
// current certificate, and it re-reads the files when their stat signature changes (cert-manager
// and kubelet swap Secret volumes atomically). Connections already established keep theirs.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/result.h"

namespace ambient_guard {

// A PEM certificate (possibly a chain, leaf first) and its PEM private key.
struct Pem {
  std::string cert;
  std::string key;
};

// Returns a new self-signed CA (ECDSA P-256, SHA-256) valid for `days`.
Result<Pem> generateCa(const std::string& common_name, int days);

// Returns a serving certificate signed by `ca` with the given DNS and IP SANs (the first DNS name
// is also the CN), for serverAuth, valid for `days`.
Result<Pem> issueServingCert(const Pem& ca, const std::vector<std::string>& dns_names,
                             const std::vector<std::string>& ip_addresses, int days);

// A parsed certificate chain and private key. Immutable; shared between handshakes.
class CertKey {
 public:
  // Returns the parsed pair, or an error when either does not parse or they do not match.
  static Result<std::shared_ptr<const CertKey>> fromPem(const Pem& pem);
  ~CertKey();
  CertKey(const CertKey&) = delete;
  CertKey& operator=(const CertKey&) = delete;

  X509* leaf() const { return leaf_; }
  STACK_OF(X509) * chain() const { return chain_; }  // intermediates, may be empty
  EVP_PKEY* key() const { return key_; }
  // Returns notAfter of the leaf as Unix seconds.
  int64_t notAfter() const;

 private:
  CertKey() = default;
  X509* leaf_ = nullptr;
  STACK_OF(X509)* chain_ = nullptr;
  EVP_PKEY* key_ = nullptr;
};

using CertKeyPtr = std::shared_ptr<const CertKey>;

// The serving certificate: fixed (generated in memory) or read from files and reloaded when they
// change. Thread-safe.
class CertReloader {
 public:
  // A certificate that never changes.
  explicit CertReloader(CertKeyPtr fixed);
  // Returns a reloader for the files, or an error when they cannot be loaded now.
  static Result<std::unique_ptr<CertReloader>> fromFiles(const std::string& cert_path,
                                                         const std::string& key_path);

  // Returns the current certificate, first re-reading the files if their stat signature changed.
  // A rotation that does not load (half-written, key mismatch) keeps the previous certificate.
  CertKeyPtr current();

  // Called (under the reloader's lock) with each certificate loaded, including the first one.
  void onLoad(std::function<void(const CertKey&)> fn);

  uint64_t reloads() const;

 private:
  CertReloader() = default;
  struct FileSig {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    uint64_t ino = 0;
    uint64_t dev = 0;
    bool operator==(const FileSig&) const = default;
  };
  static bool stat(const std::string& path, FileSig& sig);

  mutable std::mutex mu_;
  std::string cert_path_;
  std::string key_path_;
  FileSig cert_sig_, key_sig_;            // of the files last tried
  CertKeyPtr current_;
  uint64_t reloads_ = 0;
  std::function<void(const CertKey&)> on_load_;
};

// Configures a server SSL_CTX: TLS 1.2+ with AEAD/ECDHE ciphers only (Mozilla "intermediate"),
// no renegotiation or compression, and a certificate callback that serves reloader->current()
// on every handshake. `reloader` must outlive the context.
bool configureServerTls(SSL_CTX* ctx, CertReloader* reloader);

// Returns the PEM of a certificate (for printing the CA bundle).
std::string certificatePem(X509* cert);

}  // namespace ambient_guard
