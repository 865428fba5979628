// Prometheus metrics of the webhook (DESIGN.md §8), served at /metrics.
//
// One prometheus::Registry per server, owned here. Other components (the watch) add their own
// families to registry(); render() serializes all of them. Thread-safe: request threads update
// counters concurrently with scrapes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <mutex>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "audit/audit_log.h"
#include "model/objects.h"

namespace ambient_guard {

class Metrics : public AuditCounters {
 public:
  Metrics();

  // The registry the server exposes; add families with prometheus::Build*().Register(registry()).
  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> sharedRegistry() const { return registry_; }

  // ambient_guard_admission_requests_total{webhook,kind,operation,decision}. Label values come
  // from fixed sets (a request can name any kind or operation): anything else counts as
  // "other", so made-up values can neither grow the registry nor break a scrape.
  void countRequest(std::string_view webhook, std::string_view kind, std::string_view operation,
                    std::string_view decision);
  // ambient_guard_admission_duration_seconds{webhook}
  void observeDuration(std::string_view webhook, double seconds);
  // ambient_guard_findings_total{rule,action,enforced}; `rule` must be a rule id.
  void countFinding(std::string_view rule, std::string_view action, bool enforced);
  // ambient_guard_connections_evicted_total: idle connections closed for new ones at the
  // connection limit.
  void countConnectionEvicted() { connections_evicted_.Increment(); }
  // ambient_guard_cert_expiry_timestamp_seconds: notAfter of the serving certificate.
  void setCertExpiry(int64_t unix_seconds);
  // ambient_guard_audit_entries_total: audit log entries written.
  void countAuditEntry() override { audit_entries_.Increment(); }
  // ambient_guard_audit_write_errors_total: audit log entries lost (file not open, write or
  // flush failed), plus one when the file cannot be opened at startup.
  void countAuditWriteError() override { audit_write_errors_.Increment(); }

  // Returns the Prometheus text exposition (format 0.0.4) of every registered family, followed
  // by the process_* metrics of this process, read from /proc/self now.
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& findings_;
  prometheus::Gauge& cert_expiry_;
  prometheus::Counter& audit_entries_;
  prometheus::Counter& audit_write_errors_;
  prometheus::Counter& connections_evicted_;
  prometheus::Histogram& validate_duration_;
  prometheus::Histogram& mutate_duration_;

  // Family::Add builds a label map and a metric object on every call; request threads look
  // their counters up here instead. Keys are the family's label values joined by '\0' (the two
  // families have different label counts, so their keys never collide).
  std::mutex cache_mu_;
  std::unordered_map<std::string, prometheus::Counter*> counters_;
  // requests_ counters by the index of each label value in its fixed set: found without a lock
  // or an allocation once created (under cache_mu_, through counter()).
  static constexpr size_t kRequestCounterSlots = 3 * (kKindCount + 2) * 6 * 9;
  std::unique_ptr<std::atomic<prometheus::Counter*>[]> request_counters_;
  prometheus::Counter& counter(prometheus::Family<prometheus::Counter>& family,
                               const std::string& key,
                               const std::function<prometheus::Labels()>& labels);
};

}  // namespace ambient_guard
