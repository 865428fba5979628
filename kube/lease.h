// LeaderElector: leader election with a coordination.k8s.io/v1 Lease, the way client-go's
// leaderelection package does it, so that one replica of several does a singleton job (writing
// PolicyReports).
//
// Each round GETs the Lease and either creates it, renews it (we hold it), takes it over (its
// holder has not renewed it for leaseDurationSeconds of our own clock, or released it), or
// leaves it. Updates carry the resourceVersion read, so two candidates racing for an expired
// Lease cannot both win (409 Conflict). Expiry is judged by when this process last saw the Lease
// change, not by the holder's renewTime, so clock skew between nodes does not matter.
// Not thread-safe: one thread calls tryAcquireOrRenew/release; isLeader may be read anywhere.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "kube/kube_client.h"
#include "kube/kube_config.h"

namespace ambient_guard {

struct LeaseOptions {
  std::string lease_namespace = "ambient-guard";
  std::string name = "ambient-guard-policy-reports";
  std::string identity;  // unique per replica (pod name); default: hostname_pid
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds request_timeout{10};
};

class LeaderElector {
 public:
  using Clock = std::chrono::steady_clock;

  // `config` must outlive the elector.
  LeaderElector(KubeConfig& config, std::shared_ptr<const ApiCredentials> creds,
                LeaseOptions options);
  ~LeaderElector();

  // Runs one election round at `now`; returns true when this replica holds the Lease after it.
  // A failed request keeps leadership only while our last renewal is younger than the lease
  // duration (a leader that cannot renew steps down before anyone may take over).
  bool tryAcquireOrRenew(Clock::time_point now = Clock::now());
  // Gives the Lease up (holderIdentity cleared) when this replica holds it, so a standby takes
  // over at its next round instead of after the lease duration.
  void release();
  bool isLeader() const { return leader_.load(std::memory_order_acquire); }
  const std::string& identity() const { return options_.identity; }
  // Returns the last error ("" after a successful round), for logs.
  const std::string& lastError() const { return last_error_; }

 private:
  std::string leasePath(bool with_name) const;
  bool update(const std::string& body);

  LeaseOptions options_;
  std::unique_ptr<ApiClient> client_;
  std::atomic<bool> leader_{false};
  // What we last saw of the Lease, and when (our clock).
  std::string observed_holder_;
  std::string observed_renew_;
  std::string observed_rv_;
  Clock::time_point observed_at_{};
  Clock::time_point renewed_at_{};
  int transitions_ = 0;
  std::string last_error_;
};

// Returns `now` in the Kubernetes MicroTime format ("2026-12-07T04:50:00.123456Z").
std::string microTime(std::chrono::system_clock::time_point now);

}  // namespace ambient_guard
