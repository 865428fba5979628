#include "webhook/server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

namespace ambient_guard {

// Established TLS connections, by socket. An entry is added when a handshake starts and removed
// from SSL_free (via ex_data), which cpp-httplib calls before it closes the socket: so while an
// fd is in the set it is still ours, and shutdown can safely wake it.
class ConnectionRegistry {
 public:
  void add(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    fds_.emplace(fd, false);
  }
  void remove(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    fds_.erase(fd);
  }
  // A connection is active from the moment its request headers are parsed until its response is
  // written; otherwise it is idle (waiting in keep-alive, or in the TLS handshake).
  void setActive(int fd, bool active) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = fds_.find(fd);
    if (it != fds_.end()) {
      it->second = active;
    }
  }
  // Closes idle connections (all of them with `include_active`): the worker waiting on one sees
  // EOF and ends. An active connection is left alone: closing it for reading would make
  // cpp-httplib's liveness check fail the response write. Returns how many are still open.
  size_t closeIdle(bool include_active) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [fd, active] : fds_) {
      if (!active || include_active) {
        ::shutdown(fd, SHUT_RDWR);
      }
    }
    return fds_.size();
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return fds_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<int, bool> fds_;  // fd -> active
};

namespace {

struct ConnectionEntry {
  ConnectionRegistry* registry;
  int fd;
};

void freeConnectionEntry(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/,
                         long /*argl*/, void* /*argp*/) {
  auto* e = static_cast<ConnectionEntry*>(ptr);
  if (e != nullptr) {
    e->registry->remove(e->fd);
    delete e;
  }
}

// Process-wide ex_data slots: one on SSL (the entry, freed with the SSL), one on SSL_CTX (the
// registry of that server).
int sslSlot() {
  static const int slot =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, freeConnectionEntry);
  return slot;
}
int ctxSlot() {
  static const int slot = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

void infoCallback(const SSL* cssl, int where, int /*ret*/) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) {
    return;
  }
  SSL* ssl = const_cast<SSL*>(cssl);
  if (SSL_get_ex_data(ssl, sslSlot()) != nullptr) {
    return;
  }
  auto* registry =
      static_cast<ConnectionRegistry*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctxSlot()));
  const int fd = SSL_get_fd(ssl);
  if (registry == nullptr || fd < 0) {
    return;
  }
  registry->add(fd);
  SSL_set_ex_data(ssl, sslSlot(), new ConnectionEntry{registry, fd});
}

// A worker pool that grows to `max` threads as connections arrive and keeps them: cpp-httplib
// holds one worker per open (keep-alive) connection, so a fixed small pool would make new
// connections wait behind idle ones.
class ElasticTaskQueue final : public httplib::TaskQueue {
 public:
  explicit ElasticTaskQueue(size_t max) : max_(std::max<size_t>(max, 1)) {}

  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ && threads_.size() < max_) {
      threads_.emplace_back([this] { work(); });
    } else if (jobs_.size() > idle_ && !warned_) {
      warned_ = true;
      spdlog::warn("all {} connection workers are busy; new connections wait (raise "
                   "--max-connections)", max_);
    }
    cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      t.join();
    }
  }

 private:
  void work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      ++idle_;
      cv_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (jobs_.empty()) {
        return;
      }
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
  bool warned_ = false;
};

// SSLServer with access to its listening socket (for the backlog and a stop that also works
// before listen starts).
class TlsServer final : public httplib::SSLServer {
 public:
  using httplib::SSLServer::SSLServer;

  void raiseBacklog(int backlog) {
    const socket_t s = svr_sock_;
    if (s != INVALID_SOCKET) {
      ::listen(s, backlog);  // cpp-httplib 0.11 listens with a backlog of 5
    }
  }
  // Closes the listening socket; the accept loop ends, and each connection ends after its
  // current request.
  void closeListener() {
    const socket_t s = svr_sock_.exchange(INVALID_SOCKET);
    if (s != INVALID_SOCKET) {
      ::shutdown(s, SHUT_RDWR);
      ::close(s);
    }
  }
};

