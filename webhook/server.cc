#include "webhook/server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "webhook/client_auth.h"
#include "webhook/connection.h"
#include "webhook/idle_loops.h"
#include "webhook/direct_response.h"

namespace ambient_guard {

using Clock = std::chrono::steady_clock;

// Open connections, by socket, with where each is in its life. A connection is registered by its
// worker before the handshake and removed before its socket is closed, so while an fd is here it
// is still ours and the server may shut it down to wake whoever waits on it (its worker, or the
// loop thread it is parked in): to drain, and to make room when every worker is taken or more
// than `max_connections` are open.
class ConnectionRegistry {
 public:
  ConnectionRegistry(size_t max_connections, const std::atomic<size_t>& backlog, Metrics& metrics)
      : max_connections_(max_connections), backlog_(backlog), metrics_(metrics) {}

  void setState(int fd, ConnectionState state) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto [it, added] = fds_.try_emplace(fd);
    Entry& e = it->second;
    if (e.state != state || e.since == Clock::time_point{}) {
      e.state = state;
      e.since = Clock::now();
    }
    if (state != ConnectionState::kActive) {
      // A new connection is what room is made for, not a victim.
      relieveLocked(added ? fd : -1);
    }
  }
  void remove(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = fds_.find(fd);
    if (it != fds_.end()) {
      closing_ -= it->second.closing ? 1 : 0;
      fds_.erase(it);
    }
  }
  // Closes idle connections (all of them with `include_active`): the worker waiting on one sees
  // EOF and ends. An active connection is left alone: its request is answered first. So is an
  // idle one whose socket has bytes its loop has not read yet: a request that arrived before the
  // drain, which the loop marks active as it reads it (the caller comes back for the rest).
  // Returns how many are still open.
  size_t closeIdle(bool include_active) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [fd, e] : fds_) {
      if (include_active || (e.state != ConnectionState::kActive && !readable(fd))) {
        ::shutdown(fd, SHUT_RDWR);
      }
    }
    return fds_.size();
  }
  // Called when connections wait for a worker: closes as many idle connections as there are
  // waiting ones, those that never sent a request first, the longest idle first.
  void relieve() {
    std::lock_guard<std::mutex> lock(mu_);
    relieveLocked();
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return fds_.size();
  }

 private:
  struct Entry {
    ConnectionState state = ConnectionState::kNew;
    Clock::time_point since{};
    bool closing = false;
  };

  // Idle connections do not hold workers (they wait in the loop threads), so the limit is also
  // enforced on the number open: each one above it is treated as one waiting for a worker.
  void relieveLocked(int spare = -1) {
    const size_t waiting = std::max(
        backlog_.load(), fds_.size() > max_connections_ ? fds_.size() - max_connections_ : 0);
    size_t closed = 0;
    while (closing_ < waiting) {
      auto victim = fds_.end();
      for (auto it = fds_.begin(); it != fds_.end(); ++it) {
        const Entry& e = it->second;
        if (e.closing || e.state == ConnectionState::kActive || it->first == spare) {
          continue;
        }
        if (victim == fds_.end() || rank(e) < rank(victim->second)) {
          victim = it;
        }
      }
      if (victim == fds_.end()) {
        break;
      }
      ::shutdown(victim->first, SHUT_RDWR);
      victim->second.closing = true;
      ++closing_;
      ++closed;
      metrics_.countConnectionEvicted();
    }
    if (waiting == 0) {
      return;
    }
    unreported_ += closed;
    const auto now = Clock::now();
    if (now < next_report_) {
      return;
    }
    next_report_ = now + std::chrono::seconds(10);
    if (unreported_ > 0) {
      spdlog::warn("connection limit reached (--max-connections {}): closed {} idle "
                   "connection(s) so that new ones are served, those that never sent a request "
                   "first",
                   max_connections_, unreported_);
    } else {
      spdlog::warn("connection limit reached (--max-connections {}): every connection is busy "
                   "with a request; {} new connection(s) wait",
                   max_connections_, waiting);
    }
    unreported_ = 0;
  }

  static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
  }

  // Eviction order: new connections (handshake, or no request yet) before kept-alive ones, the
  // longest in that state first.
  static std::pair<int, Clock::time_point> rank(const Entry& e) {
    return {e.state == ConnectionState::kNew ? 0 : 1, e.since};
  }

  const size_t max_connections_;
  const std::atomic<size_t>& backlog_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::unordered_map<int, Entry> fds_;
  size_t closing_ = 0;  // entries shut down to make room, not yet removed
  size_t unreported_ = 0;
  Clock::time_point next_report_{};
};

