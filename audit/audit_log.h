// The audit log of `ambient-guard serve` (DESIGN.md §8): one JSON object per line for every
// admission decision, validate and mutate, written through a dedicated spdlog logger (pattern
// "%v") to a size-rotated file or to stdout, and flushed after every entry so a crash loses at
// most the entries not yet written. `ambient-guard audit` reads these files.
//
// Writing never blocks, slows or fails admission: request threads only put the line on a bounded
// queue (spdlog's async logger, one writer thread); a slow or stuck disk or stdout fills the
// queue, and then the oldest queued entries are dropped. Dropped entries and open, write and
// flush errors are counted (ambient_guard_audit_write_errors_total) and logged at most once per
// reopen interval; a file that cannot be opened is retried at most once per interval, on a later
// entry. Thread-safe: one AuditLog serves every request thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_record.h"

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}  // namespace details
}  // namespace spdlog

namespace ambient_guard {

// What the log reports about itself, e.g. as metrics (ambient_guard_audit_entries_total and
// ambient_guard_audit_write_errors_total). Called from the writing thread.
class AuditCounters {
 public:
  virtual ~AuditCounters() = default;
  virtual void countAuditEntry() = 0;
  virtual void countAuditWriteError() = 0;
};

struct AuditLogOptions {
  std::string path;  // a file (rotated), or "-" for stdout
  size_t max_size_bytes = size_t{100} << 20;
  size_t max_files = 5;  // rotated files kept besides the current one
  // Least time between two attempts to open a file that could not be opened, and between two
  // error lines in the log.
  std::chrono::milliseconds retry_interval{10000};
  // Entries waiting for the writer thread; past it the oldest are dropped (and counted).
  size_t queue_entries = 8192;
};

class AuditLog {
 public:
  // Opens the file now; on failure logs the error, counts it and retries later. `counters` may
  // be null and must outlive the log.
  AuditLog(AuditLogOptions options, AuditCounters* counters);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Writes `entry` (formatAuditEntry). Never throws.
  void record(const AuditEntry& entry);
  // Writes one line (no newline in `line`). Never throws.
  void writeLine(std::string_view line);

  // Returns true when the file (or stdout) is open.
  bool isOpen() const;
  // Returns once every entry recorded before the call is written or counted lost (tests,
  // shutdown). May wait as long as the output is stuck.
  void flush();
  const AuditLogOptions& options() const { return options_; }

 private:
  std::shared_ptr<spdlog::logger> logger();
  std::shared_ptr<spdlog::logger> open();
  // Counts `lost` entries and logs `what` (rate-limited).
  void failed(const std::string& what, uint64_t lost = 1);
  // Counts the entries the queue dropped since the last call.
  void countDropped();
  // Called by the writer thread after each entry it took off the queue.
  void processed();

  const AuditLogOptions options_;
  AuditCounters* const counters_;
  std::shared_ptr<spdlog::details::thread_pool> pool_;  // the writer thread and its queue
  mutable std::mutex mu_;
  std::shared_ptr<spdlog::logger> logger_;  // null while the file is not open
  std::string open_error_;  // why the last open failed
  bool opening_ = false;
  std::chrono::steady_clock::time_point next_open_;
  std::chrono::steady_clock::time_point next_report_;
  uint64_t unreported_ = 0;  // errors since the last error line
  uint64_t dropped_seen_ = 0;  // the queue's overrun counter when last counted
  // flush(): entries queued, and entries the writer took off the queue or the queue dropped.
  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  uint64_t queued_ = 0;
  uint64_t done_ = 0;
};

}  // namespace ambient_guard
