#include "webhook/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

#include "webhook/idle_loops.h"

namespace ambient_guard {
namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events` or `deadline` passes. Returns false on timeout. A peer
// that closed, or a shutdown(2) from the server's reaper, counts as ready: the next read sees it.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) {
      return false;
    }
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 1 << 30)));
    if (r > 0) {
      return true;
    }
    if (r < 0 && errno != EINTR) {
      return true;  // let the caller's read or write report the error
    }
    if (r == 0 && Clock::now() >= deadline) {
      return false;
    }
  }
}

// TLS reads and writes on a non-blocking socket, each bounded by a deadline.
class TlsIo {
 public:
  TlsIo(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}

  enum class ReadResult { kData, kClosed, kTimeout };

  // Appends what is available (up to `max`) to `out`.
  ReadResult readSome(std::string& out, size_t max, Clock::time_point deadline) {
    for (;;) {
      const NowResult r = readNow(out, max);
      if (r == NowResult::kDone) {
        return ReadResult::kData;
      }
      if (r == NowResult::kClosed) {
        return ReadResult::kClosed;
      }
      if (!waitFor(fd_, r == NowResult::kWantRead ? POLLIN : POLLOUT, deadline)) {
        return ReadResult::kTimeout;
      }
    }
  }

  bool writeAll(const char* data, size_t size, Clock::time_point deadline) {
    size_t sent = 0;
    for (;;) {
      const NowResult r = writeNow(std::string_view(data, size), &sent);
      if (r == NowResult::kDone) {
        return true;
      }
      if (r == NowResult::kClosed ||
          !waitFor(fd_, r == NowResult::kWantRead ? POLLIN : POLLOUT, deadline)) {
        broken_ = true;
        return false;
      }
    }
  }

  // What a read or write that never waits did: kWantRead / kWantWrite name what the socket must
  // become (readable, writable) before OpenSSL can go on.
  enum class NowResult { kDone, kWantRead, kWantWrite, kClosed };

  // Appends what is available now (up to `max`) to `out`, never waiting: kDone when data was
  // read, kWantRead when nothing is there, kWantWrite when OpenSSL needs to write first.
  NowResult readNow(std::string& out, size_t max) {
    char buf[16384];
    ERR_clear_error();
    const int n = SSL_read(ssl_, buf, static_cast<int>(std::min(sizeof(buf), max)));
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      return NowResult::kDone;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ) {
      return NowResult::kWantRead;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      return NowResult::kWantWrite;
    }
    broken_ = err != SSL_ERROR_ZERO_RETURN;
    return NowResult::kClosed;
  }

  // Writes `data` from `*sent` on as far as the socket takes it now, advancing `*sent`. After
  // kWantRead / kWantWrite, writeAll must go on from `*sent`: its first SSL_write repeats the one
  // that could not complete, with the same arguments, as OpenSSL requires.
  NowResult writeNow(std::string_view data, size_t* sent) {
    while (*sent < data.size()) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, data.data() + *sent,
                              static_cast<int>(std::min<size_t>(data.size() - *sent, 1 << 20)));
      if (n > 0) {
        *sent += static_cast<size_t>(n);
        continue;
      }
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        return err == SSL_ERROR_WANT_READ ? NowResult::kWantRead : NowResult::kWantWrite;
      }
      broken_ = true;
      return NowResult::kClosed;
    }
    return NowResult::kDone;
  }

  bool handshake(Clock::time_point deadline) {
    for (;;) {
      ERR_clear_error();
      const int r = SSL_accept(ssl_);
      if (r == 1) {
        return true;
      }
      const int err = SSL_get_error(ssl_, r);
      if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) ||
          !waitFor(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        broken_ = true;
        return false;
      }
    }
  }

  // Sends close_notify unless the connection broke; never waits.
  void close() {
    if (!broken_) {
      ERR_clear_error();
      SSL_shutdown(ssl_);
    }
    ERR_clear_error();
  }

  bool broken() const { return broken_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  SSL* ssl_;
  bool broken_ = false;
};

void peerAddress(int fd, bool remote, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int r = remote ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                       : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (r != 0) {
    return;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
    port = ntohs(a->sin6_port);
  }
  ip = buf;
}

// The stream cpp-httplib processes a request from: the normalized request, already complete in
// memory, and the connection for the response.
class RequestStream final : public httplib::Stream {
 public:
  RequestStream(std::string request, TlsIo& io, std::chrono::milliseconds write_timeout)
      : request_(std::move(request)), io_(io), write_timeout_(write_timeout) {}

  bool is_readable() const override { return true; }
  bool is_writable() const override { return !io_.broken(); }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, request_.size() - pos_);
    std::copy_n(request_.data() + pos_, n, ptr);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    return io_.writeAll(ptr, size, Clock::now() + write_timeout_) ? static_cast<ssize_t>(size)
                                                                  : -1;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    peerAddress(io_.fd(), true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    peerAddress(io_.fd(), false, ip, port);
  }
  socket_t socket() const override { return io_.fd(); }

 private:
  std::string request_;
  size_t pos_ = 0;
  TlsIo& io_;
  std::chrono::milliseconds write_timeout_;
};

// A direct response buffer above this is released after its request (a large mutation patch),
// so an idle keep-alive connection holds little.
constexpr size_t kKeepCapacity = 64 * 1024;

const char* statusText(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

// Returns the path of a request line ("" when it has not been received whole).
std::string pathOf(std::string_view received) {
  const size_t eol = received.find("\r\n");
  if (eol == std::string_view::npos) {
    return "";
  }
  const std::string_view line = received.substr(0, eol);
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    return "";
  }
  const size_t end = line.find_first_of(" ?", sp1 + 1);
  return std::string(line.substr(sp1 + 1, std::min(end, line.size()) - sp1 - 1));
}

using Next = ParkedConnection::Next;

// More than this read by a loop without a complete request goes to a worker.
constexpr size_t kLoopReadCap = 1 << 20;
// A request with a larger body is read and decided on a worker: the review of a big object
// (etcd allows ~1.5 MiB) takes milliseconds, which the loop's other connections would wait.
constexpr size_t kLoopMaxBody = 256 * 1024;
// Requests a loop answers for one connection in a row (pipelined) before it lets a worker go on.
constexpr int kLoopRequestBudget = 16;

}  // namespace

// Owned by exactly one thread at a time: a worker while it is served there, a loop thread while
// it is parked or served there. Ends (frees the SSL object, leaves the registry, closes the
// socket) when destroyed.
class Connection final : public ParkedConnection {
 public:
  Connection(int fd, SSL* ssl, const ConnectionLimits& limits, ConnectionHost& host,
             IdleLoops* loops)
      : io_(fd, ssl), ssl_(ssl), limits_(limits), host_(host), loops_(loops), fd_(fd) {
    if (loops_ != nullptr) {
      loops_->opened();
    }
  }
  ~Connection() override {
    SSL_free(ssl_);
    ERR_clear_error();
    host_.connectionClosed(fd_);
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (loops_ != nullptr) {
      loops_->closed();
    }
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // On a worker, from accept: the handshake, then requests (see work()).
  static void start(std::unique_ptr<Connection> self) {
    Connection& c = *self;
    c.host_.connectionState(c.fd_, ConnectionState::kNew);
    if (!c.io_.handshake(Clock::now() + c.limits_.handshake_timeout)) {
      return;
    }
    c.idle_deadline_ = Clock::now() + c.limits_.first_request_timeout;
    work(std::move(self));
  }

  // On a worker: finishes a response a loop could not write, then serves requests until the
  // connection ends or waits for its next request, when it is parked (a worker is free again).
  static void work(std::unique_ptr<Connection> self) {
    Connection& c = *self;
    if (c.writing_) {
      c.writing_ = false;
      const bool written =
          c.io_.writeAll(c.out_.data() + c.sent_, c.out_.size() - c.sent_,
                         Clock::now() + c.limits_.write_timeout);
      c.responded();
      if (!written || !c.keep_ || c.io_.broken()) {
        c.io_.close();
        return;
      }
      c.idle_deadline_ = Clock::now() + c.limits_.keep_alive_timeout;
    }
    while (c.served_ < c.limits_.keep_alive_max_requests) {
      if (c.loops_ != nullptr && !c.stay_ && c.in_.empty() && !SSL_has_pending(c.ssl_) &&
          !c.host_.draining()) {
        IdleLoops* loops = c.loops_;
        loops->park(std::move(self));
        return;
      }
      c.stay_ = false;
      if (!c.serveOne()) {
        break;
      }
      ++c.served_;
      c.idle_deadline_ = Clock::now() + c.limits_.keep_alive_timeout;
    }
    c.io_.close();
  }

  void resume(std::unique_ptr<ParkedConnection> self) override {
    try {
      work(std::unique_ptr<Connection>(static_cast<Connection*>(self.release())));
    } catch (const std::exception& e) {
      spdlog::error("connection: {}", e.what());
    } catch (...) {
      spdlog::error("connection: unknown exception");
    }
  }

  // Answers the complete requests that have arrived that the host answers directly.
  Next serveReady() override {
    for (int budget = kLoopRequestBudget; budget > 0; --budget) {
      // Reads until the request at the front of in_ is whole (usually after one read) or
      // nothing more has arrived. Only a whole request framed by Content-Length is answered
      // here; for anything else serveOne, on a worker, frames in_ again with the same code.
      HeadScanner scanner(limits_.http);
      RequestHead head;
      bool framed = false;
      size_t length = 0;
      bool drained = false;
      for (;;) {
        if (!in_.empty()) {
          if (request_start_ == Clock::time_point{}) {
            request_start_ = Clock::now();
            setState(ConnectionState::kActive);
          }
          if (!framed) {
            const int scanned = scanner.scan(in_);
            if (scanned != 0 && scanned != 200) {
              return Next::kWorker;  // refused there
            }
            if (scanned == 200) {
              head = parseRequestHead(std::string_view(in_).substr(0, scanner.head_size()),
                                      limits_.http);
              length = static_cast<size_t>(head.content_length);
              if (head.refuse_status != 0 || head.chunked || head.expect_continue ||
                  length > kLoopMaxBody) {
                return Next::kWorker;
              }
              framed = true;
            }
          }
          if (framed && in_.size() - scanner.head_size() >= length) {
            break;
          }
        }
        if (drained || in_.size() >= kLoopReadCap) {
          if (in_.empty()) {
            setState(ConnectionState::kIdle);  // nothing (or only empty lines) came after all
            return Next::kPark;
          }
          return Next::kWorker;
        }
        const bool was_empty = in_.empty();
        if (was_empty) {
          // Active before the read: once its bytes leave the socket, a drain must not take the
          // connection for an idle one (ConnectionRegistry::closeIdle looks at the socket).
          setState(ConnectionState::kActive);
        }
        const TlsIo::NowResult r = io_.readNow(in_, kLoopReadCap - in_.size());
        if (r == TlsIo::NowResult::kClosed) {
          return in_.empty() ? Next::kClose : Next::kWorker;
        }
        if (r == TlsIo::NowResult::kWantWrite) {
          // OpenSSL must write first (a post-handshake message): a worker waits for that.
          stay_ = true;
          return Next::kWorker;
        }
        drained = r == TlsIo::NowResult::kWantRead;
        if (was_empty) {
          dropEmptyLines();
        }
      }
      const bool close = host_.draining();
      const Answered answered =
          host_.answer(head, std::string_view(in_).substr(scanner.head_size(), length), close,
                       ssl_, out_);
      if (answered == Answered::kPassed) {
        passed_ = true;  // the worker goes straight to cpp-httplib
        return Next::kWorker;
      }
      in_.erase(0, scanner.head_size() + length);
      request_start_ = {};
      ++served_;
      keep_ = answered == Answered::kKeepAlive && !close;
      sent_ = 0;
      const TlsIo::NowResult w = io_.writeNow(out_, &sent_);
      if (w == TlsIo::NowResult::kWantRead || w == TlsIo::NowResult::kWantWrite) {
        writing_ = true;
        return Next::kWorker;
      }
      responded();
      if (w != TlsIo::NowResult::kDone || !keep_ ||
          served_ >= limits_.keep_alive_max_requests) {
        return Next::kClose;
      }
      idle_deadline_ = Clock::now() + limits_.keep_alive_timeout;
      if (in_.empty() && !SSL_has_pending(ssl_)) {
        return Next::kPark;
      }
    }
    return Next::kWorker;  // pipelined requests keep coming: let the loop serve others
  }

  void end() override { io_.close(); }
  int fd() const override { return fd_; }
  bool neverServed() const override { return served_ == 0; }
  Clock::time_point idleDeadline() const override { return idle_deadline_; }

 private:
  // Serves one request; returns true to keep the connection for another.
  bool serveOne() {
    // The first byte of a request may already be here (pipelining, read with the last body, or
    // read by a loop thread).
    while (in_.empty()) {
      // SSL_has_pending, not SSL_pending: with read-ahead the next request may sit in OpenSSL's
      // buffer as undecrypted records that poll(2) no longer sees.
      if (!SSL_has_pending(ssl_) && !waitFor(fd_, POLLIN, idle_deadline_)) {
        return false;  // idle too long
      }
      setState(ConnectionState::kActive);
      if (io_.readSome(in_, limits_.http.max_head_bytes + 1, idle_deadline_) !=
          TlsIo::ReadResult::kData) {
        return false;
      }
      dropEmptyLines();
      request_start_ = {};
    }
    setState(ConnectionState::kActive);
    // From the request's first byte, also when a loop thread read it.
    const auto deadline = (request_start_ == Clock::time_point{} ? Clock::now() : request_start_) +
                          limits_.request_timeout;
    request_start_ = {};

    HeadScanner scanner(limits_.http);
    int scanned = 0;
    while ((scanned = scanner.scan(in_)) == 0) {
      const auto r = io_.readSome(in_, limits_.http.max_head_bytes + 1, deadline);
      if (r == TlsIo::ReadResult::kTimeout) {
        return refuse(pathOf(in_), 408, "the request did not arrive in time");
      }
      if (r == TlsIo::ReadResult::kClosed) {
        return false;
      }
    }
    if (scanned != 200) {
      return refuse(pathOf(in_), scanned,
                    scanned == 414 ? "request line too long" : "request head too large");
    }
    RequestHead head = parseRequestHead(std::string_view(in_).substr(0, scanner.head_size()),
                                        limits_.http);
    in_.erase(0, scanner.head_size());
    const std::string_view path = std::string_view(head.target).substr(0, head.target.find('?'));
    if (head.refuse_status != 0) {
      return refuse(path, head.refuse_status, head.reason);
    }

    std::string chunked_body;
    if (head.expect_continue && (head.chunked || head.content_length > 0)) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!io_.writeAll(kContinue.data(), kContinue.size(),
                        Clock::now() + limits_.write_timeout)) {
        return false;
      }
    }
    size_t length = 0;  // of the body at the front of in_ (0 when chunked)
    if (head.chunked) {
      ChunkedDecoder decoder(limits_.http.max_body_bytes);
      for (;;) {
        size_t consumed = 0;
        const auto state = decoder.feed(in_, chunked_body, consumed);
        in_.erase(0, consumed);
        if (state == ChunkedDecoder::State::kDone) {
          break;
        }
        if (state == ChunkedDecoder::State::kTooLarge) {
          return refuse(path, 413,
                        "request body larger than " +
                            std::to_string(limits_.http.max_body_bytes) + " bytes");
        }
        if (state == ChunkedDecoder::State::kMalformed) {
          return refuse(path, 400, "malformed chunked body");
        }
        if (!readMore(path, deadline)) {
          return false;
        }
      }
    } else {
      length = static_cast<size_t>(head.content_length);
      while (in_.size() < length) {
        if (!readMore(path, deadline)) {
          return false;
        }
      }
    }
    // The body is read in place (the front of in_) or decoded; the next request, pipelined,
    // stays after it.
    const std::string_view body =
        head.chunked ? std::string_view(chunked_body) : std::string_view(in_).substr(0, length);
    const bool close = host_.draining();
    // A loop thread already asked the host about this request.
    const Answered answered =
        std::exchange(passed_, false) ? Answered::kPassed
                                      : host_.answer(head, body, close, ssl_, out_);
    if (answered != Answered::kPassed) {
      in_.erase(0, length);
      const bool written =
          io_.writeAll(out_.data(), out_.size(), Clock::now() + limits_.write_timeout);
      responded();
      return written && answered == Answered::kKeepAlive && !close && !io_.broken();
    }

    std::string request = std::move(head.normalized);
    request.reserve(request.size() + body.size() + 40);
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    request.append(body);
    in_.erase(0, length);
    std::string().swap(chunked_body);
    RequestStream stream(std::move(request), io_, limits_.write_timeout);
    bool closed = false;
    const bool ok = host_.processRequest(stream, close, closed, ssl_);
    setState(ConnectionState::kIdle);
    return ok && !closed && !close && !io_.broken();
  }

  // Empty lines before a request line are ignored (RFC 9112 §2.2).
  void dropEmptyLines() {
    const size_t start = in_.find_first_not_of("\r\n");
    in_.erase(0, start == std::string::npos ? in_.size() : start);
  }

  // A direct response went out (or failed): the connection is idle again.
  void responded() {
    if (out_.capacity() > kKeepCapacity) {
      std::string().swap(out_);
    }
    setState(ConnectionState::kIdle);
  }

  // Tells the host where the connection is, once per change.
  void setState(ConnectionState state) {
    if (state != state_) {
      state_ = state;
      host_.connectionState(fd_, state);
    }
  }

  // Reads more of the current request's body; on timeout answers 408.
  bool readMore(std::string_view path, Clock::time_point deadline) {
    // Bounded reads: the body limit is enforced by the callers, this only caps one read.
    const auto r = io_.readSome(in_, 1 << 20, deadline);
    if (r == TlsIo::ReadResult::kTimeout) {
      refuse(path, 408, "the request body did not arrive in time");
      return false;
    }
    return r == TlsIo::ReadResult::kData;
  }

  // Answers `status` and ends the connection: what follows a refused head cannot be framed.
  bool refuse(std::string_view path, int status, const std::string& reason) {
    host_.refused(path, status);
    const std::string body = reason + "\n";
    std::string response = "HTTP/1.1 " + std::to_string(status) + " " + statusText(status) +
                           "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    if (io_.writeAll(response.data(), response.size(), Clock::now() + limits_.write_timeout)) {
      io_.close();
      linger();
    }
    return false;
  }

  // After refusing a request the client may still be sending its body. Closing a socket with
  // unread data makes the kernel send a reset, which can destroy the response before the client
  // reads it; so stop sending and discard what arrives for a short while (never buffering it).
  void linger() {
    ::shutdown(fd_, SHUT_WR);
    const auto until = Clock::now() + std::chrono::seconds(1);
    size_t discarded = 0;
    char buf[16384];
    while (discarded < (size_t{4} << 20) && waitFor(fd_, POLLIN, until)) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
        return;
      }
      discarded += n > 0 ? static_cast<size_t>(n) : 0;
    }
  }

  TlsIo io_;
  SSL* ssl_;
  const ConnectionLimits& limits_;
  ConnectionHost& host_;
  IdleLoops* loops_;
  int fd_;
  ConnectionState state_ = ConnectionState::kNew;
  size_t served_ = 0;
  Clock::time_point idle_deadline_{};   // of the wait for the next request
  Clock::time_point request_start_{};   // the first byte of a request a loop read, if any
  bool passed_ = false;   // a loop found the request in in_ is for cpp-httplib
  bool writing_ = false;  // a loop could not write all of out_: a worker goes on from sent_
  bool keep_ = false;     // after the response in out_, the connection may serve another
  bool stay_ = false;     // serve the next request on the worker (do not park)
  size_t sent_ = 0;
  std::string in_;   // received and not yet consumed
  std::string out_;  // the last direct response, kept for its capacity
};

void serveConnection(int fd, SSL_CTX* ctx, const ConnectionLimits& limits, ConnectionHost& host,
                     IdleLoops* loops) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  SSL* ssl = SSL_new(ctx);
  if (ssl != nullptr) {
    // One read(2) per request (a record's header and body, and whatever follows) instead of a
    // read for the 5-byte record header and another for the rest.
    SSL_set_read_ahead(ssl, 1);
  }
  try {
    // From here the connection owns `fd` and `ssl`: destroying it frees and closes them.
    auto connection = std::make_unique<Connection>(fd, ssl, limits, host, loops);
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
      return;
    }
    Connection::start(std::move(connection));
  } catch (const std::exception& e) {
    spdlog::error("connection: {}", e.what());
  } catch (...) {
    spdlog::error("connection: unknown exception");
  }
}

}  // namespace ambient_guard
