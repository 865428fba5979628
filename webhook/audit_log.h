// The audit log of `ambient-guard serve` (DESIGN.md §8): one JSON object per line for every
// admission decision, validate and mutate, written through a dedicated spdlog logger (pattern
// "%v") to a size-rotated file or to stdout, and flushed after every entry so a crash loses at
// most the entry being written. `ambient-guard audit` reads these files.
//
// Writing never blocks or fails admission: open, write and flush errors are caught, counted
// (ambient_guard_audit_write_errors_total) and logged at most once per reopen interval; a file
// that cannot be opened is retried at most once per interval, on a later entry. Thread-safe: one
// AuditLog serves every request thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "webhook/admission.h"
#include "webhook/config.h"
#include "webhook/enforcement.h"
#include "webhook/metrics.h"

namespace spdlog {
class logger;
}

namespace ambient_guard {

// What one audit entry says about one admission request.
struct AuditRecord {
  std::chrono::system_clock::time_point time;  // when the request reached the pipeline
  std::string_view webhook;                    // "validate" | "mutate"
  const AdmissionRequest* request = nullptr;   // required
  Mode mode = Mode::kEnforce;
  bool allowed = true;
  bool warned = false;  // the response carried warnings
  bool exempted = false;
  std::string exemption;  // why, when exempted
  const std::vector<EnforcedFinding>* findings = nullptr;  // null: none
  std::optional<size_t> patch_ops;  // mutate only: JSON Patch operations in the response
  int64_t latency_us = 0;
};

// Returns the entry as one line of JSON (no newline), keys in this order:
// time, uid, webhook, operation, kind, group, namespace, name, user, groups, dryRun, mode,
// allowed, decision, exempted, exemption, findings[{rule, action, ruleAction, enforced,
// preExisting, object, message}], patch (mutate only), latency_us. Invalid UTF-8 becomes U+FFFD.
std::string formatAuditEntry(const AuditRecord& record);

// Returns the namespace a request concerns: request.namespace, or for a Namespace its own name.
std::string auditNamespace(const AdmissionRequest& req);

// Returns `t` as RFC 3339 UTC with microseconds, e.g. "2026-11-22T00:01:02.123456Z".
std::string formatAuditTime(std::chrono::system_clock::time_point t);

struct AuditLogOptions {
  std::string path;  // a file (rotated), or "-" for stdout
  size_t max_size_bytes = size_t{100} << 20;
  size_t max_files = 5;  // rotated files kept besides the current one
  // Least time between two attempts to open a file that could not be opened, and between two
  // error lines in the log.
  std::chrono::milliseconds retry_interval{10000};
};

// Returns the options of the `audit` section of the configuration.
AuditLogOptions auditLogOptions(const AuditSettings& settings);

class AuditLog {
 public:
  // Opens the file now; on failure logs the error, counts it and retries later. `metrics` may be
  // null and must outlive the log.
  AuditLog(AuditLogOptions options, Metrics* metrics);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Writes the entry for `record`. Never throws.
  void record(const AuditRecord& record);
  // Writes one line (no newline in `line`). Never throws.
  void writeLine(std::string_view line);

  // Returns true when the file (or stdout) is open.
  bool isOpen() const;
  const AuditLogOptions& options() const { return options_; }

 private:
  std::shared_ptr<spdlog::logger> logger();
  std::shared_ptr<spdlog::logger> open();
  void failed(const std::string& what);

  const AuditLogOptions options_;
  Metrics* const metrics_;
  mutable std::mutex mu_;
  std::shared_ptr<spdlog::logger> logger_;  // null while the file is not open
  std::string open_error_;  // why the last open failed
  bool opening_ = false;
  std::chrono::steady_clock::time_point next_open_;
  std::chrono::steady_clock::time_point next_report_;
  uint64_t unreported_ = 0;  // errors since the last error line
};

}  // namespace ambient_guard
