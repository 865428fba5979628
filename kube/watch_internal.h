// Internals of KubeWatch shared by its two halves: the per-kind list/watch loops
// (kube/watch_worker.cc) and the publisher that folds their updates into snapshots
// (kube/kube_watch.cc). Not part of the kube/ interface: include only from those two files.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kube/kube_client.h"
#include "kube/kube_watch.h"
#include "kube/watch_event.h"

namespace ambient_guard {
namespace watch_internal {

// Keeps only the labels rules read (all of them on Namespaces).
void compactLabels(AnyObject& obj);

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), rng_(std::random_device{}()) {}
  // Returns the next delay: doubling from `initial` up to `max`, with "equal jitter" (a random
  // point in the upper half) so that replicas and kinds do not reconnect in lockstep.
  std::chrono::milliseconds next() {
    auto base = initial_ * (int64_t{1} << std::min(attempt_, 20));
    base = std::min<std::chrono::milliseconds>(base, max_);
    ++attempt_;
    std::uniform_int_distribution<int64_t> half(base.count() / 2, base.count());
    return std::chrono::milliseconds(half(rng_));
  }
  void reset() { attempt_ = 0; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

// One change for the publisher, in the order the kind's loop produced it.
struct Update {
  enum class Type { kReplace, kPut, kRemove, kMissing };
  Type type;
  Kind kind;
  std::vector<AnyObject> objects;   // kReplace
  std::optional<AnyObject> object;  // kPut
  ObjectKey key;                    // kRemove
};

// kForbidden: 403 on an optional kind (WatchedResource::optional); other kinds' 403 is kError.
enum class Outcome { kOk, kEnded, kGone, kMissing, kForbidden, kUnauthorized, kError, kStopped };

}  // namespace watch_internal

class KubeWatch::Impl {
 public:
  using Update = watch_internal::Update;
  using Outcome = watch_internal::Outcome;
  using Backoff = watch_internal::Backoff;

 public:
  Impl(KubeConfig config, StateStore& store, prometheus::Registry& registry,
       KubeWatchOptions options);

  Result<bool> start();
  void stop();
  bool ready() const { return ready_.load(); }
  WatchStatus status(Kind kind) const;
  std::string staleness() const;

 private:
  class Worker;
  friend class Worker;

  void push(Update update);
  bool stopping() const { return stopping_.load(); }
  // Waits for `d` or until stop; returns false when stopping.
  bool sleepFor(std::chrono::milliseconds d);
  void publisherLoop();
  // Applies a batch of updates and publishes the snapshot (once ready).
  void publish(std::deque<Update>& batch);
  void apply(std::deque<Update>& batch);
  void refreshGauges(bool counts);
  void touch(Kind kind);
  // Returns the seconds since kind `k` was last fresh when that is past max_staleness, else -1.
  double staleSeconds(int k, int64_t now_ns) const;

  KubeConfig config_;
  StateStore& store_;
  KubeWatchOptions options_;
  const std::vector<WatchedResource> resources_;  // one Worker each, in this order
  std::shared_ptr<const ApiCredentials> creds_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};
  bool started_ = false;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;

  // One list page's JSON document in memory at a time, parsed by the one parser (whose buffers
  // are sized for the largest page): per-thread parsers would each keep buffers that size.
  std::mutex decode_mu_;
  JsonParser page_parser_;  // guarded by decode_mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Update> queue_;
  std::shared_ptr<const Snapshot> working_ = Snapshot::empty();  // publisher thread only
  std::array<bool, kKindCount> initial_done_{};                  // publisher thread only

  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread publisher_;

  std::array<std::atomic<int64_t>, kKindCount> last_event_steady_ns_{};
  std::array<std::atomic<int64_t>, kKindCount> last_event_unix_s_{};
  prometheus::Family<prometheus::Gauge>& objects_family_;
  prometheus::Family<prometheus::Counter>& restarts_family_;
  prometheus::Family<prometheus::Gauge>& age_family_;
  prometheus::Family<prometheus::Gauge>& timestamp_family_;
  std::array<prometheus::Gauge*, kKindCount> objects_gauge_{};
  std::array<prometheus::Counter*, kKindCount> restarts_counter_{};
  std::array<prometheus::Gauge*, kKindCount> age_gauge_{};
  std::array<prometheus::Gauge*, kKindCount> timestamp_gauge_{};
  prometheus::Family<prometheus::Gauge>& stale_family_;
  std::array<prometheus::Gauge*, kKindCount> stale_gauge_{};
  std::array<bool, kKindCount> reported_stale_{};  // publisher thread only
};

// The list/watch loop of one kind, on its own thread with its own connection.
class KubeWatch::Impl::Worker {
 public:
  Worker(Impl& owner, const WatchedResource& resource)
      : owner_(owner),
        res_(resource),
        client_(owner.config_, owner.creds_, owner.options_.connect_timeout),
        backoff_(owner.options_.backoff_initial, owner.options_.backoff_max),
        rng_(std::random_device{}()) {}

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Returns true while the kind is not served (404) or, optional, forbidden (403): never stale.
  bool absent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_.missing || status_.forbidden;
  }
  // Interrupts the request in flight until the thread has noticed the stop, then joins it.
  void stopAndJoin() {
    std::unique_lock<std::mutex> lock(owner_.stop_mu_);
    while (!done_) {
      lock.unlock();
      client_.interrupt();
      lock.lock();
      owner_.stop_cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return done_; });
    }
    lock.unlock();
    thread_.join();
  }
  WatchStatus status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  void run();
  void loop();
  Outcome list();
  Outcome watch();
  bool handleEvent(std::string_view line, Outcome& verdict, std::string& error);
  // Returns the decoded object, or nullopt (skipped, with a warning) for another kind or a
  // malformed object; `deep`: the object may nest deeper than kMaxObjectDepth (check it).
  std::optional<AnyObject> decode(const JsonValue& item, bool deep);
  void setError(std::string error) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.last_error = std::move(error);
  }
  void setResourceVersion(std::string rv) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.resource_version = std::move(rv);
  }
  std::string resourceVersion() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_.resource_version;
  }
  void countRestart(const std::string& why);

  Impl& owner_;
  const WatchedResource& res_;
  ApiClient client_;
  Backoff backoff_;
  std::mt19937 rng_;
  std::thread thread_;
  bool done_ = false;  // guarded by owner_.stop_mu_
  mutable std::mutex mu_;
  WatchStatus status_;
  bool published_missing_ = false;
  // This kind's events; trimmed after a large one (a hostile stream may send up to 64 MiB).
  JsonParser event_parser_;
};

}  // namespace ambient_guard
