// Where connections wait between requests: a few epoll loop threads instead of a blocked worker
// each (connection.h describes the model). A loop owns the connections parked in it: when one's
// socket is readable it lets the connection serve what has arrived without waiting, then parks
// it again, closes it, or hands it to a worker (ConnectionHost::resume); when its idle deadline
// passes it closes it. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

#include "webhook/connection.h"

namespace ambient_guard {

// A connection as the loops see it (connection.cc implements it).
class ParkedConnection {
 public:
  // What the loop does with the connection after serveReady.
  enum class Next { kPark, kWorker, kClose };

  virtual ~ParkedConnection() = default;
  // On the loop thread, when the socket is readable: serves what has arrived. Never blocks.
  virtual Next serveReady() = 0;
  // On a worker: carries on with blocking service, owning `self` (this). Never throws.
  virtual void resume(std::unique_ptr<ParkedConnection> self) = 0;
  // Says goodbye (TLS close_notify, never waiting); destroying the object closes the socket.
  virtual void end() = 0;
  virtual int fd() const = 0;
  // Whether it has served no request yet: it waits for `first_request_timeout`.
  virtual bool neverServed() const = 0;
  virtual std::chrono::steady_clock::time_point idleDeadline() const = 0;

  // The bookkeeping of the loop that holds it, guarded by that loop's mutex.
  std::list<std::unique_ptr<ParkedConnection>>::iterator where_;
  int list_ = 0;
  bool in_epoll_ = false;
};

class IdleLoops {
 public:
  // Starts `threads` loop threads (at least one); connections they hand back run on workers
  // through `host`.
  IdleLoops(size_t threads, ConnectionHost& host);
  ~IdleLoops();
  IdleLoops(const IdleLoops&) = delete;
  IdleLoops& operator=(const IdleLoops&) = delete;

  // Takes `c`, which waits for its next request, until its socket is readable or its idle
  // deadline passes. A connection always goes to the loop of its descriptor.
  void park(std::unique_ptr<ParkedConnection> c);
  // Count connections from serveConnection to their close.
  void opened();
  void closed();
  // Returns once no connection is open.
  void waitClosed();
  // Closes the connections still parked and joins the loop threads. Idempotent.
  void stop();

 private:
  class Loop;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t open_ = 0;
};

}  // namespace ambient_guard
