#include "webhook/metrics.h"

#include <iterator>
#include <sstream>

#include <prometheus/text_serializer.h>

#include "model/objects.h"
#include "webhook/process_metrics.h"

namespace ambient_guard {
namespace {

// 100µs … 10s: admission decisions take well under a millisecond; the apiserver gives up at the
// webhook's timeoutSeconds (≤ 30 s).
const prometheus::Histogram::BucketBoundaries kDurationBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,     2.5,   5,     10};

constexpr std::string_view kWebhooks[] = {"validate", "mutate"};
constexpr std::string_view kOperations[] = {"", "CREATE", "UPDATE", "DELETE", "CONNECT"};
constexpr std::string_view kDecisions[] = {"allowed", "warned", "would-deny", "denied",
                                           "exempted", "patched", "invalid", "error"};
constexpr size_t kKindSlots = kKindCount + 2;  // "", the kinds, "other"

// Returns the index of `value` in `allowed`, or its size for "other".
template <size_t N>
size_t indexOf(std::string_view value, const std::string_view (&allowed)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (value == allowed[i]) {
      return i;
    }
  }
  return N;
}

template <size_t N>
std::string_view labelAt(size_t index, const std::string_view (&allowed)[N]) {
  return index < N ? allowed[index] : std::string_view("other");
}

// Returns 0 for "" (no kind given), 1 + the Kind for a kind of objects.h, else the "other" slot.
size_t kindIndex(std::string_view kind) {
  if (kind.empty()) {
    return 0;
  }
  for (int k = 0; k < kKindCount; ++k) {
    if (kind == kindName(static_cast<Kind>(k))) {
      return static_cast<size_t>(k) + 1;
    }
  }
  return kKindSlots - 1;
}

std::string_view kindLabel(size_t index) {
  if (index == 0) {
    return "";
  }
  return index < kKindSlots - 1 ? kindName(static_cast<Kind>(index - 1)) : "other";
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("ambient_guard_admission_requests_total")
                    .Help("Admission requests answered, by webhook path, kind, operation and "
                          "decision.")
                    .Register(*registry_)),
      duration_(prometheus::BuildHistogram()
                    .Name("ambient_guard_admission_duration_seconds")
                    .Help("Time to answer an admission request, from the body read to the "
                          "response built.")
                    .Register(*registry_)),
      findings_(prometheus::BuildCounter()
                    .Name("ambient_guard_findings_total")
                    .Help("Rule findings in admission requests, by rule, effective action and "
                          "whether they changed the response.")
                    .Register(*registry_)),
      cert_expiry_(prometheus::BuildGauge()
                       .Name("ambient_guard_cert_expiry_timestamp_seconds")
                       .Help("notAfter of the serving certificate, as Unix seconds.")
                       .Register(*registry_)
                       .Add({})),
      audit_entries_(prometheus::BuildCounter()
                         .Name("ambient_guard_audit_entries_total")
                         .Help("Audit log entries written (one per admission decision).")
                         .Register(*registry_)
                         .Add({})),
      audit_write_errors_(prometheus::BuildCounter()
                              .Name("ambient_guard_audit_write_errors_total")
                              .Help("Audit log entries lost: the file could not be opened, "
                                    "written or flushed. Admission is answered regardless.")
                              .Register(*registry_)
                              .Add({})),
      connections_evicted_(prometheus::BuildCounter()
                               .Name("ambient_guard_connections_evicted_total")
                               .Help("Idle connections closed so that new ones are served, "
                                     "when --max-connections were open.")
                               .Register(*registry_)
                               .Add({})),
      validate_duration_(duration_.Add({{"webhook", "validate"}}, kDurationBuckets)),
      mutate_duration_(duration_.Add({{"webhook", "mutate"}}, kDurationBuckets)),
      request_counters_(new std::atomic<prometheus::Counter*>[kRequestCounterSlots]()) {}

prometheus::Counter& Metrics::counter(prometheus::Family<prometheus::Counter>& family,
                                      const std::string& key,
                                      const std::function<prometheus::Labels()>& labels) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = counters_.find(key);
  if (it != counters_.end()) {
    return *it->second;
  }
  prometheus::Counter& c = family.Add(labels());
  counters_.emplace(key, &c);
  return c;
}

void Metrics::countRequest(std::string_view webhook_in, std::string_view kind_in,
                           std::string_view operation_in, std::string_view decision_in) {
  static_assert(kRequestCounterSlots == (std::size(kWebhooks) + 1) * kKindSlots *
                                            (std::size(kOperations) + 1) *
                                            (std::size(kDecisions) + 1));
  const size_t w = indexOf(webhook_in, kWebhooks);
  const size_t k = kindIndex(kind_in);
  const size_t o = indexOf(operation_in, kOperations);
  const size_t d = indexOf(decision_in, kDecisions);
  std::atomic<prometheus::Counter*>& slot =
      request_counters_[((w * kKindSlots + k) * (std::size(kOperations) + 1) + o) *
                            (std::size(kDecisions) + 1) +
                        d];
  prometheus::Counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    const std::string_view webhook = labelAt(w, kWebhooks);
    const std::string_view kind = kindLabel(k);
    const std::string_view operation = labelAt(o, kOperations);
    const std::string_view decision = labelAt(d, kDecisions);
    std::string key;
    key.append(webhook).append(1, '\0').append(kind).append(1, '\0');
    key.append(operation).append(1, '\0').append(decision);
    c = &counter(requests_, key, [&] {
      return prometheus::Labels{{"webhook", std::string(webhook)},
                                {"kind", std::string(kind)},
                                {"operation", std::string(operation)},
                                {"decision", std::string(decision)}};
    });
    slot.store(c, std::memory_order_release);
  }
  c->Increment();
}

void Metrics::observeDuration(std::string_view webhook, double seconds) {
  if (webhook == "validate") {
    validate_duration_.Observe(seconds);
  } else if (webhook == "mutate") {
    mutate_duration_.Observe(seconds);
  } else {
    duration_.Add({{"webhook", std::string(webhook)}}, kDurationBuckets).Observe(seconds);
  }
}

void Metrics::countFinding(std::string_view rule, std::string_view action, bool enforced) {
  std::string key;
  key.append(rule).append(1, '\0').append(action).append(enforced ? "\0t" : "\0f", 2);
  counter(findings_, key, [&] {
    return prometheus::Labels{{"rule", std::string(rule)},
                              {"action", std::string(action)},
                              {"enforced", enforced ? "true" : "false"}};
  }).Increment();
}

void Metrics::setCertExpiry(int64_t unix_seconds) {
  cert_expiry_.Set(static_cast<double>(unix_seconds));
}

std::string Metrics::render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& f : processMetrics()) {
    families.push_back(std::move(f));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace ambient_guard
