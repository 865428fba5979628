#include "kube/kube_client.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <vector>

namespace ambient_guard {

class ApiCredentials {
 public:
  ApiCredentials() = default;
  ApiCredentials(const ApiCredentials&) = delete;
  ApiCredentials& operator=(const ApiCredentials&) = delete;
  ~ApiCredentials() {
    for (X509* c : ca_) {
      X509_free(c);
    }
    X509_free(cert_);
    EVP_PKEY_free(key_);
  }
  // Returns a new store holding the CA certificates (empty ca_: nullptr, the system's store).
  X509_STORE* newStore() const {
    if (ca_.empty()) {
      return nullptr;
    }
    X509_STORE* store = X509_STORE_new();
    for (X509* c : ca_) {
      X509_STORE_add_cert(store, c);
    }
    return store;
  }
  std::vector<X509*> ca_;  // empty: the system's default trust store
  X509* cert_ = nullptr;   // client certificate, optional
  EVP_PKEY* key_ = nullptr;
  bool verify_ = true;
};

namespace {

constexpr const char* kNoCaDirectory = "/nonexistent/ambient-guard/no-ca-directory";

std::string opensslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return "no PEM data";
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// Keep-alive probes notice a silently dead apiserver connection during a quiet watch long
// before the read timeout (which must exceed the watch's timeoutSeconds) would.
void setSocketOptions(socket_t sock) {
  int on = 1;
  setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  int idle = 30;
  int interval = 10;
  int count = 3;
  setsockopt(sock, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(sock, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  setsockopt(sock, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

}  // namespace

Result<std::shared_ptr<const ApiCredentials>> ApiClient::credentials(const KubeConfig& config) {
  auto creds = std::make_shared<ApiCredentials>();
  creds->verify_ = !config.insecure_skip_tls_verify;
  if (!config.ca_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(config.ca_pem.data(), static_cast<int>(config.ca_pem.size()));
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      creds->ca_.push_back(cert);
    }
    BIO_free(bio);
    ERR_clear_error();  // the loop ends on a "no start line" error
    if (creds->ca_.empty()) {
      return Error{config.source + ": the certificate authority holds no PEM certificate"};
    }
  }
  if (!config.client_cert_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(config.client_cert_pem.data(),
                               static_cast<int>(config.client_cert_pem.size()));
    creds->cert_ = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (creds->cert_ == nullptr) {
      return Error{config.source + ": client certificate: " + opensslError()};
    }
    bio = BIO_new_mem_buf(config.client_key_pem.data(),
                          static_cast<int>(config.client_key_pem.size()));
    creds->key_ = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (creds->key_ == nullptr) {
      return Error{config.source + ": client key: " + opensslError()};
    }
    if (X509_check_private_key(creds->cert_, creds->key_) != 1) {
      ERR_clear_error();
      return Error{config.source + ": client key does not match the client certificate"};
    }
  }
  return std::shared_ptr<const ApiCredentials>(std::move(creds));
}

ApiClient::ApiClient(KubeConfig& config, std::shared_ptr<const ApiCredentials> creds,
                     std::chrono::seconds connect_timeout)
    : config_(config), connect_timeout_(connect_timeout), creds_(std::move(creds)) {
  if (!config_.ca_file.empty()) {
    ca_stamp_ = fileStamp(config_.ca_file);
  }
  connectClient();
}

void ApiClient::refreshCa() {
  if (config_.ca_file.empty()) {
    return;
  }
  std::string stamp = fileStamp(config_.ca_file);
  if (stamp.empty() || stamp == ca_stamp_) {
    return;
  }
  ca_stamp_ = std::move(stamp);
  std::ifstream in(config_.ca_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  KubeConfig fresh;
  fresh.source = config_.ca_file;
  fresh.ca_pem = text.str();
  fresh.insecure_skip_tls_verify = config_.insecure_skip_tls_verify;
  auto parsed = credentials(fresh);
  if (!parsed.ok()) {
    spdlog::warn("cluster CA {}: {}; keeping the previous one", config_.ca_file, parsed.error());
    return;
  }
  // The new CA with the client certificate we already hold.
  auto next = std::const_pointer_cast<ApiCredentials>(*parsed);
  if (creds_->cert_ != nullptr) {
    X509_up_ref(creds_->cert_);
    EVP_PKEY_up_ref(creds_->key_);
    next->cert_ = creds_->cert_;
    next->key_ = creds_->key_;
  }
  creds_ = std::move(next);
  spdlog::info("cluster CA re-read from {} ({} certificate(s))", config_.ca_file,
               creds_->ca_.size());
  connectClient();
}

void ApiClient::connectClient() {
  std::unique_ptr<httplib::SSLClient> client;
  if (creds_->cert_ != nullptr) {
    client = std::make_unique<httplib::SSLClient>(config_.host, config_.port, creds_->cert_,
                                                  creds_->key_);
  } else {
    client = std::make_unique<httplib::SSLClient>(config_.host, config_.port);
  }
  if (X509_STORE* store = creds_->newStore()) {
    // set_ca_cert_store takes ownership. The store is this client's own: cpp-httplib adds a
    // lookup to it on the first connection, which must not race other clients.
    client->set_ca_cert_store(store);
    // Without a CA path httplib also loads the system bundle into every connection's context
    // (~140 certificates: 100+ ms and hundreds of KiB each). A CA directory that holds nothing
    // keeps the trust to the cluster CA alone, as client-go does.
    client->set_ca_cert_path("", kNoCaDirectory);
  }
  client->enable_server_certificate_verification(creds_->verify_);
  client->set_keep_alive(true);
  client->set_url_encode(false);  // targets are escaped by queryEscape
  client->set_decompress(false);
  client->set_socket_options(setSocketOptions);
  client->set_write_timeout(10, 0);
  std::lock_guard<std::mutex> lock(client_mu_);
  client_ = std::move(client);
}

ApiClient::~ApiClient() = default;

std::string queryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {

httplib::Headers requestHeaders(KubeConfig& config) {
  httplib::Headers h{{"Accept", "application/json"},
                     {"User-Agent", "ambient-guard/0.1.0"},
                     // Watches must flush event by event; a compressed stream would not.
                     {"Accept-Encoding", "identity"}};
  const std::string token = config.token.token();
  if (!token.empty()) {
    h.emplace("Authorization", "Bearer " + token);
  }
  return h;
}

ApiResponse finishResponse(const httplib::Result& res, KubeConfig& config, ApiResponse out) {
  if (res) {
    out.status = res->status;
    if (res.error() == httplib::Error::Canceled) {
      out.error = "canceled";
    }
  } else {
    if (out.status == 0 || res.error() != httplib::Error::Canceled) {
      out.error = httplib::to_string(res.error());
    } else {
      out.error = "canceled";
    }
  }
  if (out.status == 401) {
    config.token.invalidate();  // the kubelet may have rotated the token file
  }
  return out;
}

}  // namespace

ApiResponse ApiClient::get(const std::string& target, std::chrono::seconds read_timeout) {
  refreshCa();
  client_->set_connection_timeout(static_cast<time_t>(connect_timeout_.count()), 0);
  client_->set_read_timeout(static_cast<time_t>(read_timeout.count()), 0);
  auto res = client_->Get(config_.base_path + target, requestHeaders(config_));
  ApiResponse out;
  if (res) {
    out.body = std::move(res->body);
  }
  return finishResponse(res, config_, std::move(out));
}

ApiResponse ApiClient::stream(const std::string& target, std::chrono::seconds read_timeout,
                              const std::function<bool(std::string_view)>& on_data) {
  refreshCa();
  client_->set_connection_timeout(static_cast<time_t>(connect_timeout_.count()), 0);
  client_->set_read_timeout(static_cast<time_t>(read_timeout.count()), 0);
  ApiResponse out;
  constexpr size_t kMaxErrorBody = 64 * 1024;
  auto res = client_->Get(
      config_.base_path + target, requestHeaders(config_),
      [&](const httplib::Response& r) {
        out.status = r.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (out.status >= 200 && out.status < 300) {
          return on_data(std::string_view(data, len));
        }
        if (out.body.size() < kMaxErrorBody) {
          out.body.append(data, std::min(len, kMaxErrorBody - out.body.size()));
        }
        return true;
      });
  return finishResponse(res, config_, std::move(out));
}

ApiResponse ApiClient::send(std::string_view method, const std::string& target,
                            const std::string& body, const std::string& content_type,
                            std::chrono::seconds read_timeout) {
  refreshCa();
  client_->set_connection_timeout(static_cast<time_t>(connect_timeout_.count()), 0);
  client_->set_read_timeout(static_cast<time_t>(read_timeout.count()), 0);
  const std::string path = config_.base_path + target;
  const httplib::Headers headers = requestHeaders(config_);
  if (method != "PATCH" && method != "PUT" && method != "POST" && method != "DELETE") {
    ApiResponse out;
    out.error = "unsupported method " + std::string(method);
    return out;
  }
  auto res = [&]() -> httplib::Result {
    if (method == "PATCH") {
      return client_->Patch(path, headers, body, content_type);
    }
    if (method == "PUT") {
      return client_->Put(path, headers, body, content_type);
    }
    if (method == "POST") {
      return client_->Post(path, headers, body, content_type);
    }
    return body.empty() ? client_->Delete(path, headers)
                        : client_->Delete(path, headers, body, content_type);
  }();
  ApiResponse out;
  if (res) {
    out.body = std::move(res->body);
  }
  return finishResponse(res, config_, std::move(out));
}

void ApiClient::interrupt() {
  std::lock_guard<std::mutex> lock(client_mu_);
  client_->stop();
}

}  // namespace ambient_guard
