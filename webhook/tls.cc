#include "webhook/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <ctime>

#include <spdlog/spdlog.h>

#include "model/state_file.h"

namespace ambient_guard {
namespace {

// TLS 1.2 suites of Mozilla's "intermediate" profile: ECDHE key exchange, AEAD ciphers only.
// TLS 1.3 suites are all AEAD and stay at OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";

std::string opensslError(const std::string& what) {
  std::string out = what;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += ": ";
    out += buf;
  }
  return out;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

std::string bioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string keyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bioString(bio.get());
}

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return false;
  }
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Returns a fresh certificate with a random 127-bit serial, validity from 5 minutes ago (clock
// skew) for `days`, and the given subject CN; the caller adds extensions and signs.
X509Ptr newCertificate(EVP_PKEY* key, const std::string& cn, int days) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("ambient-guard"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

Result<std::vector<X509Ptr>> parseCertificates(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(x);
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (out.empty()) {
    return Error{"no PEM certificate found"};
  }
  return out;
}

Result<KeyPtr> parseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return Error{opensslError("no PEM private key found")};
  }
  return key;
}

int certCallback(SSL* ssl, void* arg) {
  CertKeyPtr ck = static_cast<CertReloader*>(arg)->current();
  if (!ck) {
    return 0;
  }
  return SSL_use_cert_and_key(ssl, ck->leaf(), ck->key(), ck->chain(), 1) == 1 ? 1 : 0;
}

}  // namespace

Result<Pem> generateCa(const std::string& common_name, int days) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return Error{opensslError("generating the CA key")};
  }
  X509Ptr cert = newCertificate(key.get(), common_name, days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  if (!addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !addExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return Error{opensslError("building the CA certificate")};
  }
  return Pem{certificatePem(cert.get()), keyPem(key.get())};
}

Result<Pem> issueServingCert(const Pem& ca, const std::vector<std::string>& dns_names,
                             const std::vector<std::string>& ip_addresses, int days) {
  auto ca_certs = parseCertificates(ca.cert);
  if (!ca_certs.ok()) {
    return Error{"CA certificate: " + ca_certs.error()};
  }
  auto ca_key = parseKey(ca.key);
  if (!ca_key.ok()) {
    return Error{"CA key: " + ca_key.error()};
  }
  X509* ca_cert = ca_certs->front().get();
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return Error{opensslError("generating the serving key")};
  }
  const std::string cn = dns_names.empty() ? std::string("ambient-guard") : dns_names.front();
  X509Ptr cert = newCertificate(key.get(), cn, days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert));
  std::string san;
  for (const auto& d : dns_names) {
    san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  }
  for (const auto& ip : ip_addresses) {
    san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  }
  if (san.empty()) {
    return Error{"a serving certificate needs at least one SAN"};
  }
  if (!addExtension(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature") ||
      !addExtension(cert.get(), ca_cert, NID_ext_key_usage, "serverAuth") ||
      !addExtension(cert.get(), ca_cert, NID_subject_alt_name, san) ||
      !addExtension(cert.get(), ca_cert, NID_subject_key_identifier, "hash") ||
      !addExtension(cert.get(), ca_cert, NID_authority_key_identifier, "keyid:always") ||
      X509_sign(cert.get(), ca_key->get(), EVP_sha256()) == 0) {
    return Error{opensslError("building the serving certificate")};
  }
  return Pem{certificatePem(cert.get()), keyPem(key.get())};
}

std::string certificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bioString(bio.get());
}

Result<CertKeyPtr> CertKey::fromPem(const Pem& pem) {
  auto certs = parseCertificates(pem.cert);
  if (!certs.ok()) {
    return Error{"certificate: " + certs.error()};
  }
  auto key = parseKey(pem.key);
  if (!key.ok()) {
    return Error{"key: " + key.error()};
  }
  if (X509_check_private_key(certs->front().get(), key->get()) != 1) {
    ERR_clear_error();
    return Error{"the private key does not match the certificate"};
  }
  std::shared_ptr<CertKey> ck(new CertKey());
  ck->leaf_ = certs->front().release();
  ck->chain_ = sk_X509_new_null();
  for (size_t i = 1; i < certs->size(); ++i) {
    sk_X509_push(ck->chain_, (*certs)[i].release());
  }
  ck->key_ = key->release();
  return CertKeyPtr(std::move(ck));
}