bool isJsonContentType(const std::string& value) {
  std::string media = value.substr(0, value.find(';'));
  media.erase(std::remove_if(media.begin(), media.end(), [](unsigned char c) { return c == ' ' || c == '\t'; }),
              media.end());
  std::transform(media.begin(), media.end(), media.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return media == "application/json";
}

// Holds the response's two writes (headers, body: two TLS records) in the kernel until the
// logger, which cpp-httplib calls after the last write, releases them as one segment: one
// packet and one wake-up for the client instead of two.
void cork(const httplib::Request& req, bool on) {
  if (req.ssl == nullptr) {
    return;
  }
  const int fd = SSL_get_fd(req.ssl);
  const int value = on ? 1 : 0;
  if (fd >= 0) {
    ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &value, sizeof(value));
  }
}

// Not "application/json": cpp-httplib would gzip every response for a client that accepts it
// (the apiserver does), which costs more than the few hundred bytes it saves.
constexpr const char* kJsonContentType = "application/json; charset=utf-8";
constexpr const char* kTextContentType = "text/plain; charset=utf-8";

}  // namespace

class WebhookServer::Impl {
 public:
  Impl(const ServerOptions& options, CertReloader& certs, ConnectionRegistry& connections,
       const AdmissionPipeline& pipeline, Metrics& metrics, const StateStore& state,
       const std::atomic<bool>& draining)
      : options_(options),
        pipeline_(pipeline),
        metrics_(metrics),
        state_(state),
        draining_(draining),
        connections_(connections),
        server_([&certs, &connections](SSL_CTX& ctx) {
          if (!configureServerTls(&ctx, &certs)) {
            return false;
          }
          SSL_CTX_set_ex_data(&ctx, ctxSlot(), &connections);
          SSL_CTX_set_info_callback(&ctx, infoCallback);
          return true;
        }) {
    configure();
  }

  bool valid() const { return server_.is_valid(); }
  TlsServer& server() { return server_; }

 private:
  void configure() {
    const size_t max_connections = options_.max_connections;
    server_.new_task_queue = [max_connections] { return new ElasticTaskQueue(max_connections); };
    server_.set_keep_alive_timeout(options_.keep_alive_timeout.count());
    server_.set_keep_alive_max_count(options_.keep_alive_max_requests);
    server_.set_read_timeout(options_.read_timeout.count(), 0);
    server_.set_write_timeout(options_.write_timeout.count(), 0);
    server_.set_payload_max_length(options_.max_request_bytes);
    // Headers and body go out in separate writes; without NODELAY the body waits for the
    // client's delayed ACK (40 ms).
    server_.set_tcp_nodelay(true);

    server_.Post("/validate", [this](const httplib::Request& req, httplib::Response& res) {
      admit("validate", req, res);
    });
    server_.Post("/mutate", [this](const httplib::Request& req, httplib::Response& res) {
      admit("mutate", req, res);
    });
    for (const char* path : {"/validate", "/mutate"}) {
      server_.Get(path, [](const httplib::Request&, httplib::Response& res) {
        res.status = 405;
        res.set_header("Allow", "POST");
        res.set_content("use POST with an AdmissionReview\n", kTextContentType);
      });
    }
    server_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", kTextContentType);
    });
    server_.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      if (draining_.load()) {
        res.status = 503;
        res.set_content("shutting down\n", kTextContentType);
      } else if (!state_.ready()) {
        res.status = 503;
        res.set_content("cluster state not loaded yet\n", kTextContentType);
      } else {
        res.set_content("ok\n", kTextContentType);
      }
    });
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      markActive(req, true);
      if (draining_.load()) {
        res.set_header("Connection", "close");  // answered, but not reused while we drain
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_.set_logger([this](const httplib::Request& req, const httplib::Response&) {
      cork(req, false);
      markActive(req, false);
    });
    server_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 413) {
        count(req.path, "invalid");
        res.set_content("request body larger than " + std::to_string(options_.max_request_bytes) +
                            " bytes\n",
                        kTextContentType);
      } else if (res.body.empty()) {
        res.set_content("HTTP " + std::to_string(res.status) + "\n", kTextContentType);
      }
    });
    server_.set_exception_handler(
        [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown exception";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          spdlog::error("{} {}: handler failed: {}", req.method, req.path, what);
          count(req.path, "error");
          res.status = 500;
          res.set_content("internal error\n", kTextContentType);
        });
  }

  void markActive(const httplib::Request& req, bool active) {
    if (req.ssl != nullptr) {
      connections_.setActive(SSL_get_fd(req.ssl), active);
    }
  }

  // Counts a request to an admission path that failed before reaching the pipeline.
  void count(const std::string& path, std::string_view decision) {
    if (path == "/validate" || path == "/mutate") {
      metrics_.countRequest(path.substr(1), "", "", decision);
    }
  }

  void admit(std::string_view webhook, const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    cork(req, true);
    if (!isJsonContentType(req.get_header_value("Content-Type"))) {
      res.status = 415;
      res.set_content("Content-Type must be application/json\n", kTextContentType);
      metrics_.countRequest(webhook, "", "", "invalid");
      return;
    }
    AdmissionOutcome out =
        webhook == "mutate" ? pipeline_.mutate(req.body) : pipeline_.validate(req.body);
    res.status = out.http_status;
    res.set_content(std::move(out.body), out.http_status == 200 ? kJsonContentType
                                                                : kTextContentType);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_.countRequest(webhook, out.kind, out.operation, out.decision);
    metrics_.observeDuration(webhook, seconds);
  }

  const ServerOptions options_;
  const AdmissionPipeline& pipeline_;
  Metrics& metrics_;
  const StateStore& state_;
  const std::atomic<bool>& draining_;
  ConnectionRegistry& connections_;
  TlsServer server_;
};

