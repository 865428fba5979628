// KubeWatch: keeps a StateStore current from a live API server with list + watch.
//
// One thread per watched kind lists (paginated, `limit`/`continue`) and then watches from the
// list's resourceVersion (`allowWatchBookmarks=true`), resuming after disconnects and relisting
// after 410 Gone, with capped exponential backoff and jitter. A publisher thread coalesces the
// kinds' updates and publishes a new immutable Snapshot at most every `coalesce` interval, so
// request threads never see a half-applied list and never wait for the watch. The store is not
// ready until every kind that exists has completed its first list; kinds whose CRD is absent
// (404) are reported once, retried slowly and do not hold readiness back, and so are optional
// kinds that RBAC forbids (403).
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

// The namespace of Istio's control plane (istiod, istio-cni, ztunnel) when --istio-namespace
// does not say otherwise.
inline constexpr std::string_view kDefaultIstioNamespace = "istio-system";

// A watched collection: kind, the API group/version/plural serving it and, for the Istio
// control-plane kinds, the one namespace (and field selector) it is read from.
struct WatchedResource {
  Kind kind;
  std::string_view group;  // "" for the core group
  std::string_view version;
  std::string_view plural;
  std::string ns = {};                   // "" : cluster-wide
  std::string_view field_selector = {};  // "" : every object ("metadata.name=istio-cni-config")
  // Optional kinds may be forbidden by RBAC (403): they then count as absent, like a CRD that is
  // not installed, instead of holding readiness back.
  bool optional = false;

  // Returns the collection path: cluster-wide ("/apis/security.istio.io/v1/peerauthentications")
  // or in `ns` ("/apis/apps/v1/namespaces/istio-system/deployments").
  std::string path() const;
  // Returns "&fieldSelector=…" (escaped) for list and watch queries, "" without a selector.
  std::string selectorQuery() const;
  // Returns "group/version" or "v1" for the core group.
  std::string apiVersion() const;
};

// Returns the resources KubeWatch lists and watches: the policy kinds of objects.h cluster-wide,
// at a version the CRDs serve (Istio v1, EnvoyFilter v1alpha3, WasmPlugin v1alpha1, Gateway API
// v1), and in `istio_namespace` only the Deployments and DaemonSets (istiod's, istio-cni's and
// ztunnel's image tags: rules/istio_version.h) and the ConfigMap istio-cni-config (its
// AMBIENT_ENABLEMENT_SELECTOR: rules/enablement.h), which are optional (see WatchedResource).
std::vector<WatchedResource> watchedResources(
    std::string_view istio_namespace = kDefaultIstioNamespace);

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
  // Where istiod, istio-cni and ztunnel run (`serve --istio-namespace`): see watchedResources().
  std::string istio_namespace = std::string(kDefaultIstioNamespace);
};

// What one kind's list/watch loop is doing; for diagnostics and tests.
struct WatchStatus {
  bool listed = false;           // the initial list (or a 404) has been published
  bool missing = false;          // the last list answered 404 (CRD not installed)
  bool forbidden = false;        // an optional kind's last list answered 403 (RBAC)
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