CertKey::~CertKey() {
  X509_free(leaf_);
  sk_X509_pop_free(chain_, X509_free);
  EVP_PKEY_free(key_);
}

int64_t CertKey::notAfter() const {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf_), &tm) != 1) {
    return 0;
  }
  return static_cast<int64_t>(timegm(&tm));
}

CertReloader::CertReloader(CertKeyPtr fixed) : current_(std::move(fixed)) {}

bool CertReloader::stat(const std::string& path, FileSig& sig) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return false;
  }
  sig.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  sig.size = st.st_size;
  sig.ino = st.st_ino;
  sig.dev = st.st_dev;
  return true;
}

Result<std::unique_ptr<CertReloader>> CertReloader::fromFiles(const std::string& cert_path,
                                                              const std::string& key_path) {
  std::unique_ptr<CertReloader> r(new CertReloader());
  r->cert_path_ = cert_path;
  r->key_path_ = key_path;
  // A missing file leaves its signature empty; readFileText names it below.
  stat(cert_path, r->cert_sig_);
  stat(key_path, r->key_sig_);
  auto cert = readFileText(cert_path);
  if (!cert.ok()) {
    return Error{cert.error()};
  }
  auto key = readFileText(key_path);
  if (!key.ok()) {
    return Error{key.error()};
  }
  auto ck = CertKey::fromPem(Pem{*cert, *key});
  if (!ck.ok()) {
    return Error{cert_path + ", " + key_path + ": " + ck.error()};
  }
  r->current_ = std::move(*ck);
  return r;
}

void CertReloader::onLoad(std::function<void(const CertKey&)> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  on_load_ = std::move(fn);
  if (current_ && on_load_) {
    on_load_(*current_);
  }
}

uint64_t CertReloader::reloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reloads_;
}

CertKeyPtr CertReloader::current() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cert_path_.empty()) {
    return current_;
  }
  FileSig cert_sig, key_sig;
  if (!stat(cert_path_, cert_sig) || !stat(key_path_, key_sig) ||
      (cert_sig == cert_sig_ && key_sig == key_sig_)) {
    return current_;
  }
  // Remember what was tried so a bad rotation is logged once, and retried when the files change
  // again (e.g. the key lands after the certificate).
  cert_sig_ = cert_sig;
  key_sig_ = key_sig;
  auto cert = readFileText(cert_path_);
  auto key = readFileText(key_path_);
  if (!cert.ok() || !key.ok()) {
    spdlog::warn("certificate reload: {}; keeping the previous certificate",
                 !cert.ok() ? cert.error() : key.error());
    return current_;
  }
  auto ck = CertKey::fromPem(Pem{*cert, *key});
  if (!ck.ok()) {
    spdlog::warn("certificate reload: {}: {}; keeping the previous certificate", cert_path_,
                 ck.error());
    return current_;
  }
  current_ = std::move(*ck);
  ++reloads_;
  spdlog::info("certificate reloaded from {} (notAfter {})", cert_path_, current_->notAfter());
  if (on_load_) {
    on_load_(*current_);
  }
  return current_;
}

bool configureServerTls(SSL_CTX* ctx, CertReloader* reloader) {
  CertKeyPtr ck = reloader->current();
  if (!ck) {
    return false;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return false;
  }
  // The context's own certificate decides nothing (the callback replaces it per handshake), but
  // keeps the context valid for code that inspects it.
  if (SSL_CTX_use_cert_and_key(ctx, ck->leaf(), ck->key(), ck->chain(), 1) != 1) {
    return false;
  }
  SSL_CTX_set_cert_cb(ctx, certCallback, reloader);
  return true;
}

}  // namespace ambient_guard
