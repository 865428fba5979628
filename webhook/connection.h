// One accepted TLS connection of the webhook: the TLS handshake on a worker thread, then each
// request read under hard limits and deadlines (http_framing.h), answered by the host directly
// (the admission paths) or handed to cpp-httplib's request processing, then keep-alive.
//
// Between requests a connection holds no worker: it is parked in one of a few epoll loop
// threads (IdleLoops, idle_loops.h), nginx-style. A loop reads what has arrived without waiting
// and answers a complete request the host answers directly (the apiserver's reviews) itself;
// anything else (a request still arriving, one for cpp-httplib, a response the socket cannot
// take now, a refusal) goes back to a worker, which carries on with blocking reads and writes
// under the deadlines below. A loop never waits on one socket, so a slow or hostile client
// stalls only the worker it was handed to.
//
// This replaces cpp-httplib 0.11's own connection loop, which gives every read its own timeout
// (so a client sending a byte every few seconds holds a worker for ever), lets a handshake take
// as long as each step keeps within the read timeout, and polls idle keep-alive connections
// every 10 ms. Here every wait of a worker is one poll(2) on the socket (no select: descriptors
// above FD_SETSIZE are fine) bounded by a deadline for the whole phase:
// - handshake: `handshake_timeout` from accept;
// - a new connection's first request must start within `first_request_timeout`;
// - a kept-alive connection may idle for `keep_alive_timeout` between requests;
// - a request (head and body) must arrive within `request_timeout` of its first byte, else 408;
// - each response write must finish within `write_timeout`.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "webhook/http_framing.h"

namespace httplib {
class Stream;
}  // namespace httplib

namespace ambient_guard {

struct ConnectionLimits {
  HttpLimits http;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds first_request_timeout{10000};
  std::chrono::milliseconds keep_alive_timeout{120000};
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  size_t keep_alive_max_requests = 1u << 30;
};

// Where a connection is in its life; the server closes kNew and kIdle connections first when
// it runs out of workers, and only those when it drains.
enum class ConnectionState { kNew, kIdle, kActive };

// What ConnectionHost::answer did with a request.
enum class Answered { kPassed, kKeepAlive, kClose };

// What the connection needs from the server. Called on the thread serving the connection: a
// worker, or a loop thread for directly answered requests; so implementations are thread-safe.
class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  // The connection moved to `state` (also called with kNew first, before the handshake).
  virtual void connectionState(int fd, ConnectionState state) = 0;
  // Returns true when the server is shutting down: the request being served is the last.
  virtual bool draining() const = 0;
  // Answers a complete request without cpp-httplib when it can: replaces `response` with the
  // bytes to send and returns whether the connection may serve another request. kPassed hands
  // the request to processRequest instead (nothing was counted or sent). `body` is the decoded
  // body; `draining` makes this the connection's last request.
  virtual Answered answer(const RequestHead& head, std::string_view body, bool draining, SSL* ssl,
                          std::string& response) {
    return Answered::kPassed;
  }
  // Processes one normalized request with cpp-httplib (Server::process_request).
  virtual bool processRequest(httplib::Stream& stream, bool close_connection,
                              bool& connection_closed, SSL* ssl) = 0;
  // The connection is about to close `fd` (after this call the descriptor may be reused).
  virtual void connectionClosed(int fd) = 0;
  // A request refused before cpp-httplib saw it (`path` may be empty when unknown).
  virtual void refused(std::string_view path, int status) = 0;
  // Runs `job` on a worker thread: a parked connection that needs blocking service again.
  virtual void resume(std::function<void()> job) = 0;
};

class IdleLoops;

// Serves the connection on `fd` (accepted, blocking or not): the handshake and requests on this
// thread; between requests it is parked in `loops` (nullptr: it waits on this thread). Frees
// the SSL object and closes `fd` when the connection ends. Never throws.
void serveConnection(int fd, SSL_CTX* ctx, const ConnectionLimits& limits, ConnectionHost& host,
                     IdleLoops* loops = nullptr);

}  // namespace ambient_guard
