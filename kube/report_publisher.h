// ReportPublisher: a background loop that turns the watched cluster state into report objects
// (PolicyReports) and keeps them in the API server, from one replica only.
//
// One thread. It takes part in leader election (kube/lease.h) every `election_period`; while it
// leads, it rebuilds the desired objects from the current snapshot of the StateStore — debounced
// after the snapshot changes, and at least every `resync` — with the caller's build function
// (the scan never lists the API server), and writes each object whose content changed since it
// last wrote it with server-side apply (PATCH application/apply-patch+yaml, fieldManager,
// force=true). Objects it wrote (or found labelled as its own when it became leader) that are no
// longer desired are deleted. Metrics: ambient_guard_policy_report_scan_seconds (histogram),
// ambient_guard_policy_report_writes_total{result=applied|deleted|error} and
// ambient_guard_policy_report_leader (0/1). Thread-safe: start/stop from one thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kube/kube_config.h"
#include "kube/lease.h"
#include "kube/state_store.h"
#include "model/result.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace ambient_guard {

// One object to keep in the API server.
struct DesiredObject {
  std::string collection;  // "/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports"
  std::string name;
  std::string body;  // the whole object as JSON: the apply patch
};

// A report API the publisher may write to, found by discovery.
struct ReportCollection {
  std::string group_version;  // "wgpolicyk8s.io/v1alpha2": served when GET /apis/<gv> is 200
  // Resources whose objects labelled `label_selector` are ours ("policyreports",
  // "clusterpolicyreports"): listed once on becoming leader, to delete stale ones.
  std::vector<std::string> plurals;
};

struct ReportPublisherOptions {
  std::chrono::milliseconds debounce{2000};   // quiet time after a change before a scan
  std::chrono::milliseconds max_delay{10000}; // scan at the latest this long after a change
  std::chrono::seconds resync{180};           // scan at least this often
  std::chrono::milliseconds election_period{2000};
  std::chrono::milliseconds tick{100};        // how often the loop looks at the store
  int busy_factor = 4;  // after a scan of T, the next waits at least busy_factor × T (≤ 20 % CPU)
  LeaseOptions lease;
  std::string field_manager = "ambient-guard";
  std::string label_selector = "app.kubernetes.io/managed-by=ambient-guard";
  std::vector<ReportCollection> apis;
  std::chrono::seconds request_timeout{30};
};

class ReportPublisher {
 public:
  // Receives the snapshot and the group versions of `apis` the server serves, in their order.
  using BuildFn = std::function<std::vector<DesiredObject>(
      const Snapshot&, const std::vector<std::string>& served_group_versions)>;

  // The store and registry must outlive this object.
  ReportPublisher(KubeConfig config, StateStore& store, prometheus::Registry& registry,
                  BuildFn build, ReportPublisherOptions options);
  ~ReportPublisher();
  ReportPublisher(const ReportPublisher&) = delete;
  ReportPublisher& operator=(const ReportPublisher&) = delete;

  // Starts the thread; errors (and starts nothing) when the TLS material does not parse.
  Result<bool> start();
  // Stops the thread, releasing the Lease when held. Idempotent.
  void stop();
  // Makes the next loop iteration scan (when leading) without waiting for the debounce.
  void requestScan();

  struct Stats {
    bool leader = false;
    uint64_t scans = 0;     // scans completed while leading
    uint64_t applied = 0;   // objects written
    uint64_t deleted = 0;   // stale objects deleted
    uint64_t errors = 0;    // failed writes
    uint64_t unchanged = 0; // objects skipped because their content had not changed
  };
  Stats stats() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambient_guard
