// A minimal HTTP/1.1-over-TLS client for the server tests, on raw OpenSSL: it keeps one
// connection open across requests (keep-alive), verifies the server against a CA and a DNS name
// sent as SNI while connecting to 127.0.0.1, and exposes the peer certificate, so tests can tell
// a reused connection from a new handshake.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ambient_guard::testing {

inline constexpr const char* kServiceDns = "ambient-guard.ambient-guard.svc";

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct TlsClientOptions {
  std::string sni = kServiceDns;
  int max_version = 0;  // e.g. TLS1_1_VERSION to try a downgrade; 0 = library default
  int min_version = 0;
  std::string tls12_ciphers;  // empty = library default
  std::string client_cert_pem;  // presented when the server asks (mutual TLS); "" = none
  std::string client_key_pem;
};

class TlsClient {
 public:
  TlsClient(int port, const std::string& ca_pem, TlsClientOptions opt = {}) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (opt.max_version != 0 || opt.min_version != 0 || !opt.tls12_ciphers.empty()) {
      SSL_CTX_set_security_level(ctx_, 0);  // let the client offer what the server must refuse
    }
    if (opt.min_version != 0) {
      SSL_CTX_set_min_proto_version(ctx_, opt.min_version);
    }
    if (opt.max_version != 0) {
      SSL_CTX_set_max_proto_version(ctx_, opt.max_version);
    }
    if (!opt.tls12_ciphers.empty()) {
      SSL_CTX_set_cipher_list(ctx_, opt.tls12_ciphers.c_str());
    }
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), x);
      X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!opt.client_cert_pem.empty()) {
      BIO* cb = BIO_new_mem_buf(opt.client_cert_pem.data(), static_cast<int>(opt.client_cert_pem.size()));
      X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
      BIO_free(cb);
      BIO* kb = BIO_new_mem_buf(opt.client_key_pem.data(), static_cast<int>(opt.client_key_pem.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
      BIO_free(kb);
      SSL_CTX_use_certificate(ctx_, cert);
      SSL_CTX_use_PrivateKey(ctx_, key);
      X509_free(cert);
      EVP_PKEY_free(key);
    }

    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      error_ = "connect failed";
      return;
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_tlsext_host_name(ssl_, opt.sni.c_str());
    SSL_set1_host(ssl_, opt.sni.c_str());  // verify the certificate names this host
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
      error_ = std::string("handshake failed: ") + buf;
      return;
    }
    connected_ = SSL_get_verify_result(ssl_) == X509_V_OK;
    if (!connected_) {
      error_ = "certificate not verified";
    }
  }

  ~TlsClient() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
    SSL_CTX_free(ctx_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  const std::string& error() const { return error_; }

  // Returns the serial number (hex) of the certificate the server presented.
  std::string peerSerial() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) {
      return "";
    }
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string out(hex);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(cert);
    return out;
  }
  std::string protocol() const { return SSL_get_version(ssl_); }

  // Sends one request on this connection; nullopt when the connection is closed or broken.
  std::optional<HttpResponse> request(const std::string& method, const std::string& path,
                                      const std::string& body = "",
                                      const std::string& content_type = "application/json") {
    if (!connected_) {
      return std::nullopt;
    }
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + std::string(kServiceDns) +
                      "\r\nUser-Agent: kube-apiserver-admission\r\nAccept: application/json, */*\r\n";
    if (!content_type.empty()) {
      req += "Content-Type: " + content_type + "\r\n";
    }
    if (method == "POST") {
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n";
    req += body;
    size_t sent = 0;
    while (sent < req.size()) {
      const int n = SSL_write(ssl_, req.data() + sent,
                              static_cast<int>(std::min<size_t>(req.size() - sent, 1 << 20)));
      if (n <= 0) {
        return std::nullopt;
      }
      sent += static_cast<size_t>(n);
    }
    return readResponse();
  }

  // Returns true when the server has closed the connection (EOF on the next read).
  bool closedByServer() {
    char c;
    return SSL_read(ssl_, &c, 1) <= 0;
  }

  // Sends raw bytes (hostile-input tests); false when the connection is closed or broken.
  bool send(std::string_view raw) {
    while (connected_ && !raw.empty()) {
      const int n = SSL_write(ssl_, raw.data(), static_cast<int>(std::min<size_t>(raw.size(), 1 << 20)));
      if (n <= 0) {
        return false;
      }
      raw.remove_prefix(static_cast<size_t>(n));
    }
    return connected_;
  }

  // Returns true when response bytes are waiting or arrive within `timeout_ms`.
  bool readable(int timeout_ms) {
    if (!buf_.empty() || SSL_pending(ssl_) > 0) {
      return true;
    }
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }

  // Reads one response and returns its bytes exactly as received: the head, then Content-Length
  // bytes of body unless `no_body` (an answer to HEAD); nullopt when the connection closes first.
  std::optional<std::string> readRawResponse(bool no_body = false) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    std::string lower = buf_.substr(0, end + 2);
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    size_t length = 0;
    if (const size_t at = lower.find("\r\ncontent-length: "); at != std::string::npos && !no_body) {
      length = std::stoul(lower.substr(at + 18));
    }
    while (buf_.size() < end + 4 + length) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    std::string raw = buf_.substr(0, end + 4 + length);
    buf_.erase(0, raw.size());
    return raw;
  }

  // Reads one response (a 1xx included); nullopt when the connection closes first.
  std::optional<HttpResponse> readResponse() {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    HttpResponse resp;
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    resp.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) {
        e = head.size();
      }
      const std::string line = head.substr(pos, e - pos);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        resp.headers[name] = value;
      }
      pos = e + 2;
    }
    const size_t length =
        resp.headers.count("content-length") ? std::stoul(resp.headers["content-length"]) : 0;
    while (buf_.size() < length) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    resp.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return resp;
  }

 private:
  bool fill() {
    char buf[16384];
    const int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n <= 0) {
      return false;
    }
    buf_.append(buf, static_cast<size_t>(n));
    return true;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string error_;
  std::string buf_;
};

}  // namespace ambient_guard::testing
