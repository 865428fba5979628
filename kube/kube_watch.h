// KubeWatch: keeps a StateStore current from a live API server with list + watch.
//
// One thread per watched kind lists (paginated, `limit`/`continue`) and then watches from the
// list's resourceVersion (`allowWatchBookmarks=true`), resuming after disconnects and relisting
// after 410 Gone, with capped exponential backoff and jitter. A publisher thread coalesces the
// kinds' updates and publishes a new immutable Snapshot at most every `coalesce` interval, so
// request threads never see a half-applied list and never wait for the watch. The store is not
// ready until every kind that exists has completed its first list; kinds whose CRD is absent
// (404) are reported once, retried slowly and do not hold readiness back.
// Protocol: ../shared/spec/admission-contract.md §6. Thread-safe: start/stop from one thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kube/kube_config.h"
#include "kube/state_store.h"
#include "model/objects.h"
#include "model/result.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace ambient_guard {

// A watched collection: kind and the API group/version/plural serving it.
struct WatchedResource {
  Kind kind;
  std::string_view group;  // "" for the core group
  std::string_view version;
  std::string_view plural;

  // Returns the cluster-wide collection path ("/apis/security.istio.io/v1/peerauthentications").
  std::string path() const;
  // Returns "group/version" or "v1" for the core group.
  std::string apiVersion() const;
};

// Returns the resources KubeWatch lists and watches: every kind of objects.h, at a version the
// CRDs serve (Istio v1, EnvoyFilter v1alpha3, WasmPlugin v1alpha1, Gateway API v1).
const std::vector<WatchedResource>& watchedResources();

struct KubeWatchOptions {
  int page_size = 500;  // list `limit` (client-go's pager default)
  std::chrono::milliseconds coalesce{5};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds missing_retry{60000};  // re-list of kinds that answered 404
  int watch_timeout_min_s = 300;                   // watch `timeoutSeconds`, random in [min, max]
  int watch_timeout_max_s = 600;
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds list_read_timeout{60};
  // Keep only the labels rules read on non-Namespace objects (istio.io domain keys);
  // Namespaces keep every label (allowedRoutes selectors may name any of them).
  bool compact_labels = true;
  // A kind with no successful list, event or bookmark (or cleanly ended watch) for longer is
  // stale: the store's staleness() names it, so /readyz answers 503. 0: never stale. Kinds whose
  // CRD is not installed are never stale.
  std::chrono::milliseconds max_staleness{0};
};

// What one kind's list/watch loop is doing; for diagnostics and tests.
struct WatchStatus {
  bool listed = false;           // the initial list (or a 404) has been published
  bool missing = false;          // the last list answered 404 (CRD not installed)
  std::string resource_version;  // last resourceVersion seen (list, event or bookmark)
  uint64_t lists = 0;            // completed lists
  uint64_t restarts = 0;         // watch restarts after errors (410, disconnect, HTTP errors)
  std::string last_error;
};

// Sets glibc's malloc for a long-running process that holds a watched cluster state, unless the
// environment (GLIBC_TUNABLES, MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_) already decides: at
// most 2 arenas (glibc allows 8 per core, and each list/watch thread would keep one, mostly
// free) and a fixed 256 KiB mmap threshold (list pages and other large transient buffers are
// unmapped when freed instead of raising glibc's dynamic threshold and staying in an arena).
// Call once, before the process starts its threads. Measured by bench/watch_bench.
void tuneMallocForWatch();

class KubeWatch {
 public:
  // The store and registry must outlive this object. Registers the metrics
  // ambient_guard_state_objects{kind}, ambient_guard_watch_restarts_total{kind},
  // ambient_guard_watch_last_event_age_seconds{kind},
  // ambient_guard_watch_last_event_timestamp_seconds{kind} and ambient_guard_state_stale{kind}
  // on `registry`.
  KubeWatch(KubeConfig config, StateStore& store, prometheus::Registry& registry,
            KubeWatchOptions options = {});
  ~KubeWatch();
  KubeWatch(const KubeWatch&) = delete;
  KubeWatch& operator=(const KubeWatch&) = delete;

  // Marks the store not ready and starts the threads; returns an error (and starts nothing)
  // when the config's CA, client certificate or key do not parse.
  Result<bool> start();
  // Stops every thread promptly (open requests are shut down) and joins them. Idempotent.
  void stop();

  // Returns true once every existing kind has completed its initial list (same as the store).
  bool ready() const;
  // Returns the status of one kind's loop.
  WatchStatus status(Kind kind) const;
  // Returns "" while every kind is fresh (see KubeWatchOptions::max_staleness), else the stale
  // kinds and their ages ("Service (no list, event or bookmark for 312 s)").
  std::string staleness() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambient_guard
