#include "webhook/client_auth.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "model/state_file.h"

namespace ambient_guard {

Result<std::unique_ptr<ClientPolicy>> ClientPolicy::load(const std::string& ca_file,
                                                         std::vector<std::string> names) {
  auto text = readFileText(ca_file);
  if (!text.ok()) {
    return Error{"--client-ca: " + text.error()};
  }
  BIO* bio = BIO_new_mem_buf(text->data(), static_cast<int>(text->size()));
  int certs = 0;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    ++certs;
    X509_free(x);
  }
  BIO_free(bio);
  ERR_clear_error();
  if (certs == 0) {
    return Error{"--client-ca " + ca_file + ": no PEM certificate found"};
  }
  std::unique_ptr<ClientPolicy> p(new ClientPolicy());
  p->ca_file_ = ca_file;
  p->names_ = std::move(names);
  return p;
}

bool ClientPolicy::configure(SSL_CTX* ctx) const {
  if (SSL_CTX_load_verify_locations(ctx, ca_file_.c_str(), nullptr) != 1) {
    ERR_clear_error();
    return false;
  }
  // The CA names go into the CertificateRequest so clients pick the right certificate.
  STACK_OF(X509_NAME)* ca_names = SSL_load_client_CA_file(ca_file_.c_str());
  if (ca_names != nullptr) {
    SSL_CTX_set_client_CA_list(ctx, ca_names);
  }
  // Not SSL_VERIFY_FAIL_IF_NO_PEER_CERT: the kubelet's probes come without a certificate.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return true;
}

std::vector<std::string> ClientPolicy::certificateNames(X509* cert) {
  std::vector<std::string> out;
  char cn[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn)) >
      0) {
    out.emplace_back(cn);
  }
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
    }
  }
  GENERAL_NAMES_free(sans);
  return out;
}

bool ClientPolicy::accept(const SSL* ssl) const {
  X509* cert = ssl == nullptr ? nullptr : SSL_get0_peer_certificate(ssl);
  const bool verified = cert != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
  std::vector<std::string> names;
  if (verified) {
    if (names_.empty()) {
      return true;
    }
    names = certificateNames(cert);
    for (const auto& n : names) {
      if (std::find(names_.begin(), names_.end(), n) != names_.end()) {
        return true;
      }
    }
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t due = next_report_.load();
  if (now >= due && next_report_.compare_exchange_strong(due, now + 10)) {
    std::string list;
    for (const auto& n : names) {
      list += (list.empty() ? "" : ", ") + n;
    }
    if (!verified) {
      spdlog::warn("refused an admission request without a client certificate (--client-ca)");
    } else {
      spdlog::warn("refused an admission request: the client certificate's names ({}) are not "
                   "in --client-name",
                   list.empty() ? std::string("none") : list);
    }
  }
  return false;
}

}  // namespace ambient_guard
