#include "webhook/idle_loops.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

namespace ambient_guard {

using Clock = std::chrono::steady_clock;

// One epoll loop thread and the connections parked there, in two lists (never served: the
// first-request timeout; kept alive: the keep-alive timeout) each in the order they were
// parked, so the front of each expires first.
class IdleLoops::Loop {
 public:
  explicit Loop(ConnectionHost& host)
      : host_(host),
        epfd_(::epoll_create1(EPOLL_CLOEXEC)),
        wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_, &ev);
    thread_ = std::thread([this] { run(); });
  }
  ~Loop() {
    stop();
    ::close(wake_);
    ::close(epfd_);
  }

  void park(std::unique_ptr<ParkedConnection> c) {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      lock.unlock();
      c->end();
      return;  // closed
    }
    ParkedConnection* raw = c.get();
    const Clock::time_point deadline = raw->idleDeadline();
    raw->list_ = raw->neverServed() ? 0 : 1;
    auto& list = parked_[raw->list_];
    list.push_back(std::move(c));
    raw->where_ = std::prev(list.end());
    // Level-triggered: a connection the loop parks again after serving it stays in the epoll
    // set, so its next request costs no epoll_ctl. One handed to a worker left it (serve()).
    if (!raw->in_epoll_) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.ptr = raw;
      if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, raw->fd(), &ev) != 0) {
        std::unique_ptr<ParkedConnection> failed = std::move(*raw->where_);
        list.erase(raw->where_);
        lock.unlock();
        spdlog::warn("connection: epoll_ctl failed: {}", std::strerror(errno));
        failed->end();
        return;
      }
    }
    raw->in_epoll_ = true;
    if (deadline < wake_at_) {  // the loop sleeps past this deadline
      wake_at_ = deadline;
      lock.unlock();
      wake();
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  void wake() {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_, &one, sizeof(one));
  }

  void run() {
    epoll_event events[64];
    std::vector<std::unique_ptr<ParkedConnection>> expired;
    for (;;) {
      int timeout = -1;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) {
          break;
        }
        wake_at_ = Clock::time_point::max();
        for (const auto& list : parked_) {
          if (!list.empty()) {
            wake_at_ = std::min(wake_at_, list.front()->idleDeadline());
          }
        }
        if (wake_at_ != Clock::time_point::max()) {
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
              wake_at_ - Clock::now());
          timeout = static_cast<int>(std::clamp<int64_t>(left.count() + 1, 0, 1 << 30));
        }
      }
      const int n = ::epoll_wait(epfd_, events, 64, timeout);
      {
        std::lock_guard<std::mutex> lock(mu_);
        wake_at_ = Clock::time_point::min();  // awake: parking needs no wake-up
      }
      for (int i = 0; i < n; ++i) {
        if (events[i].data.ptr == nullptr) {
          uint64_t count = 0;
          [[maybe_unused]] const ssize_t r = ::read(wake_, &count, sizeof(count));
          continue;
        }
        serve(take(static_cast<ParkedConnection*>(events[i].data.ptr)));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        const auto now = Clock::now();
        for (auto& list : parked_) {
          while (!list.empty() && list.front()->idleDeadline() <= now) {
            expired.push_back(std::move(list.front()));
            list.pop_front();
          }
        }
      }
      for (auto& c : expired) {
        c->end();
      }
      expired.clear();  // closes them
    }
    std::list<std::unique_ptr<ParkedConnection>> left;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& list : parked_) {
        left.splice(left.end(), list);
      }
    }
    for (auto& c : left) {
      c->end();
    }
  }

  // Removes a parked connection whose socket is ready from its list.
  std::unique_ptr<ParkedConnection> take(ParkedConnection* c) {
    std::lock_guard<std::mutex> lock(mu_);
    std::unique_ptr<ParkedConnection> owned = std::move(*c->where_);
    parked_[c->list_].erase(c->where_);
    return owned;
  }

  void serve(std::unique_ptr<ParkedConnection> c) {
    using Next = ParkedConnection::Next;
    Next next = Next::kClose;
    try {
      next = c->serveReady();
    } catch (const std::exception& e) {
      spdlog::error("connection: {}", e.what());
    } catch (...) {
      spdlog::error("connection: unknown exception");
    }
    switch (next) {
      case Next::kPark:
        park(std::move(c));
        return;
      case Next::kWorker: {
        // Out of the epoll set while a worker has it: no event may name it until it is parked
        // again (then it is added anew).
        ::epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd(), nullptr);
        c->in_epoll_ = false;
        // std::function must be copyable: the job owns the connection through a raw pointer.
        ParkedConnection* raw = c.release();
        host_.resume([raw] { raw->resume(std::unique_ptr<ParkedConnection>(raw)); });
        return;
      }
      case Next::kClose:
        c->end();
        return;
    }
  }

  ConnectionHost& host_;
  const int epfd_;
  const int wake_;  // eventfd: a park with an earlier deadline, or stop()
  std::thread thread_;
  std::mutex mu_;
  std::list<std::unique_ptr<ParkedConnection>> parked_[2];
  Clock::time_point wake_at_ = Clock::time_point::min();  // when epoll_wait returns by itself
  bool stopping_ = false;
};

IdleLoops::IdleLoops(size_t threads, ConnectionHost& host) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    loops_.push_back(std::make_unique<Loop>(host));
  }
}

IdleLoops::~IdleLoops() { stop(); }

void IdleLoops::park(std::unique_ptr<ParkedConnection> c) {
  Loop& loop = *loops_[static_cast<size_t>(c->fd()) % loops_.size()];
  loop.park(std::move(c));
}

void IdleLoops::opened() {
  std::lock_guard<std::mutex> lock(mu_);
  ++open_;
}

void IdleLoops::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--open_ == 0) {
    cv_.notify_all();
  }
}

void IdleLoops::waitClosed() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return open_ == 0; });
}

void IdleLoops::stop() {
  for (auto& loop : loops_) {
    loop->stop();
  }
}

}  // namespace ambient_guard