namespace {

// A worker pool that grows to `max` threads as connections need them and keeps them: a
// connection holds a worker for its handshake and while a request is read, processed or written
// (blocking, under deadlines); between requests it waits in the loop threads (IdleLoops). When
// every worker is taken, `backlog` counts the connections waiting and `on_backlog` asks the
// registry to close idle connections for them. Shutting down waits until `loops` has no open
// connection: until then they may come back from the loops for a worker.
class ElasticTaskQueue final : public httplib::TaskQueue {
 public:
  ElasticTaskQueue(size_t max, std::atomic<size_t>& backlog, std::function<void()> on_backlog,
                   IdleLoops& loops)
      : max_(std::max<size_t>(max, 1)),
        backlog_(backlog),
        on_backlog_(std::move(on_backlog)),
        loops_(loops) {}

  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ && threads_.size() < max_) {
      threads_.emplace_back([this] { work(); });
    }
    updateBacklog();
    cv_.notify_one();
    if (backlog_.load() > 0) {
      on_backlog_();
    }
  }

  void shutdown() override {
    loops_.waitClosed();
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
  void updateBacklog() {
    const size_t waiting = jobs_.size() > idle_ ? jobs_.size() - idle_ : 0;
    backlog_.store(threads_.size() >= max_ ? waiting : 0);
  }

  void work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      ++idle_;
      updateBacklog();
      cv_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (jobs_.empty()) {
        return;
      }
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      updateBacklog();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  const size_t max_;
  std::atomic<size_t>& backlog_;
  std::function<void()> on_backlog_;
  IdleLoops& loops_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

// SSLServer whose connections are served by serveConnection (connection.h) instead of
// cpp-httplib's own loop. POST /validate and /mutate are answered by Impl::answer from the framed
// request; cpp-httplib parses, routes and answers the rest (already complete in memory).
class TlsServer final : public httplib::SSLServer {
 public:
  TlsServer(const std::function<bool(SSL_CTX&)>& setup, const ConnectionLimits& limits,
            ConnectionHost& host, IdleLoops& loops)
      : httplib::SSLServer(setup), limits_(limits), host_(host), loops_(loops) {}

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
  bool processRequest(httplib::Stream& stream, bool close_connection, bool& connection_closed,
                      SSL* ssl) {
    return process_request(stream, close_connection, connection_closed,
                           [ssl](httplib::Request& req) { req.ssl = ssl; });
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    serveConnection(sock, ssl_context(), limits_, host_, &loops_);
    return true;
  }

  const ConnectionLimits& limits_;
  ConnectionHost& host_;
  IdleLoops& loops_;
};

// Returns true for "application/json", any case, with or without parameters.
bool isJsonContentType(std::string_view value) {
  static constexpr std::string_view kJson = "application/json";
  size_t n = 0;
  for (const char c : value.substr(0, value.find(';'))) {
    if (c == ' ' || c == '\t') {
      continue;
    }
    const char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    if (n >= kJson.size() || lower != kJson[n]) {
      return false;
    }
    ++n;
  }
  return n == kJson.size();
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

class WebhookServer::Impl final : public ConnectionHost {
 public:
  Impl(const ServerOptions& options, CertReloader& certs, ConnectionRegistry& connections,
       const ClientPolicy* client_policy, const AdmissionPipeline& pipeline, Metrics& metrics,
       const StateStore& state, const std::atomic<bool>& draining,
       std::atomic<size_t>& backlog)
      : options_(options),
        limits_(connectionLimits(options)),
        pipeline_(pipeline),
        metrics_(metrics),
        state_(state),
        draining_(draining),
        connections_(connections),
        client_policy_(client_policy),
        backlog_(backlog),
        loops_(std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4), *this),
        server_(
            [&certs, client_policy](SSL_CTX& ctx) {
              return configureServerTls(&ctx, &certs) &&
                     (client_policy == nullptr || client_policy->configure(&ctx));
            },
            limits_, *this, loops_) {
    configure();
  }

  bool valid() const { return server_.is_valid(); }
  TlsServer& server() { return server_; }
  IdleLoops& loops() { return loops_; }

  // ConnectionHost
  void connectionState(int fd, ConnectionState state) override {
    connections_.setState(fd, state);
  }
  void connectionClosed(int fd) override { connections_.remove(fd); }
  void resume(std::function<void()> job) override { pool_.load()->enqueue(std::move(job)); }
  bool draining() const override { return draining_.load(); }
  bool processRequest(httplib::Stream& stream, bool close_connection, bool& connection_closed,
                      SSL* ssl) override {
    return server_.processRequest(stream, close_connection, connection_closed, ssl);
  }
  // POST /validate and /mutate, answered here with the bytes admit() and cpp-httplib wrote
  // (tests/webhook/direct_response_test.cc); what either would answer differently (a client
  // certificate refused, not JSON, a compressed error, an exception) goes to cpp-httplib.
  Answered answer(const RequestHead& head, std::string_view body, bool draining, SSL* ssl,
                  std::string& response) override {
    const DirectRequest req = directRequest(head);
    if (req.route == DirectRoute::kNone || !isJsonContentType(req.content_type) ||
        (client_policy_ != nullptr && !client_policy_->accept(ssl))) {
      return Answered::kPassed;
    }
    const auto start = Clock::now();
    const bool mutate = req.route == DirectRoute::kMutate;
    AdmissionOutcome out;
    try {
      out = mutate ? pipeline_.mutate(body) : pipeline_.validate(body);
    } catch (...) {
      // A bug; admit() (run again by cpp-httplib) logs it, counts it and answers 500.
      return Answered::kPassed;
    }
    const bool json = out.http_status == 200;
    if (!json && req.accepts_compression) {
      // cpp-httplib gzips text/plain for such clients. Answering 400 is free of side effects
      // (nothing is audited), so it can be answered again there.
      return Answered::kPassed;
    }
    const bool close = draining || req.connection_close;
    writeDirectResponse(response, out.http_status, json ? kJsonContentType : kTextContentType,
                        out.body, close, keep_alive_);
    countAdmission(mutate ? "mutate" : "validate", out, start);
    return close || req.close_after ? Answered::kClose : Answered::kKeepAlive;
  }
  void refused(std::string_view path, int status) override {
    count(path, "invalid");
    spdlog::debug("refused a request for {}: HTTP {}", path.empty() ? "?" : path, status);
  }

 private:
  static ConnectionLimits connectionLimits(const ServerOptions& o) {
    ConnectionLimits l;
    l.http.max_body_bytes = o.max_request_bytes;
    l.handshake_timeout = o.handshake_timeout;
    l.first_request_timeout = o.first_request_timeout;
    l.keep_alive_timeout = o.keep_alive_timeout;
    l.request_timeout = o.read_timeout;
    l.write_timeout = o.write_timeout;
    l.keep_alive_max_requests = o.keep_alive_max_requests;
    return l;
  }

  void configure() {
    const size_t max_connections = options_.max_connections;
    server_.new_task_queue = [this, max_connections] {
      auto* pool = new ElasticTaskQueue(
          max_connections, backlog_, [this] { connections_.relieve(); }, loops_);
      pool_.store(pool);
      return pool;
    };
    // Only the Keep-Alive response header and the body limit of cpp-httplib's own settings
    // still matter: serveConnection does the reading, waiting and timing.
    server_.set_keep_alive_timeout(
        std::chrono::duration_cast<std::chrono::seconds>(options_.keep_alive_timeout).count());
    server_.set_keep_alive_max_count(options_.keep_alive_max_requests);
    server_.set_payload_max_length(options_.max_request_bytes);
    // Headers and body go out in separate writes; without NODELAY the body waits for the
    // client's delayed ACK (40 ms). Set on the listener, inherited by accepted sockets.
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
      readyz(res);
    });
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    server_.set_logger([](const httplib::Request& req, const httplib::Response&) {
      cork(req, false);
    });
    server_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.body.empty()) {
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

  void readyz(httplib::Response& res) {
    if (draining_.load()) {
      res.status = 503;
      res.set_content("shutting down\n", kTextContentType);
    } else if (!state_.ready()) {
      res.status = 503;
      res.set_content("cluster state not loaded yet\n", kTextContentType);
    } else if (std::string stale = state_.staleness(); !stale.empty()) {
      res.status = 503;
      res.set_content("cluster state stale: " + stale + "\n", kTextContentType);
    } else {
      res.set_content("ok\n", kTextContentType);
    }
  }

  // Counts a request to an admission path that failed before reaching the pipeline.
  void count(std::string_view path, std::string_view decision) {
    if (path == "/validate" || path == "/mutate") {
      metrics_.countRequest(path.substr(1), "", "", decision);
    }
  }

  void admit(std::string_view webhook, const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    cork(req, true);
    if (client_policy_ != nullptr && !client_policy_->accept(req.ssl)) {
      res.status = 403;
      res.set_content("a client certificate with an allowed name is required (--client-ca)\n",
                      kTextContentType);
      metrics_.countRequest(webhook, "", "", "invalid");
      return;
    }
    if (!isJsonContentType(req.get_header_value("Content-Type"))) {
      res.status = 415;
      res.set_content("Content-Type must be application/json\n", kTextContentType);
      metrics_.countRequest(webhook, "", "", "invalid");
      return;
    }
    AdmissionOutcome out;
    try {
      out = webhook == "mutate" ? pipeline_.mutate(req.body) : pipeline_.validate(req.body);
    } catch (const std::exception& e) {
      // The pipeline answers malformed input itself; reaching here is a bug. Answer 500 (the
      // apiserver applies failurePolicy) and keep serving.
      spdlog::error("{}: {}", webhook, e.what());
      res.status = 500;
      res.set_content("internal error\n", kTextContentType);
      metrics_.countRequest(webhook, "", "", "error");
      return;
    }
    res.status = out.http_status;
    res.set_content(std::move(out.body), out.http_status == 200 ? kJsonContentType
                                                                : kTextContentType);
    countAdmission(webhook, out, start);
  }

  // Counts an answered review (by kind, operation and decision) and its duration from `start`;
  // for both admit() and answer().
  void countAdmission(std::string_view webhook, const AdmissionOutcome& out,
                      Clock::time_point start) {
    metrics_.countRequest(webhook, out.kind, out.operation, out.decision);
    metrics_.observeDuration(webhook,
                             std::chrono::duration<double>(Clock::now() - start).count());
  }

  const ServerOptions options_;
  const ConnectionLimits limits_;
  // cpp-httplib's Keep-Alive response header value.
  const std::string keep_alive_ =
      "timeout=" +
      std::to_string(
          std::chrono::duration_cast<std::chrono::seconds>(options_.keep_alive_timeout).count()) +
      ", max=" + std::to_string(options_.keep_alive_max_requests);
  const AdmissionPipeline& pipeline_;
  Metrics& metrics_;
  const StateStore& state_;
  const std::atomic<bool>& draining_;
  ConnectionRegistry& connections_;
  const ClientPolicy* client_policy_;
  std::atomic<size_t>& backlog_;
  // Where connections wait between requests; parks them until cpp-httplib's pool (pool_, alive
  // while serve() runs) has shut down, which waits for every connection to close.
  IdleLoops loops_;
  std::atomic<ElasticTaskQueue*> pool_{nullptr};
  TlsServer server_;
};

WebhookServer::WebhookServer(ServerOptions options, CertReloader& certs,
                             const AdmissionPipeline& pipeline, Metrics& metrics,
                             const StateStore& state)
    : connections_(std::make_unique<ConnectionRegistry>(options.max_connections, backlog_, metrics)) {
  if (!options.client_ca_file.empty()) {
    auto policy = ClientPolicy::load(options.client_ca_file, options.client_names);
    if (!policy.ok()) {
      setup_error_ = policy.error();
    } else {
      client_policy_ = std::move(*policy);
    }
  }
  impl_ = std::make_unique<Impl>(options, certs, *connections_, client_policy_.get(), pipeline,
                                 metrics, state, draining_, backlog_);
  port_ = options.port;
  host_ = options.host;
  drain_timeout_ = options.drain_timeout;
}

Result<int> WebhookServer::bind() {
  if (!setup_error_.empty()) {
    return Error{setup_error_};
  }
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
  // cpp-httplib returns once every worker ended and (ElasticTaskQueue::shutdown) every
  // connection is closed; the loop threads are idle.
  impl_->loops().stop();
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