WebhookServer::WebhookServer(ServerOptions options, CertReloader& certs,
                             const AdmissionPipeline& pipeline, Metrics& metrics,
                             const StateStore& state)
    : connections_(std::make_unique<ConnectionRegistry>()),
      impl_(std::make_unique<Impl>(options, certs, *connections_, pipeline, metrics, state,
                                   draining_)) {
  port_ = options.port;
  host_ = options.host;
  drain_timeout_ = options.drain_timeout;
}

Result<int> WebhookServer::bind() {
  if (!impl_->valid()) {
    return Error{"TLS setup failed (certificate, key or cipher configuration)"};
  }
  TlsServer& s = impl_->server();
  if (port_ == 0) {
    const int p = s.bind_to_any_port(host_);
    if (p <= 0) {
      return Error{"cannot listen on " + host_ + ":0"};
    }
    port_ = p;
  } else if (!s.bind_to_port(host_, port_)) {
    return Error{"cannot listen on " + host_ + ":" + std::to_string(port_) +
                 " (address in use or not permitted)"};
  }
  s.raiseBacklog(1024);
  return port_;
}

void WebhookServer::serve() {
  impl_->server().listen_after_bind();
  // cpp-httplib returns once every worker ended, i.e. every connection is closed.
  std::lock_guard<std::mutex> lock(reaper_mu_);
  if (reaper_.joinable()) {
    reaper_.join();
  }
}

void WebhookServer::shutdown() {
  if (draining_.exchange(true)) {
    return;
  }
  impl_->server().closeListener();
  // Like Go's http.Server.Shutdown: close idle connections now and again as in-flight requests
  // finish, until none is left or the drain timeout forces the rest closed.
  std::lock_guard<std::mutex> lock(reaper_mu_);
  reaper_ = std::thread([this, deadline = std::chrono::steady_clock::now() + drain_timeout_] {
    while (true) {
      const bool expired = std::chrono::steady_clock::now() >= deadline;
      if (connections_->closeIdle(expired) == 0) {
        return;
      }
      if (expired) {
        spdlog::warn("drain timeout: closed connections with requests still in flight");
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
}

WebhookServer::~WebhookServer() {
  std::lock_guard<std::mutex> lock(reaper_mu_);
  if (reaper_.joinable()) {
    reaper_.join();
  }
}

}  // namespace ambient_guard
