// StateStore: the current cluster snapshot, shared by request threads and the writer (the watch,
// or a one-time load from backup files).
//
// Readers take a shared_ptr copy under a short mutex (std::atomic<std::shared_ptr> is not in
// GCC 12's libstdc++); writers build the next immutable Snapshot off to the side and swap it in,
// so readers never see a half-applied update and never wait for a build.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "model/cluster_state.h"
#include "model/state_interner.h"

namespace ambient_guard {

class StateStore {
 public:
  StateStore() : current_(Snapshot::empty()) {}
  explicit StateStore(std::shared_ptr<const Snapshot> initial) : current_(std::move(initial)) {}

  // Returns the current snapshot; never null.
  std::shared_ptr<const Snapshot> current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  // Makes `next` the current snapshot.
  void publish(std::shared_ptr<const Snapshot> next) {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(next);
  }
  // Ready once every initial list has completed (always true for file-fed state).
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  void setReady(bool ready) { ready_.store(ready, std::memory_order_release); }

  // Returns the table that shares the values repeated across this store's objects; the watch
  // compacts every object it decodes through it.
  StateInterner& interner() { return interner_; }

  // Returns "" while the state is fresh, else which kinds are stale and since when (for
  // /readyz). The watch installs the check; file-fed state is never stale.
  std::string staleness() const {
    std::lock_guard<std::mutex> lock(check_mu_);
    return staleness_ ? staleness_() : std::string();
  }
  // Installs the staleness check (empty function: none). `check` must be thread-safe.
  void setStalenessCheck(std::function<std::string()> check) {
    std::lock_guard<std::mutex> lock(check_mu_);
    staleness_ = std::move(check);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_;
  std::atomic<bool> ready_{true};
  mutable std::mutex check_mu_;
  std::function<std::string()> staleness_;
  StateInterner interner_;
};

}  // namespace ambient_guard
