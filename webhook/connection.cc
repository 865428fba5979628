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

#include <spdlog/spdlog.h>

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
    char buf[16384];
    for (;;) {
      ERR_clear_error();
      const int n = SSL_read(ssl_, buf, static_cast<int>(std::min(sizeof(buf), max)));
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        return ReadResult::kData;
      }
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (!waitFor(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
          return ReadResult::kTimeout;
        }
        continue;
      }
      broken_ = err != SSL_ERROR_ZERO_RETURN;
      return ReadResult::kClosed;
    }
  }

  bool writeAll(const char* data, size_t size, Clock::time_point deadline) {
    while (size > 0) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(size, 1 << 20)));
      if (n > 0) {
        data += n;
        size -= static_cast<size_t>(n);
        continue;
      }
      const int err = SSL_get_error(ssl_, n);
      if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) ||
          !waitFor(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        broken_ = true;
        return false;
      }
    }
    return true;
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

class Connection {
 public:
  Connection(int fd, SSL* ssl, const ConnectionLimits& limits, ConnectionHost& host)
      : io_(fd, ssl), ssl_(ssl), limits_(limits), host_(host), fd_(fd) {}

  void run() {
    host_.connectionState(fd_, ConnectionState::kNew);
    if (!io_.handshake(Clock::now() + limits_.handshake_timeout)) {
      return;
    }
    for (size_t served = 0; served < limits_.keep_alive_max_requests; ++served) {
      if (!serveOne(served == 0)) {
        break;
      }
    }
    io_.close();
  }

 private:
  // Serves one request; returns true to keep the connection for another.
  bool serveOne(bool first) {
    const auto idle_deadline =
        Clock::now() + (first ? limits_.first_request_timeout : limits_.keep_alive_timeout);
    // The first byte of a request may already be here (pipelining, or read with the last body).
    while (in_.empty()) {
      // SSL_has_pending, not SSL_pending: with read-ahead the next request may sit in OpenSSL's
      // buffer as undecrypted records that poll(2) no longer sees.
      if (!SSL_has_pending(ssl_) && !waitFor(fd_, POLLIN, idle_deadline)) {
        return false;  // idle too long
      }
      setState(ConnectionState::kActive);
      if (io_.readSome(in_, limits_.http.max_head_bytes + 1, idle_deadline) !=
          TlsIo::ReadResult::kData) {
        return false;
      }
      // Empty lines before a request line are ignored (RFC 9112 §2.2).
      const size_t start = in_.find_first_not_of("\r\n");
      in_.erase(0, start == std::string::npos ? in_.size() : start);
    }
    setState(ConnectionState::kActive);
    const auto deadline = Clock::now() + limits_.request_timeout;

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
    const Answered answered = host_.answer(head, body, close, ssl_, out_);
    if (answered != Answered::kPassed) {
      in_.erase(0, length);
      const bool written =
          io_.writeAll(out_.data(), out_.size(), Clock::now() + limits_.write_timeout);
      if (out_.capacity() > kKeepCapacity) {
        std::string().swap(out_);
      }
      setState(ConnectionState::kIdle);
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
  int fd_;
  ConnectionState state_ = ConnectionState::kNew;
  std::string in_;   // received and not yet consumed
  std::string out_;  // the last direct response, kept for its capacity
};

}  // namespace

void serveConnection(int fd, SSL_CTX* ctx, const ConnectionLimits& limits, ConnectionHost& host) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  SSL* ssl = SSL_new(ctx);
  if (ssl != nullptr) {
    // One read(2) per request (a record's header and body, and whatever follows) instead of a
    // read for the 5-byte record header and another for the rest.
    SSL_set_read_ahead(ssl, 1);
  }
  if (ssl != nullptr && SSL_set_fd(ssl, fd) == 1) {
    try {
      Connection(fd, ssl, limits, host).run();
    } catch (const std::exception& e) {
      spdlog::error("connection: {}", e.what());
    } catch (...) {
      spdlog::error("connection: unknown exception");
    }
  }
  SSL_free(ssl);
  ERR_clear_error();
  host.connectionClosed(fd);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

}  // namespace ambient_guard
